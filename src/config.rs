//! Names shared by the code, the CLI and `infra/`: environment variables, prefixes and limits.
//!
//! Terraform sets exactly these variables on the functions; `infra/tests` checks that it does.

/// The DynamoDB table (or embedded table) holding orders and rejected intake records.
pub(crate) const ENV_TABLE: &str = "ORDERFLOW_TABLE";
/// The bucket that bulk order files are dropped into (CLI `upload`).
pub(crate) const ENV_BUCKET: &str = "ORDERFLOW_BUCKET";
/// The orders queue: the S3 import hands orders on to it when its deadline approaches.
pub(crate) const ENV_ORDERS_QUEUE_URL: &str = "ORDERFLOW_ORDERS_QUEUE_URL";
/// The uploads queue that S3 notifies (CLI `run` polls it).
pub(crate) const ENV_UPLOADS_QUEUE_URL: &str = "ORDERFLOW_UPLOADS_QUEUE_URL";
/// The on-failure queue of the stream consumer (records that exhausted their retries).
pub(crate) const ENV_STREAM_FAILURES_QUEUE_URL: &str = "ORDERFLOW_STREAM_FAILURES_QUEUE_URL";
/// CloudWatch namespace of the per-invocation EMF line.
pub(crate) const ENV_METRICS_NAMESPACE: &str = "ORDERFLOW_METRICS_NAMESPACE";

/// Conditional writes a DynamoDB batch (an SQS batch, an import chunk) keeps in flight at once.
pub(crate) const ENV_WRITE_CONCURRENCY: &str = "ORDERFLOW_WRITE_CONCURRENCY";
/// The default of `ORDERFLOW_WRITE_CONCURRENCY` (see the README for how it was chosen).
pub(crate) const DEFAULT_WRITE_CONCURRENCY: usize = 128;

pub(crate) const DEFAULT_TABLE: &str = "orderflow-orders";
pub(crate) const DEFAULT_BUCKET: &str = "orderflow-uploads";
/// Queue names when the URL variables are unset (the names `infra/` gives them, without prefix).
pub(crate) const DEFAULT_ORDERS_QUEUE: &str = "orderflow-orders";
pub(crate) const DEFAULT_UPLOADS_QUEUE: &str = "orderflow-uploads";
pub(crate) const DEFAULT_STREAM_FAILURES_QUEUE: &str = "orderflow-stream-failures";
/// A queue's dead-letter queue is named after it, as in `infra/sqs.tf`.
pub(crate) const DLQ_SUFFIX: &str = "-dlq";
/// Function timeouts (seconds) as `infra/variables.tf` sets them; the local runtime gives each
/// invocation a deadline this far away.
pub(crate) const SQS_TIMEOUT_S: u64 = 30;
pub(crate) const S3_TIMEOUT_S: u64 = 300;
pub(crate) const STREAM_TIMEOUT_S: u64 = 60;
/// Under API Gateway's 30 s integration timeout; `orderflow serve` gives each request this long.
pub(crate) const HTTP_TIMEOUT_S: u64 = 10;
/// Invocations in flight at once per SQS mapping (`infra`'s `maximum_concurrency`).
pub(crate) const MAX_CONCURRENCY_SQS: usize = 10;
pub(crate) const MAX_CONCURRENCY_S3: usize = 5;
/// How long a queue mapping waits to fill a batch (`infra`'s `maximum_batching_window_in_seconds`).
pub(crate) const BATCH_WINDOW_S: u64 = 5;
/// Stream records older than this go to the on-failure queue unprocessed (`infra`'s
/// `stream_maximum_record_age_in_seconds`).
pub(crate) const STREAM_MAX_RECORD_AGE_S: u64 = 3600;
/// Retries of a failing stream batch (`infra`'s `stream_maximum_retry_attempts`).
pub(crate) const STREAM_MAX_RETRIES: u32 = 5;
/// Receives before a message moves to the dead-letter queue (`infra`'s `max_receive_count`).
pub(crate) const MAX_RECEIVE_COUNT: u32 = 5;
pub(crate) const DEFAULT_METRICS_NAMESPACE: &str = "Orderflow";

/// Only objects under this prefix are imported.
pub(crate) const IMPORT_PREFIX: &str = "incoming/";
/// Import reports are written under this prefix (never under `IMPORT_PREFIX`, so imports cannot loop).
pub(crate) const REPORT_PREFIX: &str = "reports/";

