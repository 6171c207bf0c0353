//! The report `orderflow report` prints: everything the logs said, added up per function,
//! customer and day, with the reconciliation against Lambda's REPORT lines. Filled in by
//! [`super::Aggregator`]; projected to a month by [`super::projection`].

use crate::pricing::{Arch, ServiceUsage};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// The customer of invocations that handled no customer's records (test events, ignored
/// stream records, REPORT lines without an EMF line).
pub const UNATTRIBUTED: &str = "(unattributed)";
/// The function of REPORT lines whose log stream never showed an EMF line.
pub(crate) const UNKNOWN_FUNCTION: &str = "(unknown function)";

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
    /// (`plausible`); counted in `emf`/`report_*` too.
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
    pub(crate) fn error_percent(&self) -> Option<Decimal> {
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
    /// SQS, S3 and DynamoDB, estimated from the invocation's counts (`billing::usage`).
    pub services_usd: Decimal,
    /// Bytes the invocations logged: each EMF line as read, Lambda's START/END/REPORT lines at
    /// their size (`billing::observability::platform_line_bytes`).
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
pub struct CostReport {
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
