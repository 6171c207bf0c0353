//! An import that cannot finish before its deadline continues in the next invocation instead of
//! handing its remaining lines on: it writes its report so far (with the line to resume at and
//! the object version it read), then sends a continuation to the uploads queue, which
//! `orderflow-s3` reads beside S3's notifications. The next invocation reads the object again,
//! skips the lines already accounted for and adds to the same report; an object replaced in
//! between (another version) is imported from its first line with a fresh report.

use super::{report_key, ImportError, ImportReport};
use crate::ingest::Deps;
use crate::store::ObjectError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// The `type` of a continuation message: what tells it apart from an S3 notification.
pub(crate) const CONTINUATION_TYPE: &str = "orderflow-import-continuation";

/// A continuation message: where to resume which object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    #[serde(rename = "type")]
    pub kind: String,
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    /// The object version the earlier invocations read (S3's ETag).
    pub version: Option<String>,
    /// The first line not yet accounted for.
    pub next_line: u64,
}

impl Continuation {
    pub(crate) fn new(report: &ImportReport, next_line: u64) -> Continuation {
        Continuation {
            kind: CONTINUATION_TYPE.to_string(),
            bucket: report.bucket.clone(),
            key: report.key.clone(),
            version: report.version.clone(),
            next_line,
        }
    }

    /// A message body as a continuation: None when it is not one, an error when it claims to be
    /// one and is not readable.
    pub(crate) fn parse(v: &Value) -> Option<Result<Continuation, String>> {
        (v.get("type")?.as_str()? == CONTINUATION_TYPE)
            .then(|| Continuation::deserialize(v).map_err(|e| format!("not a valid import continuation: {e}")))
    }
}

/// The largest report so far a continuation reads back (its rejected lines are capped).
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// The report so far, when the bucket holds the one `c` continues and the object is still the
/// version it read; None when the import must start over (the object was replaced, or the
/// report was replaced or removed).
pub(crate) async fn report_so_far(
    deps: &Deps,
    c: &Continuation,
    version: Option<&str>,
) -> Result<Option<ImportReport>, ImportError> {
    if c.version.as_deref() != version {
        tracing::warn!(bucket = c.bucket, key = c.key, "the object changed since the import began: starting over");
        return Ok(None);
    }
    let mut text = Vec::new();
    match deps.objects.get(&c.bucket, &report_key(&c.key)).await {
        Ok(reader) => {
            let read = reader.take(MAX_REPORT_BYTES).read_to_end(&mut text).await;
            read.map_err(|e| ImportError::Read(format!("reading the report so far: {e}")))?;
        }
        Err(ObjectError::NotFound { .. } | ObjectError::Unusable { .. } | ObjectError::InvalidKey(_)) => {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    }
    let report = serde_json::from_slice::<ImportReport>(&text).ok();
    Ok(report.filter(|r| r.next_line == Some(c.next_line) && r.version == c.version))
}

/// Writes the report so far, then sends the continuation: the next invocation finds the report.
pub(crate) async fn hand_on(
    deps: &Deps,
    queue: &dyn crate::store::OrderQueue,
    report: &ImportReport,
    next_line: u64,
) -> Result<(), ImportError> {
    let body = serde_json::to_vec_pretty(report).expect("report serializes");
    deps.objects.put(&report.bucket, &report_key(&report.key), body, "application/json").await?;
    let message = serde_json::to_string(&Continuation::new(report, next_line)).expect("continuation serializes");
    queue.send_all(vec![message]).await?;
    Ok(())
}
