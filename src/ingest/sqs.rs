//! `orderflow-sqs`: each SQS message body is one order. Answers with the messages to retry
//! (`batchItemFailures`); FIFO groups stop at their first failure.

use super::{epoch_ms_to_rfc3339, metered, Deps, Invocation};
use crate::core::batch::{self, DeadlineGuard};
use crate::core::processing::{now_rfc3339, prepare_body_at, Origin, Prepared, RecordOutcome};
use crate::metering::Tally;
use crate::order::Source;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};

pub const FUNCTION_NAME: &str = "orderflow-sqs";

/// The Lambda handler.
pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    invoke(deps, event).await.response
}

/// The handler's response with its invocation's metering.
pub async fn invoke(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Invocation<SqsBatchResponse> {
    let records = &event.payload.records;
    metered(deps, &event.context, FUNCTION_NAME, |guard| process(deps, records, guard)).await
}

/// An SQS event read record by record: each record's text is kept as it arrived, so that one
/// record serde cannot read (a lone surrogate in its body: JSON allows the escape, Rust strings
/// cannot hold it) fails only itself, not the whole batch.
#[derive(Debug, serde::Deserialize)]
pub struct RawSqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<Box<serde_json::value::RawValue>>,
}

/// The Lambda handler, as the function binary and `orderflow invoke` run it: a record that
/// cannot be read as an SQS message is stored as a rejection (keyed by its messageId when that
/// much can be read) and acknowledged — retrying the same bytes cannot help. The others are
/// handled as by `handle`.
pub async fn handle_raw(deps: &Deps, event: LambdaEvent<RawSqsEvent>) -> Result<SqsBatchResponse, Error> {
    let records = &event.payload.records;
    metered(deps, &event.context, FUNCTION_NAME, |guard| process_raw(deps, records, guard)).await.response
}

async fn process_raw(
    deps: &Deps,
    records: &[Box<serde_json::value::RawValue>],
    guard: DeadlineGuard,
) -> (Result<SqsBatchResponse, Error>, Tally) {
    let (messages, unread) = read_records(deps, records).await;
    let (response, mut tally) = process(deps, &messages, guard).await;
    tally.merge(&unread.tally);
    (unread.add_to(response), tally)
}

/// The records of an SQS event that could not be read as SQS messages: each stored as a
/// rejection and counted; those whose rejection could not be stored must come back.
pub(crate) struct Unread {
    pub(crate) tally: Tally,
    retry: Vec<Option<String>>,
}

impl Unread {
    /// The batch response with the unread records to retry added to it.
    pub(crate) fn add_to(self, response: Result<SqsBatchResponse, Error>) -> Result<SqsBatchResponse, Error> {
        let mut response = response?;
        add_failures(&mut response, self.retry)?;
        Ok(response)
    }
}

/// Reads an SQS event's records one by one: those serde can read as messages, and the rest
/// (a lone surrogate in a body: JSON allows the escape, Rust strings cannot hold it) stored as
/// rejections keyed by their messageId when that much can be read — retrying the same bytes
/// cannot help.
pub(crate) async fn read_records(
    deps: &Deps,
    records: &[Box<serde_json::value::RawValue>],
) -> (Vec<SqsMessage>, Unread) {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(rename = "messageId")]
        message_id: Option<String>,
    }
    let mut messages = Vec::with_capacity(records.len());
    let (mut tally, mut retry) = (Tally::default(), Vec::new());
    for (index, raw) in records.iter().enumerate() {
        match serde_json::from_str::<SqsMessage>(raw.get()) {
            Ok(m) => messages.push(m),
            Err(e) => {
                let mut m = SqsMessage::default();
                m.message_id = serde_json::from_str::<IdOnly>(raw.get()).ok().and_then(|i| i.message_id);
                let sid = source_id(&m, index);
                let reason = format!("the SQS record cannot be read: {e}");
                tracing::warn!(source_id = %sid, reason, "SQS record refused");
                let origin = Origin { source: Source::Sqs, source_id: &sid, received_at: &now_rfc3339() };
                let out = deps.processor.reject(None, None, vec![reason], raw.get(), origin).await;
                tally.add(&out);
                if out.outcome.is_retry() {
                    // The rejection could not be stored: the record must come back.
                    retry.push(m.message_id);
                }
            }
        }
    }
    (messages, Unread { tally, retry })
}

