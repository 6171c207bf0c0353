//! The stream side of the local runtime: reads each shard after its checkpoint, invokes
//! `orderflow-stream`, checkpoints at the lowest failed record, retries, bisects, and sends what
//! exhausted its retries (or its maximum age) to the on-failure queue, as Lambda's DynamoDB
//! stream mappings do.

use super::{guarded, reported_failures, Backoff, Busy, Shared};
use crate::ingest;
use crate::store::{Attempts, CheckpointStore, Lease, OrderQueue, SourceError, StreamFilter, StreamSource};
use aws_lambda_events::event::dynamodb::EventRecord;
use lambda_runtime::LambdaEvent;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Per-shard position and retry state of the stream consumer.
#[derive(Debug, Default)]
struct ShardState {
    checkpoint: Option<String>,
    loaded: bool,
    /// The record that failed last time and how many times in a row.
    failing: Option<(String, u32)>,
    /// Records to read next time (halved by bisect, reset by a success).
    limit: Option<usize>,
}

/// Sequence numbers are decimal strings: compare them as numbers.
fn seq_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn seq_of(r: &EventRecord) -> String {
    r.change.sequence_number.clone().unwrap_or_default()
}

/// Reads the stream's shards in order and invokes the stream handler, one batch per shard at a time.
pub(super) async fn worker(
    shared: Arc<Shared>,
    source: Arc<dyn StreamSource>,
    checkpoints: Arc<dyn CheckpointStore>,
    on_failure: Arc<dyn OrderQueue>,
) -> anyhow::Result<()> {
    let mut states: HashMap<String, ShardState> = HashMap::new();
    let mut backoff = Backoff::default();
    let owner = format!("{}/{}", std::process::id(), uuid::Uuid::new_v4());
    let leases = Leases::default();
    let renewals =
        tokio::spawn(leases.clone().renew(shared.clone(), source.clone(), checkpoints.clone(), owner.clone()));
    // A fatal error ends the loop too: the renewals stop and the leases go either way.
    let read: anyhow::Result<()> = async {
        while !shared.stopping() {
            let shards = match source.shards().await {
                Ok(s) => s,
                Err(SourceError::Transient(e)) => {
                    tracing::warn!(error = %e, "listing stream shards failed; retrying");
                    backoff.sleep().await;
                    continue;
                }
                Err(e) => return Err(anyhow::anyhow!("stream {}: {e}", source.arn())),
            };
            let mut progressed = false;
            for shard in shards {
                if shared.stopping() {
                    break;
                }
                if !leases.holds(&shard) {
                    let now = chrono::Utc::now().timestamp_millis();
                    match checkpoints.lease(source.arn(), &shard, &owner, now, LEASE_TTL_MS).await {
                        Ok(Lease::Renewed | Lease::Taken) => {
                            // Another reader may have moved the shard on since this one last held it.
                            states.remove(&shard);
                            leases.set(&shard, true);
                        }
                        Ok(Lease::HeldElsewhere) => continue,
                        Err(e) => {
                            tracing::warn!(shard, error = %e, "taking the shard's lease failed; retrying");
                            continue;
                        }
                    }
                }
                let state = states.entry(shard.clone()).or_default();
                // Records read stay past the checkpoint until handled, so the drain check sees them.
                let _busy = Busy::new(&shared);
                let ends = Ends {
                    shared: &shared,
                    source: source.as_ref(),
                    checkpoints: checkpoints.as_ref(),
                    on_failure: on_failure.as_ref(),
                };
                match stream_step(ends, &shard, state).await {
                    Ok(p) => progressed |= p,
                    Err(StepError::Transient(e)) => {
                        tracing::warn!(shard, error = %e, "stream read failed; retrying");
                    }
                    Err(StepError::Fatal(e)) => return Err(e),
                }
            }
            if !progressed {
                tokio::time::sleep(shared.settings.poll_wait.min(Duration::from_millis(200))).await;
            }
        }
        Ok(())
    }
    .await;
    renewals.abort();
    for shard in leases.held() {
        if let Err(e) = checkpoints.release(source.arn(), &shard, &owner).await {
            tracing::warn!(shard, error = %e, "releasing the shard's lease failed: another reader takes it once it expires");
        }
    }
    read
}

/// How long a shard's lease lasts unless renewed. A reader renews its leases every third of
/// this, whatever its batches are doing; a killed reader's shards are taken over once their
/// leases run out (at once on Linux, where the store sees the process is gone).
const LEASE_TTL_MS: i64 = 10_000;

/// The shards this reader holds a lease on.
#[derive(Clone, Default)]
struct Leases(Arc<std::sync::Mutex<HashSet<String>>>);

impl Leases {
    fn holds(&self, shard: &str) -> bool {
        self.0.lock().expect("leases lock").contains(shard)
    }

