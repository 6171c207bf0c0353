//! The local event-source-mapping runtime behind `orderflow run`: it polls the orders queue, the
//! uploads queue and the table's stream, and invokes the three event-driven handlers in-process
//! with Lambda's exact event shapes, a real `Context` and Lambda's mapping semantics — delete
//! exactly what the partial batch response did not report, fail the whole batch on a handler
//! error or an invalid response, checkpoint a stream at its lowest failed record, retry, bisect,
//! and send what exhausted its retries to the on-failure queue. The same code drives the
//! embedded default and any AWS endpoint: only the `QueueSource`/`StreamSource` adapters differ.
//! `serve` is the HTTP counterpart: `orderflow-http`'s handler behind a local server.

mod progress;
pub mod serve;
mod stream;
mod window;

pub use progress::Summary;

use crate::ingest::{self, Deps, Invocation};
use crate::metering::InvocationCost;
use crate::store::{CheckpointStore, OrderQueue, QueueSource, SourceError, StreamSource};
use aws_lambda_events::event::sqs::SqsMessage;
use futures::FutureExt;
use lambda_runtime::LambdaEvent;
use progress::Progress;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the runtime polls and invokes: the event source mappings' settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Records per invocation of `orderflow-sqs` (the orders queue).
    pub batch_size: usize,
    /// Records per invocation of `orderflow-s3` (the uploads queue).
    pub uploads_batch_size: usize,
    /// Records per invocation of `orderflow-stream`.
    pub stream_batch_size: usize,
    /// How long a mapping waits to fill a batch (`MaximumBatchingWindowInSeconds`, one value for
    /// the three mappings as in infra/, whose value is the default): a queue's from its first
    /// receive, the stream's from the arrival of the batch's first record. With `drain` a
    /// queue's window ends once a receive finds the queue empty, and the stream does not wait.
    pub batch_window: Duration,
    /// How long a received message stays hidden; `None`: 6 × the function timeout + the batching
    /// window, as infra/.
    pub visibility_timeout: Option<Duration>,
    /// Invocations of `orderflow-sqs` in flight at once (the mapping's maximum concurrency).
    pub concurrency: usize,
    /// Invocations of `orderflow-s3` in flight at once.
    pub uploads_concurrency: usize,
    /// Exit once every channel is empty and nothing is in flight.
    pub drain: bool,
    /// How long one receive waits for a message (long polling).
    pub poll_wait: Duration,
    pub sqs_timeout: Duration,
    pub s3_timeout: Duration,
    pub stream_timeout: Duration,
    pub memory_mb: u32,
    /// Retries of a failing stream batch before its records go to the on-failure queue.
    pub stream_max_retries: u32,
    /// Stream records older than this go to the on-failure queue without being processed
    /// (`MaximumRecordAgeInSeconds`; infra/'s value by default; `None`: no limit, Lambda's -1).
    pub stream_max_record_age: Option<Duration>,
    /// On a handler error, split a stream batch in two before retrying.
    pub bisect_on_error: bool,
    /// When a partially failed stream batch exhausts its retries, send only the record that kept
    /// failing to the on-failure queue and go on processing the records behind it. Not what
    /// Lambda does: Lambda sends the batch (that record to the batch's end) and skips it.
    pub on_failure_record_only: bool,
    /// Only INSERTs of PENDING items reach the stream handler (infra/'s filter criteria).
    pub stream_filter: bool,
    /// A human progress line per batch on stderr.
    pub progress: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        use crate::config::*;
        Settings {
            batch_size: 10,
            uploads_batch_size: 1,
            stream_batch_size: 100,
            batch_window: Duration::from_secs(BATCH_WINDOW_S),
            visibility_timeout: None,
            concurrency: MAX_CONCURRENCY_SQS,
            uploads_concurrency: MAX_CONCURRENCY_S3,
            drain: false,
            poll_wait: Duration::from_secs(1),
            sqs_timeout: Duration::from_secs(SQS_TIMEOUT_S),
            s3_timeout: Duration::from_secs(S3_TIMEOUT_S),
            stream_timeout: Duration::from_secs(STREAM_TIMEOUT_S),
            memory_mb: crate::metering::meter::memory_from_env(),
            stream_max_retries: STREAM_MAX_RETRIES,
            stream_max_record_age: Some(Duration::from_secs(STREAM_MAX_RECORD_AGE_S)),
            bisect_on_error: true,
            on_failure_record_only: false,
            stream_filter: true,
            progress: true,
        }
    }
}

