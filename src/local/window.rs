//! A queue mapping's batching window (`MaximumBatchingWindowInSeconds`): once a receive has
//! brought the first messages, Lambda goes on polling until the batch is full, the window has
//! passed, or the invocation payload would pass 6 MB, and only then invokes the function.

use crate::store::QueueSource;
use aws_lambda_events::event::sqs::SqsMessage;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::watch;

/// Lambda's limit on an invocation's payload.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The most one message can add to a payload: SQS's 256 KiB body plus its record's other
/// fields (ids, receipt handle, attributes), with room to spare.
const MAX_RECORD_BYTES: usize = 256 * 1024 + 4 * 1024;

/// How a poller fills a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// How long to wait, from the first receive, for the batch to fill.
    pub(crate) length: Duration,
    /// End the window as soon as a receive finds the queue empty (`orderflow run --drain`:
    /// nothing more is coming for a run that stops once drained).
    pub(crate) close_when_empty: bool,
    /// How long one receive of the top-up waits at most (the poller's long poll).
    pub(crate) poll_wait: Duration,
}

/// How many messages the first receive of a batch asks for: at most `max`, and no more than
/// surely fit in one payload (SQS gives at most 10 a receive; the embedded queue gives `max`).
pub(crate) fn first_receive(max: usize) -> usize {
    max.min(MAX_PAYLOAD_BYTES / MAX_RECORD_BYTES)
}

/// The size `message` adds to the invocation's JSON payload.
fn payload_bytes(message: &SqsMessage) -> usize {
    serde_json::to_vec(message).map_or(MAX_RECORD_BYTES, |v| v.len() + 1)
}

/// The time `fill` goes by: the monotonic clock in the runtime, a hand-moved one in tests.
pub(crate) type Clock = dyn Fn() -> Instant + Send + Sync;