    fn set(&self, shard: &str, held: bool) {
        let mut leases = self.0.lock().expect("leases lock");
        if held {
            leases.insert(shard.to_string());
        } else {
            leases.remove(shard);
        }
    }

    fn held(&self) -> Vec<String> {
        self.0.lock().expect("leases lock").iter().cloned().collect()
    }

    /// Renews every held lease every third of its term; a lease found taken is dropped, so the
    /// reader stops reading that shard before its next batch.
    async fn renew(
        self,
        shared: Arc<Shared>,
        source: Arc<dyn StreamSource>,
        checkpoints: Arc<dyn CheckpointStore>,
        owner: String,
    ) {
        while !shared.stopping() {
            tokio::time::sleep(Duration::from_millis(LEASE_TTL_MS as u64 / 3)).await;
            for shard in self.held() {
                let now = chrono::Utc::now().timestamp_millis();
                match checkpoints.lease(source.arn(), &shard, &owner, now, LEASE_TTL_MS).await {
                    Ok(Lease::Renewed | Lease::Taken) => {}
                    Ok(Lease::HeldElsewhere) => {
                        tracing::warn!(shard, "the shard's lease was taken by another reader: leaving the shard to it");
                        self.set(&shard, false);
                    }
                    Err(e) => tracing::warn!(shard, error = %e, "renewing the shard's lease failed; retrying"),
                }
            }
        }
    }
}

enum StepError {
    Transient(String),
    Fatal(anyhow::Error),
}

impl From<SourceError> for StepError {
    fn from(e: SourceError) -> StepError {
        match e {
            SourceError::Transient(m) => StepError::Transient(m),
            e => StepError::Fatal(e.into()),
        }
    }
}

/// What the stream side reads from and writes to: the runtime's state, the stream, where
/// positions are kept, and the on-failure destination.
#[derive(Clone, Copy)]
struct Ends<'a> {
    shared: &'a Shared,
    source: &'a dyn StreamSource,
    checkpoints: &'a dyn CheckpointStore,
    on_failure: &'a dyn OrderQueue,
}