impl Settings {
    fn visibility(&self, timeout: Duration) -> Duration {
        // As infra/: the messages of a batch wait out the window before the invocation starts.
        self.visibility_timeout.unwrap_or(timeout * 6 + self.batch_window)
    }
}

/// What the runtime polls, and where it keeps stream positions and sends exhausted records.
pub struct Channels {
    pub orders: Option<Arc<dyn QueueSource>>,
    pub uploads: Option<Arc<dyn QueueSource>>,
    pub stream: Option<Arc<dyn StreamSource>>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub stream_failures: Arc<dyn OrderQueue>,
}

/// Which handler a queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueKind {
    /// The orders queue -> `orderflow-sqs`.
    Orders,
    /// The uploads queue (S3 notifications) -> `orderflow-s3`.
    Uploads,
}

impl QueueKind {
    fn function(self) -> &'static str {
        match self {
            QueueKind::Orders => ingest::sqs::FUNCTION_NAME,
            QueueKind::Uploads => ingest::s3::FUNCTION_NAME,
        }
    }
}

struct Shared {
    deps: Deps,
    settings: Settings,
    progress: Progress,
    /// Receives, reads and invocations in progress: the drain check waits for zero.
    busy: AtomicUsize,
    stop: watch::Receiver<bool>,
}

impl Shared {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

/// Holds `busy` up while alive, so a drain never sees a half-handled batch as idle.
struct Busy(Arc<Shared>);

impl Busy {
    fn new(s: &Arc<Shared>) -> Busy {
        s.busy.fetch_add(1, Ordering::SeqCst);
        Busy(s.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs the mappings until `stop` resolves (SIGINT/SIGTERM) or, with `drain`, until every channel
/// is empty and nothing is in flight. In-flight batches always finish before it returns.
pub async fn run(
    deps: Deps,
    channels: Channels,
    settings: Settings,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<Summary> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        deps,
        progress: Progress::new(settings.progress),
        settings,
        busy: AtomicUsize::new(0),
        stop: stop_rx,
    });

    let mut workers: JoinSet<anyhow::Result<()>> = JoinSet::new();
    if let Some(q) = &channels.orders {
        workers.spawn(queue_worker(shared.clone(), q.clone(), QueueKind::Orders));
    }
    if let Some(q) = &channels.uploads {
        workers.spawn(queue_worker(shared.clone(), q.clone(), QueueKind::Uploads));
    }
    if let Some(s) = &channels.stream {
        workers.spawn(stream::worker(
            shared.clone(),
            s.clone(),
            channels.checkpoints.clone(),
            channels.stream_failures.clone(),
        ));
    }

    let drained = {
        let shared = shared.clone();
        let channels = &channels;
        async move {
            if shared.settings.drain {
                wait_until_drained(&shared, channels).await
            } else {
                std::future::pending().await
            }
        }
    };
    let mut failure: Option<anyhow::Error> = None;
    tokio::pin!(stop);
    tokio::pin!(drained);
    loop {
        tokio::select! {
            _ = &mut stop => {
                tracing::info!("stop requested: finishing the batches in flight");
                break;
            }
            r = &mut drained => {
                if let Err(e) = r {
                    failure = Some(e);
                }
                break;
            }
            Some(done) = workers.join_next() => {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => { failure = Some(e); break; }
                    Err(e) => { failure = Some(anyhow::anyhow!("a runtime worker failed: {e}")); break; }
                }
            }
        }
    }
    let _ = stop_tx.send(true);
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(anyhow::anyhow!("a runtime worker failed: {e}"))),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(shared.progress.summary()),
    }
}

/// Drained: nothing busy, every queue empty (visible or in flight) and no stream record past its
/// checkpoint — twice in a row, checked upstream first (uploads feed orders, orders feed the stream).
async fn wait_until_drained(shared: &Arc<Shared>, channels: &Channels) -> anyhow::Result<()> {
    let mut quiet_rounds = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if is_quiet(shared, channels).await? {
            quiet_rounds += 1;
            if quiet_rounds >= 2 {
                return Ok(());
            }
        } else {
            quiet_rounds = 0;
        }
    }
}

