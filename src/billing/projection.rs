//! The observed rate carried to a 30-day month (tiers, free tier, observability), and where a
//! fixed server becomes cheaper.

use super::report::CostReport;
use crate::pricing::observability::{ObservabilityBill, ObservabilityUsage};
use crate::pricing::{LambdaBill, MonthlyUsage, Pricing};
use rust_decimal::Decimal;
use serde::Serialize;

/// A month at some volume: Lambda's usage, and the costs that do not depend on how it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MonthAt {
    pub usage: MonthlyUsage,
    pub services_usd: Decimal,
    pub observability_usd: Decimal,
}

/// The observed rate carried to a 30-day month, and where a fixed server becomes cheaper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Projection {
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
pub(crate) struct BreakEven {
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

impl CostReport {
    /// The span between the first and last timestamp, in days (`None` if under a minute).
    pub(crate) fn observed_days(&self) -> Option<Decimal> {
        let (Some(a), Some(b)) = (self.first_timestamp_ms, self.last_timestamp_ms) else {
            return None;
        };
        // Timestamps are read from logs: any two i64 differ by less than 2^64 in i128.
        let span = i128::from(b) - i128::from(a);
        (span >= 60_000).then(|| Decimal::from(span) / MS_PER_DAY)
    }

    /// Carries the observed rate to a 30-day month over `window_days` (default: the span of the
    /// logs), pricing Lambda with its tiers and, if asked, the free tier.
    pub(crate) fn project(
        &self,
        pricing: &Pricing,
        window_days: Option<Decimal>,
        free_tier: bool,
        server_monthly_usd: Option<Decimal>,
    ) -> Option<Projection> {
        // At least a minute: the factor to a month stays below 43,200, so with every line
        // bounded ([`super::plausible`]) no product below can overflow.
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
    pub(crate) fn monthly_at(&self, pricing: &Pricing, free_tier: bool, orders_per_day: Decimal) -> Option<Decimal> {
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
    pub(crate) fn month_at(&self, pricing: &Pricing, free_tier: bool, orders_per_day: Decimal) -> Option<MonthAt> {
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
