data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # EMF namespace the code writes to (and the dashboard reads).
  metrics_namespace = "Orderflow"

  # Keys are the Cargo [[bin]] names; infra/tests check that they match Cargo.toml.
  functions = {
    "orderflow-sqs"    = { description = "Orders from the SQS orders queue" }
    "orderflow-s3"     = { description = "Bulk order imports from s3://<bucket>/incoming/ (via the uploads queue)" }
    "orderflow-stream" = { description = "PENDING orders inserted into the orders table (DynamoDB stream)" }
    "orderflow-http"   = { description = "HTTP API: POST /orders, GET /orders/{order_id}, GET /health" }
  }

  function_names = { for k, _ in local.functions : k => "${var.name_prefix}${k}" }

  # Environment variables exactly as src/config.rs reads them.
  function_env = {
    "orderflow-sqs" = {
      ORDERFLOW_TABLE             = aws_dynamodb_table.orders.name
      ORDERFLOW_METRICS_NAMESPACE = local.metrics_namespace
    }
    "orderflow-s3" = {
      ORDERFLOW_TABLE             = aws_dynamodb_table.orders.name
      ORDERFLOW_METRICS_NAMESPACE = local.metrics_namespace
      ORDERFLOW_ORDERS_QUEUE_URL  = aws_sqs_queue.orders.url
      ORDERFLOW_UPLOADS_QUEUE_URL = aws_sqs_queue.uploads.url
    }
    "orderflow-stream" = {
      ORDERFLOW_TABLE             = aws_dynamodb_table.orders.name
      ORDERFLOW_METRICS_NAMESPACE = local.metrics_namespace
    }
    "orderflow-http" = {
      ORDERFLOW_TABLE             = aws_dynamodb_table.orders.name
      ORDERFLOW_METRICS_NAMESPACE = local.metrics_namespace
      # POST /orders with `Prefer: respond-async` queues the order for orderflow-sqs.
      ORDERFLOW_ORDERS_QUEUE_URL = aws_sqs_queue.orders.url
    }
  }

  # Must equal IMPORT_PREFIX / REPORT_PREFIX in src/config.rs.
  import_prefix = "incoming/"
  report_prefix = "reports/"

  # Only INSERTs of PENDING orders invoke orderflow-stream: MODIFY/REMOVE events
  # (including the handler's own status update) are filtered out by Lambda for free.
  stream_filter_pattern = jsonencode({ eventName = ["INSERT"], dynamodb = { NewImage = { status = { S = ["PENDING"] } } } })

  alarm_topic_arn = var.alarm_sns_topic_arn != null ? var.alarm_sns_topic_arn : aws_sns_topic.alarms[0].arn
}

# One customer managed key for data at rest (table, bucket, logs, alarm topic,
# function environment). Queues use SSE-SQS (no KMS request charges).
resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}orderflow data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Delegates to IAM: the function roles' inline policies grant what each needs.
        Sid       = "AccountAdministersViaIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # The function log groups and the HTTP API's access log group, nothing else.
        Sid       = "CloudWatchLogsForOrderflowLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = [
              "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}orderflow-*",
              "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${local.http_access_log_group}",
            ]
          }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}orderflow"
  target_key_id = aws_kms_key.this.key_id
}