async fn is_quiet(shared: &Arc<Shared>, channels: &Channels) -> anyhow::Result<bool> {
    if shared.busy.load(Ordering::SeqCst) != 0 {
        return Ok(false);
    }
    for q in [&channels.uploads, &channels.orders].into_iter().flatten() {
        match q.outstanding().await {
            Ok(0) => {}
            Ok(_) | Err(SourceError::Transient(_)) => return Ok(false),
            Err(e @ SourceError::Permanent(_)) => return Err(e.into()),
        }
    }
    if let Some(s) = &channels.stream {
        for shard in s.shards().await? {
            let after = channels.checkpoints.load(s.arn(), &shard).await?;
            if !s.read(&shard, after.as_deref(), 1).await?.is_empty() {
                return Ok(false);
            }
        }
    }
    Ok(shared.busy.load(Ordering::SeqCst) == 0)
}

/// Polls one queue and invokes its handler, up to `concurrency` batches at once: that many
/// pollers, each receiving a batch and invoking the handler on it (as Lambda scales a mapping
/// out to concurrent invocations). Their receives are committed together.
async fn queue_worker(shared: Arc<Shared>, source: Arc<dyn QueueSource>, kind: QueueKind) -> anyhow::Result<()> {
    let mut pollers: JoinSet<anyhow::Result<()>> = JoinSet::new();
    let n = match kind {
        QueueKind::Orders => shared.settings.concurrency,
        QueueKind::Uploads => shared.settings.uploads_concurrency,
    };
    for _ in 0..n.max(1) {
        pollers.spawn(poller(shared.clone(), source.clone(), kind));
    }
    while let Some(done) = pollers.join_next().await {
        done??;
    }
    Ok(())
}

async fn poller(shared: Arc<Shared>, source: Arc<dyn QueueSource>, kind: QueueKind) -> anyhow::Result<()> {
    let s = &shared.settings;
    let timeout = match kind {
        QueueKind::Orders => s.sqs_timeout,
        QueueKind::Uploads => s.s3_timeout,
    };
    let batch = match kind {
        QueueKind::Orders => s.batch_size,
        QueueKind::Uploads => s.uploads_batch_size,
    }
    .clamp(1, 10_000);
    let visibility = s.visibility(timeout);
    let wait = s.poll_wait.max(Duration::from_millis(50));
    let fill = window::Window { length: s.batch_window, close_when_empty: s.drain, poll_wait: wait };
    let mut backoff = Backoff::default();
    // The handled messages of the last batch: deleted with the next receive, in one call.
    let mut handled: Vec<String> = Vec::new();
    while !shared.stopping() {
        // A long poll is not work in flight: received messages count as outstanding until
        // deleted, so the drain check cannot miss them; `Busy` covers the invocation on top.
        let first = window::first_receive(batch);
        match source.delete_and_receive(&handled, first, wait, visibility).await {
            Ok(messages) => {
                handled.clear();
                backoff.reset();
                if !messages.is_empty() {
                    let _busy = Busy::new(&shared);
                    let clock = &std::time::Instant::now;
                    let messages =
                        window::fill(source.as_ref(), messages, batch, fill, clock, visibility, &shared.stop).await;
                    handled = invoke_queue(&shared, source.as_ref(), kind, messages, timeout).await;
                }
            }
            Err(SourceError::Transient(e)) if handled.is_empty() => {
                tracing::warn!(queue = source.name(), error = %e, "receive failed; polling again shortly");
                backoff.sleep().await;
            }
            // Not deleted: the messages come back and are acknowledged as duplicates.
            Err(SourceError::Transient(e)) if backoff.attempts < 5 => {
                tracing::warn!(queue = source.name(), error = %e, "delete failed; retrying");
                backoff.sleep().await;
            }
            Err(e) => return Err(anyhow::anyhow!("queue {}: {e}", source.name())),
        }
    }
    // Stopping: the last batch's messages are deleted before the poller ends.
    let mut backoff = Backoff::default();
    while !handled.is_empty() {
        match source.delete(handled.clone()).await {
            Ok(()) => handled.clear(),
            Err(SourceError::Transient(e)) if backoff.attempts < 5 => {
                tracing::warn!(queue = source.name(), error = %e, "delete failed; retrying");
                backoff.sleep().await;
            }
            Err(e) => return Err(anyhow::anyhow!("queue {}: deleting handled messages: {e}", source.name())),
        }
    }
    Ok(())
}

