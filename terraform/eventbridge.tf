# The schedule that runs file-monitor (default every 5 minutes).

resource "aws_cloudwatch_event_rule" "file_monitor" {
  name                = "${local.name}-file-monitor-schedule"
  description         = "Runs file-monitor: counts files and adds mount targets when needed"
  schedule_expression = var.lambda_schedule_expression
}

resource "aws_cloudwatch_event_target" "file_monitor" {
  rule      = aws_cloudwatch_event_rule.file_monitor.name
  target_id = "file-monitor"
  arn       = aws_lambda_function.file_monitor.arn
}

resource "aws_lambda_permission" "eventbridge" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.file_monitor.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.file_monitor.arn
}
