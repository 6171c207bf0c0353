//! Per-record outcomes -> Lambda partial-batch responses: batches run in rounds of FIFO groups
//! (or one record at a time), message-group skipping, panic isolation and a deadline guard.

use crate::core::processing::{Outcome, RecordOutcome};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long an invocation may start new work: the deadline minus a safety margin.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineGuard {
    stop_at: Instant,
}

/// The budget assumed when the runtime hands us a deadline that is missing or already past
/// (some local emulators send a fixed one: `cargo lambda watch` sends `600000`, ten minutes after
/// the epoch, on every invocation): the work is done, not refused.
pub(crate) const FALLBACK_BUDGET: Duration = Duration::from_secs(30);

impl DeadlineGuard {
    /// From the invocation's deadline (milliseconds since the epoch). The margin is a tenth of the
    /// time left, at least 200 ms and at most 3 s: enough to write what was started and answer.
    pub(crate) fn from_deadline_ms(deadline_ms: u64) -> DeadlineGuard {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let remaining = if deadline_ms > now_ms {
            Duration::from_millis(deadline_ms - now_ms)
        } else {
            tracing::warn!(
                deadline_ms,
                now_ms,
                "invocation deadline missing or already past; assuming {FALLBACK_BUDGET:?}"
            );
            FALLBACK_BUDGET
        };
        Self::from_remaining(remaining)
    }

    pub fn from_remaining(remaining: Duration) -> DeadlineGuard {
        let margin = (remaining / 10).clamp(Duration::from_millis(200), Duration::from_secs(3));
        DeadlineGuard { stop_at: Instant::now() + remaining.saturating_sub(margin) }
    }

    /// A guard that has already expired (tests of the deadline path).
    pub fn expired() -> DeadlineGuard {
        DeadlineGuard { stop_at: Instant::now() }
    }

    /// How long work may still be started.
    pub(crate) fn remaining(&self) -> Duration {
        self.stop_at.saturating_duration_since(Instant::now())
    }

    pub(crate) fn is_expired(&self) -> bool {
        Instant::now() >= self.stop_at
    }
}

pub(crate) const DEADLINE_REASON: &str = "not started: the invocation deadline was near";

/// Runs `f` on every record, one at a time in input order, and returns one outcome per record.
///
/// After the first failure in a group (`group_of` returns `Some`: an SQS FIFO message group)
/// every later record of it is failed without being started. A panic inside one record becomes
/// a `Retry` for that record only. Nothing is started once the deadline guard has expired.
pub(crate) async fn run<'a, T, G, F, Fut>(
    records: &'a [T],
    guard: DeadlineGuard,
    group_of: G,
    f: F,
) -> Vec<RecordOutcome>
where
    G: Fn(&'a T) -> Option<&'a str>,
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = RecordOutcome>,
{
    let mut failed_groups: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut outcomes = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let group = group_of(r);
        let out = if group.is_some_and(|g| failed_groups.contains(g)) {
            RecordOutcome::retry("not started: an earlier record of its group failed")
        } else if guard.is_expired() {
            RecordOutcome::retry(DEADLINE_REASON)
        } else {
            match AssertUnwindSafe(f(r)).catch_unwind().await {
                Ok(out) => out,
                Err(panic) => {
                    let msg = crate::panic::message(panic.as_ref());
                    tracing::error!(record = i, panic = %msg, "record handler panicked");
                    RecordOutcome::retry(format!("the handler panicked: {msg}"))
                }
            }
        };
        if let (Some(g), true) = (group, out.outcome.is_retry()) {
            failed_groups.insert(g);
        }
        outcomes.push(out);
    }
    outcomes
}