/// One batch of one shard: read after the checkpoint, invoke, checkpoint. Returns whether any
/// record was read.
async fn stream_step(ends: Ends<'_>, shard: &str, state: &mut ShardState) -> Result<bool, StepError> {
    let Ends { shared, source, checkpoints, .. } = ends;
    let s = &shared.settings;
    if !state.loaded {
        state.checkpoint = checkpoints.load(source.arn(), shard).await?;
        state.failing = checkpoints.load_attempts(source.arn(), shard).await?.map(|a| (a.sequence_number, a.count));
        state.loaded = true;
    }
    let failing_before = state.failing.clone();
    let limit = state.limit.unwrap_or(s.stream_batch_size).clamp(1, 10_000);
    let filter = if s.stream_filter { StreamFilter::PendingInserts } else { StreamFilter::All };
    let page = source.read_page(shard, state.checkpoint.as_deref(), limit, filter).await?;
    let Some(last) = page.last else {
        return Ok(false);
    };
    let filtered = page.scanned - page.records.len();
    let expired = expired_prefix(&page.records, s.stream_max_record_age, chrono::Utc::now());
    if expired > 0 {
        discard_expired(ends, shard, state, &page.records[..expired]).await?;
    }
    let batch: Vec<&EventRecord> = page.records[expired..].iter().collect();
    // A fresh batch short of full waits for its batching window, as Lambda's does; a retry does
    // not, and a draining run has nothing later to wait for.
    let fresh = failing_before.is_none() && state.limit.is_none();
    if fresh && !s.drain && still_gathering(&batch, limit, s.batch_window, chrono::Utc::now()) {
        return Ok(false);
    }
    let mut new_checkpoint = Some(last.clone());
    let mut error = None;
    let mut cost = None;
    let mut failed_count = 0;
    if !batch.is_empty() {
        let ctx = ingest::context(ingest::stream::FUNCTION_NAME, s.memory_mb, s.stream_timeout);
        let event = serde_json::from_value(json!({ "Records": batch })).expect("stream records have Lambda's shape");
        let (response, invoked_cost) =
            guarded(s.stream_timeout, ingest::stream::invoke(&shared.deps, LambdaEvent::new(event, ctx))).await;
        cost = invoked_cost;
        let seqs: HashSet<&str> = batch.iter().filter_map(|r| r.change.sequence_number.as_deref()).collect();
        match response.and_then(|r| reported_failures(&r, &seqs)) {
            Ok(failed) if failed.is_empty() => {
                state.failing = None;
                state.limit = None;
            }
            Ok(failed) => {
                // Lambda checkpoints just before the lowest failed record and retries from it.
                failed_count = failed.len();
                let lowest = failed.iter().min_by(|a, b| seq_cmp(a, b)).expect("not empty").clone();
                new_checkpoint = batch
                    .iter()
                    .map(|r| seq_of(r))
                    .take_while(|q| seq_cmp(q, &lowest).is_lt())
                    .last()
                    .or_else(|| state.checkpoint.clone());
                let attempts = match &state.failing {
                    Some((seq, n)) if *seq == lowest => n + 1,
                    _ => 1,
                };
                if attempts > s.stream_max_retries {
                    // As Lambda: the batch, from the record that kept failing to its end, goes to
                    // the on-failure destination and the shard moves on past it, unprocessed.
                    // `on_failure_record_only` (not what Lambda does): that record alone.
                    let sent: Vec<&EventRecord> = batch
                        .iter()
                        .copied()
                        .filter(|r| match seq_cmp(&seq_of(r), &lowest) {
                            std::cmp::Ordering::Equal => true,
                            std::cmp::Ordering::Greater => !s.on_failure_record_only,
                            std::cmp::Ordering::Less => false,
                        })
                        .collect();
                    let why = Discard::RetriesExhausted(None);
                    send_to_on_failure(ends, shard, &sent, attempts, why).await?;
                    if s.on_failure_record_only {
                        new_checkpoint = Some(lowest);
                    } else {
                        warn_skipped(shard, &sent, why);
                        new_checkpoint = Some(last.clone());
                    }
                    state.failing = None;
                } else {
                    state.failing = Some((lowest, attempts));
                }
            }
            Err(e) => {
                failed_count = batch.len();
                if s.bisect_on_error && batch.len() > 1 {
                    // Split the batch and retry each half: a poison record ends up alone.
                    state.limit = Some(batch.len() / 2);
                    new_checkpoint = state.checkpoint.clone();
                } else {
                    let first = seq_of(batch[0]);
                    let attempts = match &state.failing {
                        Some((seq, n)) if *seq == first => n + 1,
                        _ => 1,
                    };
                    if attempts > s.stream_max_retries {
                        let why = Discard::RetriesExhausted(Some(&e));
                        send_to_on_failure(ends, shard, &batch, attempts, why).await?;
                        state.failing = None;
                        state.limit = None;
                    } else {
                        state.failing = Some((first, attempts));
                        new_checkpoint = state.checkpoint.clone();
                    }
                }
                error = Some(e);
            }
        }
    }
    if new_checkpoint != state.checkpoint {
        if let Some(cp) = &new_checkpoint {
            checkpoints.save(source.arn(), shard, cp).await?;
        }
        state.checkpoint = new_checkpoint;
    }
    if state.failing != failing_before {
        // Kept with the checkpoint: a restart goes on counting instead of starting over.
        let attempts = state.failing.as_ref().map(|(seq, n)| Attempts { sequence_number: seq.clone(), count: *n });
        checkpoints.save_attempts(source.arn(), shard, attempts.as_ref()).await?;
    }
    shared.progress.stream_batch(
        ingest::stream::FUNCTION_NAME,
        page.scanned,
        filtered,
        failed_count,
        state.checkpoint.as_deref(),
        error.as_deref(),
        cost.as_ref(),
    );
    if state.failing.is_some() || error.is_some() {
        // Give a transient fault time to clear before the retry.
        let attempts = state.failing.as_ref().map(|(_, n)| *n).unwrap_or(1);
        tokio::time::sleep(Duration::from_millis(50u64 << attempts.min(5))).await;
    }
    Ok(true)
}

/// Whether a batch short of `limit` records is still gathering: Lambda waits up to the batching
/// window (`MaximumBatchingWindowInSeconds`), from the arrival of the batch's first record, for
/// more records before it invokes.
fn still_gathering(batch: &[&EventRecord], limit: usize, window: Duration, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(first) = batch.first() else { return false };
    let Ok(window) = chrono::Duration::from_std(window) else { return false };
    batch.len() < limit && now - first.change.approximate_creation_date_time < window
}

/// How many records at the head of `records` are older than `max_age` (Lambda's
/// MaximumRecordAgeInSeconds; `None`: no limit). Only the head: the records behind the first
/// young enough one are judged when they reach the head.
fn expired_prefix(records: &[EventRecord], max_age: Option<Duration>, now: chrono::DateTime<chrono::Utc>) -> usize {
    let Some(max_age) = max_age.and_then(|a| chrono::Duration::from_std(a).ok()) else { return 0 };
    records.iter().take_while(|r| now - r.change.approximate_creation_date_time > max_age).count()
}

