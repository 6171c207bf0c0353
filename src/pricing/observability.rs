//! What watching the functions costs: the CloudWatch Logs lines every invocation writes (our
//! EMF line and Lambda's START, END and REPORT lines), the custom metrics the EMF line creates,
//! and the X-Ray traces of active tracing. Exact decimals; us-east-1 defaults, overridable in the
//! pricing file's `[observability]` table.
//!
//! Sources (us-east-1, as published when this was written):
//! - Lambda logs in CloudWatch Logs (Standard class), tiered since 1 May 2025: $0.50 per GB for
//!   the first 10 TB a month, $0.25 the next 20 TB, $0.10 the next 20 TB, $0.05 beyond 50 TB;
//!   archive storage $0.03 per GB-month; 5 GB a month free:
//!   <https://aws.amazon.com/cloudwatch/pricing/> (the tiers, with a worked 60 TB month, in
//!   <https://www.duckbillgroup.com/?p=9080>).
//! - Custom metrics, per metric-month: $0.30 for the first 10,000, $0.10 the next 240,000, $0.05
//!   the next 750,000, $0.02 beyond 1,000,000; 10 free: <https://aws.amazon.com/cloudwatch/pricing/>.
//!   Each metric name × dimension set × dimension values is one metric.
//! - X-Ray traces recorded: $5.00 per million, 100,000 a month free:
//!   <https://aws.amazon.com/xray/pricing/>. Lambda's active tracing samples with X-Ray's
//!   default rule: the first request each second, then 5% of the rest.

use super::{dec, exact};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A gigabyte as AWS bills log data: 2^30 bytes.
pub(crate) const BYTES_PER_GB: u64 = 1 << 30;
/// A 30-day month in seconds (X-Ray's default sampling reservoir is one trace per second).
const MONTH_SECONDS: u64 = 30 * 86_400;

/// One volume tier: the price per unit up to a cumulative monthly volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeTier {
    /// Cumulative units per month where this tier ends; absent for the last tier.
    #[serde(default, with = "exact::option", skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Decimal>,
    #[serde(with = "exact")]
    pub price: Decimal,
}

/// The prices of logs, metrics and traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObservabilityPricing {
    /// Lambda logs ingested into CloudWatch Logs, per GB, tiers in GB.
    pub logs_ingestion_per_gb: Vec<VolumeTier>,
    #[serde(with = "exact")]
    pub logs_storage_per_gb_month: Decimal,
    /// Days the log groups keep their lines (the storage held in a steady month is a month's
    /// lines × days / 30; stored bytes are taken uncompressed, an upper bound).
    pub logs_retention_days: u32,
    #[serde(with = "exact")]
    pub logs_free_gb: Decimal,
    /// Custom metrics per metric-month, tiers in metrics.
    pub custom_metrics_per_month: Vec<VolumeTier>,
    pub free_custom_metrics: u64,
    #[serde(with = "exact")]
    pub xray_traces_per_million: Decimal,
    pub xray_free_traces: u64,
    /// Fraction of requests beyond one a second that X-Ray's sampling records.
    #[serde(with = "exact")]
    pub xray_sampling_rate: Decimal,
}

impl Default for ObservabilityPricing {
    fn default() -> Self {
        let tier = |up_to: Option<u64>, price| VolumeTier { up_to: up_to.map(|v| dec(v, 0)), price };
        ObservabilityPricing {
            logs_ingestion_per_gb: vec![
                tier(Some(10 * 1024), dec(50, 2)),
                tier(Some(30 * 1024), dec(25, 2)),
                tier(Some(50 * 1024), dec(10, 2)),
                tier(None, dec(5, 2)),
            ],
            logs_storage_per_gb_month: dec(3, 2),
            logs_retention_days: 30,
            logs_free_gb: dec(5, 0),
            custom_metrics_per_month: vec![
                tier(Some(10_000), dec(30, 2)),
                tier(Some(250_000), dec(10, 2)),
                tier(Some(1_000_000), dec(5, 2)),
                tier(None, dec(2, 2)),
            ],
            free_custom_metrics: 10,
            xray_traces_per_million: dec(5, 0),
            xray_free_traces: 100_000,
            xray_sampling_rate: dec(5, 2),
        }
    }
}

/// The part of a month's volume priced at one tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeLine {
    pub from: Decimal,
    pub up_to: Option<Decimal>,
    pub units: Decimal,
    pub price: Decimal,
    pub usd: Decimal,
}

