//! The cost report over logs: per function, per customer and per day, with Lambda's REPORT lines
//! reconciled against our EMF estimates, the services around Lambda priced per order, and a
//! projection to a month with tiers, free tier and the break-even against a fixed server.
//!
//! Streaming: every line is folded into the totals as it is read. Memory is bounded by the
//! number of distinct functions, customers and days, plus a bounded window of request ids
//! waiting for their other half (an EMF line for a REPORT line or the reverse): CloudWatch
//! writes the two into the same log stream, one right after the other.
//!
//! Exactness: each invocation's cost is split across its customers with
//! [`split_by_weight`](super::split_by_weight), so the per-customer amounts sum to the
//! per-function totals to the last digit. An invocation without customers is attributed to
//! [`UNATTRIBUTED`]. When Lambda's billed duration replaces ours after the fact, the difference is
//! split the same way.

use super::logparse::{parse_line, EmfRecord, Line, ReportRecord};
use super::observability;
use super::plausible;
use super::split_by_weight;
use crate::pricing::observability::{ObservabilityBill, ObservabilityUsage};
use crate::pricing::{self, invocation_cost, Arch, LambdaBill, MonthlyUsage, Pricing, ServiceUsage, UnitPrices};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::BufRead;

/// The customer of invocations that handled no customer's records (test events, ignored
/// stream records, REPORT lines without an EMF line).
pub const UNATTRIBUTED: &str = "(unattributed)";
/// The function of REPORT lines whose log stream never showed an EMF line.
pub const UNKNOWN_FUNCTION: &str = "(unknown function)";
/// Longest line read; longer ones are skipped as malformed (memory stays bounded).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Request ids kept waiting for their other half.
pub const DEFAULT_PENDING: usize = 65_536;

/// How many lines of each kind were read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LineCounts {
    pub total: u64,
    pub emf: u64,
    pub report_text: u64,
    pub report_json: u64,
    /// Lines of other programs (and Lambda's START/END lines), skipped.
    pub other: u64,
    /// Lines that looked like ours but were broken (truncated, garbage, too long), skipped.
    pub malformed: u64,
    /// Our lines or Lambda's that claim what Lambda cannot do (a billed duration past its
    /// 15-minute limit, counts that do not add up...), left out of the totals
    /// ([`super::plausible`]); counted in `emf`/`report_*` too.
    pub implausible: u64,
    /// How many implausible lines for each reason.
    pub implausible_reasons: BTreeMap<String, u64>,
    /// Bytes read, newlines included: for bare log lines, what CloudWatch Logs ingested (output
    /// of `aws logs tail` also has its timestamp and stream prefix, which CloudWatch does not bill).
    pub bytes: u64,
}

/// How our billed-duration estimates compared with what Lambda billed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reconciliation {
    /// Invocations with both our EMF line and Lambda's REPORT line.
    pub matched: u64,
    pub emf_only: u64,
    pub report_only: u64,
    /// Over the matched invocations.
    pub our_billed_ms: u64,
    pub lambda_billed_ms: u64,
    pub max_abs_diff_ms: u64,
    /// What Lambda's figures changed in the total (Lambda's minus ours).
    pub cost_correction_usd: Decimal,
}

