//! `orderflow-stream`: rows written straight into the table. An INSERT of a PENDING item is an
//! order: it is priced and updated in place (condition: still PENDING). Everything else is
//! ignored and counted. Records of a batch run in order; after the first failure the rest are
//! reported too, so Lambda resumes from the lowest failed sequence number.

use super::{metered, Deps, Invocation};
use crate::core::batch::{self, DeadlineGuard};
use crate::core::processing::{now_rfc3339, Origin, Outcome, PendingImage, RecordOutcome};
use crate::metering::Tally;
use crate::order::Source;
use crate::store::item;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};

pub const FUNCTION_NAME: &str = "orderflow-stream";

/// The Lambda handler.
pub async fn handle(deps: &Deps, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    invoke(deps, event).await.response
}

/// The handler's response with its invocation's metering.
pub async fn invoke(deps: &Deps, event: LambdaEvent<Event>) -> Invocation<DynamoDbEventResponse> {
    let records = &event.payload.records;
    metered(deps, &event.context, FUNCTION_NAME, |guard| process(deps, records, guard)).await
}

/// Whether a stream record is an order to process: an INSERT whose new image is PENDING.
pub fn is_pending_insert(r: &EventRecord) -> bool {
    crate::store::StreamFilter::PendingInserts.passes(r)
}

pub(crate) async fn process(
    deps: &Deps,
    records: &[EventRecord],
    guard: DeadlineGuard,
) -> (Result<DynamoDbEventResponse, Error>, Tally) {
    let now = now_rfc3339();
    let mut tally = Tally::default();
    // Ignored records are decided up front; the rest reach the store as one ordered call.
    let wanted: Vec<usize> = (0..records.len()).filter(|&i| is_pending_insert(&records[i])).collect();
    let received: Vec<String> = wanted
        .iter()
        .map(|&i| {
            let t = records[i].change.approximate_creation_date_time;
            if t.timestamp() == 0 {
                now.clone()
            } else {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            }
        })
        .collect();
    let done = if guard.is_expired() {
        vec![RecordOutcome::retry(batch::DEADLINE_REASON); wanted.len()]
    } else {
        // The NewImage is decoded here, at the edge: the core sees pending orders, not items.
        let images: Vec<PendingImage> =
            wanted.iter().map(|&i| item::pending_image(&records[i].change.new_image)).collect();
        let batch: Vec<(&PendingImage, Origin<'_>)> = wanted
            .iter()
            .zip(&images)
            .zip(&received)
            .map(|((&i, image), received_at)| {
                let seq = records[i].change.sequence_number.as_deref().unwrap_or("");
                (image, Origin { source: Source::Stream, source_id: seq, received_at })
            })
            .collect();
        deps.processor.process_pendings(&batch).await
    };
    let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; records.len()];
    let mut failed_before = false;
    for (i, mut o) in wanted.into_iter().zip(done) {
        // A shard is processed in order: after the first failure every later record is retried
        // too (Lambda resumes from the lowest failed sequence number; completions are idempotent).
        if failed_before && !o.outcome.is_retry() {
            o.outcome = Outcome::Retry { reason: "not started: an earlier record of the batch failed".into() };
        }
        failed_before |= o.outcome.is_retry();
        outcomes[i] = Some(o);
    }
    for o in &outcomes {
        match o {
            Some(o) => tally.add(o),
            None => tally.ignore(),
        }
    }
    let mut failed = Vec::new();
    for (r, o) in records.iter().zip(&outcomes) {
        if let Some(o) = o {
            if o.outcome.is_retry() {
                match r.change.sequence_number.as_deref() {
                    Some(seq) if !seq.is_empty() => failed.push(seq.to_string()),
                    _ => {
                        return (Err("a record to retry has no SequenceNumber; failing the whole batch".into()), tally)
                    }
                }
            }
        }
    }
    let mut resp = DynamoDbEventResponse::default();
    resp.batch_item_failures = failed
        .into_iter()
        .map(|seq| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(seq);
            f
        })
        .collect();
    (Ok(resp), tally)
}
