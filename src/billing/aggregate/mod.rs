//! The fold of log lines into the cost [`CostReport`]: per function, per customer and per day, with
//! Lambda's REPORT lines reconciled against our EMF estimates ([`reconcile`]) and the services
//! around Lambda priced per order. Lines are read one by one ([`Aggregator::read`]) or parsed
//! ahead on worker threads ([`Aggregator::read_parallel`], [`ahead`]) with the same result.
//!
//! Streaming: every line is folded into the totals as it is read. Memory is bounded by the
//! number of distinct functions, customers and days, plus a bounded window of request ids
//! waiting for their other half (an EMF line for a REPORT line or the reverse): CloudWatch
//! writes the two into the same log stream, one right after the other.
//!
//! Exactness: each invocation's cost is split across its customers with
//! [`split_by_weight`](crate::metering::split_by_weight), so the per-customer amounts sum to the
//! per-function totals to the last digit. An invocation without customers is attributed to
//! [`UNATTRIBUTED`]. When Lambda's billed duration replaces ours after the fact, the difference is
//! split the same way.

mod ahead;
mod read;
mod reconcile;
#[cfg(test)]
mod tests;

use super::logparse::{EmfRecord, Line};
use super::observability;
use super::plausible;
use super::report::{
    CostReport, CustomerRow, DayRow, FunctionRow, LineCounts, Reconciliation, UNATTRIBUTED, UNKNOWN_FUNCTION,
};
use super::usage;
use crate::metering::split_by_weight;
use crate::pricing::{self, invocation_cost, Arch, InvocationCharge, Pricing, UnitPrices};
use reconcile::{Pending, PendingBilled, PendingEmf};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

/// Longest line read; longer ones are skipped as malformed (memory stays bounded).
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;
/// Request ids kept waiting for their other half.
pub(crate) const DEFAULT_PENDING: usize = 65_536;

/// The metrics every EMF line declares (Duration, BilledDuration, Records, Accepted,
/// Duplicates, Rejected, Retried, Cost), InitDuration besides on a cold start.
const EMF_METRICS: u64 = 8;

/// Request ids, log streams, function and customer names read from logs: the Fx hash (a
/// multiply and a rotate per word) instead of SipHash, whose protection against chosen
/// collisions costs more here than it buys (a crafted log could only slow a report down).
type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

#[derive(Default, Clone)]
struct FnAgg {
    arch: Option<Arch>,
    row: FunctionRow,
    /// An EMF line was seen (its metrics exist), one of a cold start (InitDuration too).
    emf: bool,
    cold_emf: bool,
}

#[derive(Default, Clone)]
struct CustAgg {
    records: u64,
    lambda: Decimal,
    services: Decimal,
    observability: Decimal,
}

#[derive(Default, Clone)]
struct DayAgg {
    invocations: u64,
    orders: u64,
    lambda: Decimal,
    services: Decimal,
    observability: Decimal,
}

/// An invocation's amounts: Lambda, the services around it, observability.
type Amounts = [Decimal; 3];

const NO_DAY: i64 = i64::MIN;

/// Folds log lines into a [`CostReport`].
pub struct Aggregator {
    pricing: Pricing,
    unit: UnitPrices,
    gb_seconds_x86_64: Decimal,
    gb_seconds_arm64: Decimal,
    lines: LineCounts,
    functions: Interner,
    fn_aggs: Vec<FnAgg>,
    customers: Interner,
    cust_aggs: Vec<CustAgg>,
    days: BTreeMap<i64, DayAgg>,
    streams: HashMap<String, u32>,
    pending: HashMap<String, (u64, Pending)>,
    order: VecDeque<(u64, String)>,
    seq: u64,
    pending_limit: usize,
    recon: Reconciliation,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    chunk_reqs: u64,
    log_byte: Decimal,
}

impl Aggregator {
    pub fn new(pricing: Pricing) -> Aggregator {
        Aggregator::with_pending_limit(pricing, DEFAULT_PENDING)
    }

    pub(crate) fn with_pending_limit(pricing: Pricing, pending_limit: usize) -> Aggregator {
        let chunk_reqs = pricing::sqs_requests_for(1, pricing.sqs.chunk_bytes);
        let log_byte = pricing.observability.first_tier_per_byte();
        Aggregator {
            unit: pricing.unit_prices(),
            gb_seconds_x86_64: Decimal::ZERO,
            gb_seconds_arm64: Decimal::ZERO,
            pricing,
            lines: LineCounts::default(),
            functions: Interner::default(),
            fn_aggs: Vec::new(),
            customers: Interner::default(),
            cust_aggs: Vec::new(),
            days: BTreeMap::new(),
            streams: HashMap::default(),
            pending: HashMap::default(),
            order: VecDeque::new(),
            seq: 0,
            pending_limit: pending_limit.max(1),
            recon: Reconciliation::default(),
            first_ms: None,
            last_ms: None,
            chunk_reqs,
            log_byte,
        }
    }