impl Reconciliation {
    /// How far our billed ms were off Lambda's, in percent of Lambda's (2 decimals).
    pub fn error_percent(&self) -> Option<Decimal> {
        if self.lambda_billed_ms == 0 {
            return None;
        }
        let diff = Decimal::from(self.our_billed_ms) - Decimal::from(self.lambda_billed_ms);
        Some((diff * Decimal::ONE_HUNDRED / Decimal::from(self.lambda_billed_ms)).round_dp(2))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FunctionRow {
    pub function: String,
    pub arch: Option<Arch>,
    pub invocations: u64,
    pub cold_starts: u64,
    pub records: u64,
    /// Orders accepted (stored); the cost of duplicates and rejects is part of their cost.
    pub orders: u64,
    pub billed_ms: u64,
    pub gb_seconds: Decimal,
    pub compute_usd: Decimal,
    pub request_usd: Decimal,
    /// SQS, S3 and DynamoDB, estimated from the invocation's counts ([`service_usage`]).
    pub services_usd: Decimal,
    /// Bytes the invocations logged: each EMF line as read, Lambda's START/END/REPORT lines at
    /// their size ([`observability::platform_line_bytes`]).
    pub log_bytes: u64,
    /// Those bytes' CloudWatch Logs ingestion at the first tier's price (the projection applies
    /// the tiers, storage, custom metrics and X-Ray).
    pub observability_usd: Decimal,
    pub total_usd: Decimal,
    pub usd_per_order: Option<Decimal>,
    pub services: ServiceUsage,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CustomerRow {
    pub customer: String,
    /// Records (orders, including duplicates and rejects) of this customer.
    pub records: u64,
    pub lambda_usd: Decimal,
    pub services_usd: Decimal,
    pub observability_usd: Decimal,
    pub total_usd: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayRow {
    /// `YYYY-MM-DD` (UTC), or `unknown` for lines without a timestamp.
    pub day: String,
    pub invocations: u64,
    pub orders: u64,
    pub lambda_usd: Decimal,
    pub services_usd: Decimal,
    pub observability_usd: Decimal,
    pub total_usd: Decimal,
}

/// Everything the logs said, added up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub region: String,
    pub lines: LineCounts,
    pub functions: Vec<FunctionRow>,
    pub customers: Vec<CustomerRow>,
    pub days: Vec<DayRow>,
    /// Sum of all functions (`function` is "total").
    pub total: FunctionRow,
    /// Sum of all customers: equal to `total.total_usd`, exactly.
    pub attributed_usd: Decimal,
    pub reconciliation: Reconciliation,
    pub first_timestamp_ms: Option<i64>,
    pub last_timestamp_ms: Option<i64>,
    pub gb_seconds_x86_64: Decimal,
    pub gb_seconds_arm64: Decimal,
    /// Distinct CloudWatch custom metrics our EMF lines created: each metric name per
    /// FunctionName value (InitDuration only for functions that had a cold start).
    pub custom_metrics: u64,
}

/// The metrics every EMF line declares (Duration, BilledDuration, Records, Accepted,
/// Duplicates, Rejected, Retried, Cost), InitDuration besides on a cold start.
const EMF_METRICS: u64 = 8;

/// What one invocation of our functions used of SQS, S3 and DynamoDB, estimated from its counts
/// (the EMF line has no payload sizes: messages are taken as ≤ 64 KiB and items as ≤ 1 KB):
/// - `orderflow-sqs`: each record was one SendMessage by its producer; the event source mapping
///   receives and deletes in batches of up to 10; each accepted, duplicate or rejected record is
///   one conditional PutItem (1 WRU — a failed condition consumes it too).
/// - `orderflow-s3`: one GET of the object and one PUT of its import report; one conditional
///   PutItem per order as above.
/// - `orderflow-stream`: the client's PutItem of the PENDING row and our conditional UpdateItem
///   (duplicates only the former); Lambda's reads of the stream are free.
pub fn service_usage(function: &str, r: &Counts, chunk_reqs: u64) -> ServiceUsage {
    let written = r.accepted + r.duplicates + r.rejected;
    if function.contains("sqs") {
        let batches = r.records.div_ceil(10);
        ServiceUsage { sqs_requests: r.records * chunk_reqs + 2 * batches, dynamodb_wru: written, ..Default::default() }
    } else if function.contains("s3") {
        ServiceUsage { s3_gets: 1, s3_puts: 1, dynamodb_wru: written, ..Default::default() }
    } else if function.contains("stream") {
        ServiceUsage { dynamodb_wru: 2 * (r.accepted + r.rejected) + r.duplicates, ..Default::default() }
    } else {
        ServiceUsage::default()
    }
}

/// The record counts of an invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// The Fx hash (rustc's): a multiply and a rotate per 8 bytes. The keys are request ids, log
/// stream, function and customer names read from logs; SipHash's protection against chosen
/// collisions costs more here than it buys (a crafted log could only slow a report down).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

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

/// An EMF line already counted, waiting for Lambda's REPORT line.
struct PendingEmf {
    function: u32,
    day: i64,
    arch: Arch,
    memory_mb: u32,
    billed_ms: u64,
    cold_start: bool,
    weights: Vec<(u32, u64)>,
}

/// A REPORT line waiting for its EMF line.
struct PendingReport {
    /// The request id, for the size of Lambda's lines when no EMF line comes.
    request_id: String,
    stream: Option<String>,
    timestamp_ms: Option<i64>,
    billed_ms: u64,
    memory_mb: u32,
    cold_start: bool,
}

enum Pending {
    Emf(PendingEmf),
    Report(PendingReport),
}

const NO_DAY: i64 = i64::MIN;

/// Folds log lines into a [`Report`].
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

    pub fn with_pending_limit(pricing: Pricing, pending_limit: usize) -> Aggregator {
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

    /// Reads lines until the end of `r`: any size, one bounded line buffer.
    pub fn read<R: BufRead>(&mut self, mut r: R) -> std::io::Result<()> {
        let mut partial: Vec<u8> = Vec::new();
        let mut too_long = false;
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if too_long {
                    self.count_too_long();
                } else if !partial.is_empty() {
                    self.feed_line_bytes(&partial);
                }
                return Ok(());
            }
            let (used, line_end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, Some(i)),
                None => (buf.len(), None),
            };
            match line_end {
                Some(i) if partial.is_empty() && !too_long => self.feed_line_bytes(&buf[..i]),
                Some(i) => {
                    if too_long || partial.len() + i > MAX_LINE_BYTES {
                        self.count_too_long();
                    } else {
                        partial.extend_from_slice(&buf[..i]);
                        self.feed_line_bytes(&partial);
                    }
                    partial.clear();
                    too_long = false;
                }
                None => {
                    if !too_long && partial.len() + buf.len() <= MAX_LINE_BYTES {
                        partial.extend_from_slice(buf);
                    } else {
                        too_long = true;
                        partial = Vec::new();
                    }
                }
            }
            self.lines.bytes += used as u64;
            r.consume(used);
        }
    }

    fn count_too_long(&mut self) {
        self.lines.total += 1;
        self.lines.malformed += 1;
    }

    /// Reads one line (without its newline), as bytes.
    pub fn feed_bytes(&mut self, line: &[u8]) {
        self.lines.bytes += line.len() as u64 + 1;
        self.feed_line_bytes(line);
    }

    /// A line of [`Aggregator::read`], whose bytes it counts itself.
    fn feed_line_bytes(&mut self, line: &[u8]) {
        match std::str::from_utf8(line) {
            Ok(s) => {
                self.lines.total += 1;
                self.feed_line(parse_line(s));
            }
            Err(_) => {
                self.lines.total += 1;
                self.lines.other += 1;
            }
        }
    }