/// Prices `volume` through `tiers` (each tier's price for the units inside it).
pub(crate) fn tiered(tiers: &[VolumeTier], volume: Decimal) -> (Vec<VolumeLine>, Decimal) {
    let mut lines = Vec::new();
    let mut from = Decimal::ZERO;
    let mut total = Decimal::ZERO;
    for t in tiers {
        if volume <= from {
            break;
        }
        let end = t.up_to.map_or(volume, |u| u.min(volume));
        let units = end - from;
        let usd = units * t.price;
        total += usd;
        lines.push(VolumeLine { from, up_to: t.up_to, units, price: t.price, usd });
        match t.up_to {
            Some(u) => from = u,
            None => break,
        }
    }
    (lines, total)
}

/// A month of logs, metrics and traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservabilityUsage {
    pub log_bytes: Decimal,
    pub custom_metrics: u64,
    pub requests: Decimal,
}

/// That month, priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservabilityBill {
    pub log_gb: Decimal,
    pub ingestion: Vec<VolumeLine>,
    pub ingestion_usd: Decimal,
    pub stored_gb_month: Decimal,
    pub storage_usd: Decimal,
    pub metrics: Vec<VolumeLine>,
    pub metrics_usd: Decimal,
    pub traces: Decimal,
    pub traces_usd: Decimal,
    pub total_usd: Decimal,
}

impl ObservabilityPricing {
    /// The price of one logged byte at the first ingestion tier, to 18 decimals (what the
    /// per-function and per-customer rows use; the month applies every tier).
    pub(crate) fn first_tier_per_byte(&self) -> Decimal {
        self.logs_ingestion_per_gb
            .first()
            .map_or(Decimal::ZERO, |t| (t.price / Decimal::from(BYTES_PER_GB)).round_dp(18))
    }

    /// Traces X-Ray records of `requests` spread over a month with its default sampling.
    pub(crate) fn sampled_traces(&self, requests: Decimal) -> Decimal {
        let reservoir = Decimal::from(MONTH_SECONDS);
        if requests <= reservoir {
            requests
        } else {
            reservoir + (requests - reservoir) * self.xray_sampling_rate
        }
    }

