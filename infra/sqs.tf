# Orders queue -> orderflow-sqs, uploads queue (S3 notifications) -> orderflow-s3,
# each with a dead-letter queue; plus the stream mapping's on-failure queue.
# Visibility timeout = 6 x the consumer's timeout + batching window (AWS guidance),
# so a message is never redelivered while a retried invocation may still hold it.

resource "aws_sqs_queue" "orders_dlq" {
  name                      = "${var.name_prefix}orderflow-orders-dlq"
  message_retention_seconds = 1209600 # 14 days
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "orders" {
  name                       = "${var.name_prefix}orderflow-orders"
  visibility_timeout_seconds = 6 * var.timeout["orderflow-sqs"] + var.maximum_batching_window_in_seconds
  message_retention_seconds  = 345600 # 4 days
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "orders_dlq" {
  queue_url = aws_sqs_queue.orders_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.orders.arn]
  })
}

resource "aws_sqs_queue" "uploads_dlq" {
  name                      = "${var.name_prefix}orderflow-uploads-dlq"
  message_retention_seconds = 1209600 # 14 days
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "uploads" {
  name                       = "${var.name_prefix}orderflow-uploads"
  visibility_timeout_seconds = 6 * var.timeout["orderflow-s3"] + var.maximum_batching_window_in_seconds
  message_retention_seconds  = 345600 # 4 days
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.uploads_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "uploads_dlq" {
  queue_url = aws_sqs_queue.uploads_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.uploads.arn]
  })
}

# Only this bucket, in this account, may send to the uploads queue.
data "aws_iam_policy_document" "uploads_queue" {
  statement {
    sid       = "S3BucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.uploads.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.orders.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "uploads" {
  queue_url = aws_sqs_queue.uploads.id
  policy    = data.aws_iam_policy_document.uploads_queue.json
}

# Stream records that exhausted their retries (or grew too old) land here.
resource "aws_sqs_queue" "stream_failures" {
  name                      = "${var.name_prefix}orderflow-stream-failures"
  message_retention_seconds = 1209600 # 14 days
  sqs_managed_sse_enabled   = true
}