/// Runs a handler future as Lambda would: a panic or an overrun of the timeout is a function
/// error, not a crash of the runtime.
async fn guarded<T: serde::Serialize>(
    timeout: Duration,
    fut: impl Future<Output = Invocation<T>>,
) -> (Result<Value, String>, Option<InvocationCost>) {
    match tokio::time::timeout(timeout, AssertUnwindSafe(fut).catch_unwind()).await {
        Err(_) => (Err(format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())), None),
        Ok(Err(_)) => (Err("the handler panicked".to_string()), None),
        Ok(Ok(Invocation { response, cost })) => (
            response
                .map(|r| serde_json::to_value(r).expect("a response serializes"))
                .map_err(|e| format!("the handler returned an error: {e}")),
            Some(cost),
        ),
    }
}

/// The itemIdentifiers of a partial batch response, checked as Lambda checks them: each must be
/// a non-empty id of a record in the batch, else the whole batch counts as failed.
fn reported_failures(response: &Value, ids: &HashSet<&str>) -> Result<HashSet<String>, String> {
    let Some(list) = response.get("batchItemFailures") else {
        return Ok(HashSet::new());
    };
    let list = match list {
        Value::Null => return Ok(HashSet::new()),
        Value::Array(a) => a,
        other => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    let mut out = HashSet::new();
    for f in list {
        match f.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && ids.contains(id) => {
                out.insert(id.to_string());
            }
            Some(id) if !id.is_empty() => return Err(format!("itemIdentifier {id:?} is not a record of the batch")),
            _ => return Err(format!("a batch item failure has no itemIdentifier: {f}")),
        }
    }
    Ok(out)
}

/// Invokes the queue's handler on a batch and returns the receipt handles of the messages to
/// delete: every one the partial batch response did not name, none after a function error.
async fn invoke_queue(
    shared: &Shared,
    source: &dyn QueueSource,
    kind: QueueKind,
    messages: Vec<SqsMessage>,
    timeout: Duration,
) -> Vec<String> {
    let s = &shared.settings;
    let ctx = ingest::context(kind.function(), s.memory_mb, timeout);
    let (response, cost) = match kind {
        QueueKind::Orders => {
            let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
            event.records = messages.clone();
            guarded(timeout, ingest::sqs::invoke(&shared.deps, LambdaEvent::new(event, ctx))).await
        }
        QueueKind::Uploads => {
            let event = json!({ "Records": messages });
            guarded(timeout, ingest::s3::invoke(&shared.deps, LambdaEvent::new(event, ctx))).await
        }
    };
    let ids: HashSet<&str> = messages.iter().filter_map(|m| m.message_id.as_deref()).collect();
    let failed = response.and_then(|r| reported_failures(&r, &ids));
    let (delete, error) = match &failed {
        Ok(failed) => (
            messages
                .iter()
                .filter(|m| !m.message_id.as_deref().is_some_and(|id| failed.contains(id)))
                .filter_map(|m| m.receipt_handle.clone())
                .collect::<Vec<_>>(),
            None,
        ),
        // A function error: nothing is deleted; every message comes back after the visibility timeout.
        Err(e) => (Vec::new(), Some(e.as_str())),
    };
    shared.progress.queue_batch(source.name(), kind.function(), messages.len(), delete.len(), error, cost.as_ref());
    delete
}

/// Exponential backoff for polling after a transient failure: 100 ms doubling to 5 s.
#[derive(Debug, Default)]
struct Backoff {
    attempts: u32,
}

impl Backoff {
    async fn sleep(&mut self) {
        self.attempts += 1;
        tokio::time::sleep(Duration::from_millis((100u64 << self.attempts.min(6)).min(5_000))).await;
    }

    fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_batch_response_naming_an_unknown_record_fails_the_whole_batch() {
        let ids: HashSet<&str> = ["a", "b"].into_iter().collect();
        let ok = reported_failures(&json!({"batchItemFailures": [{"itemIdentifier": "b"}]}), &ids).unwrap();
        assert_eq!(ok, HashSet::from(["b".to_string()]));
        assert!(reported_failures(&json!({"batchItemFailures": [{"itemIdentifier": "zz"}]}), &ids).is_err());
        assert!(reported_failures(&json!({"batchItemFailures": [{"itemIdentifier": ""}]}), &ids).is_err());
        assert!(reported_failures(&json!({"batchItemFailures": [{}]}), &ids).is_err());
        assert!(reported_failures(&json!({"batchItemFailures": []}), &ids).unwrap().is_empty());
        assert!(reported_failures(&json!({}), &ids).unwrap().is_empty());
    }
}