/// The message's FIFO group, if it came from a FIFO queue.
pub(crate) fn fifo_group(m: &SqsMessage) -> Option<&str> {
    m.attributes.get("MessageGroupId").map(String::as_str)
}

/// Processes a batch of order messages; the response lists every message to retry. The batch
/// reaches the store as one call (a FIFO batch: one call per round of its message groups).
pub async fn process(
    deps: &Deps,
    records: &[SqsMessage],
    guard: DeadlineGuard,
) -> (Result<SqsBatchResponse, Error>, Tally) {
    let now = now_rfc3339();
    let outcomes = batch::run_rounds(records, guard, fifo_group, |round| {
        let now = &now;
        async move {
            let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; round.len()];
            let (mut ready, mut ready_at) = (Vec::with_capacity(round.len()), Vec::with_capacity(round.len()));
            for (k, &i) in round.iter().enumerate() {
                let m = &records[i];
                let body = m.body.as_deref().unwrap_or("");
                // A panic while preparing one record retries that record only.
                match std::panic::catch_unwind(|| prepare_message(m, i, body, now)) {
                    Ok(prepared) => {
                        ready.push((prepared, body));
                        ready_at.push(k);
                    }
                    Err(panic) => {
                        let msg = crate::panic::message(panic.as_ref());
                        tracing::error!(record = i, panic = %msg, "record handler panicked");
                        outcomes[k] = Some(RecordOutcome::retry(format!("the handler panicked: {msg}")));
                    }
                }
            }
            for (k, out) in ready_at.into_iter().zip(deps.processor.commit_batch(ready).await) {
                outcomes[k] = Some(out);
            }
            outcomes.into_iter().map(|o| o.expect("every record has an outcome")).collect()
        }
    })
    .await;
    let mut tally = Tally::default();
    outcomes.iter().for_each(|o| tally.add(o));
    (response(records, &outcomes), tally)
}

/// Parses, validates and prices one message's order. Pure: no I/O.
fn prepare_message(m: &SqsMessage, index: usize, body: &str, now: &str) -> Prepared {
    let id = source_id(m, index);
    let id = id.as_ref();
    let received = m.attributes.get("SentTimestamp").and_then(|t| epoch_ms_to_rfc3339(t));
    let origin = Origin { source: Source::Sqs, source_id: id, received_at: received.as_deref().unwrap_or(now) };
    prepare_body_at(body, origin, now)
}

/// A message's source id: its messageId; without one, a unique id that says where it came
/// from (`no-message-id:<queue>:<place in the batch>:<uuid>`), logged with the batch's place.
pub(crate) fn source_id(m: &SqsMessage, index: usize) -> std::borrow::Cow<'_, str> {
    match m.message_id.as_deref() {
        Some(id) if !id.is_empty() => id.into(),
        _ => {
            let queue = m.event_source_arn.as_deref().and_then(|a| a.rsplit(':').next()).unwrap_or("unknown-queue");
            let id = format!("no-message-id:{queue}:{index}:{}", uuid::Uuid::new_v4().simple());
            tracing::warn!(source_id = %id, record = index, "a message without a messageId");
            id.into()
        }
    }
}

/// Builds the partial batch response.
pub(crate) fn response(
    records: &[SqsMessage],
    outcomes: &[crate::core::processing::RecordOutcome],
) -> Result<SqsBatchResponse, Error> {
    let ids = batch::failures(records, outcomes, |m| m.message_id.clone());
    let mut resp = SqsBatchResponse::default();
    add_failures(&mut resp, ids)?;
    Ok(resp)
}

/// Names the messages to retry in a batch response. A message without a messageId cannot be
/// named, so the whole batch fails (Lambda then retries all of it; the others are idempotent).
fn add_failures(resp: &mut SqsBatchResponse, ids: Vec<Option<String>>) -> Result<(), Error> {
    if ids.iter().any(|id| id.as_deref().is_none_or(str::is_empty)) {
        return Err("a message to retry has no messageId; failing the whole batch".into());
    }
    resp.batch_item_failures.extend(ids.into_iter().flatten().map(|id| {
        let mut f = BatchItemFailure::default();
        f.item_identifier = id;
        f
    }));
    Ok(())
}
