//! `orderflow-stream`: rows written straight into the table. An INSERT of a PENDING item is an
//! order: it is priced and updated in place (condition: still PENDING). Everything else is
//! ignored and counted. Records of a batch run in order; after the first failure the rest are
//! reported too, so Lambda resumes from the lowest failed sequence number.

use super::{start_meter, Deps};
use crate::batch::{self, DeadlineGuard};
use crate::item::{self, Item};
use crate::metering::Tally;
use crate::order::{Source, Status};
use crate::processing::{now_rfc3339, Origin, RecordOutcome};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};

pub const FUNCTION_NAME: &str = "orderflow-stream";

/// The Lambda handler.
pub async fn handle(deps: &Deps, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let meter = start_meter(&event.context, FUNCTION_NAME);
    let guard = DeadlineGuard::from_deadline_ms(event.context.deadline);
    let (response, tally) = process(deps, &event.payload.records, guard).await;
    deps.metrics.emit(&meter.finish(tally));
    response
}

/// Whether a stream record is an order to process: an INSERT whose new image is PENDING.
pub fn is_pending_insert(r: &EventRecord) -> bool {
    r.event_name == "INSERT" && item::status_of(&r.change.new_image) == Some(Status::Pending)
}

const ONE_GROUP: &str = "shard";

pub async fn process(
    deps: &Deps,
    records: &[EventRecord],
    guard: DeadlineGuard,
) -> (Result<DynamoDbEventResponse, Error>, Tally) {
    let now = now_rfc3339();
    let mut tally = Tally::default();
    let outcomes: Vec<Option<RecordOutcome>> = {
        // Ignored records are decided up front; the rest run in order as one group.
        let wanted: Vec<(usize, &EventRecord)> =
            records.iter().enumerate().filter(|(_, r)| is_pending_insert(r)).collect();
        let done = batch::run(
            &wanted,
            1,
            guard,
            |_| Some(ONE_GROUP),
            |_, (_, r)| {
                let p = &deps.processor;
                let now = &now;
                async move {
                    let seq = r.change.sequence_number.as_deref().unwrap_or("");
                    let received =
                        r.change.approximate_creation_date_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    let received =
                        if r.change.approximate_creation_date_time.timestamp() == 0 { now.clone() } else { received };
                    let image: &Item = &r.change.new_image;
                    p.process_pending(image, Origin { source: Source::Stream, source_id: seq, received_at: &received })
                        .await
                }
            },
        )
        .await;
        let mut all: Vec<Option<RecordOutcome>> = vec![None; records.len()];
        for ((i, _), o) in wanted.iter().zip(done) {
            all[*i] = Some(o);
        }
        all
    };
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