/// Runs a batch through `f` in rounds, each round one call (one store batch): round k holds the
/// k-th record of every group still going, so records of a group (`group_of` returns `Some`:
/// an SQS FIFO message group) are written one after another in order, and after the first
/// failure in a group every later record of it is failed without being started. Records
/// without a group all go in the first round. `f` gets the round's record indices and returns
/// one outcome per index, in order. Nothing is started once the deadline guard has expired; a
/// panic of a whole round fails that round's records only.
pub(crate) async fn run_rounds<'a, T, G, F, Fut>(
    records: &'a [T],
    guard: DeadlineGuard,
    group_of: G,
    f: F,
) -> Vec<RecordOutcome>
where
    G: Fn(&'a T) -> Option<&'a str>,
    F: Fn(Vec<usize>) -> Fut,
    Fut: Future<Output = Vec<RecordOutcome>>,
{
    let mut groups: Vec<std::collections::VecDeque<usize>> =
        crate::store::lanes(records.iter().map(&group_of)).into_iter().map(Into::into).collect();
    let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; records.len()];
    loop {
        let round: Vec<(usize, usize)> =
            groups.iter_mut().enumerate().filter_map(|(g, q)| q.pop_front().map(|i| (g, i))).collect();
        if round.is_empty() {
            break;
        }
        if guard.is_expired() {
            for (g, i) in round {
                outcomes[i] = Some(RecordOutcome::retry(DEADLINE_REASON));
                for rest in groups[g].drain(..) {
                    outcomes[rest] = Some(RecordOutcome::retry(DEADLINE_REASON));
                }
            }
            continue;
        }
        let indices: Vec<usize> = round.iter().map(|(_, i)| *i).collect();
        let done = match AssertUnwindSafe(f(indices)).catch_unwind().await {
            Ok(done) => done,
            Err(panic) => {
                let msg = crate::panic::message(panic.as_ref());
                tracing::error!(records = round.len(), panic = %msg, "a batch of records panicked");
                vec![RecordOutcome::retry(format!("the handler panicked: {msg}")); round.len()]
            }
        };
        assert_eq!(done.len(), round.len(), "one outcome per record of the round");
        for ((g, i), out) in round.into_iter().zip(done) {
            if out.outcome.is_retry() {
                for rest in groups[g].drain(..) {
                    outcomes[rest] = Some(RecordOutcome::retry("not started: an earlier record of its group failed"));
                }
            }
            outcomes[i] = Some(out);
        }
    }
    outcomes.into_iter().map(|o| o.expect("every record has an outcome")).collect()
}

/// The identifiers of every record whose outcome is `Retry`, for `batchItemFailures`.
pub(crate) fn failures<'a, T, I>(records: &'a [T], outcomes: &[RecordOutcome], id: impl Fn(&'a T) -> I) -> Vec<I> {
    records
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| matches!(o.outcome, Outcome::Retry { .. }))
        .map(|(r, _)| id(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(g: DeadlineGuard) -> Duration {
        g.stop_at.saturating_duration_since(Instant::now())
    }

    #[test]
    fn cargo_lambdas_fixed_deadline_gets_the_fallback_budget_instead_of_refusing_work() {
        // `cargo lambda watch` (1.9.2) answers every /next with `Lambda-Runtime-Deadline-Ms: 600000`.
        for deadline_ms in [600_000, 0] {
            let g = DeadlineGuard::from_deadline_ms(deadline_ms);
            assert!(!g.is_expired(), "deadline {deadline_ms}");
            // 30 s minus its margin (a tenth, at most 3 s).
            let left = left(g);
            assert!(
                left > Duration::from_millis(26_000) && left <= Duration::from_secs(27),
                "deadline {deadline_ms}: {left:?}"
            );
        }
    }

    #[test]
    fn a_deadline_in_the_future_is_used_less_its_margin() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        // 5 s left: the margin is a tenth (500 ms).
        let left = left(DeadlineGuard::from_deadline_ms(now_ms + 5_000));
        assert!(left > Duration::from_millis(3_500) && left <= Duration::from_millis(4_500), "{left:?}");
    }
}
