# One role per function, each with one inline policy that lists only the
# actions that function's code (and its event source mapping) uses, on only
# the resources it touches. infra/tests/code_actions.json is the source of
# truth the tests hold these documents (and src/) to.

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name               = "${local.function_names[each.key]}-${var.region}"
  description        = "Execution role of ${local.function_names[each.key]}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

locals {
  function_policies = {
    "orderflow-sqs"    = data.aws_iam_policy_document.orderflow_sqs.json
    "orderflow-s3"     = data.aws_iam_policy_document.orderflow_s3.json
    "orderflow-stream" = data.aws_iam_policy_document.orderflow_stream.json
    "orderflow-http"   = data.aws_iam_policy_document.orderflow_http.json
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = local.function_policies[each.key]
}

# X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level
# permissions: "*" is the only valid resource. They are kept in a statement
# of their own holding nothing else (see infra/README.md).

data "aws_iam_policy_document" "orderflow_sqs" {
  statement {
    sid       = "OrdersTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.orders.arn]
  }

  statement {
    sid       = "OrdersQueueEventSource"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.orders.arn]
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["orderflow-sqs"].arn}:*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "XRayNoResourceLevelPermissions"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "orderflow_s3" {
  statement {
    sid       = "ReadImports"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.orders.arn}/${local.import_prefix}*"]
  }

  statement {
    sid       = "WriteReports"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.orders.arn}/${local.report_prefix}*"]
  }

  # A continued import reads its report so far back (src/ingest/s3/continuation.rs).
  statement {
    sid       = "ReadReportsSoFar"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.orders.arn}/${local.report_prefix}*"]
  }

  statement {
    sid       = "OrdersTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.orders.arn]
  }

  statement {
    sid       = "HandOnToOrdersQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.orders.arn]
  }

  # An import that cannot finish before its deadline sends its continuation to the queue this
  # function reads (src/ingest/s3/continuation.rs).
  statement {
    sid       = "ContinueImports"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.uploads.arn]
  }

  statement {
    sid       = "UploadsQueueEventSource"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.uploads.arn]
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["orderflow-s3"].arn}:*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "XRayNoResourceLevelPermissions"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "orderflow_stream" {
  statement {
    sid       = "OrdersTable"
    actions   = ["dynamodb:UpdateItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.orders.arn]
  }

  statement {
    sid = "TableStreamEventSource"
    actions = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ]
    resources = ["${aws_dynamodb_table.orders.arn}/stream/*"]
  }

  statement {
    sid       = "StreamOnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.stream_failures.arn]
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["orderflow-stream"].arn}:*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "XRayNoResourceLevelPermissions"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# No event source mapping: API Gateway invokes orderflow-http through its resource policy
# (aws_lambda_permission.http_api). The HTTP path never calls update_item (that is the stream's
# completion of PENDING items), so, unlike the issue's list, the role has no dynamodb:UpdateItem.
data "aws_iam_policy_document" "orderflow_http" {
  statement {
    sid       = "OrdersTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.orders.arn]
  }

  statement {
    sid       = "RespondAsyncToOrdersQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.orders.arn]
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["orderflow-http"].arn}:*"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "XRayNoResourceLevelPermissions"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}
