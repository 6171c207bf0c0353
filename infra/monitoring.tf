resource "aws_sns_topic" "alarms" {
  count = var.alarm_sns_topic_arn == null ? 1 : 0

  name              = "${var.name_prefix}orderflow-alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = local.alarm_topic_arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # Every queue a message ends up in when processing gave up on it.
  dead_letter_queues = {
    orders-dlq      = aws_sqs_queue.orders_dlq.name
    uploads-dlq     = aws_sqs_queue.uploads_dlq.name
    stream-failures = aws_sqs_queue.stream_failures.name
  }

  emf_metrics = ["BilledDuration", "Cost", "Accepted", "Rejected", "Retried", "Duplicates", "Records"]
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${var.name_prefix}orderflow-${each.key}-not-empty"
  alarm_description   = "Messages are waiting in ${each.value}: inspect them, fix the cause, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${local.function_names[each.key]}-errors"
  alarm_description   = "${local.function_names[each.key]} returned errors (whole-invocation failures, not per-record retries)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each = local.functions

  alarm_name          = "${local.function_names[each.key]}-throttles"
  alarm_description   = "${local.function_names[each.key]} was throttled: reserved_concurrency is too low for the load."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${local.function_names["orderflow-stream"]}-iterator-age"
  alarm_description   = "orderflow-stream is falling behind the orders table stream."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.this["orderflow-stream"].function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
}

# Server-side failures the caller saw: store or queue unavailable (503), a refusal (500), a
# function error or timeout, or Lambda throttling behind the API.
resource "aws_cloudwatch_metric_alarm" "http_api_5xx" {
  alarm_name          = "${aws_apigatewayv2_api.orders.name}-5xx"
  alarm_description   = "The orders HTTP API answered 5xx: see its access log (${aws_cloudwatch_log_group.http_access.name}) and the orderflow-http logs."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.orders.id }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}orderflow"

  dashboard_body = jsonencode({
    widgets = concat(
      # One widget per Orderflow EMF metric, one line per function.
      [
        for i, metric in local.emf_metrics : {
          type   = "metric"
          x      = (i % 3) * 8
          y      = floor(i / 3) * 6
          width  = 8
          height = 6
          properties = {
            title   = "Orderflow ${metric}"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            stat    = "Sum"
            period  = 300
            metrics = [
              for k in keys(local.functions) : [local.metrics_namespace, metric, "FunctionName", local.function_names[k]]
            ]
          }
        }
      ],
      [
        {
          type   = "metric"
          x      = 0
          y      = 18
          width  = 12
          height = 6
          properties = {
            title   = "Lambda invocations, errors, throttles"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            stat    = "Sum"
            period  = 300
            metrics = flatten([
              for k in keys(local.functions) : [
                ["AWS/Lambda", "Invocations", "FunctionName", local.function_names[k]],
                ["AWS/Lambda", "Errors", "FunctionName", local.function_names[k]],
                ["AWS/Lambda", "Throttles", "FunctionName", local.function_names[k]],
              ]
            ])
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 18
          width  = 12
          height = 6
          properties = {
            title   = "Queue depth (incl. dead letters)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            stat    = "Maximum"
            period  = 300
            metrics = [
              for q in concat([aws_sqs_queue.orders.name, aws_sqs_queue.uploads.name], values(local.dead_letter_queues)) :
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
            ]
          }
        },
        {
          type   = "metric"
          x      = 0
          y      = 24
          width  = 12
          height = 6
          properties = {
            title   = "HTTP API requests, 4xx, 5xx"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            stat    = "Sum"
            period  = 300
            metrics = [
              for m in ["Count", "4xx", "5xx"] : ["AWS/ApiGateway", m, "ApiId", aws_apigatewayv2_api.orders.id]
            ]
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 24
          width  = 12
          height = 6
          properties = {
            title   = "HTTP API latency p99 (ms)"
            region  = var.region
            view    = "timeSeries"
            stacked = false
            stat    = "p99"
            period  = 300
            metrics = [
              for m in ["Latency", "IntegrationLatency"] : ["AWS/ApiGateway", m, "ApiId", aws_apigatewayv2_api.orders.id]
            ]
          }
        },
      ]
    )
  })
}
