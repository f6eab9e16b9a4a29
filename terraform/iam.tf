# Roles with least privilege: the Lambda may create mount targets only on this file system, read and
# write only its parameter and update only its service; the task role may read only the parameter.

locals {
  file_system_arn = aws_efs_file_system.main.arn
  parameter_arn   = aws_ssm_parameter.mount_targets.arn
  ecs_service_arn = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}:service/${local.ecs_cluster_name}/${local.ecs_service_name}"
  lambda_log_arn  = "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:${local.lambda_log_group}:*"
  ecs_log_arn     = "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:${local.ecs_log_group}:*"
}

# --- file-monitor (Lambda) -------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-file-monitor"
  description        = "file-monitor: counts files and adds mount targets to ${local.name}'s file system"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_arn]
  }

  # Lambda itself creates and removes the function's network interfaces in the VPC; these actions
  # support no resource-level scoping.
  statement {
    sid = "LambdaVpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  # Subnet discovery and what CreateMountTarget needs from EC2 (describe calls cannot be scoped).
  statement {
    sid = "DescribeNetwork"
    actions = [
      "ec2:DescribeSubnets",
      "ec2:DescribeAvailabilityZones",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageMountTargetsOfThisFileSystem"
    actions = [
      "elasticfilesystem:DescribeFileSystems",
      "elasticfilesystem:DescribeMountTargets",
      "elasticfilesystem:CreateMountTarget",
    ]
    resources = [local.file_system_arn]
  }

  # Mount the file system, read-only, only through the stack's access point.
  statement {
    sid       = "MountThroughAccessPoint"
    actions   = ["elasticfilesystem:ClientMount"]
    resources = [local.file_system_arn]
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.data.arn]
    }
  }

  statement {
    sid       = "ReadWriteMountTargetList"
    actions   = ["ssm:GetParameter", "ssm:GetParameterHistory", "ssm:PutParameter"]
    resources = [local.parameter_arn]
  }

  statement {
    sid       = "RedeployFileService"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = [local.ecs_service_arn]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "file-monitor"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# --- file-service (ECS) ----------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The execution role: what ECS needs to start a task (pull the image, write its logs).
resource "aws_iam_role" "task_execution" {
  name               = "${local.name}-file-service-execution"
  description        = "ECS pulls the file-service image and ships its logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task_execution" {
  # GetAuthorizationToken is account-wide by design.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullFileServiceImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.file_service.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.ecs_log_arn]
  }
}

resource "aws_iam_role_policy" "task_execution" {
  name   = "file-service-execution"
  role   = aws_iam_role.task_execution.id
  policy = data.aws_iam_policy_document.task_execution.json
}

# The task role: what file-service itself calls.
resource "aws_iam_role" "task" {
  name               = "${local.name}-file-service"
  description        = "file-service reads the mount-target list"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadMountTargetList"
    actions   = ["ssm:GetParameter"]
    resources = [local.parameter_arn]
  }

  # Only the directory back end mounts through the access point (an ECS EFS volume); the nfs back
  # end speaks NFS to the mount targets directly.
  dynamic "statement" {
    for_each = var.file_service_storage_backend == "directory" ? [1] : []
    content {
      sid       = "MountThroughAccessPoint"
      actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      resources = [local.file_system_arn]
      condition {
        test     = "StringEquals"
        variable = "elasticfilesystem:AccessPointArn"
        values   = [aws_efs_access_point.data.arn]
      }
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "file-service"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
