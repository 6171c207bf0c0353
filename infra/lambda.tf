resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:The functions only call public AWS APIs (DynamoDB, S3, SQS); a VPC would add NAT/endpoint cost and cold-start latency without protecting anything.
  #checkov:skip=CKV_AWS_116:Invoked only synchronously (event source mappings, the HTTP API), where an async-invocation DLQ never applies; failures go to the queues' DLQs, the stream on-failure queue or the HTTP caller.
  #checkov:skip=CKV_AWS_272:Artifacts are built and deployed from the same pipeline as local zips; Lambda code signing requires S3-hosted AWS Signer profiles, which this stack does not use.

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.this[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]

  filename         = "${var.artifacts_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${var.artifacts_dir}/${each.key}/bootstrap.zip")

  memory_size                    = var.memory_size[each.key]
  timeout                        = var.timeout[each.key]
  reserved_concurrent_executions = var.reserved_concurrency[each.key]

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = local.function_env[each.key]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[each.key].name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.this]
}

# --- event source mappings -------------------------------------------------

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn                   = aws_sqs_queue.orders.arn
  function_name                      = aws_lambda_function.this["orderflow-sqs"].arn
  batch_size                         = var.batch_size["orderflow-sqs"]
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency["orderflow-sqs"]
  }

  lifecycle {
    precondition {
      condition     = var.reserved_concurrency["orderflow-sqs"] >= var.maximum_concurrency["orderflow-sqs"]
      error_message = "reserved_concurrency[\"orderflow-sqs\"] must be >= maximum_concurrency[\"orderflow-sqs\"], or the mapping gets throttled."
    }
  }
}

resource "aws_lambda_event_source_mapping" "uploads" {
  event_source_arn                   = aws_sqs_queue.uploads.arn
  function_name                      = aws_lambda_function.this["orderflow-s3"].arn
  batch_size                         = var.batch_size["orderflow-s3"]
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency["orderflow-s3"]
  }

  lifecycle {
    precondition {
      condition     = var.reserved_concurrency["orderflow-s3"] >= var.maximum_concurrency["orderflow-s3"]
      error_message = "reserved_concurrency[\"orderflow-s3\"] must be >= maximum_concurrency[\"orderflow-s3\"], or the mapping gets throttled."
    }
  }
}

resource "aws_lambda_event_source_mapping" "stream" {
  event_source_arn                   = aws_dynamodb_table.orders.stream_arn
  function_name                      = aws_lambda_function.this["orderflow-stream"].arn
  starting_position                  = "LATEST"
  batch_size                         = var.batch_size["orderflow-stream"]
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_maximum_retry_attempts
  maximum_record_age_in_seconds      = var.stream_maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_failures.arn
    }
  }

  # Fewer invocations = lower cost: only INSERTs of PENDING orders reach the function.
  filter_criteria {
    filter {
      pattern = local.stream_filter_pattern
    }
  }
}
