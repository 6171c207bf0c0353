output "orders_queue_url" {
  description = "Send orders here (ORDERFLOW_ORDERS_QUEUE_URL)."
  value       = aws_sqs_queue.orders.url
}

output "uploads_queue_url" {
  description = "Queue receiving the bucket's incoming/ notifications (ORDERFLOW_UPLOADS_QUEUE_URL for the CLI)."
  value       = aws_sqs_queue.uploads.url
}

output "dead_letter_queue_urls" {
  description = "Orders DLQ, uploads DLQ and the stream on-failure queue."
  value = {
    orders_dlq      = aws_sqs_queue.orders_dlq.url
    uploads_dlq     = aws_sqs_queue.uploads_dlq.url
    stream_failures = aws_sqs_queue.stream_failures.url
  }
}

output "bucket" {
  description = "Bucket for imports (upload to incoming/) and reports (reports/) (ORDERFLOW_BUCKET)."
  value       = aws_s3_bucket.orders.bucket
}

output "table" {
  description = "Orders table (ORDERFLOW_TABLE)."
  value       = aws_dynamodb_table.orders.name
}

output "function_names" {
  description = "Deployed function name per binary."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "dashboard_url" {
  description = "CloudWatch dashboard with the Orderflow cost and outcome metrics."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.alarm_topic_arn
}

output "kms_key_arn" {
  description = "Customer managed key encrypting the table, bucket, logs, alarm topic and function environment."
  value       = aws_kms_key.this.arn
}

output "http_api_url" {
  description = "Base URL of the orders HTTP API: POST /orders, GET /orders/{order_id}, GET /health."
  value       = aws_apigatewayv2_api.orders.api_endpoint
}

output "http_api_authorization" {
  description = "Authorization of the order routes: JWT (jwt_issuer set) or AWS_IAM (SigV4). GET /health is anonymous."
  value       = local.http_authorization_type
}

output "http_api_execution_arn" {
  description = "Execution ARN of the HTTP API; grant AWS_IAM callers execute-api:Invoke on <this>/$default/POST/orders and <this>/$default/GET/orders/*."
  value       = aws_apigatewayv2_api.orders.execution_arn
}
