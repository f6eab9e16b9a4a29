# file-service on ECS Fargate: the image repository, the cluster, the task definition and the
# service behind the load balancer (alb.tf).

resource "aws_ecr_repository" "file_service" {
  name                 = "${local.name}-file-service"
  image_tag_mutability = "MUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }
}

# Every push of a mutable tag leaves the image it replaced untagged, and every deploy with a tag
# of its own adds one: without a policy the repository (and its storage bill) only grows. Untagged
# images go after a week; of the rest the newest ecr_keep_images stay, enough to roll back.
resource "aws_ecr_lifecycle_policy" "file_service" {
  repository = aws_ecr_repository.file_service.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged images (replaced by a push of their tag) after 7 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Only the newest ${var.ecr_keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecs_cluster" "main" {
  name = local.ecs_cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

locals {
  directory_backend = var.file_service_storage_backend == "directory"

  # Agreed names (README, docs/deploy.md); the directory back end sees the access point's root at
  # /mnt/efs for every mount target, the nfs back end dials each mount target itself.
  file_service_environment = merge(
    {
      AWS_REGION                = var.aws_region
      LISTEN_ADDRESS            = "0.0.0.0"
      PORT                      = tostring(var.file_service_port)
      SSM_PARAMETER_NAME        = aws_ssm_parameter.mount_targets.name
      CONFIG_POLL_SECONDS       = tostring(var.config_poll_seconds)
      STORAGE_BACKEND           = var.file_service_storage_backend
      BODY_LIMIT_BYTES          = tostring(var.body_limit_bytes)
      UPLOAD_MEMORY_LIMIT_BYTES = tostring(var.upload_memory_limit_bytes)
      UPLOAD_SPOOL_LIMIT_BYTES  = tostring(var.upload_spool_limit_bytes)
      ACCESS_LOG                = tostring(var.access_log)
      LOG_LEVEL                 = var.file_service_log_level
      SHUTDOWN_GRACE_SECONDS    = "25"
      IDLE_TIMEOUT_MS           = tostring((local.alb_idle_timeout_seconds + 5) * 1000)
      NFS_EXPORT_PATH           = var.efs_target_directory
      NFS_UID                   = tostring(var.efs_posix_uid)
      NFS_GID                   = tostring(var.efs_posix_gid)
      NFS_SESSIONS_PER_TARGET   = tostring(var.nfs_sessions_per_target)
      NFS_TIMEOUT_MS            = tostring(var.nfs_timeout_ms)
    },
    local.directory_backend ? { MOUNT_PATH_TEMPLATE = "/mnt/efs" } : {},
  )
}

resource "aws_ecs_task_definition" "file_service" {
  family                   = "${local.name}-file-service"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.fargate_cpu)
  memory                   = tostring(var.fargate_memory)
  execution_role_arn       = aws_iam_role.task_execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.fargate_cpu_architecture
  }

  container_definitions = jsonencode([{
    name      = "file-service"
    image     = "${aws_ecr_repository.file_service.repository_url}:${var.image_tag}"
    essential = true

    portMappings = [{
      containerPort = var.file_service_port
      protocol      = "tcp"
    }]

    environment = [for k in sort(keys(local.file_service_environment)) : {
      name  = k
      value = local.file_service_environment[k]
    }]

    mountPoints = local.directory_backend ? [{
      sourceVolume  = "efs"
      containerPath = "/mnt/efs"
      readOnly      = false
    }] : []

    # SIGTERM first; file-service finishes in-flight requests within SHUTDOWN_GRACE_SECONDS.
    stopTimeout = 30

    # Non-blocking: when CloudWatch Logs is slow, log lines wait in a 25 MB buffer (and past it
    # are dropped) instead of blocking the service's writes to stderr, which the network threads
    # make for each request's access-log line.
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs.name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "file-service"
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
  }])

  dynamic "volume" {
    for_each = local.directory_backend ? [1] : []
    content {
      name = "efs"
      efs_volume_configuration {
        file_system_id     = aws_efs_file_system.main.id
        transit_encryption = "ENABLED"
        authorization_config {
          access_point_id = aws_efs_access_point.data.id
          iam             = "ENABLED"
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition = (
        (var.fargate_cpu == 256 && contains([512, 1024, 2048], var.fargate_memory)) ||
        (var.fargate_cpu == 512 && var.fargate_memory >= 1024 && var.fargate_memory <= 4096 && var.fargate_memory % 1024 == 0) ||
        (var.fargate_cpu == 1024 && var.fargate_memory >= 2048 && var.fargate_memory <= 8192 && var.fargate_memory % 1024 == 0) ||
        (var.fargate_cpu == 2048 && var.fargate_memory >= 4096 && var.fargate_memory <= 16384 && var.fargate_memory % 1024 == 0) ||
        (var.fargate_cpu == 4096 && var.fargate_memory >= 8192 && var.fargate_memory <= 30720 && var.fargate_memory % 1024 == 0) ||
        (var.fargate_cpu == 8192 && var.fargate_memory >= 16384 && var.fargate_memory <= 61440 && var.fargate_memory % 4096 == 0) ||
        (var.fargate_cpu == 16384 && var.fargate_memory >= 32768 && var.fargate_memory <= 122880 && var.fargate_memory % 8192 == 0)
      )
      error_message = "fargate_cpu and fargate_memory are not a combination Fargate supports (for 2048 CPU units: 4096-16384 MiB in steps of 1024)."
    }
  }
}

resource "aws_ecs_service" "file_service" {
  name            = local.ecs_service_name
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.file_service.arn
  desired_count   = var.fargate_desired_count
  launch_type     = "FARGATE"

  # The directory back end goes through an ECS EFS volume, which needs a mount target in the
  # task's AZ: only the first AZ is sure to have one.
  network_configuration {
    subnets          = local.directory_backend ? [aws_subnet.private[0].id] : aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.file_service.arn
    container_name   = "file-service"
    container_port   = var.file_service_port
  }

  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # A listener that forwards to the target group must exist before the service is created (ECS
  # refuses a target group with no load balancer): port 80's, or with a certificate, 443's (80
  # then only redirects).
  depends_on = [aws_lb_listener.http, aws_lb_listener.https, aws_iam_role_policy.task_execution]
}
