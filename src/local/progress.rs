//! What `orderflow run` tells the person watching it: one short human line per batch on stderr,
//! and the totals when it stops.

use crate::metering::InvocationCost;
use crate::order::Counts;
use rust_decimal::Decimal;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub invocations: u64,
    /// Invocations that failed as a whole (handler error, invalid response, timeout).
    pub failed_invocations: u64,
    /// The records of every invocation, by outcome (flattened: `records`, `accepted`, ...).
    #[serde(flatten)]
    pub counts: Counts,
    /// Queue messages deleted after their batch.
    pub deleted: u64,
    /// Stream records not passed to the handler (the mapping's filter: only PENDING inserts).
    pub stream_filtered: u64,
    /// Stream records whose metadata went to the on-failure queue.
    pub sent_to_on_failure: u64,
    pub cost_usd: Decimal,
    pub elapsed_ms: u64,
}

impl Summary {
    /// Orders handled per second (accepted, duplicate or rejected) over the run.
    pub(crate) fn orders_per_second(&self) -> Decimal {
        if self.elapsed_ms == 0 {
            return Decimal::ZERO;
        }
        (Decimal::from(self.counts.handled()) * Decimal::from(1000) / Decimal::from(self.elapsed_ms)).round_dp(1)
    }
}

pub(super) struct Progress {
    show: bool,
    started: Instant,
    summary: Mutex<Summary>,
}

fn counts(cost: Option<&InvocationCost>) -> String {
    match cost {
        None => "no metering line".to_string(),
        Some(c) => {
            let t = &c.tally.counts;
            format!(
                "{} accepted, {} duplicate, {} rejected, {} retried{} · {} ms billed · ${}",
                t.accepted,
                t.duplicates,
                t.rejected,
                t.retried,
                if t.ignored > 0 { format!(", {} ignored", t.ignored) } else { String::new() },
                c.billed_ms,
                c.cost_usd.normalize()
            )
        }
    }
}

impl Progress {
    pub(super) fn new(show: bool) -> Progress {
        Progress { show, started: Instant::now(), summary: Mutex::new(Summary::default()) }
    }

    fn add(&self, cost: Option<&InvocationCost>, failed: bool, f: impl FnOnce(&mut Summary)) {
        let mut s = self.summary.lock().expect("progress lock");
        s.invocations += u64::from(cost.is_some() || failed);
        s.failed_invocations += u64::from(failed);
        if let Some(c) = cost {
            s.counts.merge(&c.tally.counts);
            s.cost_usd += c.cost_usd;
        }
        f(&mut s);
    }

    fn line(&self, text: std::fmt::Arguments<'_>) {
        if self.show {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{:>8.3}s {text}", self.started.elapsed().as_secs_f64());
        }
    }

    pub(super) fn queue_batch(
        &self,
        queue: &str,
        function: &str,
        messages: usize,
        deleted: usize,
        error: Option<&str>,
        cost: Option<&InvocationCost>,
    ) {
        self.add(cost, error.is_some(), |s| s.deleted += deleted as u64);
        match error {
            Some(e) => self.line(format_args!(
                "{queue:<8} {function}: {messages} message(s) FAILED as a batch ({e}); all return after the visibility timeout"
            )),
            None => self.line(format_args!(
                "{queue:<8} {function}: {messages} message(s): {} · {deleted} deleted, {} back to the queue",
                counts(cost),
                messages - deleted
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn stream_batch(
        &self,
        function: &str,
        read: usize,
        filtered: usize,
        failed: usize,
        checkpoint: Option<&str>,
        error: Option<&str>,
        cost: Option<&InvocationCost>,
    ) {
        self.add(cost, error.is_some(), |s| s.stream_filtered += filtered as u64);
        let invoked = read - filtered;
        let checkpoint = checkpoint.unwrap_or("start");
        match (invoked, error) {
            (0, _) => self.line(format_args!(
                "{:<8} {read} record(s), none for {function} (filtered) · checkpoint {checkpoint}",
                "stream"
            )),
            (_, Some(e)) => self.line(format_args!(
                "{:<8} {function}: {invoked} record(s) FAILED as a batch ({e}) · checkpoint {checkpoint}",
                "stream"
            )),
            (_, None) => self.line(format_args!(
                "{:<8} {function}: {invoked} record(s) ({filtered} filtered): {} · {failed} to retry · checkpoint {checkpoint}",
                "stream",
                counts(cost)
            )),
        }
    }

    pub(super) fn sent_to_on_failure(&self, records: usize) {
        self.summary.lock().expect("progress lock").sent_to_on_failure += records as u64;
    }

    pub(super) fn summary(&self) -> Summary {
        let mut s = self.summary.lock().expect("progress lock").clone();
        s.elapsed_ms = self.started.elapsed().as_millis() as u64;
        s
    }
}
