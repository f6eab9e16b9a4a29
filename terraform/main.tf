# EFS mount-target autoscaling: the provider, shared names and the data every other file uses.
# Resources live in one file per concern: network, efs, lambda, eventbridge, ssm, ecs, alb, iam, logs.

terraform {
  # 1.9: a variable's validation refers to another variable (upload_memory_limit_bytes).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }

  # State stays local by default. For a shared account, add a backend here, for example
  #   backend "s3" {}
  # and pass its settings with `terraform init -backend-config=...` (see docs/deploy.md).
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project     = var.project_name
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"

  # Local Zones and Wavelength Zones cannot hold EFS mount targets.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  name = var.project_name
  # The seed's name with the default project_name; one of its own for every other stack.
  ssm_parameter_name = coalesce(var.ssm_parameter_name, "/${var.project_name}/mount-targets")
  # The load balancer's idle timeout; file-service's own is 5 s longer (alb.tf, ecs.tf).
  alb_idle_timeout_seconds = 60
  account_id               = data.aws_caller_identity.current.account_id
  partition                = data.aws_partition.current.partition

  azs = slice(data.aws_availability_zones.available.names, 0, var.az_count)

  # The seed's resource names.
  lambda_function_name = "${local.name}-file-monitor"
  lambda_log_group     = "/aws/lambda/${local.lambda_function_name}"
  ecs_log_group        = "/ecs/${local.name}-fargate"
  ecs_cluster_name     = "${local.name}-cluster"
  ecs_service_name     = "${local.name}-fargate-service"

  # Where the Lambda sees the file system (through the access point, whose root is the
  # monitored directory).
  lambda_mount_path = "/mnt/efs"
}