    /// Reads one line (without its newline).
    pub fn feed(&mut self, line: &str) {
        self.lines.bytes += line.len() as u64 + 1;
        self.lines.total += 1;
        self.feed_line(parse_line(line));
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
            Line::Report { prefix, record, json } => {
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
            Some((_, Pending::Report(r))) => Some(r),
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
        let (gbs, compute, request) = (charge.gb_seconds, charge.compute_usd, charge.request_usd);
        self.add_gb_seconds(e.arch, gbs);
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
        let counts =
            Counts { records: e.records, accepted: e.accepted, duplicates: e.duplicates, rejected: e.rejected };
        let usage = service_usage(&e.function, &counts, self.chunk_reqs);
        let services = self.unit.services_usd(&usage);
        let service_parts = split_by_weight(services, &weights);
        let log_bytes =
            e.line_bytes + 1 + observability::platform_line_bytes(&e.request_id, billed_ms, memory_mb, cold_start);
        let observability = Decimal::from(log_bytes) * self.log_byte;
        let observability_parts = split_by_weight(observability, &weights);

        let f = &mut self.fn_aggs_entry(function).row;
        f.invocations += 1;
        f.cold_starts += u64::from(cold_start);
        f.records += e.records;
        f.orders += e.accepted;
        f.billed_ms += billed_ms;
        f.gb_seconds += gbs;
        f.compute_usd += compute;
        f.request_usd += request;
        f.services_usd += services;
        f.services.add(&usage);
        f.log_bytes += log_bytes;
        f.observability_usd += observability;
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
        d.orders += e.accepted;
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
    fn charge(&self, arch: Arch, billed_ms: u64, memory_mb: u32) -> pricing::InvocationCharge {
        invocation_cost(&self.unit.lambda, arch, billed_ms, memory_mb)
    }

    fn add_gb_seconds(&mut self, arch: Arch, gbs: Decimal) {
        match arch {
            Arch::X86_64 => self.gb_seconds_x86_64 += gbs,
            Arch::Arm64 => self.gb_seconds_arm64 += gbs,
        }
    }

    fn record_match(&mut self, ours: u64, lambdas: u64, correction: Decimal) {
        self.recon.matched += 1;
        self.recon.our_billed_ms += ours;
        self.recon.lambda_billed_ms += lambdas;
        self.recon.max_abs_diff_ms = self.recon.max_abs_diff_ms.max(ours.abs_diff(lambdas));
        self.recon.cost_correction_usd += correction;
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

    fn on_report(&mut self, stream: Option<&str>, r: ReportRecord<'_>) {
        match self.pending.remove(r.request_id.as_ref()) {
            Some((_, Pending::Emf(p))) => self.correct(p, &r),
            Some((_, Pending::Report(first))) => {
                // A second REPORT for the same request: count the first one on its own.
                self.report_only(first);
                self.wait_report(stream, r);
            }
            None => self.wait_report(stream, r),
        }
    }

    fn wait_report(&mut self, stream: Option<&str>, r: ReportRecord<'_>) {
        let p = PendingReport {
            request_id: r.request_id.to_string(),
            stream: stream.map(str::to_string),
            timestamp_ms: r.timestamp_ms,
            billed_ms: r.billed_ms,
            memory_mb: r.memory_mb,
            cold_start: r.init_duration_ms.is_some(),
        };
        self.wait(r.request_id.into_owned(), Pending::Report(p));
    }

    /// Lambda's figures replace ours for an invocation already counted: the difference is added
    /// to its function and day and split across its customers.
    fn correct(&mut self, p: PendingEmf, r: &ReportRecord<'_>) {
        let old = self.charge(p.arch, p.billed_ms, p.memory_mb);
        let new = self.charge(p.arch, r.billed_ms, r.memory_mb);
        let (old_gbs, new_gbs) = (old.gb_seconds, new.gb_seconds);
        let delta = new.compute_usd - old.compute_usd;
        self.add_gb_seconds(p.arch, new_gbs - old_gbs);
        let new_cold = r.init_duration_ms.is_some();
        let f = &mut self.fn_aggs[p.function as usize].row;
        f.billed_ms = f.billed_ms - p.billed_ms + r.billed_ms;
        f.gb_seconds += new_gbs - old_gbs;
        f.compute_usd += delta;
        f.cold_starts = f.cold_starts - u64::from(p.cold_start) + u64::from(new_cold);
        // Records were counted with the EMF line: only money moves here.
        if p.weights.iter().all(|(_, w)| *w == 0) {
            let id = self.customers.id(UNATTRIBUTED);
            self.cust(id).lambda += delta;
        } else {
            for (id, part) in split_by_weight(delta, &p.weights) {
                self.cust(id).lambda += part;
            }
        }
        self.days.entry(p.day).or_default().lambda += delta;
        self.record_match(p.billed_ms, r.billed_ms, delta);
    }

    /// A REPORT line without an EMF line: Lambda's cost, no records, no customer.
    fn report_only(&mut self, r: PendingReport) {
        self.recon.report_only += 1;
        let function = match r.stream.as_deref().and_then(|s| self.streams.get(s)) {
            Some(&f) => f,
            None => self.functions.id(UNKNOWN_FUNCTION),
        };
        let arch = self.fn_aggs.get(function as usize).and_then(|a| a.arch).unwrap_or(Arch::X86_64);
        let charge = self.charge(arch, r.billed_ms, r.memory_mb);
        let (gbs, compute, request) = (charge.gb_seconds, charge.compute_usd, charge.request_usd);
        // Lambda's START/END/REPORT lines were logged all the same (no EMF line to add).
        let log_bytes = observability::platform_line_bytes(&r.request_id, r.billed_ms, r.memory_mb, r.cold_start);
        let observability = Decimal::from(log_bytes) * self.log_byte;
        self.add_gb_seconds(arch, gbs);
        let f = &mut self.fn_aggs_entry(function).row;
        f.invocations += 1;
        f.cold_starts += u64::from(r.cold_start);
        f.billed_ms += r.billed_ms;
        f.gb_seconds += gbs;
        f.compute_usd += compute;
        f.request_usd += request;
        f.log_bytes += log_bytes;
        f.observability_usd += observability;
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

    fn wait(&mut self, request_id: String, p: Pending) {
        self.seq += 1;
        self.order.push_back((self.seq, request_id.clone()));
        self.pending.insert(request_id, (self.seq, p));
        while self.pending.len() > self.pending_limit {
            let Some((seq, id)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&id).is_some_and(|(s, _)| *s == seq) {
                if let Some((_, p)) = self.pending.remove(&id) {
                    self.give_up(p);
                }
            }
        }
        // Keys of entries already matched stay in `order` until here: drop them now and then.
        if self.order.len() > 2 * self.pending_limit + 1024 {
            let pending = &self.pending;
            self.order.retain(|(seq, id)| pending.get(id).is_some_and(|(s, _)| s == seq));
        }
    }

    fn give_up(&mut self, p: Pending) {
        match p {
            Pending::Emf(_) => self.recon.emf_only += 1,
            Pending::Report(r) => self.report_only(r),
        }
    }

    /// The report of everything read.
    pub fn finish(mut self) -> Report {
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
        Report {
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

/// Reading on several threads with the same result as [`Aggregator::read`] line by line: a reader
/// thread cuts the input into blocks of whole lines, worker threads parse the blocks, and the
/// calling thread folds the parsed lines in their order (the fold is order-dependent: request
/// ids waiting for their other half, the first function seen per log stream).
mod ahead {
    use super::{Aggregator, MAX_LINE_BYTES};
    use crate::metering::logparse::{parse_line, CustomerPart, EmfRecord, Line, Prefix, ReportRecord};
    use crate::pricing::Arch;
    use rust_decimal::Decimal;
    use std::borrow::Cow;
    use std::io::Read;
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

    /// A slice of a block: offset and length.
    #[derive(Clone, Copy)]
    struct Span(u32, u32);

    impl Span {
        fn range(self) -> std::ops::Range<usize> {
            self.0 as usize..(self.0 + self.1) as usize
        }
    }

    /// A line of a block, parsed; strings are spans of the block.
    enum Item {
        /// Read it again on the folding thread (rare: strings with escapes, i.e. not borrowed).
        Again(Span),
        TooLong,
        NotUtf8,
        Other,
        Malformed,
        Emf(EmfItem),
        Report(ReportItem),
    }

    struct EmfItem {
        line: Span,
        stream: Option<Span>,
        request_id: Span,
        function: Span,
        timestamp_ms: Option<i64>,
        cold_start: bool,
        memory_mb: u32,
        arch: Arch,
        billed_ms: u64,
        cost_usd: Decimal,
        counts: [u64; 6],
        customers: (u32, u32),
        line_bytes: u64,
    }

    struct ReportItem {
        line: Span,
        stream: Option<Span>,
        request_id: Span,
        timestamp_ms: Option<i64>,
        duration_ms: Decimal,
        billed_ms: u64,
        memory_mb: u32,
        max_memory_used_mb: Option<u32>,
        init_duration_ms: Option<Decimal>,
        json: bool,
    }

    /// Whole lines (each ending in `\n`, but the input's last one may not), or one line too
    /// long to keep; then what the lines say. Blocks go round (reader, worker, folder, reader)
    /// so that their buffers are reused.
    #[derive(Default)]
    pub(super) struct Block {
        bytes: Vec<u8>,
        /// The bytes, when all of them are UTF-8 (the usual case: checked once per block).
        text: Option<String>,
        too_long: bool,
        items: Vec<Item>,
        customers: Vec<(Span, u64, Decimal)>,
    }

    impl Block {
        fn data(&self) -> &[u8] {
            match &self.text {
                Some(t) => t.as_bytes(),
                None => &self.bytes,
            }
        }

        fn str(&self, s: Span) -> Option<&str> {
            match &self.text {
                Some(t) => t.get(s.range()),
                None => std::str::from_utf8(self.bytes.get(s.range())?).ok(),
            }
        }

        /// Empty, keeping the buffers.
        fn recycle(&mut self) {
            if let Some(t) = self.text.take() {
                self.bytes = t.into_bytes();
            }
            self.bytes.clear();
            self.too_long = false;
            self.items.clear();
            self.customers.clear();
        }
    }

    /// Where `s` lies in `data`; `None` if it is not a slice of it (a string the parser had to
    /// build, e.g. with escapes: a separate allocation cannot overlap the block).
    fn span(data: &[u8], s: &str) -> Option<Span> {
        let off = (s.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
        (off + s.len() <= data.len()).then_some(Span(off as u32, s.len() as u32))
    }

    fn stream(data: &[u8], p: &Prefix<'_>) -> Option<Option<Span>> {
        match p.stream {
            None => Some(None),
            Some(s) => span(data, s).map(Some),
        }
    }

    fn item(data: &[u8], line: Span, text: &str, customers: &mut Vec<(Span, u64, Decimal)>) -> Item {
        let mark = customers.len();
        let read = match parse_line(text) {
            Line::Other => return Item::Other,
            Line::Malformed => return Item::Malformed,
            Line::Emf(prefix, e) => (|| {
                for c in &e.customers {
                    customers.push((span(data, &c.customer)?, c.records, c.cost_usd));
                }
                Some(Item::Emf(EmfItem {
                    line,
                    stream: stream(data, &prefix)?,
                    request_id: span(data, &e.request_id)?,
                    function: span(data, &e.function)?,
                    timestamp_ms: e.timestamp_ms,
                    cold_start: e.cold_start,
                    memory_mb: e.memory_mb,
                    arch: e.arch,
                    billed_ms: e.billed_ms,
                    cost_usd: e.cost_usd,
                    counts: [e.records, e.accepted, e.duplicates, e.rejected, e.retried, e.ignored],
                    customers: (mark as u32, customers.len() as u32),
                    line_bytes: e.line_bytes,
                }))
            })(),
            Line::Report { prefix, record: r, json } => (|| {
                Some(Item::Report(ReportItem {
                    line,
                    stream: stream(data, &prefix)?,
                    request_id: span(data, &r.request_id)?,
                    timestamp_ms: r.timestamp_ms,
                    duration_ms: r.duration_ms,
                    billed_ms: r.billed_ms,
                    memory_mb: r.memory_mb,
                    max_memory_used_mb: r.max_memory_used_mb,
                    init_duration_ms: r.init_duration_ms,
                    json,
                }))
            })(),
        };
        read.unwrap_or_else(|| {
            customers.truncate(mark);
            Item::Again(line)
        })
    }

    fn parse(mut b: Block) -> Block {
        if b.too_long {
            b.items.push(Item::TooLong);
            return b;
        }
        match String::from_utf8(std::mem::take(&mut b.bytes)) {
            Ok(t) => b.text = Some(t),
            Err(e) => b.bytes = e.into_bytes(),
        }
        let (mut items, mut customers) = (std::mem::take(&mut b.items), std::mem::take(&mut b.customers));
        let data = b.data();
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = Span(start as u32, (end - start) as u32);
            items.push(if line.1 as usize > MAX_LINE_BYTES {
                Item::TooLong
            } else {
                match b.str(line) {
                    Some(text) => item(data, line, text, &mut customers),
                    None => Item::NotUtf8,
                }
            });
            start = end + 1;
        }
        b.items = items;
        b.customers = customers;
        b
    }

    /// Reads `r` into blocks of whole lines of about `size` bytes; a line longer than
    /// [`MAX_LINE_BYTES`] becomes a `too_long` block of its own, without being kept.
    fn cut<R: Read>(mut r: R, size: usize, out: &[SyncSender<Block>], spare: &Receiver<Block>) -> std::io::Result<u64> {
        let mut carry: Vec<u8> = Vec::new();
        let mut skipping = false;
        let mut n = 0usize;
        let mut read = 0u64;
        let send = |n: &mut usize, b: Block| -> bool {
            let ok = out[*n % out.len()].send(b).is_ok();
            *n += 1;
            ok
        };
        let fresh = || {
            let mut b = spare.try_recv().unwrap_or_default();
            b.recycle();
            b
        };
        loop {
            // The carry (the start of a line, no newline in it) begins the next block.
            let mut block = fresh();
            if carry.len() > size {
                std::mem::swap(&mut block.bytes, &mut carry);
            } else {
                block.bytes.extend_from_slice(&carry);
            }
            carry.clear();
            let buf = &mut block.bytes;
            let old = buf.len();
            // Exactly: `read_to_end` would double a full buffer.
            buf.reserve_exact(size);
            let got = (&mut r).take(size as u64).read_to_end(buf)?;
            read += got as u64;
            let eof = got < size;
            if skipping {
                // The rest of a line too long to keep: drop it up to its newline.
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        skipping = false;
                        carry.extend_from_slice(&buf[i + 1..]);
                    }
                    None if !eof => continue,
                    None => {}
                }
                block.recycle();
                block.too_long = true;
                if !send(&mut n, block) || (eof && carry.is_empty()) {
                    return Ok(read);
                }
                continue;
            }
            if eof {
                if !buf.is_empty() && !send(&mut n, block) {
                    return Ok(read);
                }
                return Ok(read);
            }
            match memchr::memrchr(b'\n', &buf[old..]).map(|i| old + i) {
                Some(i) => {
                    carry.extend_from_slice(&buf[i + 1..]);
                    buf.truncate(i + 1);
                    if !send(&mut n, block) {
                        return Ok(read);
                    }
                }
                None if buf.len() > MAX_LINE_BYTES => skipping = true,
                None => carry = std::mem::take(buf),
            }
        }
    }

    impl Aggregator {
        /// Reads lines until the end of `r` like [`Aggregator::read`] over a buffered reader
        /// (a line longer than [`MAX_LINE_BYTES`] is counted as malformed), parsing on
        /// `workers` threads while this one folds. Memory: a few blocks of `block_bytes` per
        /// worker.
        pub fn read_parallel<R: Read + Send>(
            &mut self,
            r: R,
            workers: usize,
            block_bytes: usize,
        ) -> std::io::Result<()> {
            let workers = workers.max(1);
            std::thread::scope(|scope| {
                let (spare_tx, spare_rx) = sync_channel::<Block>(workers + 2);
                let mut to_workers = Vec::new();
                let mut from_workers = Vec::new();
                for _ in 0..workers {
                    let (tx, rx) = sync_channel::<Block>(1);
                    let (ptx, prx) = sync_channel::<Block>(1);
                    scope.spawn(move || {
                        for b in rx {
                            if ptx.send(parse(b)).is_err() {
                                return;
                            }
                        }
                    });
                    to_workers.push(tx);
                    from_workers.push(prx);
                }
                let reader = scope.spawn(move || cut(r, block_bytes.max(1), &to_workers, &spare_rx));
                let mut n = 0;
                while let Ok(b) = from_workers[n % workers].recv() {
                    self.fold(&b);
                    let _ = spare_tx.try_send(b);
                    n += 1;
                }
                drop(from_workers);
                let read = reader.join().expect("the reader thread does not panic")?;
                self.lines.bytes += read;
                Ok(())
            })
        }

        fn fold(&mut self, b: &Block) {
            for item in &b.items {
                self.lines.total += 1;
                match item {
                    Item::TooLong | Item::Malformed => self.lines.malformed += 1,
                    Item::NotUtf8 | Item::Other => self.lines.other += 1,
                    Item::Again(s) => self.feed_again(b, *s),
                    Item::Emf(e) => match emf_line(b, e) {
                        Some(line) => self.feed_line(line),
                        None => self.feed_again(b, e.line),
                    },
                    Item::Report(r) => match report_line(b, r) {
                        Some(line) => self.feed_line(line),
                        None => self.feed_again(b, r.line),
                    },
                }
            }
        }

        fn feed_again(&mut self, b: &Block, s: Span) {
            // A line the worker read as UTF-8: read it here.
            match b.str(s) {
                Some(t) => self.feed_line(parse_line(t)),
                None => self.lines.other += 1,
            }
        }
    }

    fn stream_str(b: &Block, s: Option<Span>) -> Option<Option<&str>> {
        match s {
            Some(s) => b.str(s).map(Some),
            None => Some(None),
        }
    }

    fn emf_line<'a>(b: &'a Block, e: &EmfItem) -> Option<Line<'a>> {
        let mut customers = Vec::with_capacity((e.customers.1 - e.customers.0) as usize);
        for (name, records, cost_usd) in &b.customers[e.customers.0 as usize..e.customers.1 as usize] {
            customers.push(CustomerPart {
                customer: Cow::Borrowed(b.str(*name)?),
                records: *records,
                cost_usd: *cost_usd,
            });
        }
        let [records, accepted, duplicates, rejected, retried, ignored] = e.counts;
        Some(Line::Emf(
            Prefix { timestamp_ms: None, stream: stream_str(b, e.stream)? },
            EmfRecord {
                request_id: Cow::Borrowed(b.str(e.request_id)?),
                function: Cow::Borrowed(b.str(e.function)?),
                timestamp_ms: e.timestamp_ms,
                cold_start: e.cold_start,
                memory_mb: e.memory_mb,
                arch: e.arch,
                billed_ms: e.billed_ms,
                cost_usd: e.cost_usd,
                records,
                accepted,
                duplicates,
                rejected,
                retried,
                ignored,
                customers,
                line_bytes: e.line_bytes,
            },
        ))
    }

    fn report_line<'a>(b: &'a Block, r: &ReportItem) -> Option<Line<'a>> {
        Some(Line::Report {
            prefix: Prefix { timestamp_ms: None, stream: stream_str(b, r.stream)? },
            record: ReportRecord {
                request_id: Cow::Borrowed(b.str(r.request_id)?),
                timestamp_ms: r.timestamp_ms,
                duration_ms: r.duration_ms,
                billed_ms: r.billed_ms,
                memory_mb: r.memory_mb,
                max_memory_used_mb: r.max_memory_used_mb,
                init_duration_ms: r.init_duration_ms,
            },
            json: r.json,
        })
    }
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

/// A month at some volume: Lambda's usage, and the costs that do not depend on how it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthAt {
    pub usage: MonthlyUsage,
    pub services_usd: Decimal,
    pub observability_usd: Decimal,
}

/// The observed rate carried to a 30-day month, and where a fixed server becomes cheaper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// The span of the logs the rate was observed over.
    pub window_days: Decimal,
    pub orders_per_day: Decimal,
    pub usage: MonthlyUsage,
    pub lambda: LambdaBill,
    pub services_usd: Decimal,
    /// Logs (tiered ingestion, storage), the custom metrics seen, X-Ray traces.
    pub observability: ObservabilityBill,
    pub total_usd: Decimal,
    pub free_tier: bool,
    pub break_even: Option<BreakEven>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakEven {
    pub server_monthly_usd: Decimal,
    /// The least orders per day at which the server costs less than Lambda and the services
    /// per month; `None` when no volume gets there (nothing was ordered).
    pub orders_per_day: Option<u64>,
}

const MONTH_DAYS: Decimal = Decimal::from_parts(30, 0, 0, false, 0);
const MS_PER_DAY: Decimal = Decimal::from_parts(86_400_000, 0, 0, false, 0);
const MINUTES_PER_DAY: Decimal = Decimal::from_parts(1_440, 0, 0, false, 0);
/// 10^20.
const MAX_MONTHLY_VOLUME: Decimal = Decimal::from_parts(1_661_992_960, 1_808_227_885, 5, false, 0);

impl Report {
    /// The span between the first and last timestamp, in days (`None` if under a minute).
    pub fn observed_days(&self) -> Option<Decimal> {
        let (Some(a), Some(b)) = (self.first_timestamp_ms, self.last_timestamp_ms) else {
            return None;
        };
        // Timestamps are read from logs: any two i64 differ by less than 2^64 in i128.
        let span = i128::from(b) - i128::from(a);
        (span >= 60_000).then(|| Decimal::from(span) / MS_PER_DAY)
    }

