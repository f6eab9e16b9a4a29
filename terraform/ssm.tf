# The mount-target list (schema in docs/mount-target-list.md). Terraform creates it holding the
# first mount target so file-service has a valid list from its first start; from then on
# file-monitor owns the value, so Terraform ignores changes to it.

resource "aws_ssm_parameter" "mount_targets" {
  name        = local.ssm_parameter_name
  description = "Mount targets of ${aws_efs_file_system.main.id} that file-service spreads files over (written by file-monitor)"
  type        = "String"
  tier        = "Standard"

  value = jsonencode({
    schema_version = 1
    file_system_id = aws_efs_file_system.main.id
    generation     = 1
    updated_at     = formatdate("YYYY-MM-DD'T'hh:mm:ss'.000Z'", timestamp())
    mount_targets = [{
      id                   = aws_efs_mount_target.primary.id
      availability_zone    = aws_efs_mount_target.primary.availability_zone_name
      availability_zone_id = aws_efs_mount_target.primary.availability_zone_id
      subnet_id            = aws_efs_mount_target.primary.subnet_id
      ip_address           = aws_efs_mount_target.primary.ip_address
      state                = "available"
    }]
  })

  lifecycle {
    ignore_changes = [value, description]
  }
}
