# CloudWatch log groups, created before the Lambda and the tasks so retention applies from the
# first line (the seed's names).

resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.lambda_log_group
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "ecs" {
  name              = local.ecs_log_group
  retention_in_days = var.log_retention_days
}
