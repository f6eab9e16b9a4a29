# Test-only override, copied next to terraform/*.tf in a temporary working copy by
# moto_stack_test.sh (never placed in terraform/ itself): moto does not return these attributes,
# so without this every plan after an apply would show them as changes.

resource "aws_lambda_function" "file_monitor" {
  lifecycle {
    ignore_changes = [file_system_config]
  }
}

resource "aws_ecs_service" "file_service" {
  lifecycle {
    ignore_changes = [availability_zone_rebalancing, health_check_grace_period_seconds]
  }
}
