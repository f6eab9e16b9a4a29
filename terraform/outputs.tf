# What a user (and scripts/) needs after an apply.

output "aws_region" {
  description = "Region of the stack."
  value       = var.aws_region
}

output "efs_file_system_id" {
  description = "The EFS file system (EFS_FILE_SYSTEM_ID for file-monitor)."
  value       = aws_efs_file_system.main.id
}

output "efs_access_point_id" {
  description = "Access point whose root is efs_target_directory."
  value       = aws_efs_access_point.data.id
}

output "efs_primary_mount_target_id" {
  description = "The mount target Terraform manages; file-monitor adds the others."
  value       = aws_efs_mount_target.primary.id
}

output "efs_target_directory" {
  description = "Directory on the file system that is counted and served."
  value       = var.efs_target_directory
}

output "ssm_parameter_name" {
  description = "SSM parameter holding the mount-target list."
  value       = aws_ssm_parameter.mount_targets.name
}

output "vpc_id" {
  description = "The stack's VPC."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "Private subnets, one per AZ (CANDIDATE_SUBNET_IDS for file-monitor)."
  value       = aws_subnet.private[*].id
}

output "mount_target_security_group_id" {
  description = "Security group of the mount targets (MOUNT_TARGET_SECURITY_GROUP_IDS for file-monitor)."
  value       = aws_security_group.efs.id
}

output "lambda_function_name" {
  description = "The file-monitor function."
  value       = aws_lambda_function.file_monitor.function_name
}

output "lambda_log_group" {
  description = "file-monitor's CloudWatch log group."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "schedule_rule_name" {
  description = "EventBridge rule that runs file-monitor."
  value       = aws_cloudwatch_event_rule.file_monitor.name
}

output "ecs_cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "ECS service running file-service."
  value       = aws_ecs_service.file_service.name
}

output "ecs_log_group" {
  description = "file-service's CloudWatch log group."
  value       = aws_cloudwatch_log_group.ecs.name
}

output "ecr_repository_url" {
  description = "ECR repository for the file-service image (scripts/build_and_push_fargate.sh pushes here)."
  value       = aws_ecr_repository.file_service.repository_url
}

output "image_tag" {
  description = "Image tag the task definition runs."
  value       = var.image_tag
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.file_service.dns_name
}

output "service_url" {
  description = "Base URL of file-service (internal to the VPC unless alb_internal is false)."
  value       = var.alb_certificate_arn == "" ? "http://${aws_lb.file_service.dns_name}" : "https://${aws_lb.file_service.dns_name}"
}
