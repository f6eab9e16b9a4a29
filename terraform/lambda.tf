# file-monitor on Lambda: the zip from scripts/deploy_lambda.sh (a `bootstrap` that runs the C++
# binary with its own shared libraries and loader) on the provided.al2023 runtime, in the VPC,
# with the file system mounted through the access point under /mnt/efs.

locals {
  lambda_package_path = var.lambda_package_path != "" ? var.lambda_package_path : "${path.module}/../build/lambda/file-monitor.zip"
}

resource "aws_lambda_function" "file_monitor" {
  function_name = local.lambda_function_name
  description   = "Counts files on ${local.name}'s EFS and adds mount targets when the count passes the threshold"
  role          = aws_iam_role.lambda.arn

  runtime       = "provided.al2023"
  handler       = "file-monitor"
  architectures = [var.lambda_architecture]

  filename = local.lambda_package_path
  # The zip is needed to create or update the function, not to destroy it.
  source_code_hash = fileexists(local.lambda_package_path) ? filebase64sha256(local.lambda_package_path) : null

  timeout     = var.lambda_timeout
  memory_size = var.lambda_memory_size

  # One run at a time: a scheduled run never overlaps the previous one. Runs that overlap are
  # still safe (the reconcile loop is idempotent); -1 reserves nothing, for accounts whose
  # concurrency quota leaves nothing to reserve.
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  # Only the first AZ's subnet: a Lambda needs a mount target in the AZ it runs in, and Terraform
  # guarantees one only there.
  vpc_config {
    subnet_ids         = [aws_subnet.private[0].id]
    security_group_ids = [aws_security_group.lambda.id]
  }

  file_system_config {
    arn              = aws_efs_access_point.data.arn
    local_mount_path = local.lambda_mount_path
  }

  environment {
    variables = {
      EFS_FILE_SYSTEM_ID = aws_efs_file_system.main.id
      EFS_MOUNT_PATH     = local.lambda_mount_path
      # The access point's root is efs_target_directory, so the Lambda counts its whole mount.
      EFS_TARGET_DIRECTORY            = "/"
      FILE_COUNT_THRESHOLD            = tostring(var.file_count_threshold)
      SSM_PARAMETER_NAME              = aws_ssm_parameter.mount_targets.name
      ECS_CLUSTER_NAME                = local.ecs_cluster_name
      ECS_SERVICE_NAME                = local.ecs_service_name
      FORCE_ECS_DEPLOYMENT            = tostring(var.force_ecs_deployment)
      CANDIDATE_SUBNET_IDS            = join(",", aws_subnet.private[*].id)
      MOUNT_TARGET_SECURITY_GROUP_IDS = aws_security_group.efs.id
      MAX_MOUNT_TARGETS               = tostring(var.max_mount_targets)
      MAX_CREATES_PER_RUN             = tostring(var.max_creates_per_run)
      DRY_RUN                         = tostring(var.dry_run)
      SCAN_CACHE_PATH                 = "/tmp/file-monitor-scan.cache"
      SCAN_THREADS                    = tostring(var.scan_threads)
      LOG_LEVEL                       = var.lambda_log_level
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.lambda_package_path)
      error_message = "The Lambda package ${local.lambda_package_path} does not exist: run scripts/deploy_lambda.sh (or scripts/deploy_all.sh) first."
    }
  }

  # The mount target must be available before Lambda can mount the file system, and the log group
  # must exist first so its retention applies.
  depends_on = [
    aws_efs_mount_target.primary,
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}
