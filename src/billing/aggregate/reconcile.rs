//! Reconciliation: each EMF line (our estimate) waits in a bounded window for Lambda's REPORT
//! line of the same request id, or the reverse; when both are there, Lambda's billed duration
//! replaces ours and the difference is split across the invocation's customers.

use super::{Aggregator, UNATTRIBUTED};
use crate::billing::logparse::BilledInvocation;
use crate::metering::split_by_weight;
use crate::pricing::Arch;
use rust_decimal::Decimal;

/// An EMF line already counted, waiting for Lambda's REPORT line.
pub(super) struct PendingEmf {
    pub(super) function: u32,
    pub(super) day: i64,
    pub(super) arch: Arch,
    pub(super) memory_mb: u32,
    pub(super) billed_ms: u64,
    pub(super) cold_start: bool,
    pub(super) weights: Vec<(u32, u64)>,
}

/// A REPORT line waiting for its EMF line.
pub(super) struct PendingBilled {
    /// The request id, for the size of Lambda's lines when no EMF line comes.
    pub(super) request_id: String,
    pub(super) stream: Option<String>,
    pub(super) timestamp_ms: Option<i64>,
    pub(super) billed_ms: u64,
    pub(super) memory_mb: u32,
    pub(super) cold_start: bool,
}

pub(super) enum Pending {
    Emf(PendingEmf),
    Billed(PendingBilled),
}

impl Aggregator {
    pub(super) fn record_match(&mut self, ours: u64, lambdas: u64, correction: Decimal) {
        self.recon.matched += 1;
        self.recon.our_billed_ms += ours;
        self.recon.lambda_billed_ms += lambdas;
        self.recon.max_abs_diff_ms = self.recon.max_abs_diff_ms.max(ours.abs_diff(lambdas));
        self.recon.cost_correction_usd += correction;
    }

    pub(super) fn on_report(&mut self, stream: Option<&str>, r: BilledInvocation<'_>) {
        match self.pending.remove(r.request_id.as_ref()) {
            Some((_, Pending::Emf(p))) => self.correct(p, &r),
            Some((_, Pending::Billed(first))) => {
                // A second REPORT for the same request: count the first one on its own.
                self.report_only(first);
                self.wait_report(stream, r);
            }
            None => self.wait_report(stream, r),
        }
    }

    pub(super) fn wait_report(&mut self, stream: Option<&str>, r: BilledInvocation<'_>) {
        let p = PendingBilled {
            request_id: r.request_id.to_string(),
            stream: stream.map(str::to_string),
            timestamp_ms: r.timestamp_ms,
            billed_ms: r.billed_ms,
            memory_mb: r.memory_mb,
            cold_start: r.init_duration_ms.is_some(),
        };
        self.wait(r.request_id.into_owned(), Pending::Billed(p));
    }

    /// Lambda's figures replace ours for an invocation already counted: the difference is added
    /// to its function and day and split across its customers.
    pub(super) fn correct(&mut self, p: PendingEmf, r: &BilledInvocation<'_>) {
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

    pub(super) fn wait(&mut self, request_id: String, p: Pending) {
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

    pub(super) fn give_up(&mut self, p: Pending) {
        match p {
            Pending::Emf(_) => self.recon.emf_only += 1,
            Pending::Billed(r) => self.report_only(r),
        }
    }
}