    pub fn monthly(&self, u: &ObservabilityUsage, free_tier: bool) -> ObservabilityBill {
        let log_gb = u.log_bytes / Decimal::from(BYTES_PER_GB);
        let free = |x: Decimal, allowance: Decimal| {
            if free_tier {
                (x - allowance).max(Decimal::ZERO)
            } else {
                x
            }
        };
        let (ingestion, ingestion_usd) = tiered(&self.logs_ingestion_per_gb, free(log_gb, self.logs_free_gb));
        let stored_gb_month = log_gb * Decimal::from(self.logs_retention_days) / Decimal::from(30);
        let storage_usd = free(stored_gb_month, self.logs_free_gb) * self.logs_storage_per_gb_month;
        let metrics_n = free(Decimal::from(u.custom_metrics), Decimal::from(self.free_custom_metrics));
        let (metrics, metrics_usd) = tiered(&self.custom_metrics_per_month, metrics_n);
        let traces = self.sampled_traces(u.requests);
        let traces_usd = free(traces, Decimal::from(self.xray_free_traces)) * self.xray_traces_per_million
            / Decimal::from(1_000_000);
        ObservabilityBill {
            log_gb,
            ingestion,
            ingestion_usd,
            stored_gb_month,
            storage_usd,
            metrics,
            metrics_usd,
            traces,
            traces_usd,
            total_usd: ingestion_usd + storage_usd + metrics_usd + traces_usd,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, tiers) in [
            ("logs_ingestion_per_gb", &self.logs_ingestion_per_gb),
            ("custom_metrics_per_month", &self.custom_metrics_per_month),
        ] {
            if tiers.is_empty() {
                return Err(format!("observability.{name} needs at least one tier"));
            }
            let mut last = Decimal::ZERO;
            for (i, t) in tiers.iter().enumerate() {
                if t.price.is_sign_negative() || t.price > super::MAX_PRICE {
                    return Err(format!("observability.{name}: a price must be 0-{}", super::MAX_PRICE));
                }
                match (t.up_to, i + 1 == tiers.len()) {
                    (None, true) => {}
                    (None, false) => return Err(format!("observability.{name}: only the last tier may be unbounded")),
                    (Some(_), true) => return Err(format!("observability.{name}: the last tier must have no up_to")),
                    (Some(to), false) if to <= last => {
                        return Err(format!("observability.{name}: tier bounds must increase"))
                    }
                    (Some(to), false) => last = to,
                }
            }
        }
        let prices = [self.logs_storage_per_gb_month, self.xray_traces_per_million, self.logs_free_gb];
        if prices.iter().any(|p| p.is_sign_negative() || *p > super::MAX_PRICE) {
            return Err(format!("observability: prices must be 0-{}", super::MAX_PRICE));
        }
        if self.xray_sampling_rate.is_sign_negative() || self.xray_sampling_rate > Decimal::ONE {
            return Err("observability.xray_sampling_rate must be 0-1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::d;
    use super::*;

    // https://www.duckbillgroup.com/?p=9080 (from AWS's announcement of the May 2025 Lambda log
    // tiers, us-east-1): "60TB of Lambda logs monthly ... your costs would drop from $30,000 to
    // $12,500". The article counts a TB as 1,000 GB; AWS's tiers are in binary TB (10,240 GB),
    // so the same month in AWS's units costs 1.024 times as much, to the cent.
    #[test]
    fn sixty_tb_of_lambda_logs_cost_12_500_tiered_instead_of_30_000_flat() {
        let p = ObservabilityPricing::default();
        let gb = d("61440");
        let (lines, usd) = tiered(&p.logs_ingestion_per_gb, gb);
        assert_eq!(
            lines.iter().map(|l| (l.units, l.price)).collect::<Vec<_>>(),
            vec![(d("10240"), d("0.50")), (d("20480"), d("0.25")), (d("20480"), d("0.10")), (d("10240"), d("0.05"))]
        );
        assert_eq!(usd, d("12800"));
        assert_eq!(usd / d("1.024"), d("12500"));
        assert_eq!(gb * d("0.50") / d("1.024"), d("30000"));
    }

    #[test]
    fn a_month_of_logs_inside_the_first_tier_costs_0_50_per_gb_and_the_free_tier_takes_5_gb() {
        let p = ObservabilityPricing::default();
        let u = ObservabilityUsage { log_bytes: Decimal::from(7 * BYTES_PER_GB), ..Default::default() };
        let b = p.monthly(&u, false);
        assert_eq!(b.ingestion_usd, d("3.50"));
        assert_eq!(b.storage_usd, d("0.21"));
        let free = p.monthly(&u, true);
        assert_eq!(free.ingestion_usd, d("1.00"));
        assert_eq!(free.storage_usd, d("0.06"));
    }

    // https://aws.amazon.com/cloudwatch/pricing/ — custom metrics tiers: 10,000 at $0.30,
    // 240,000 at $0.10, 750,000 at $0.05, then $0.02. 1,200,000 metrics in a month cross all four:
    // $3,000 + $24,000 + $37,500 + $4,000 = $68,500.
    #[test]
    fn custom_metrics_crossing_every_tier_within_a_month_are_priced_per_tier() {
        let p = ObservabilityPricing::default();
        let b = p.monthly(&ObservabilityUsage { custom_metrics: 1_200_000, ..Default::default() }, false);
        assert_eq!(
            b.metrics.iter().map(|l| l.usd).collect::<Vec<_>>(),
            vec![d("3000"), d("24000"), d("37500"), d("4000")]
        );
        assert_eq!(b.metrics_usd, d("68500"));
        // Our EMF line: 9 metrics per function (InitDuration only after a cold start), 3 functions:
        // 27 metrics, 17 of them billed after the 10 free: $5.10.
        let ours = p.monthly(&ObservabilityUsage { custom_metrics: 27, ..Default::default() }, true);
        assert_eq!(ours.metrics_usd, d("5.10"));
    }

    // https://aws.amazon.com/xray/pricing/ — $5.00 per million traces recorded, 100,000 free.
    #[test]
    fn xray_records_one_trace_a_second_then_five_percent_and_charges_5_usd_per_million() {
        let p = ObservabilityPricing::default();
        assert_eq!(p.sampled_traces(d("1000")), d("1000"));
        let requests = Decimal::from(MONTH_SECONDS) + d("20000000");
        assert_eq!(p.sampled_traces(requests), d("3592000"));
        let b = p.monthly(&ObservabilityUsage { requests, ..Default::default() }, true);
        assert_eq!(b.traces_usd, d("17.46"));
    }

    #[test]
    fn the_default_price_of_a_logged_byte_is_half_a_dollar_per_binary_gigabyte() {
        let p = ObservabilityPricing::default();
        assert_eq!(p.first_tier_per_byte(), d("0.000000000465661287"));
    }
}