/// Sends records past their maximum age to the on-failure queue without invoking the function,
/// as Lambda does, and checkpoints past them (a failing record among them stops being retried).
async fn discard_expired(
    ends: Ends<'_>,
    shard: &str,
    state: &mut ShardState,
    records: &[EventRecord],
) -> Result<(), StepError> {
    let Ends { source, checkpoints, .. } = ends;
    let gone: Vec<&EventRecord> = records.iter().collect();
    let failing_gone = state.failing.as_ref().filter(|(seq, _)| gone.iter().any(|r| seq_of(r) == *seq));
    let attempts = failing_gone.map_or(0, |(_, n)| *n);
    let why = Discard::RecordAgeExceeded;
    send_to_on_failure(ends, shard, &gone, attempts, why).await?;
    warn_skipped(shard, &gone, why);
    if failing_gone.is_some() {
        state.failing = None;
        state.limit = None;
    }
    let past = seq_of(gone.last().expect("at least one expired record"));
    checkpoints.save(source.arn(), shard, &past).await?;
    state.checkpoint = Some(past);
    Ok(())
}

/// Why a stream mapping gave up on records, as the on-failure record's `condition` says it.
#[derive(Debug, Clone, Copy)]
enum Discard<'a> {
    /// The batch failed `MaximumRetryAttempts` + 1 times; the function's error when it failed as a whole.
    RetriesExhausted(Option<&'a str>),
    /// Older than `MaximumRecordAgeInSeconds`: the function never saw them.
    RecordAgeExceeded,
}

impl Discard<'_> {
    fn condition(self) -> &'static str {
        match self {
            Discard::RetriesExhausted(_) => "RetryAttemptsExhausted",
            Discard::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Names every record a shard moved past without processing it.
fn warn_skipped(shard: &str, records: &[&EventRecord], why: Discard<'_>) {
    let names: Vec<String> = records
        .iter()
        .map(|r| {
            let key = r.change.keys.get(crate::store::item::KEY).and_then(|v| match v {
                serde_dynamo::AttributeValue::S(k) => Some(k.as_str()),
                _ => None,
            });
            format!("{} ({})", seq_of(r), key.unwrap_or("?"))
        })
        .collect();
    tracing::warn!(
        shard,
        records = names.len(),
        skipped = names.join(", "),
        condition = why.condition(),
        "stream records skipped (as Lambda does): not processed"
    );
}

/// Sends a failed batch's metadata to the on-failure queue, in the shape Lambda's on-failure
/// destination receives for a DynamoDB stream.
async fn send_to_on_failure(
    Ends { shared, source, on_failure, .. }: Ends<'_>,
    shard: &str,
    records: &[&EventRecord],
    attempts: u32,
    why: Discard<'_>,
) -> Result<(), StepError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(());
    };
    let arrival = |r: &EventRecord| r.change.approximate_creation_date_time.to_rfc3339();
    let mut body = json!({
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": format!("arn:aws:lambda:local:000000000000:function:{}", ingest::stream::FUNCTION_NAME),
            "condition": why.condition(),
            "approximateInvokeCount": attempts,
        },
        "version": "1.0",
        "timestamp": crate::core::processing::now_rfc3339(),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": seq_of(first),
            "endSequenceNumber": seq_of(last),
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": records.len(),
            "streamArn": source.arn(),
        },
    });
    // Records discarded for their age were never invoked: there is no response to describe.
    if let Discard::RetriesExhausted(function_error) = why {
        body["responseContext"] = json!({
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": if function_error.is_some() { "Unhandled" } else { "" },
        });
    }
    on_failure
        .send_all(vec![body.to_string()])
        .await
        .map_err(|e| StepError::Transient(format!("sending to the on-failure queue: {e}")))?;
    tracing::warn!(
        shard,
        records = records.len(),
        attempts,
        condition = why.condition(),
        "stream records sent to the on-failure queue"
    );
    shared.progress.sent_to_on_failure(records.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_at(secs: i64) -> EventRecord {
        let mut r = EventRecord::default();
        r.change.approximate_creation_date_time = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        r
    }

    #[test]
    fn a_short_stream_batch_waits_for_its_window_from_its_first_record() {
        let (a, b) = (record_at(1_000), record_at(1_002));
        let at = |secs| chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let window = Duration::from_secs(5);
        assert!(still_gathering(&[&a, &b], 3, window, at(1_004)), "4 s after the first record");
        assert!(!still_gathering(&[&a, &b], 3, window, at(1_005)), "the window has passed");
        assert!(!still_gathering(&[&a, &b], 2, window, at(1_001)), "a full batch goes at once");
        assert!(!still_gathering(&[&a], 3, Duration::ZERO, at(1_000)), "no window");
        assert!(!still_gathering(&[], 3, window, at(1_000)), "nothing to invoke");
    }

    #[test]
    fn sequence_numbers_compare_as_numbers_not_as_text() {
        assert!(seq_cmp("9", "10").is_lt());
        assert!(seq_cmp("000000000000000000010", "9").is_gt());
        assert!(seq_cmp("100", "100").is_eq());
    }
}