    /// Folds one line already read (its `total` already counted).
    fn feed_line(&mut self, line: Line<'_>) {
        match line {
            Line::Emf(prefix, e) => {
                self.lines.emf += 1;
                if let Some(why) = plausible::emf_problem(&e).or_else(|| self.too_many_lines()) {
                    return self.implausible(why);
                }
                self.see_time(e.timestamp_ms);
                let function = self.functions.id(&e.function);
                if let Some(stream) = prefix.stream {
                    if !self.streams.contains_key(stream) {
                        self.streams.insert(stream.to_string(), function);
                    }
                }
                self.on_emf(function, e);
            }
            Line::Billed { prefix, record, json } => {
                if json {
                    self.lines.report_json += 1;
                } else {
                    self.lines.report_text += 1;
                }
                if let Some(why) = plausible::report_problem(&record).or_else(|| self.too_many_lines()) {
                    return self.implausible(why);
                }
                self.see_time(record.timestamp_ms);
                self.on_report(prefix.stream, record);
            }
            Line::Other => self.lines.other += 1,
            Line::Malformed => self.lines.malformed += 1,
        }
    }

    fn implausible(&mut self, why: &'static str) {
        self.lines.implausible += 1;
        *self.lines.implausible_reasons.entry(why.to_string()).or_default() += 1;
    }

