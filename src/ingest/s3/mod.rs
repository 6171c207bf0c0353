//! `orderflow-s3`: bulk order files dropped under `incoming/`. Accepts an `S3Event` directly or
//! S3 notifications wrapped in SQS messages (answering with an `SqsBatchResponse`). Streams each
//! object through the import parser, processes its orders, continues in the next invocation when
//! the deadline approaches (`continuation`), and writes an import report to
//! `reports/<key>.report.json`.

use super::{metered, Deps, Invocation};
use crate::config::{IMPORT_PREFIX, REPORT_PREFIX};
use crate::core::batch::{self, DeadlineGuard};
pub(crate) mod continuation;
pub(crate) mod import;
mod write;

use crate::core::processing::{now_rfc3339, Origin, Outcome, RecordOutcome};
use crate::metering::Tally;
use crate::order::Source;
use crate::store::{ObjectError, QueueError};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
pub use continuation::Continuation;
use import::FileError;
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

pub const FUNCTION_NAME: &str = "orderflow-s3";

/// The most rejected lines listed in one report; every rejection is also stored in the table.
pub(crate) const MAX_REPORTED_REJECTIONS: usize = 10_000;

/// Decodes an S3 notification key: `+` is a space, then percent-decoding.
pub fn decode_key(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus).decode_utf8_lossy().into_owned()
}

/// `decode_key`, refusing what S3 never sends: a `%` not followed by two hex digits, or bytes
/// that are not UTF-8 once decoded (a lossy decode would name some other object).
pub(crate) fn decode_key_strict(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    if let Some(at) = (0..b.len())
        .find(|&i| b[i] == b'%' && !b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)))
    {
        return Err(format!(
            "the object key is not valid percent-encoding (a `%` at byte {at} is not followed by two hex digits)"
        ));
    }
    let plus = raw.replace('+', " ");
    match percent_encoding::percent_decode_str(&plus).decode_utf8() {
        Ok(key) => Ok(key.into_owned()),
        Err(e) => Err(format!("the object key is not UTF-8 once decoded: {e}")),
    }
}

/// One rejected line in an import report.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RejectedLine {
    pub line: u64,
    pub order_id: Option<String>,
    pub reasons: Vec<String>,
}

/// The import report written next to the bucket's reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub bucket: String,
    pub key: String,
    pub request_id: String,
    pub format: Option<String>,
    pub compressed: bool,
    pub lines: u64,
    pub orders: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Orders handed on to the orders queue (deadline near, or a transient store failure).
    pub handed_on: u64,
    pub error: Option<String>,
    pub rejected_lines: Vec<RejectedLine>,
    /// Rejected lines beyond `MAX_REPORTED_REJECTIONS` (stored in the table, not listed here).
    pub rejected_lines_not_listed: u64,
    pub started_at: String,
    pub finished_at: String,
    /// The object version read (S3's ETag): a continuation resumes only the same version.
    #[serde(default)]
    pub version: Option<String>,
    /// While the import is still going on in later invocations: the first line not yet
    /// accounted for. None once the report covers the whole object.
    #[serde(default)]
    pub next_line: Option<u64>,
    /// The invocations that have worked on this object so far.
    #[serde(default)]
    pub invocations: u64,
}

/// Why an object could not be finished: the notification must be retried.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("{0}")]
    Read(String),
}

/// The Lambda handler: an S3 event, S3 notifications in SQS messages, or an `s3:TestEvent`.
pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    invoke(deps, event).await.response
}

