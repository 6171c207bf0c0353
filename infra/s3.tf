resource "aws_s3_bucket" "orders" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket, which cannot use SSE-KMS as a log target; audit object access with CloudTrail S3 data events instead if required.
  #checkov:skip=CKV_AWS_144:The bucket holds transient import files and regenerable reports; the system of record is the DynamoDB table (with PITR), so cross-region replication would only double storage cost.
  bucket_prefix = "${var.name_prefix}orderflow-"
}

resource "aws_s3_bucket_public_access_block" "orders" {
  bucket                  = aws_s3_bucket.orders.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "orders" {
  bucket = aws_s3_bucket.orders.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "orders" {
  bucket = aws_s3_bucket.orders.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "orders" {
  bucket = aws_s3_bucket.orders.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # S3 Bucket Keys cut KMS requests (and their cost) by orders of magnitude.
    bucket_key_enabled = true
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.orders.arn, "${aws_s3_bucket.orders.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "orders" {
  bucket = aws_s3_bucket.orders.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.orders]
}

resource "aws_s3_bucket_lifecycle_configuration" "orders" {
  bucket = aws_s3_bucket.orders.id

  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {
      prefix = local.report_prefix
    }
    expiration {
      days = var.report_expiration_days
    }
  }

  rule {
    id     = "noncurrent-versions-and-multipart"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.orders]
}

# Only incoming/ triggers imports; reports are written under reports/, so an
# import can never trigger another import.
resource "aws_s3_bucket_notification" "orders" {
  bucket = aws_s3_bucket.orders.id

  queue {
    queue_arn     = aws_sqs_queue.uploads.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = local.import_prefix
  }

  depends_on = [aws_sqs_queue_policy.uploads]
}
