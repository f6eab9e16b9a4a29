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

# A failed run is not retried by Lambda (by default it retries an asynchronous event twice, a
# minute or two apart): the next scheduled run repairs what one left undone, and retries would
# let more than max_creates_per_run mount targets be created within one schedule interval.
#
# An event that finds the previous run still going (reserved concurrency 1) is throttled, and
# Lambda keeps retrying it for up to six hours by default, so events would queue up behind a
# slow run. An event older than one run's timeout and a minute is dropped instead: by then the
# previous run has ended, and the next scheduled event does the same work.
resource "aws_lambda_function_event_invoke_config" "file_monitor" {
  function_name                = aws_lambda_function.file_monitor.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.lambda_timeout + 60
}