    /// Past [`plausible::MAX_FOLDED_LINES`] lines the totals could overflow: refuse the rest.
    fn too_many_lines(&self) -> Option<&'static str> {
        let folded = self.lines.emf + self.lines.report_text + self.lines.report_json - self.lines.implausible;
        (folded > plausible::MAX_FOLDED_LINES).then_some("more lines than one report can sum exactly")
    }

    fn see_time(&mut self, ts: Option<i64>) {
        if let Some(t) = ts {
            self.first_ms = Some(self.first_ms.map_or(t, |f| f.min(t)));
            self.last_ms = Some(self.last_ms.map_or(t, |l| l.max(t)));
        }
    }

    fn on_emf(&mut self, function: u32, e: EmfRecord<'_>) {
        let lambda = match self.pending.remove(e.request_id.as_ref()) {
            Some((_, Pending::Billed(r))) => Some(r),
            Some((seq, other @ Pending::Emf(_))) => {
                // The same request id twice: count it again, keep waiting for REPORT.
                self.pending.insert(e.request_id.to_string(), (seq, other));
                None
            }
            None => None,
        };
        let day = e.timestamp_ms.map_or(NO_DAY, |t| t.div_euclid(86_400_000));
        let weights: Vec<(u32, u64)> =
            e.customers.iter().map(|c| (self.customers.id(&c.customer), c.records)).collect();
        let (billed_ms, memory_mb, cold_start) = match &lambda {
            Some(r) => (r.billed_ms, r.memory_mb, r.cold_start),
            None => (e.billed_ms, e.memory_mb, e.cold_start),
        };
        let charge = self.charge(e.arch, billed_ms, memory_mb);
        self.add_gb_seconds(e.arch, charge.gb_seconds);
        let lambda_usd = charge.total_usd();
        // The EMF line's own parts when they are still the truth, else split again.
        let parts: Vec<(u32, Decimal)> = if lambda.is_none()
            && lambda_usd == e.cost_usd
            && plausible::parts_sum_to(e.customers.iter().map(|c| c.cost_usd), lambda_usd)
        {
            weights.iter().zip(&e.customers).map(|((id, _), c)| (*id, c.cost_usd)).collect()
        } else {
            split_by_weight(lambda_usd, &weights)
        };
        let usage = usage::service_usage(usage::channel_of(&e.function), &e.counts, self.chunk_reqs);
        let services = self.unit.services_usd(&usage);
        let service_parts = split_by_weight(services, &weights);
        let log_bytes =
            e.line_bytes + 1 + observability::platform_line_bytes(&e.request_id, billed_ms, memory_mb, cold_start);
        let observability = Decimal::from(log_bytes) * self.log_byte;
        let observability_parts = split_by_weight(observability, &weights);

        let f = &mut self.fn_aggs_entry(function).row;
        add_invocation(f, cold_start, billed_ms, &charge, log_bytes, observability);
        f.records += e.counts.records;
        f.orders += e.counts.accepted;
        f.services_usd += services;
        f.services.add(&usage);
        let agg = &mut self.fn_aggs[function as usize];
        agg.arch = Some(e.arch);
        agg.emf = true;
        agg.cold_emf |= e.cold_start;

        let amounts: Vec<Amounts> = parts
            .iter()
            .zip(&service_parts)
            .zip(&observability_parts)
            .map(|(((_, l), (_, s)), (_, o))| [*l, *s, *o])
            .collect();
        self.attribute(&weights, &amounts, [lambda_usd, services, observability]);
        let d = self.days.entry(day).or_default();
        d.invocations += 1;
        d.orders += e.counts.accepted;
        d.lambda += lambda_usd;
        d.services += services;
        d.observability += observability;

        match lambda {
            Some(r) => {
                let ours = self.charge(e.arch, e.billed_ms, e.memory_mb).total_usd();
                self.record_match(e.billed_ms, r.billed_ms, lambda_usd - ours)
            }
            None => {
                let pending = PendingEmf {
                    function,
                    day,
                    arch: e.arch,
                    memory_mb: e.memory_mb,
                    billed_ms: e.billed_ms,
                    cold_start: e.cold_start,
                    weights,
                };
                self.wait(e.request_id.into_owned(), Pending::Emf(pending));
            }
        }
    }

    /// What one invocation costs at the report's prices.
    fn charge(&self, arch: Arch, billed_ms: u64, memory_mb: u32) -> InvocationCharge {
        invocation_cost(&self.unit.lambda, arch, billed_ms, memory_mb)
    }

    fn add_gb_seconds(&mut self, arch: Arch, gbs: Decimal) {
        match arch {
            Arch::X86_64 => self.gb_seconds_x86_64 += gbs,
            Arch::Arm64 => self.gb_seconds_arm64 += gbs,
        }
    }

    fn fn_aggs_entry(&mut self, function: u32) -> &mut FnAgg {
        let i = function as usize;
        if self.fn_aggs.len() <= i {
            self.fn_aggs.resize(i + 1, FnAgg::default());
        }
        &mut self.fn_aggs[i]
    }

    fn cust(&mut self, id: u32) -> &mut CustAgg {
        let i = id as usize;
        if self.cust_aggs.len() <= i {
            self.cust_aggs.resize(i + 1, CustAgg::default());
        }
        &mut self.cust_aggs[i]
    }

    /// Adds the parts to their customers; an invocation without customers (or whose customers
    /// all have weight 0) goes to [`UNATTRIBUTED`] whole.
    fn attribute(&mut self, weights: &[(u32, u64)], parts: &[Amounts], totals: Amounts) {
        if weights.iter().all(|(_, w)| *w == 0) {
            let id = self.customers.id(UNATTRIBUTED);
            let c = self.cust(id);
            c.lambda += totals[0];
            c.services += totals[1];
            c.observability += totals[2];
            return;
        }
        for ((id, records), [l, s, o]) in weights.iter().zip(parts) {
            let c = self.cust(*id);
            c.records += records;
            c.lambda += *l;
            c.services += *s;
            c.observability += *o;
        }
    }

    /// A REPORT line without an EMF line: Lambda's cost, no records, no customer.
    fn report_only(&mut self, r: PendingBilled) {
        self.recon.report_only += 1;
        let function = match r.stream.as_deref().and_then(|s| self.streams.get(s)) {
            Some(&f) => f,
            None => self.functions.id(UNKNOWN_FUNCTION),
        };
        let arch = self.fn_aggs.get(function as usize).and_then(|a| a.arch).unwrap_or(Arch::X86_64);
        let charge = self.charge(arch, r.billed_ms, r.memory_mb);
        // Lambda's START/END/REPORT lines were logged all the same (no EMF line to add).
        let log_bytes = observability::platform_line_bytes(&r.request_id, r.billed_ms, r.memory_mb, r.cold_start);
        let observability = Decimal::from(log_bytes) * self.log_byte;
        self.add_gb_seconds(arch, charge.gb_seconds);
        add_invocation(
            &mut self.fn_aggs_entry(function).row,
            r.cold_start,
            r.billed_ms,
            &charge,
            log_bytes,
            observability,
        );
        let id = self.customers.id(UNATTRIBUTED);
        let c = self.cust(id);
        c.lambda += charge.total_usd();
        c.observability += observability;
        let day = r.timestamp_ms.map_or(NO_DAY, |t| t.div_euclid(86_400_000));
        let d = self.days.entry(day).or_default();
        d.invocations += 1;
        d.lambda += charge.total_usd();
        d.observability += observability;
    }

    /// The report of everything read.
    pub fn finish(mut self) -> CostReport {
        let pending: Vec<(u64, Pending)> = self.pending.drain().map(|(_, v)| v).collect();
        let mut pending = pending;
        pending.sort_by_key(|(seq, _)| *seq);
        for (_, p) in pending {
            self.give_up(p);
        }
        let mut functions: Vec<FunctionRow> = Vec::new();
        let mut total = FunctionRow { function: "total".into(), ..Default::default() };
        let mut custom_metrics = 0;
        for (i, agg) in self.fn_aggs.into_iter().enumerate() {
            let mut row = agg.row;
            if row.invocations == 0 {
                continue;
            }
            row.function = self.functions.names[i].clone();
            row.arch = agg.arch;
            row.total_usd = row.compute_usd + row.request_usd + row.services_usd + row.observability_usd;
            if agg.emf {
                custom_metrics += EMF_METRICS + u64::from(agg.cold_emf);
            }
            row.usd_per_order = per(row.total_usd, row.orders);
            total.invocations += row.invocations;
            total.cold_starts += row.cold_starts;
            total.records += row.records;
            total.orders += row.orders;
            total.billed_ms += row.billed_ms;
            total.gb_seconds += row.gb_seconds;
            total.compute_usd += row.compute_usd;
            total.request_usd += row.request_usd;
            total.services_usd += row.services_usd;
            total.log_bytes += row.log_bytes;
            total.observability_usd += row.observability_usd;
            total.services.add(&row.services);
            functions.push(row);
        }
        functions.sort_by(|a, b| a.function.cmp(&b.function));
        total.total_usd = total.compute_usd + total.request_usd + total.services_usd + total.observability_usd;
        total.usd_per_order = per(total.total_usd, total.orders);
        let mut customers: Vec<CustomerRow> = self
            .cust_aggs
            .into_iter()
            .enumerate()
            .map(|(i, c)| CustomerRow {
                customer: self.customers.names[i].clone(),
                records: c.records,
                lambda_usd: c.lambda,
                services_usd: c.services,
                observability_usd: c.observability,
                total_usd: c.lambda + c.services + c.observability,
            })
            .filter(|c| c.records > 0 || !c.total_usd.is_zero())
            .collect();
        customers.sort_by(|a, b| a.customer.cmp(&b.customer));
        let attributed_usd = customers.iter().map(|c| c.total_usd).sum();
        let days = self
            .days
            .into_iter()
            .map(|(day, d)| DayRow {
                day: day_name(day),
                invocations: d.invocations,
                orders: d.orders,
                lambda_usd: d.lambda,
                services_usd: d.services,
                observability_usd: d.observability,
                total_usd: d.lambda + d.services + d.observability,
            })
            .collect();
        CostReport {
            region: self.pricing.region.clone(),
            lines: self.lines,
            functions,
            customers,
            days,
            total,
            attributed_usd,
            reconciliation: self.recon,
            first_timestamp_ms: self.first_ms,
            last_timestamp_ms: self.last_ms,
            gb_seconds_x86_64: self.gb_seconds_x86_64,
            gb_seconds_arm64: self.gb_seconds_arm64,
            custom_metrics,
        }
    }
}

/// Adds one invocation's Lambda charge and log lines to its function's row.
fn add_invocation(
    f: &mut FunctionRow,
    cold_start: bool,
    billed_ms: u64,
    charge: &InvocationCharge,
    log_bytes: u64,
    observability: Decimal,
) {
    f.invocations += 1;
    f.cold_starts += u64::from(cold_start);
    f.billed_ms += billed_ms;
    f.gb_seconds += charge.gb_seconds;
    f.compute_usd += charge.compute_usd;
    f.request_usd += charge.request_usd;
    f.log_bytes += log_bytes;
    f.observability_usd += observability;
}

fn per(amount: Decimal, n: u64) -> Option<Decimal> {
    (n > 0).then(|| amount / Decimal::from(n))
}

fn day_name(day: i64) -> String {
    if day == NO_DAY {
        return "unknown".into();
    }
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map_or_else(|| "unknown".into(), |t| t.format("%Y-%m-%d").to_string())
}

/// Reads every line of `text` into a report (for the demo and tests).
pub fn report_of_lines<'a>(pricing: Pricing, lines: impl IntoIterator<Item = &'a str>) -> CostReport {
    let mut a = Aggregator::new(pricing);
    for l in lines {
        a.feed(l);
    }
    a.finish()
}