/// The Lambda handler as the function binary and `orderflow invoke s3` run it: an event serde
/// can read is handled as by `handle`; in an SQS event of notifications, a record serde cannot
/// read (a lone surrogate: JSON allows the escape, Rust strings cannot hold it) is stored as a
/// rejection and acknowledged, and the other records are handled — one bad record never fails
/// the batch. An event that cannot be read at all (a number past f64's range, say) is stored as
/// a rejection and acknowledged.
pub async fn handle_raw(deps: &Deps, event: LambdaEvent<Box<RawValue>>) -> Result<Value, Error> {
    let (payload, ctx) = (event.payload, event.context);
    if let Ok(v) = serde_json::from_str::<Value>(payload.get()) {
        return invoke(deps, LambdaEvent::new(v, ctx)).await.response;
    }
    let request_id = ctx.request_id.as_str();
    let records = match serde_json::from_str::<super::sqs::RawSqsEvent>(payload.get()) {
        Ok(event) => event.records,
        Err(e) => {
            let reason = format!("the event cannot be read: {e}");
            let work = |_guard| async move {
                let mut tally = Tally::default();
                (reject_event(deps, payload.get(), reason, request_id, &mut tally).await, tally)
            };
            return metered(deps, &ctx, FUNCTION_NAME, work).await.response;
        }
    };
    let work = |guard| async move {
        let mut tally = Tally::default();
        let response = process_sqs_raw(deps, &records, guard, request_id, &mut tally).await;
        (response.and_then(|r| Ok(serde_json::to_value(r)?)), tally)
    };
    metered(deps, &ctx, FUNCTION_NAME, work).await.response
}

/// The handler's response with its invocation's metering.
pub async fn invoke(deps: &Deps, event: LambdaEvent<Value>) -> Invocation<Value> {
    let (payload, ctx) = (event.payload, event.context);
    let request_id = ctx.request_id.as_str();
    metered(deps, &ctx, FUNCTION_NAME, |guard| async move {
        let mut tally = Tally::default();
        let result = route(deps, payload, guard, request_id, &mut tally).await;
        (result, tally)
    })
    .await
}

/// The parts of an S3 event notification an import needs. Read leniently: emulators leave out
/// fields AWS sends (moto has no `userIdentity`), and the import needs only bucket and key.
#[derive(Debug, serde::Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(Debug, serde::Deserialize)]
struct NotificationRecord {
    s3: NotificationEntity,
}

#[derive(Debug, serde::Deserialize)]
struct NotificationEntity {
    bucket: NotificationBucket,
    object: NotificationObject,
}

#[derive(Debug, serde::Deserialize)]
struct NotificationBucket {
    name: String,
}

#[derive(Debug, serde::Deserialize)]
struct NotificationObject {
    key: String,
}

fn first_event_source(v: &Value) -> Option<&str> {
    v.get("Records")?.get(0)?.get("eventSource")?.as_str()
}

