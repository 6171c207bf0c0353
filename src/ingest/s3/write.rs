//! Writing an import's prepared chunks: in file order, as many in flight as the store keeps in
//! order, each only if it fits the time left at the write rate measured so far; outcomes counted
//! into the report.

use super::{import, ImportError, ImportReport, RejectedLine, MAX_REPORTED_REJECTIONS};
use crate::core::batch::DeadlineGuard;
use crate::core::processing::{Outcome, RecordOutcome};
use crate::ingest::Deps;
use crate::metering::Tally;
use import::PreparedChunk;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

/// Writes the file's chunks as they are prepared, in file order, and counts their outcomes
/// (a continued import's chunks come without the lines accounted for before). A chunk is
/// written when its writes fit the time left at the rate measured so far. When one does not fit,
/// the import stops there and returns that chunk's first line to continue from, or, without a
/// continuations queue, hands the rest on to the orders queue; records whose write must be
/// retried are handed on. Where the store applies batches in the order they are submitted, the
/// next chunks are submitted while one commits.
pub(super) async fn write_chunks(
    deps: &Deps,
    chunks: &mut import::PreparedChunks,
    guard: DeadlineGuard,
    report: &mut ImportReport,
    tally: &mut Tally,
    hand_on: &mut Vec<String>,
) -> Result<Option<u64>, ImportError> {
    let depth = if deps.processor.store().ordered_batches() { CHUNKS_IN_FLIGHT } else { 1 };
    let mut in_flight: VecDeque<Pin<Box<dyn Future<Output = WrittenChunk> + Send + '_>>> = VecDeque::new();
    let mut rate = WriteRate::default();
    let mut stopped_at = None;
    while let Some(chunk) = chunks.next().await {
        if chunk.prepared.is_empty() {
            continue;
        }
        let records = chunk.prepared.len();
        let waiting: usize = in_flight.len() * records;
        if guard.is_expired() || rate.time_for(waiting + records) > guard.remaining() {
            if deps.continuations.is_some() {
                stopped_at = chunk.chunk.units.first().map(import::Unit::line);
                break;
            }
            report.orders += records as u64;
            hand_on.extend(chunk.chunk.units.iter().map(|u| chunk.chunk.to_body(u)));
        } else {
            report.orders += records as u64;
            let mut write = Box::pin(write_chunk(deps, chunk));
            // Polled once here, so its writes are submitted now, after the previous chunk's.
            match futures::poll!(write.as_mut()) {
                std::task::Poll::Ready(done) => account(done, report, tally, hand_on, &mut rate),
                std::task::Poll::Pending => in_flight.push_back(write),
            }
            rate.start();
        }
        while in_flight.len() >= depth {
            let done = in_flight.pop_front().expect("in flight").await;
            account(done, report, tally, hand_on, &mut rate);
        }
        if hand_on.len() >= 1000 {
            report.handed_on += hand_on.len() as u64;
            deps.queue.send_all(std::mem::take(hand_on)).await?;
        }
    }
    while let Some(write) = in_flight.pop_front() {
        account(write.await, report, tally, hand_on, &mut rate);
    }
    Ok(stopped_at)
}

/// Chunks an import keeps submitted at once to a store that applies batches in order.
const CHUNKS_IN_FLIGHT: usize = 3;

/// A chunk with one outcome per record.
struct WrittenChunk {
    chunk: import::Chunk,
    outcomes: Vec<RecordOutcome>,
}

async fn write_chunk(deps: &Deps, PreparedChunk { chunk, prepared }: PreparedChunk) -> WrittenChunk {
    let outcomes = {
        let batch = prepared.into_iter().zip(&chunk.units).map(|(p, u)| (p, chunk.raw(u))).collect();
        deps.processor.commit_batch(batch).await
    };
    WrittenChunk { chunk, outcomes }
}

/// Counts a written chunk's outcomes into the report and the tally. Records whose write must be
/// retried are added to `hand_on`.
fn account(
    WrittenChunk { chunk, outcomes }: WrittenChunk,
    report: &mut ImportReport,
    tally: &mut Tally,
    hand_on: &mut Vec<String>,
    rate: &mut WriteRate,
) {
    rate.add(outcomes.len());
    for (i, out) in outcomes.into_iter().enumerate() {
        let unit = &chunk.units[i];
        match &out.outcome {
            Outcome::Accepted => report.accepted += 1,
            Outcome::Duplicate => report.duplicates += 1,
            Outcome::Rejected { reasons } => {
                report.rejected += 1;
                if report.rejected_lines.len() < MAX_REPORTED_REJECTIONS {
                    report.rejected_lines.push(RejectedLine {
                        line: unit.line(),
                        order_id: out.order_id.clone(),
                        reasons: reasons.clone(),
                    });
                } else {
                    report.rejected_lines_not_listed += 1;
                }
            }
            // A transient store failure: the queue will retry this order on its own.
            Outcome::Retry { .. } => {
                hand_on.push(chunk.to_body(unit));
                continue;
            }
        }
        tally.add(&out);
    }
}

/// The import's measured write rate: records written since its first write was submitted.
#[derive(Debug, Default)]
struct WriteRate {
    since: Option<std::time::Instant>,
    records: usize,
}

impl WriteRate {
    fn start(&mut self) {
        self.since.get_or_insert_with(std::time::Instant::now);
    }

    fn add(&mut self, records: usize) {
        self.records += records;
    }

    /// The time `records` more writes are expected to take (nothing measured yet: none).
    fn time_for(&self, records: usize) -> std::time::Duration {
        match self.since {
            Some(since) if self.records > 0 => since.elapsed().mul_f64(records as f64 / self.records as f64),
            _ => std::time::Duration::ZERO,
        }
    }
}