    /// Carries the observed rate to a 30-day month over `window_days` (default: the span of the
    /// logs), pricing Lambda with its tiers and, if asked, the free tier.
    pub fn project(
        &self,
        pricing: &Pricing,
        window_days: Option<Decimal>,
        free_tier: bool,
        server_monthly_usd: Option<Decimal>,
    ) -> Option<Projection> {
        // At least a minute: the factor to a month stays below 43,200, so with every line
        // bounded ([`plausible`]) no product below can overflow.
        let window = window_days.or_else(|| self.observed_days()).filter(|w| *w * MINUTES_PER_DAY >= Decimal::ONE)?;
        let factor = MONTH_DAYS / window;
        let usage = MonthlyUsage {
            requests: Decimal::from(self.total.invocations) * factor,
            gb_seconds_x86_64: self.gb_seconds_x86_64 * factor,
            gb_seconds_arm64: self.gb_seconds_arm64 * factor,
            ephemeral_gb_seconds: Decimal::ZERO,
        };
        let lambda = pricing.lambda.monthly(&usage, free_tier);
        let services_usd = self.total.services_usd * factor;
        let observability = pricing.observability.monthly(
            &ObservabilityUsage {
                log_bytes: Decimal::from(self.total.log_bytes) * factor,
                custom_metrics: self.custom_metrics,
                requests: usage.requests,
            },
            free_tier,
        );
        let total_usd = lambda.total_usd + services_usd + observability.total_usd;
        let orders_per_day = Decimal::from(self.total.orders) / window;
        let break_even = server_monthly_usd.map(|server| BreakEven {
            server_monthly_usd: server,
            orders_per_day: self.break_even(pricing, free_tier, server),
        });
        Some(Projection {
            window_days: window,
            orders_per_day,
            usage,
            lambda,
            services_usd,
            observability,
            total_usd,
            free_tier,
            break_even,
        })
    }