fn is_test_event(v: &Value) -> bool {
    v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

async fn route(
    deps: &Deps,
    payload: Value,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Value, Error> {
    if is_test_event(&payload) {
        tracing::info!("s3:TestEvent acknowledged");
        return Ok(serde_json::json!({ "ignored": "s3:TestEvent" }));
    }
    match first_event_source(&payload) {
        Some("aws:sqs") => {
            let resp = match SqsEvent::deserialize(&payload) {
                Ok(event) => process_sqs(deps, &event.records, guard, request_id, tally).await,
                // A record that is not an SQS message fails only itself (see `handle_raw`).
                Err(_) => {
                    let records: Vec<Box<RawValue>> = match payload.get("Records").and_then(Value::as_array) {
                        Some(list) => list.iter().filter_map(|r| serde_json::value::to_raw_value(r).ok()).collect(),
                        None => Vec::new(),
                    };
                    process_sqs_raw(deps, &records, guard, request_id, tally).await
                }
            }?;
            Ok(serde_json::to_value(resp)?)
        }
        Some("aws:s3") | None if payload.get("Records").is_some() => {
            let event = match Notification::deserialize(&payload) {
                Ok(event) => event,
                Err(e) => {
                    let reason = format!("not a valid S3 event notification: {e}");
                    return reject_event(deps, &payload.to_string(), reason, request_id, tally).await;
                }
            };
            let mut reports = Vec::new();
            for r in &event.records {
                let bucket = r.s3.bucket.name.clone();
                match import_notified(deps, &bucket, &r.s3.object.key, guard, request_id, tally).await? {
                    Some(report) => reports.push(report),
                    None => tally.ignore(),
                }
            }
            Ok(serde_json::json!({ "imports": reports.iter().map(summary).collect::<Vec<_>>() }))
        }
        other => {
            let reason = format!("orderflow-s3 does not understand this event (eventSource {other:?})");
            reject_event(deps, &payload.to_string(), reason, request_id, tally).await
        }
    }
}

/// An event the function cannot read at all: sending it again cannot help, so it is stored as
/// a rejection (keyed by the invocation's request id) and acknowledged, saying why. Only a store
/// that cannot take the rejection fails the invocation, to be retried.
async fn reject_event(
    deps: &Deps,
    payload: &str,
    reason: String,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Value, Error> {
    let origin = Origin { source: Source::S3, source_id: request_id, received_at: &now_rfc3339() };
    let out = deps.processor.reject(None, None, vec![reason.clone()], payload, origin).await;
    if out.outcome.is_retry() {
        return Err(format!("could not record the unreadable event: {:?}", out.outcome).into());
    }
    tally.add(&out);
    tracing::warn!(reason, "event refused");
    Ok(serde_json::json!({ "rejected": reason }))
}

fn summary(r: &ImportReport) -> Value {
    let mut v = serde_json::json!({
        "bucket": r.bucket, "key": r.key, "orders": r.orders, "accepted": r.accepted,
        "duplicates": r.duplicates, "rejected": r.rejected, "handed_on": r.handed_on, "error": r.error,
    });
    if let Some(line) = r.next_line {
        v["continues_at_line"] = line.into();
    }
    v
}

/// `process_sqs` over an event's records as they arrived: a record that is not an SQS message
/// is stored as a rejection and acknowledged (`sqs::read_records`), the others are processed.
async fn process_sqs_raw(
    deps: &Deps,
    records: &[Box<RawValue>],
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, Error> {
    let (messages, unread) = super::sqs::read_records(deps, records).await;
    let response = process_sqs(deps, &messages, guard, request_id, tally).await;
    tally.merge(&unread.tally);
    unread.add_to(response)
}

/// S3 notifications delivered through SQS. A message is retried only when one of its objects
/// could not be finished for a transient reason.
pub(crate) async fn process_sqs(
    deps: &Deps,
    records: &[SqsMessage],
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, Error> {
    let tallies = std::sync::Mutex::new(Tally::default());
    // Objects are imported one message at a time: each import already writes in batches.
    let outcomes = batch::run(records, guard, super::sqs::fifo_group, |m| {
        let tallies = &tallies;
        async move {
            let mut local = Tally::default();
            let index = records.iter().position(|r| std::ptr::eq(r, m)).unwrap_or_default();
            let out = process_notification(deps, m, index, guard, request_id, &mut local).await;
            tallies.lock().expect("tally lock").merge(&local);
            out
        }
    })
    .await;
    tally.merge(&tallies.into_inner().expect("tally lock"));
    super::sqs::response(records, &outcomes)
}

async fn process_notification(
    deps: &Deps,
    m: &SqsMessage,
    index: usize,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> RecordOutcome {
    let body = m.body.as_deref().unwrap_or("");
    let source_id = super::sqs::source_id(m, index);
    let message_id = source_id.as_ref();
    let ok = RecordOutcome { outcome: Outcome::Accepted, order_id: None, customer_id: None };
    let parsed: Result<Value, _> = serde_json::from_str(body);
    let notification = match parsed {
        Ok(v) if is_test_event(&v) => {
            tracing::info!(message_id, "s3:TestEvent acknowledged");
            tally.ignore();
            return ok;
        }
        Ok(v) if v.get("Records").is_some() => {
            serde_json::from_value::<Notification>(v).map_err(|e| format!("not a valid S3 event notification: {e}"))
        }
        // An import continued from an earlier invocation (see `continuation`).
        Ok(v) => match Continuation::parse(&v) {
            Some(Ok(c)) => {
                return match continue_import(deps, &c, guard, request_id, tally).await {
                    Ok(_) => ok,
                    Err(e) => {
                        tracing::warn!(bucket = c.bucket, key = c.key, error = %e, "import not continued; it will be retried");
                        RecordOutcome::retry(e.to_string())
                    }
                }
            }
            Some(Err(reason)) => Err(reason),
            None => Err("the message is not an S3 event notification".to_string()),
        },
        Err(e) => Err(format!("malformed JSON: {e}")),
    };
    let event = match notification {
        Ok(e) => e,
        Err(reason) => {
            // Not a notification at all: store it as a rejection so it is not lost, and ack it.
            let origin = Origin { source: Source::S3, source_id: message_id, received_at: &now_rfc3339() };
            let out = deps.processor.reject(None, None, vec![reason], body, origin).await;
            tally.add(&out);
            return out;
        }
    };
    for r in &event.records {
        let bucket = r.s3.bucket.name.clone();
        let key = &r.s3.object.key;
        match import_notified(deps, &bucket, key, guard, request_id, tally).await {
            Ok(Some(_)) => {}
            Ok(None) => tally.ignore(),
            Err(e) => {
                tracing::warn!(bucket, key, error = %e, "import not finished; the notification will be retried");
                return RecordOutcome::retry(e.to_string());
            }
        }
    }
    ok
}

/// Imports the object a notification names by its encoded key. A key that cannot be decoded
/// is acknowledged: its rejection is stored (line 0) and the answer says why; no report can be
/// written for it. `Ok(None)` when the key is not under the import prefix (ignored).
async fn import_notified(
    deps: &Deps,
    bucket: &str,
    raw_key: &str,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Option<ImportReport>, ImportError> {
    let reason = match decode_key_strict(raw_key) {
        Ok(key) => return import_object(deps, bucket, &key, guard, request_id, tally).await,
        Err(reason) => reason,
    };
    // Some senders encode the `/` too (`incoming%2F...`): the prefix is checked decoded.
    if !decode_key(raw_key).starts_with(IMPORT_PREFIX) {
        tracing::info!(bucket, raw_key, "key outside {IMPORT_PREFIX}: ignored");
        return Ok(None);
    }
    let started_at = now_rfc3339();
    let sid = format!("{bucket}/{raw_key}:0");
    let origin = Origin { source: Source::S3, source_id: &sid, received_at: &started_at };
    let out = deps.processor.reject(None, None, vec![reason.clone()], raw_key, origin).await;
    if out.outcome.is_retry() {
        return Err(ImportError::Read(format!("could not record the refused key: {:?}", out.outcome)));
    }
    tally.add(&out);
    tracing::warn!(bucket, raw_key, reason, "object key refused");
    Ok(Some(ImportReport {
        bucket: bucket.to_string(),
        key: raw_key.to_string(),
        request_id: request_id.to_string(),
        error: Some(reason),
        finished_at: now_rfc3339(),
        started_at,
        ..ImportReport::default()
    }))
}

/// Imports one object. `Ok(None)` when the key is not under the import prefix (ignored).
pub async fn import_object(
    deps: &Deps,
    bucket: &str,
    key: &str,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Option<ImportReport>, ImportError> {
    import_from(deps, bucket, key, None, guard, request_id, tally).await
}

/// Continues an import where a continuation message says (what `orderflow-s3` does with one).
pub async fn continue_import(
    deps: &Deps,
    c: &Continuation,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Option<ImportReport>, ImportError> {
    import_from(deps, &c.bucket, &c.key, Some(c), guard, request_id, tally).await
}

/// Imports one object from its first line, or from where `resume` says an earlier invocation
/// stopped (adding to its report, if the object is still the version it read).
async fn import_from(
    deps: &Deps,
    bucket: &str,
    key: &str,
    resume: Option<&Continuation>,
    guard: DeadlineGuard,
    request_id: &str,
    tally: &mut Tally,
) -> Result<Option<ImportReport>, ImportError> {
    if !key.starts_with(IMPORT_PREFIX) {
        tracing::info!(bucket, key, "key outside {IMPORT_PREFIX}: ignored");
        return Ok(None);
    }
    if crate::store::embedded::is_temp_key(key) {
        tracing::info!(bucket, key, "a write's temporary file, not an object: ignored");
        return Ok(None);
    }
    let mut report = ImportReport {
        bucket: bucket.to_string(),
        key: key.to_string(),
        request_id: request_id.to_string(),
        started_at: now_rfc3339(),
        ..ImportReport::default()
    };
    let source_id_of = |line: u64| format!("{bucket}/{key}:{line}");
    let detected = import::detect(key);
    if let Some((format, gz)) = detected {
        report.format = Some(match format {
            import::Format::JsonLines => "jsonl".to_string(),
            import::Format::Csv => "csv".to_string(),
        });
        report.compressed = gz;
    }
    let file_problem = match detected {
        None => Some("unsupported file type: expected .jsonl, .ndjson or .csv, optionally .gz".to_string()),
        Some((format, gz)) => match deps.objects.open(bucket, key).await {
            Err(ObjectError::NotFound { .. }) => Some(format!("object s3://{bucket}/{key} no longer exists")),
            Err(ObjectError::InvalidKey(k)) => Some(format!("object key {k:?} is not allowed")),
            Err(e @ ObjectError::Unusable { .. }) => Some(e.to_string()),
            Err(e) => return Err(e.into()),
            Ok(opened) => {
                report.version = opened.version;
                let mut skip_before = 0;
                if let Some(c) = resume {
                    if let Some(so_far) = continuation::report_so_far(deps, c, report.version.as_deref()).await? {
                        skip_before = c.next_line;
                        report = ImportReport { request_id: request_id.to_string(), ..so_far };
                    }
                }
                let sync = tokio_util::io::SyncIoBridge::new(opened.reader);
                let received_at = now_rfc3339();
                let limits = crate::config::ObjectLimits::from_env();
                let object = format!("{bucket}/{key}");
                let with = import::PrepareWith { object, received_at, limits, skip_before };
                let mut chunks = import::spawn_prepared(sync, format, gz, with, prepare_workers());
                let mut hand_on: Vec<String> = Vec::new();
                let written = write::write_chunks(deps, &mut chunks, guard, &mut report, tally, &mut hand_on).await;
                let parsed = chunks.finish().await;
                let stopped_at = written?;
                if !hand_on.is_empty() {
                    report.handed_on += hand_on.len() as u64;
                    deps.queue.send_all(hand_on).await?;
                }
                report.invocations += 1;
                if let (Some(next_line), Some(queue)) = (stopped_at, &deps.continuations) {
                    report.next_line = Some(next_line);
                    report.finished_at = now_rfc3339();
                    continuation::hand_on(deps, queue.as_ref(), &report, next_line).await?;
                    tracing::info!(bucket, key, next_line, "import continues in the next invocation");
                    return Ok(Some(report));
                }
                report.next_line = None;
                match parsed {
                    Ok(lines) => {
                        report.lines = lines;
                        None
                    }
                    Err(FileError::Invalid(reason)) => Some(reason),
                    // The lines read before the limit (or the corruption) are accounted for; the
                    // stop is refused as the whole file's problem: a retry would stop there again.
                    Err(FileError::Limit { lines, reason } | FileError::Corrupt { lines, reason }) => {
                        report.lines = lines;
                        Some(reason)
                    }
                    Err(FileError::Read(e)) => return Err(ImportError::Read(e)),
                }
            }
        },
    };
    if let Some(reason) = file_problem {
        // The whole file is refused: store it as one rejection (line 0) so it is not lost.
        let sid = source_id_of(0);
        let origin = Origin { source: Source::S3, source_id: &sid, received_at: &report.started_at };
        let out = deps.processor.reject(None, None, vec![reason.clone()], key, origin).await;
        if out.outcome.is_retry() {
            return Err(ImportError::Read(format!("could not record the rejected file: {:?}", out.outcome)));
        }
        tally.add(&out);
        report.error = Some(reason);
    }
    report.finished_at = now_rfc3339();
    let body = serde_json::to_vec_pretty(&report).expect("report serializes");
    match deps.objects.put(bucket, &report_key(key), body, "application/json").await {
        // The records are stored; the report can never be written there (a symlink, a name too
        // long): retrying would not help. Say so in the answer instead.
        Err(e @ (ObjectError::Unusable { .. } | ObjectError::InvalidKey(_))) => {
            tracing::warn!(bucket, key, error = %e, "the import report cannot be written");
            report.error.get_or_insert_with(|| format!("the import report cannot be written: {e}"));
        }
        other => other?,
    }
    tracing::info!(
        bucket,
        key,
        orders = report.orders,
        accepted = report.accepted,
        rejected = report.rejected,
        handed_on = report.handed_on,
        "import finished"
    );
    Ok(Some(report))
}

/// Threads that parse, validate and price an object's orders while its writes go on: one per
/// core (a Lambda function gets more cores with more memory), at most four. Past that the
/// writes, on one thread, are the limit, and each worker holds a few chunks in memory.
fn prepare_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

/// `reports/<key>.report.json`
pub fn report_key(key: &str) -> String {
    format!("{REPORT_PREFIX}{key}.report.json")
}
