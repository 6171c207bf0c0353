//! The per-invocation meter: duration, billed duration (ceil to 1 ms, init billed on a cold
//! start), GB-seconds and cost, all exact decimals.

use super::split_by_weight;
use crate::order::{Counts, RecordOutcome};
use crate::pricing::{self, invocation_cost, Arch, LambdaRates};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static PROCESS_START: OnceLock<Instant> = OnceLock::new();
static COLD: AtomicBool = AtomicBool::new(true);

/// Marks the start of the process (call first thing in `main`): the init duration billed on a
/// cold start runs from here to the first invocation.
pub(crate) fn mark_process_start() {
    let _ = PROCESS_START.get_or_init(Instant::now);
}

static INIT_DONE: OnceLock<Instant> = OnceLock::new();

/// Marks the end of init for a process that then waits for its first request (`orderflow
/// serve` once it listens): the cold start bills init up to here, not the idle time after it.
pub(crate) fn mark_init_done() {
    let _ = INIT_DONE.get_or_init(Instant::now);
}

/// Counts of what one invocation did, with the records per customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: Counts,
    pub customers: BTreeMap<String, u64>,
}

/// The customer key for records whose customer is unknown (e.g. malformed bodies). Customer ids
/// are 1–64 of `[A-Za-z0-9._:-]`, so no valid id can take this label (parentheses and a space):
/// a customer literally called `unknown` keeps its own row. Logs written before this label
/// carry `unknown` for both, which no reader can tell apart.
pub const UNKNOWN_CUSTOMER: &str = "(no customer)";

impl Tally {
    pub fn add(&mut self, r: &RecordOutcome) {
        self.counts.add(&r.outcome);
        let customer = r.customer_id.as_deref().unwrap_or(UNKNOWN_CUSTOMER);
        match self.customers.get_mut(customer) {
            Some(n) => *n += 1,
            None => {
                self.customers.insert(customer.to_string(), 1);
            }
        }
    }

    /// A record handed on to another function (an HTTP order queued for orderflow-sqs): not
    /// processed here, but its customer is who this invocation worked for.
    pub(crate) fn hand_on(&mut self, customer: Option<&str>) {
        self.ignore();
        *self.customers.entry(customer.unwrap_or(UNKNOWN_CUSTOMER).to_string()).or_default() += 1;
    }

    pub fn ignore(&mut self) {
        self.counts.ignore();
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.counts.merge(&other.counts);
        for (c, n) in &other.customers {
            *self.customers.entry(c.clone()).or_default() += n;
        }
    }
}

/// Measures one invocation from its start.
#[derive(Debug)]
pub(crate) struct Meter {
    started: Instant,
    cold_start: bool,
    init: Option<Duration>,
    pub request_id: String,
    pub function_name: String,
    pub memory_mb: u32,
    pub arch: Arch,
}

/// Everything the meter knows about one finished invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationCost {
    pub request_id: String,
    pub function_name: String,
    pub cold_start: bool,
    pub memory_mb: u32,
    pub arch: Arch,
    /// Wall time of the handler, in milliseconds (microsecond precision).
    pub duration_ms: Decimal,
    pub init_duration_ms: Option<Decimal>,
    pub billed_ms: u64,
    pub gb_seconds: Decimal,
    pub cost_usd: Decimal,
    pub tally: Tally,
    /// The cost split across customers by records; the parts sum to `cost_usd` exactly.
    pub customers: Vec<(String, u64, Decimal)>,
}

fn ms(d: Duration) -> Decimal {
    Decimal::from_i128_with_scale(d.as_micros() as i128, 3)
}

impl Meter {
    /// Starts metering an invocation. The first invocation of the process is the cold start.
    pub fn start(request_id: &str, function_name: &str, memory_mb: u32) -> Meter {
        let started = Instant::now();
        let cold_start = COLD.swap(false, Ordering::SeqCst);
        let init_end = INIT_DONE.get().copied().unwrap_or(started);
        let init = if cold_start { PROCESS_START.get().map(|p| init_end.duration_since(*p)) } else { None };
        Meter {
            started,
            cold_start,
            init,
            request_id: request_id.to_string(),
            function_name: function_name.to_string(),
            memory_mb,
            arch: Arch::current(),
        }
    }

    pub fn finish(self, tally: Tally) -> InvocationCost {
        let elapsed = self.started.elapsed();
        cost_of(
            self.request_id,
            self.function_name,
            self.cold_start,
            self.memory_mb,
            self.arch,
            elapsed,
            self.init,
            tally,
        )
    }
}

/// The exact cost of an invocation that ran for `elapsed` (plus `init` on a cold start).
#[allow(clippy::too_many_arguments)]
pub fn cost_of(
    request_id: String,
    function_name: String,
    cold_start: bool,
    memory_mb: u32,
    arch: Arch,
    elapsed: Duration,
    init: Option<Duration>,
    tally: Tally,
) -> InvocationCost {
    let billed_ms = pricing::billed_ms(elapsed.as_nanos() + init.map(|d| d.as_nanos()).unwrap_or(0));
    // At the us-east-1 prices: `orderflow report` prices the line again with its price list.
    let charge = invocation_cost(&LambdaRates::US_EAST_1, arch, billed_ms, memory_mb);
    let (gb_seconds, cost_usd) = (charge.gb_seconds, charge.total_usd());
    let weights: Vec<(String, u64)> = tally.customers.iter().map(|(c, n)| (c.clone(), *n)).collect();
    let customers = split_by_weight(cost_usd, &weights)
        .into_iter()
        .zip(&weights)
        .map(|((c, part), (_, n))| (c, *n, part))
        .collect();
    InvocationCost {
        request_id,
        function_name,
        cold_start,
        memory_mb,
        arch,
        duration_ms: ms(elapsed),
        init_duration_ms: init.map(ms),
        billed_ms,
        gb_seconds,
        cost_usd,
        tally,
        customers,
    }
}

/// The function's memory: `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, 128 when unset.
pub(crate) fn memory_from_env() -> u32 {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::LambdaPricing;

    #[test]
    fn the_per_invocation_meter_uses_the_same_prices_as_the_pricing_model() {
        let p = LambdaPricing::default();
        let m = LambdaRates::US_EAST_1;
        assert_eq!(m.gb_second(Arch::X86_64), p.gb_second(Arch::X86_64));
        assert_eq!(m.gb_second(Arch::Arm64), p.gb_second(Arch::Arm64));
        assert_eq!(m.request, p.request());
        let c = cost_of(
            "r".into(),
            "f".into(),
            false,
            1536,
            Arch::Arm64,
            std::time::Duration::from_micros(120_400),
            None,
            Default::default(),
        );
        assert_eq!(c.billed_ms, 121);
        assert_eq!(c.cost_usd, p.invocation_usd(Arch::Arm64, 121, 1536));
    }
}
