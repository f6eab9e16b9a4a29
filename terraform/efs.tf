# The EFS file system, its first mount target and the access point the Lambda mounts. Further mount
# targets are created by file-monitor at run time; Terraform does not know them (see
# scripts/destroy_all.sh, which removes them before terraform destroy).

resource "aws_efs_file_system" "main" {
  creation_token   = "${local.name}-efs"
  encrypted        = true
  performance_mode = var.efs_performance_mode
  throughput_mode  = var.efs_throughput_mode

  provisioned_throughput_in_mibps = var.efs_throughput_mode == "provisioned" ? var.efs_provisioned_throughput_mibps : null

  tags = { Name = "${local.name}-efs" }
}

# The first mount target, in the first AZ: the Lambda runs in that AZ's subnet so it always has
# a mount target beside it.
resource "aws_efs_mount_target" "primary" {
  file_system_id  = aws_efs_file_system.main.id
  subnet_id       = aws_subnet.private[0].id
  security_groups = [aws_security_group.efs.id]
}

# The monitored directory as the access point's root, created on first use and owned by the
# POSIX identity both file-monitor and file-service use.
resource "aws_efs_access_point" "data" {
  file_system_id = aws_efs_file_system.main.id

  posix_user {
    uid = var.efs_posix_uid
    gid = var.efs_posix_gid
  }

  root_directory {
    path = var.efs_target_directory

    creation_info {
      owner_uid   = var.efs_posix_uid
      owner_gid   = var.efs_posix_gid
      permissions = "0755"
    }
  }

  tags = { Name = "${local.name}-data" }
}