    /// What a month costs at `orders_per_day`, each order using what the observed ones did.
    pub fn monthly_at(&self, pricing: &Pricing, free_tier: bool, orders_per_day: Decimal) -> Option<Decimal> {
        let m = self.month_at(pricing, free_tier, orders_per_day)?;
        pricing
            .lambda
            .monthly(&m.usage, free_tier)
            .total_usd
            .checked_add(m.services_usd)?
            .checked_add(m.observability_usd)
    }

    /// What a month at `orders_per_day` uses of Lambda, and what the services around it and its
    /// observability cost (the same whichever way the functions run); `None` when nothing was
    /// ordered or the month is too large to price exactly.
    pub fn month_at(&self, pricing: &Pricing, free_tier: bool, orders_per_day: Decimal) -> Option<MonthAt> {
        if self.total.orders == 0 {
            return None;
        }
        let per_month = orders_per_day.checked_mul(MONTH_DAYS)? / Decimal::from(self.total.orders);
        // Volumes beyond 10^20 (GB-s, requests) are past any price list's tiers and past what
        // Decimal can multiply by a price exactly: no month to price.
        let scaled = |x: Decimal| x.checked_mul(per_month).filter(|v| *v <= MAX_MONTHLY_VOLUME);
        let usage = MonthlyUsage {
            requests: scaled(Decimal::from(self.total.invocations))?,
            gb_seconds_x86_64: scaled(self.gb_seconds_x86_64)?,
            gb_seconds_arm64: scaled(self.gb_seconds_arm64)?,
            ephemeral_gb_seconds: Decimal::ZERO,
        };
        let services_usd = scaled(self.total.services_usd)?;
        // The custom metrics are a fixed monthly charge; logs and traces grow with the orders.
        let observability = pricing.observability.monthly(
            &ObservabilityUsage {
                log_bytes: scaled(Decimal::from(self.total.log_bytes))?,
                custom_metrics: self.custom_metrics,
                requests: usage.requests,
            },
            free_tier,
        );
        Some(MonthAt { usage, services_usd, observability_usd: observability.total_usd })
    }