/// Tops `batch` (what the first receive brought, just now by `clock`) up from `source` to `max`
/// messages within the window. A receive asks only for as many messages as surely fit in what is
/// left of the 6 MB payload, so a batch never passes it; when not even one more surely fits, the
/// batch is complete. A failed receive ends the window with the batch as it is (its messages are
/// already in flight and must be handled); the next poll reports the failure. A stop request
/// ends the window too.
pub(crate) async fn fill(
    source: &dyn QueueSource,
    mut batch: Vec<SqsMessage>,
    max: usize,
    window: Window,
    clock: &Clock,
    visibility: Duration,
    stop: &watch::Receiver<bool>,
) -> Vec<SqsMessage> {
    if batch.is_empty() || window.length.is_zero() {
        return batch;
    }
    let deadline = clock() + window.length;
    let mut payload: usize = batch.iter().map(payload_bytes).sum();
    loop {
        let room = MAX_PAYLOAD_BYTES.saturating_sub(payload) / MAX_RECORD_BYTES;
        let want = max.saturating_sub(batch.len()).min(room);
        let now = clock();
        if want == 0 || now >= deadline || *stop.borrow() {
            return batch;
        }
        let wait = (deadline - now).min(window.poll_wait);
        match source.receive(want, wait, visibility).await {
            Ok(more) if more.is_empty() && window.close_when_empty => return batch,
            Ok(more) => {
                payload += more.iter().map(payload_bytes).sum::<usize>();
                batch.extend(more);
            }
            Err(e) => {
                tracing::warn!(queue = source.name(), error = %e, "receive failed while filling a batch: invoking with what it has");
                return batch;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SourceError;
    use async_trait::async_trait;
    use std::sync::{Arc, Mutex};

    /// A queue double on a hand-moved clock: each message becomes visible at its time after the
    /// start; a receive returns what is visible, else moves the clock to the next arrival or to
    /// the end of its `wait`, whichever is first. No test sleeps.
    struct ScriptedQueue {
        start: Instant,
        now: Arc<Mutex<Instant>>,
        pending: Mutex<Vec<(Duration, SqsMessage)>>,
        receives: Mutex<Vec<usize>>,
    }

    impl ScriptedQueue {
        fn new(arrivals: &[(u64, usize)]) -> ScriptedQueue {
            let mut pending = Vec::new();
            for (i, &(at_ms, body)) in arrivals.iter().enumerate() {
                let mut m = SqsMessage::default();
                m.message_id = Some(format!("m{i}"));
                m.body = Some("x".repeat(body));
                pending.push((Duration::from_millis(at_ms), m));
            }
            let start = Instant::now();
            ScriptedQueue {
                start,
                now: Arc::new(Mutex::new(start)),
                pending: Mutex::new(pending),
                receives: Mutex::new(Vec::new()),
            }
        }

        fn elapsed(&self) -> Duration {
            *self.now.lock().unwrap() - self.start
        }

        fn clock(&self) -> impl Fn() -> Instant + Send + Sync {
            let now = self.now.clone();
            move || *now.lock().unwrap()
        }
    }

    #[async_trait]
    impl QueueSource for ScriptedQueue {
        fn name(&self) -> &str {
            "scripted"
        }
        fn arn(&self) -> &str {
            "arn:aws:sqs:local:000000000000:scripted"
        }
        async fn receive(&self, max: usize, wait: Duration, _: Duration) -> Result<Vec<SqsMessage>, SourceError> {
            self.receives.lock().unwrap().push(max);
            let mut pending = self.pending.lock().unwrap();
            let (now, until) = (self.elapsed(), self.elapsed() + wait);
            let visible_at = match pending.first() {
                Some((at, _)) if *at <= until => (*at).max(now),
                _ => until,
            };
            *self.now.lock().unwrap() = self.start + visible_at;
            let ready = pending.iter().take_while(|(at, _)| *at <= visible_at).count().min(max);
            Ok(pending.drain(..ready).map(|(_, m)| m).collect())
        }
        async fn delete(&self, _: Vec<String>) -> Result<(), SourceError> {
            Ok(())
        }
        async fn outstanding(&self) -> Result<u64, SourceError> {
            Ok(self.pending.lock().unwrap().len() as u64)
        }
    }

    fn window(secs: u64) -> Window {
        Window { length: Duration::from_secs(secs), close_when_empty: false, poll_wait: Duration::from_secs(1) }
    }

    /// Receives the first batch as the poller does, fills it, and says when (on the queue's
    /// clock) the fill ended.
    async fn first_batch(q: &ScriptedQueue, max: usize, w: Window) -> (Vec<SqsMessage>, Duration) {
        let first = q.receive(first_receive(max), Duration::from_secs(20), Duration::from_secs(30)).await.unwrap();
        let clock = q.clock();
        let (_keep, stop) = watch::channel(false);
        let batch = fill(q, first, max, w, &clock, Duration::from_secs(30), &stop).await;
        (batch, q.elapsed())
    }

    #[tokio::test]
    async fn a_batch_window_waits_until_the_batch_is_full() {
        let q = ScriptedQueue::new(&[(0, 10), (1_500, 10), (2_200, 10), (9_000, 10)]);
        let (batch, at) = first_batch(&q, 3, window(5)).await;
        assert_eq!(batch.len(), 3);
        assert_eq!(at, Duration::from_millis(2_200), "invoked as soon as the third message arrived");
    }

    #[tokio::test]
    async fn a_batch_window_invokes_with_what_it_has_when_the_window_passes() {
        let q = ScriptedQueue::new(&[(1_000, 10), (2_000, 10), (9_000, 10)]);
        let (batch, at) = first_batch(&q, 10, window(5)).await;
        assert_eq!(batch.len(), 2);
        assert_eq!(at, Duration::from_millis(6_000), "the window runs from the first receive (at 1 s) for 5 s");
        assert_eq!(q.outstanding().await.unwrap(), 1, "the late message waits for the next batch");
    }

    #[tokio::test]
    async fn without_a_window_the_first_receive_is_the_batch() {
        let q = ScriptedQueue::new(&[(0, 10), (100, 10)]);
        let (batch, at) = first_batch(&q, 10, window(0)).await;
        assert_eq!((batch.len(), at), (1, Duration::ZERO));
    }

    #[tokio::test]
    async fn a_batch_stops_filling_before_it_would_pass_the_6_mb_payload() {
        // Forty 200 KiB messages (8 MB) all waiting: a batch of up to 100 takes what surely fits.
        let q = ScriptedQueue::new(&[(0, 200 * 1024); 40]);
        let (batch, at) = first_batch(&q, 100, window(5)).await;
        let payload: usize = batch.iter().map(payload_bytes).sum();
        assert!(payload <= MAX_PAYLOAD_BYTES, "{payload} bytes");
        assert!(payload + MAX_RECORD_BYTES > MAX_PAYLOAD_BYTES, "not one more message surely fits: {payload} bytes");
        assert_eq!(at, Duration::ZERO, "full by size, so no waiting for the window");
        assert!(q.receives.lock().unwrap().iter().all(|&max| max <= 23), "each receive asks only for what fits");
    }

    #[tokio::test]
    async fn a_draining_run_closes_the_window_once_the_queue_is_empty() {
        let q = ScriptedQueue::new(&[(0, 10), (0, 10), (30_000, 10)]);
        let w = Window { close_when_empty: true, ..window(5) };
        let (batch, at) = first_batch(&q, 10, w).await;
        assert_eq!(batch.len(), 2);
        assert_eq!(at, Duration::from_secs(1), "one empty long poll (1 s), not the whole 5 s window");
    }

    #[tokio::test]
    async fn a_stop_request_ends_the_window() {
        let q = ScriptedQueue::new(&[(0, 10), (30_000, 10)]);
        let first = q.receive(10, Duration::from_secs(20), Duration::from_secs(30)).await.unwrap();
        let clock = q.clock();
        let (tx, stop) = watch::channel(false);
        tx.send(true).unwrap();
        let batch = fill(&q, first, 10, window(5), &clock, Duration::from_secs(30), &stop).await;
        assert_eq!((batch.len(), q.elapsed()), (1, Duration::ZERO));
    }
}
