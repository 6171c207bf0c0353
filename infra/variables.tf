variable "name_prefix" {
  description = "Prefix for every resource name. Function names are \"<name_prefix><binary name>\", e.g. \"dev-orderflow-sqs\"."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9-]{0,20}$", var.name_prefix))
    error_message = "name_prefix: at most 20 characters of a-z, 0-9 and '-'."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "architecture" {
  description = "Lambda instruction set: arm64 (Graviton, ~20% cheaper per GB-second) or x86_64. Must match scripts/package.sh."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "artifacts_dir" {
  description = "Directory holding <binary>/bootstrap.zip as produced by scripts/package.sh (relative to infra/)."
  type        = string
  default     = "../target/lambda"
}

variable "memory_size" {
  description = "Memory (MB) per function. Cost is GB-seconds x price, so memory is the main cost knob; CPU scales with it."
  type        = map(number)
  default = {
    "orderflow-sqs"    = 256
    "orderflow-s3"     = 512
    "orderflow-stream" = 256
    "orderflow-http"   = 256
  }

  validation {
    condition     = alltrue([for m in values(var.memory_size) : m >= 128 && m <= 10240])
    error_message = "memory_size values must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout (seconds) per function. The consuming queue's visibility timeout is derived as 6 x timeout + batching window; orderflow-http's must stay within API Gateway's 30 s integration timeout."
  type        = map(number)
  default = {
    "orderflow-sqs"    = 30
    "orderflow-s3"     = 300
    "orderflow-stream" = 60
    "orderflow-http"   = 10
  }

  validation {
    condition     = alltrue([for t in values(var.timeout) : t >= 3 && t <= 900])
    error_message = "timeout values must be between 3 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency per function: caps spend and protects the table; must be >= the SQS maximum_concurrency of its mapping."
  type        = map(number)
  default = {
    "orderflow-sqs"    = 10
    "orderflow-s3"     = 5
    "orderflow-stream" = 5
    "orderflow-http"   = 10
  }
}

variable "batch_size" {
  description = "Records per invocation for each event source mapping (orders queue, uploads queue, table stream). orderflow-http has no mapping."
  type        = map(number)
  default = {
    "orderflow-sqs"    = 10
    "orderflow-s3"     = 1
    "orderflow-stream" = 100
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long an event source mapping may wait to fill a batch. Larger batches = fewer invocations = lower cost, at the price of latency."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "scaling_config.maximum_concurrency of the SQS event source mappings (2..1000)."
  type        = map(number)
  default = {
    "orderflow-sqs" = 10
    "orderflow-s3"  = 5
  }

  validation {
    condition     = alltrue([for c in values(var.maximum_concurrency) : c >= 2 && c <= 1000])
    error_message = "maximum_concurrency values must be between 2 and 1000."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to its queue's dead-letter queue."
  type        = number
  default     = 5
}

variable "stream_maximum_retry_attempts" {
  description = "Retries of a failing stream batch before its records go to the on-failure queue."
  type        = number
  default     = 5
}

variable "stream_maximum_record_age_in_seconds" {
  description = "Stream records older than this are sent to the on-failure queue instead of being processed."
  type        = number
  default     = 3600
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for the function log groups and the HTTP API access log group. Lower it to save storage cost (at the price of audit history)."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Application log level passed through Lambda's JSON logging config (AWS_LAMBDA_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "report_expiration_days" {
  description = "Import reports under reports/ are deleted after this many days (lifecycle)."
  type        = number
  default     = 90
}

variable "noncurrent_version_expiration_days" {
  description = "Overwritten or deleted object versions are kept this many days (versioning is on)."
  type        = number
  default     = 30
}

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection for the orders table (turn off only to tear a test stack down)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail). null = no subscription."
  type        = string
  default     = null
}

variable "alarm_sns_topic_arn" {
  description = "Existing SNS topic for alarms. null = create an encrypted topic."
  type        = string
  default     = null
}

variable "iterator_age_alarm_threshold_ms" {
  description = "Alarm when the stream function's IteratorAge maximum exceeds this (milliseconds)."
  type        = number
  default     = 60000
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the customer managed KMS key is deleted after destroy."
  type        = number
  default     = 30
}

variable "jwt_issuer" {
  description = "HTTP API: issuer URL (https://...) of a JWT authorizer for the order routes, e.g. a Cognito user pool or an OIDC provider. null = the order routes require AWS_IAM (SigV4) instead. GET /health is anonymous either way."
  type        = string
  default     = null

  validation {
    condition     = var.jwt_issuer == null || var.jwt_issuer == "" || can(regex("^https://", var.jwt_issuer))
    error_message = "jwt_issuer must be an https:// URL (or null/empty for AWS_IAM authorization)."
  }
}

variable "jwt_audience" {
  description = "HTTP API: accepted JWT audiences (aud, or client_id for Cognito access tokens). Required with jwt_issuer."
  type        = list(string)
  default     = []
}

variable "http_throttle_rate_limit" {
  description = "HTTP API: steady-state requests per second per route (stage default). Caps spend and the table's write rate."
  type        = number
  default     = 50

  validation {
    condition     = var.http_throttle_rate_limit > 0
    error_message = "http_throttle_rate_limit must be positive."
  }
}

variable "http_throttle_burst_limit" {
  description = "HTTP API: burst (token bucket size) per route (stage default)."
  type        = number
  default     = 100

  validation {
    condition     = var.http_throttle_burst_limit >= 1
    error_message = "http_throttle_burst_limit must be at least 1."
  }
}

variable "http_health_throttle_rate_limit" {
  description = "HTTP API: requests per second on the anonymous GET /health (each one is a Lambda invocation)."
  type        = number
  default     = 5

  validation {
    condition     = var.http_health_throttle_rate_limit > 0
    error_message = "http_health_throttle_rate_limit must be positive."
  }
}

variable "http_health_throttle_burst_limit" {
  description = "HTTP API: burst on the anonymous GET /health."
  type        = number
  default     = 10

  validation {
    condition     = var.http_health_throttle_burst_limit >= 1
    error_message = "http_health_throttle_burst_limit must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags)."
  type        = map(string)
  default     = {}
}