    /// The least whole number of orders per day at which the month costs more than the server.
    pub fn break_even(&self, pricing: &Pricing, free_tier: bool, server_monthly_usd: Decimal) -> Option<u64> {
        if self.total.orders == 0 {
            return None;
        }
        // A month too large to price exactly ends the search: no break-even below it.
        let cost = |n: u64| self.monthly_at(pricing, free_tier, Decimal::from(n));
        crossing(|n| Some(cost(n)? > server_monthly_usd))
    }
}

/// The least whole `n` ≤ 2^50 with `dearer(n)` true, for a `dearer` that stays true once it is
/// (binary search); `None` if none, or if a month cannot be priced.
pub(crate) fn crossing(dearer: impl Fn(u64) -> Option<bool>) -> Option<u64> {
    if dearer(0)? {
        return Some(0);
    }
    let (mut lo, mut hi) = (0u64, 1u64);
    while !dearer(hi)? {
        lo = hi;
        hi = hi.checked_mul(2)?;
        if hi > 1 << 50 {
            return None;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if dearer(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Reads every line of `text` into a report (for the demo and tests).
pub fn report_of_lines<'a>(pricing: Pricing, lines: impl IntoIterator<Item = &'a str>) -> Report {
    let mut a = Aggregator::new(pricing);
    for l in lines {
        a.feed(l);
    }
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::gb_seconds;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn emf(id: &str, function: &str, billed_ms: u64, ts: i64, customers: &[(&str, u64)]) -> String {
        let cost = pricing::LambdaPricing::default().invocation_usd(Arch::X86_64, billed_ms, 128);
        let weights: Vec<(String, u64)> = customers.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        let parts = split_by_weight(cost, &weights);
        let cs: Vec<String> = parts
            .iter()
            .zip(customers)
            .map(|((c, p), (_, n))| format!(r#""{c}":{{"records":{n},"cost_usd":"{p}"}}"#))
            .collect();
        let records: u64 = customers.iter().map(|(_, n)| n).sum();
        format!(
            r#"{{"_aws":{{"Timestamp":{ts}}},"FunctionName":"{function}","Records":{records},"Accepted":{records},"Duplicates":0,"Rejected":0,"Retried":0,"request_id":"{id}","cold_start":false,"memory_mb":128,"arch":"x86_64","billed_ms":{billed_ms},"cost_usd":"{cost}","ignored":0,"customers":{{{}}}}}"#,
            cs.join(",")
        )
    }

    fn report_line(id: &str, billed_ms: u64, init: bool) -> String {
        let init = if init { "\tInit Duration: 80.12 ms" } else { "" };
        format!("REPORT RequestId: {id}\tDuration: {}.5 ms\tBilled Duration: {billed_ms} ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB{init}\t", billed_ms - 1)
    }

    fn assert_exact(r: &Report) {
        assert_eq!(r.attributed_usd, r.total.total_usd, "customers must sum to the total exactly");
        let functions: Decimal = r.functions.iter().map(|f| f.total_usd).sum();
        assert_eq!(functions, r.total.total_usd);
        let days: Decimal = r.days.iter().map(|d| d.total_usd).sum();
        assert_eq!(days, r.total.total_usd);
    }

    #[test]
    fn lambdas_report_line_replaces_our_billed_duration_and_the_customers_still_sum_exactly() {
        let lines = [
            emf("a", "orderflow-sqs", 10, 1_000, &[("c1", 2), ("c2", 1)]),
            report_line("a", 13, true),
            report_line("b", 7, false),
            emf("b", "orderflow-sqs", 9, 2_000, &[("c1", 1), ("c3", 3)]),
        ];
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        assert_eq!(r.reconciliation.matched, 2);
        assert_eq!(r.reconciliation.our_billed_ms, 19);
        assert_eq!(r.reconciliation.lambda_billed_ms, 20);
        assert_eq!(r.reconciliation.max_abs_diff_ms, 3);
        assert_eq!(r.reconciliation.error_percent(), Some(d("-5.00")));
        let f = &r.functions[0];
        assert_eq!(f.billed_ms, 20);
        assert_eq!(f.cold_starts, 1);
        assert_eq!(f.compute_usd, gb_seconds(20, 128) * pricing::X86_64_GB_SECOND);
        assert_eq!(r.customers.iter().map(|c| c.records).sum::<u64>(), 7);
        assert_exact(&r);
    }

    #[test]
    fn report_lines_without_emf_are_attributed_to_their_streams_function_or_to_nobody() {
        let lines = [
            format!("2026-11-26T10:00:00.000Z s1 {}", emf("a", "orderflow-s3", 10, 1_795_687_200_000, &[("c1", 1)])),
            format!("2026-11-26T10:00:01.000Z s1 {}", report_line("x", 5, false)),
            format!("2026-11-26T10:00:02.000Z s9 {}", report_line("y", 5, false)),
        ];
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        assert_eq!(r.reconciliation.report_only, 2);
        assert_eq!(r.reconciliation.emf_only, 1);
        let names: Vec<_> = r.functions.iter().map(|f| (f.function.as_str(), f.invocations)).collect();
        assert_eq!(names, vec![(UNKNOWN_FUNCTION, 1), ("orderflow-s3", 2)]);
        assert!(r.customers.iter().any(|c| c.customer == UNATTRIBUTED));
        assert_exact(&r);
    }

    #[test]
    fn an_emf_cost_at_other_prices_is_repriced_and_split_again_exactly() {
        let mut p = Pricing::default();
        p.lambda.x86_64[0].gb_second = d("0.0000200000");
        let lines = [emf("a", "orderflow-sqs", 100, 0, &[("c1", 1), ("c2", 1), ("c3", 1)])];
        let r = report_of_lines(p, lines.iter().map(String::as_str));
        assert_eq!(r.total.compute_usd, gb_seconds(100, 128) * d("0.00002"));
        assert_exact(&r);
    }

    #[test]
    fn the_pending_window_gives_up_on_old_request_ids_without_losing_cost() {
        let mut a = Aggregator::with_pending_limit(Pricing::default(), 2);
        for i in 0..10 {
            a.feed(&emf(&format!("e{i}"), "orderflow-sqs", 10, i, &[("c", 1)]));
            a.feed(&report_line(&format!("r{i}"), 10, false));
        }
        a.feed(&report_line("e9", 12, false));
        let r = a.finish();
        assert_eq!(r.reconciliation.matched, 1);
        assert_eq!(r.reconciliation.report_only, 10);
        assert_eq!(r.reconciliation.emf_only, 9);
        assert_eq!(r.total.invocations, 20);
        assert_exact(&r);
    }

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_as_malformed_and_reading_goes_on() {
        let mut text = "x".repeat(MAX_LINE_BYTES + 10);
        text.push('\n');
        text.push_str(&emf("a", "orderflow-sqs", 10, 0, &[("c", 1)]));
        text.push('\n');
        text.push_str("no newline at the end");
        let mut a = Aggregator::new(Pricing::default());
        a.read(std::io::BufReader::with_capacity(4096, text.as_bytes())).unwrap();
        let r = a.finish();
        assert_eq!(r.lines.total, 3);
        assert_eq!(r.lines.malformed, 1);
        assert_eq!(r.lines.emf, 1);
        assert_eq!(r.lines.other, 1);
    }

    /// Reading ahead on worker threads gives the same report as reading line by line through a
    /// buffered reader, whatever the block size: long lines, blank lines, CRLF, invalid UTF-8,
    /// escaped strings, no newline at the end.
    #[test]
    fn reading_in_parallel_gives_exactly_the_report_of_reading_in_order() {
        let mut text: Vec<u8> = Vec::new();
        for i in 0..300u64 {
            text.extend_from_slice(synthetic::invocation(i).as_bytes());
            text.push(b'\n');
            match i % 37 {
                0 => text.extend_from_slice(b"\n"),
                1 => text.extend_from_slice(b"\xff\xfe not utf-8\n"),
                2 => {
                    text.extend_from_slice(&vec![b'y'; MAX_LINE_BYTES + 1 + (i as usize % 3)]);
                    text.push(b'\n');
                }
                3 => {
                    text.extend_from_slice(&vec![b'z'; MAX_LINE_BYTES]);
                    text.push(b'\n');
                }
                4 => {
                    let e = emf(&format!("esc{i}"), "orderflow-\\u0073qs", 10, 5, &[("c\\\"1", 2)]);
                    text.extend_from_slice(e.as_bytes());
                    text.extend_from_slice(b"\r\n");
                }
                5 => text.extend_from_slice(b"{\"_aws\":{} truncated\n"),
                _ => {}
            }
        }
        for tail in [&b""[..], b"no newline at the end", &[b'q'; MAX_LINE_BYTES + 5]] {
            let mut t = text.clone();
            t.extend_from_slice(tail);
            let mut a = Aggregator::new(Pricing::default());
            a.read(std::io::BufReader::with_capacity(1 << 18, t.as_slice())).unwrap();
            let expected = a.finish();
            assert!(expected.lines.malformed >= 8);
            for (workers, block) in [(1, 7), (2, 100), (3, 4096), (2, 1 << 20)] {
                let mut a = Aggregator::new(Pricing::default());
                a.read_parallel(t.as_slice(), workers, block).unwrap();
                assert_eq!(a.finish(), expected, "{workers} workers, blocks of {block}");
            }
        }
    }

    #[test]
    fn the_projection_carries_the_observed_rate_to_30_days_and_finds_the_break_even() {
        // One invocation with one order per hour for a day.
        let lines: Vec<String> =
            (0..=24).map(|h| emf(&format!("r{h}"), "orderflow-sqs", 100, h * 3_600_000, &[("c", 1)])).collect();
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        let p = r.project(&Pricing::default(), None, false, Some(d("5"))).unwrap();
        assert_eq!(p.window_days, Decimal::ONE);
        assert_eq!(p.orders_per_day, d("25"));
        assert_eq!(p.usage.requests, d("750"));
        let be = p.break_even.unwrap().orders_per_day.unwrap();
        assert!(r.monthly_at(&Pricing::default(), false, Decimal::from(be)).unwrap() > d("5"));
        assert!(r.monthly_at(&Pricing::default(), false, Decimal::from(be - 1)).unwrap() <= d("5"));
        let free = r.project(&Pricing::default(), None, true, None).unwrap();
        assert_eq!(free.lambda.total_usd, Decimal::ZERO);
    }
}

/// Synthetic logs for benchmarks and the throughput measurement: what CloudWatch shows for
/// invocation `i` of a steady workload, as `aws logs tail` prints it — our EMF line (real format,
/// from the meter) followed by Lambda's REPORT line.
#[doc(hidden)]
pub mod synthetic {
    use crate::metering::emf::emf_line;
    use crate::metering::meter::{cost_of, Tally};
    use crate::pricing::Arch;
    use std::time::Duration;

    const FUNCTIONS: [&str; 3] = ["orderflow-sqs", "orderflow-s3", "orderflow-stream"];

    /// The two lines of invocation `i` (no trailing newline on the second).
    pub fn invocation(i: u64) -> String {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7;
        let function = FUNCTIONS[(h % 3) as usize];
        let mut tally = Tally::default();
        for k in 0..(1 + h % 5) {
            let customer = format!("cust-{}", (h >> 8).wrapping_add(k * 7) % 500);
            *tally.customers.entry(customer).or_default() += 1;
            tally.records += 1;
            tally.accepted += 1;
        }
        let cold = h.is_multiple_of(50);
        let micros = 2_000 + (h >> 16) % 40_000;
        let init = cold.then(|| Duration::from_micros(90_000 + (h >> 20) % 30_000));
        let arch = if function == "orderflow-stream" { Arch::Arm64 } else { Arch::X86_64 };
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            i as u32,
            (h >> 3) as u16,
            h % 4096,
            (h >> 5) % 4096,
            h & 0xffff_ffff_ffff
        );
        let c = cost_of(
            request_id.clone(),
            function.to_string(),
            cold,
            256,
            arch,
            Duration::from_micros(micros),
            init,
            tally,
        );
        let ts = 1_795_651_200_000i64 + (i as i64) * 250;
        let stamp =
            chrono::DateTime::from_timestamp_millis(ts).expect("a valid time").format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
        let stream = format!("2026/11/26/[$LATEST]{:016x}", h % 64);
        let init = init
            .map_or_else(String::new, |d| format!("\tInit Duration: {}.{:03} ms", d.as_millis(), d.as_micros() % 1000));
        let billed = c.billed_ms + h % 2;
        format!(
            "{stamp} {stream} {}\n{stamp} {stream} REPORT RequestId: {request_id}\tDuration: {}.{:03} ms\tBilled Duration: {billed} ms\tMemory Size: 256 MB\tMax Memory Used: 31 MB{init}\t",
            emf_line(&c, "Orderflow", ts),
            micros / 1000,
            micros % 1000
        )
    }
}