/// The largest order body accepted: SQS's own message limit.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// The most bytes an import reads from one object, counted after decompression: a gzip bomb
/// stops here, with a report that says so. Default `DEFAULT_MAX_OBJECT_BYTES` (2 GiB).
pub(crate) const ENV_MAX_OBJECT_BYTES: &str = "ORDERFLOW_MAX_OBJECT_BYTES";
pub(crate) const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The most lines an import reads from one object. Default `DEFAULT_MAX_OBJECT_LINES` (5 million).
pub(crate) const ENV_MAX_OBJECT_LINES: &str = "ORDERFLOW_MAX_OBJECT_LINES";
pub(crate) const DEFAULT_MAX_OBJECT_LINES: u64 = 5_000_000;

/// Per-object limits of an import (see `ENV_MAX_OBJECT_BYTES`, `ENV_MAX_OBJECT_LINES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectLimits {
    pub bytes: u64,
    pub lines: u64,
}

impl Default for ObjectLimits {
    fn default() -> Self {
        ObjectLimits { bytes: DEFAULT_MAX_OBJECT_BYTES, lines: DEFAULT_MAX_OBJECT_LINES }
    }
}

impl ObjectLimits {
    /// The limits from the environment; an unset, empty or invalid value (not a whole number
    /// of at least 1) leaves the default, with a warning for an invalid one.
    pub(crate) fn from_env() -> ObjectLimits {
        let read = |name: &str, default: u64| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    tracing::warn!(value = %v, "{name} is not a whole number of at least 1; using {default}");
                    default
                }
            },
            _ => default,
        };
        ObjectLimits {
            bytes: read(ENV_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES),
            lines: read(ENV_MAX_OBJECT_LINES, DEFAULT_MAX_OBJECT_LINES),
        }
    }
}

/// Reads an environment variable, falling back to a default when unset or empty.
pub(crate) fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// The DynamoDB write window from `ORDERFLOW_WRITE_CONCURRENCY` (1 to 1,024), else the default.
pub fn write_concurrency() -> usize {
    match std::env::var(ENV_WRITE_CONCURRENCY) {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => n,
            _ => {
                tracing::warn!(value = %v, "{ENV_WRITE_CONCURRENCY} is not a number from 1 to 1024; using {DEFAULT_WRITE_CONCURRENCY}");
                DEFAULT_WRITE_CONCURRENCY
            }
        },
        _ => DEFAULT_WRITE_CONCURRENCY,
    }
}

/// A queue as the environment names it: its URL when its variable is set, else the default name
/// (looked up with GetQueueUrl where a URL is needed, as `orderflow run --aws` does on moto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// The variable Terraform sets to the queue's URL.
    pub env_var: &'static str,
    pub url: Option<String>,
    /// The queue's name: the URL's last path segment, else the default name.
    pub name: String,
}

impl QueueRef {
    fn from_env(env_var: &'static str, default_name: &str) -> QueueRef {
        QueueRef::new(env_var, Some(env_or(env_var, "")).filter(|u| !u.is_empty()), default_name)
    }

    fn new(env_var: &'static str, url: Option<String>, default_name: &str) -> QueueRef {
        let name = match &url {
            Some(u) => queue_name_from_url(u).to_string(),
            None => default_name.to_string(),
        };
        QueueRef { env_var, url, name }
    }
}

/// A queue's name from its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
pub(crate) fn queue_name_from_url(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// Every resource name, resolved once from the environment (the variables infra/ sets on the
/// functions; the defaults are the names infra/ gives the resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub bucket: String,
    pub orders_queue: QueueRef,
    pub uploads_queue: QueueRef,
    pub stream_failures_queue: QueueRef,
}

impl Config {
    pub fn from_env() -> Config {
        Config {
            table: env_or(ENV_TABLE, DEFAULT_TABLE),
            bucket: env_or(ENV_BUCKET, DEFAULT_BUCKET),
            orders_queue: QueueRef::from_env(ENV_ORDERS_QUEUE_URL, DEFAULT_ORDERS_QUEUE),
            uploads_queue: QueueRef::from_env(ENV_UPLOADS_QUEUE_URL, DEFAULT_UPLOADS_QUEUE),
            stream_failures_queue: QueueRef::from_env(ENV_STREAM_FAILURES_QUEUE_URL, DEFAULT_STREAM_FAILURES_QUEUE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_named_by_its_url_when_the_variable_gives_one_else_by_its_default_name() {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-orders";
        let given = QueueRef::new(ENV_ORDERS_QUEUE_URL, Some(url.to_string()), DEFAULT_ORDERS_QUEUE);
        assert_eq!((given.url.as_deref(), given.name.as_str()), (Some(url), "shop-orders"));
        let unset = QueueRef::new(ENV_ORDERS_QUEUE_URL, None, DEFAULT_ORDERS_QUEUE);
        assert_eq!((unset.url, unset.name.as_str()), (None, DEFAULT_ORDERS_QUEUE));
    }
}
