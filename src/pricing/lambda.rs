//! Lambda on demand: the price of one invocation ([`invocation_cost`], the one cost formula every
//! other place calls: the meter, the report, the what-if calculator) and of a month, through the
//! duration tiers of each architecture, requests, ephemeral storage and the free tier.

use super::{dec, exact, Arch, MILLION};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Lambda x86_64, first tier: $0.0000166667 per GB-second.
pub(crate) const X86_64_GB_SECOND: Decimal = dec(166_667, 10);
/// Lambda arm64, first tier: $0.0000133334 per GB-second.
pub(crate) const ARM64_GB_SECOND: Decimal = dec(133_334, 10);
/// Lambda requests: $0.20 per million, i.e. $0.0000002 per request.
pub(crate) const REQUEST: Decimal = dec(2, 7);
/// Ephemeral storage above the free 512 MB: $0.0000000309 per GB-second.
pub(crate) const EPHEMERAL_GB_SECOND: Decimal = dec(309, 10);
/// 1 / (1000 ms × 1024 MB), exactly: GB-seconds per MB-millisecond (a multiplication is much
/// cheaper than a division, and this one terminates).
const GB_S_PER_MB_MS: Decimal = dec(9_765_625, 13);

/// Lambda's on-demand prices per single unit: a GB-second (the first duration tier) of each
/// architecture and a request. What one invocation is priced at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LambdaRates {
    pub gb_second_x86_64: Decimal,
    pub gb_second_arm64: Decimal,
    pub request: Decimal,
}

impl LambdaRates {
    /// The us-east-1 defaults, the same as [`LambdaPricing::default`]'s first tiers: the meter
    /// prices every invocation at these without building a price list.
    pub(crate) const US_EAST_1: LambdaRates =
        LambdaRates { gb_second_x86_64: X86_64_GB_SECOND, gb_second_arm64: ARM64_GB_SECOND, request: REQUEST };

    pub(crate) fn gb_second(&self, arch: Arch) -> Decimal {
        match arch {
            Arch::X86_64 => self.gb_second_x86_64,
            Arch::Arm64 => self.gb_second_arm64,
        }
    }
}

/// What one invocation costs on demand, in its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InvocationCharge {
    pub gb_seconds: Decimal,
    /// GB-seconds × the architecture's price per GB-second.
    pub compute_usd: Decimal,
    /// The request price.
    pub request_usd: Decimal,
}

impl InvocationCharge {
    pub fn total_usd(&self) -> Decimal {
        self.compute_usd + self.request_usd
    }
}

/// The cost of one invocation billed `billed_ms` at `memory_mb`: GB-seconds × price(arch) +
/// request price, exactly (first tier, no free tier: tiers and the free tier apply to a month).
pub(crate) fn invocation_cost(rates: &LambdaRates, arch: Arch, billed_ms: u64, memory_mb: u32) -> InvocationCharge {
    let gb_seconds = gb_seconds(billed_ms, memory_mb);
    InvocationCharge { gb_seconds, compute_usd: gb_seconds * rates.gb_second(arch), request_usd: rates.request }
}

/// Billed milliseconds for a run of `nanos` (handler plus, on a cold start, init): rounded up to
/// the next millisecond, at least 1.
pub fn billed_ms(nanos: u128) -> u64 {
    u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX).max(1)
}

/// Billed milliseconds for a run given in (decimal) milliseconds: rounded up to the next
/// millisecond, at least 1 (None past u64).
pub(crate) fn billed_ms_of(ms: Decimal) -> Option<u64> {
    use rust_decimal::prelude::ToPrimitive;
    ms.max(Decimal::ZERO).ceil().to_u64().map(|billed| billed.max(1))
}

/// GB-seconds = billed ms / 1000 × memory MB / 1024, exactly.
pub fn gb_seconds(billed_ms: u64, memory_mb: u32) -> Decimal {
    Decimal::from(billed_ms) * Decimal::from(memory_mb) * GB_S_PER_MB_MS
}

/// One duration tier: the price per GB-second up to a cumulative monthly volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Cumulative GB-seconds per month where this tier ends; absent for the last tier.
    #[serde(default, with = "exact::option", skip_serializing_if = "Option::is_none")]
    pub up_to_gb_seconds: Option<Decimal>,
    #[serde(with = "exact")]
    pub gb_second: Decimal,
}

/// Lambda's on-demand prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaPricing {
    pub x86_64: Vec<Tier>,
    pub arm64: Vec<Tier>,
    #[serde(with = "exact")]
    pub request_per_million: Decimal,
    #[serde(with = "exact")]
    pub ephemeral_gb_second: Decimal,
    /// Ephemeral storage included at no charge.
    pub ephemeral_free_mb: u32,
    /// The monthly free tier (used only when asked for: it is shared by the whole account).
    pub free_requests: u64,
    #[serde(with = "exact")]
    pub free_gb_seconds: Decimal,
}

impl Default for LambdaPricing {
    fn default() -> Self {
        let tier = |up_to: Option<u64>, gb_second| Tier { up_to_gb_seconds: up_to.map(|v| dec(v, 0)), gb_second };
        LambdaPricing {
            x86_64: vec![
                tier(Some(6_000_000_000), X86_64_GB_SECOND),
                tier(Some(15_000_000_000), dec(15, 6)),
                tier(None, dec(133_334, 10)),
            ],
            arm64: vec![
                tier(Some(7_500_000_000), ARM64_GB_SECOND),
                tier(Some(18_750_000_000), dec(120_001, 10)),
                tier(None, dec(106_667, 10)),
            ],
            request_per_million: REQUEST * MILLION,
            ephemeral_gb_second: EPHEMERAL_GB_SECOND,
            ephemeral_free_mb: 512,
            free_requests: 1_000_000,
            free_gb_seconds: dec(400_000, 0),
        }
    }
}

/// One month of Lambda usage to price.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonthlyUsage {
    pub requests: Decimal,
    pub gb_seconds_x86_64: Decimal,
    pub gb_seconds_arm64: Decimal,
    /// GB-seconds of ephemeral storage above the free amount.
    pub ephemeral_gb_seconds: Decimal,
}

/// A month of invocations of one function: `warm` billed `billed_ms_warm` each, `cold` (cold
/// starts) billed `billed_ms_cold`, their init included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MonthOfInvocations {
    pub arch: Arch,
    pub memory_mb: u32,
    pub ephemeral_mb: u32,
    pub warm: u64,
    pub cold: u64,
    pub billed_ms_warm: u64,
    pub billed_ms_cold: u64,
}

/// The part of a month's GB-seconds billed at one tier's price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierLine {
    pub arch: Arch,
    pub from_gb_seconds: Decimal,
    pub up_to_gb_seconds: Option<Decimal>,
    pub gb_seconds: Decimal,
    pub gb_second: Decimal,
    pub usd: Decimal,
}

/// A month of Lambda, priced: exact amounts, and the invoice total rounded to cents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaBill {
    pub tiers: Vec<TierLine>,
    pub free_gb_seconds_used: Decimal,
    pub free_requests_used: Decimal,
    pub billable_requests: Decimal,
    pub compute_usd: Decimal,
    pub request_usd: Decimal,
    pub ephemeral_usd: Decimal,
    pub total_usd: Decimal,
}

/// Rounds an amount to cents, half away from zero (how the examples on the pricing page round).
pub(crate) fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl LambdaBill {
    pub fn total_cents(&self) -> Decimal {
        cents(self.total_usd)
    }
}

impl LambdaPricing {
    pub(crate) fn tiers(&self, arch: Arch) -> &[Tier] {
        match arch {
            Arch::X86_64 => &self.x86_64,
            Arch::Arm64 => &self.arm64,
        }
    }

    /// The first tier's price: what one more GB-second costs in an ordinary month.
    pub(crate) fn gb_second(&self, arch: Arch) -> Decimal {
        self.tiers(arch).first().map(|t| t.gb_second).unwrap_or_default()
    }

    pub fn request(&self) -> Decimal {
        self.request_per_million / MILLION
    }

    /// The prices of one invocation: the first tiers and the request price.
    pub(crate) fn rates(&self) -> LambdaRates {
        LambdaRates {
            gb_second_x86_64: self.gb_second(Arch::X86_64),
            gb_second_arm64: self.gb_second(Arch::Arm64),
            request: self.request(),
        }
    }

    /// The cost of one invocation at first-tier prices (no free tier): `invocation_cost`.
    #[cfg(test)]
    pub(crate) fn invocation_usd(&self, arch: Arch, billed_ms: u64, memory_mb: u32) -> Decimal {
        invocation_cost(&self.rates(), arch, billed_ms, memory_mb).total_usd()
    }

    /// GB-seconds of billable ephemeral storage for `billed_ms` at `ephemeral_mb` configured.
    pub(crate) fn ephemeral_gb_seconds(&self, billed_ms: u64, ephemeral_mb: u32) -> Decimal {
        gb_seconds(billed_ms, ephemeral_mb.saturating_sub(self.ephemeral_free_mb))
    }

    /// What such a month uses: its requests, the GB-seconds of each kind of invocation times
    /// their number, and ephemeral storage. None when a product leaves Decimal's range.
    pub(crate) fn usage_of(&self, m: &MonthOfInvocations) -> Option<MonthlyUsage> {
        let times = |n: u64, x: Decimal| Decimal::from(n).checked_mul(x);
        let both = |warm: Decimal, cold: Decimal| times(m.warm, warm)?.checked_add(times(m.cold, cold)?);
        let gbs = both(gb_seconds(m.billed_ms_warm, m.memory_mb), gb_seconds(m.billed_ms_cold, m.memory_mb))?;
        let ephemeral = both(
            self.ephemeral_gb_seconds(m.billed_ms_warm, m.ephemeral_mb),
            self.ephemeral_gb_seconds(m.billed_ms_cold, m.ephemeral_mb),
        )?;
        Some(MonthlyUsage {
            requests: Decimal::from(m.warm).checked_add(Decimal::from(m.cold))?,
            gb_seconds_x86_64: if m.arch == Arch::X86_64 { gbs } else { Decimal::ZERO },
            gb_seconds_arm64: if m.arch == Arch::Arm64 { gbs } else { Decimal::ZERO },
            ephemeral_gb_seconds: ephemeral,
        })
    }

    /// Prices one month: duration through the tiers of each architecture (tier volumes count all
    /// GB-seconds of the month; the free tier, when asked for, covers the month's first GB-seconds,
    /// x86_64 first), requests, and ephemeral storage (no free tier).
    pub fn monthly(&self, usage: &MonthlyUsage, free_tier: bool) -> LambdaBill {
        let mut free_left = if free_tier { self.free_gb_seconds } else { Decimal::ZERO };
        let mut tiers = Vec::new();
        let mut free_used = Decimal::ZERO;
        for (arch, used) in [(Arch::X86_64, usage.gb_seconds_x86_64), (Arch::Arm64, usage.gb_seconds_arm64)] {
            let free = free_left.min(used).max(Decimal::ZERO);
            free_left -= free;
            free_used += free;
            let mut from = Decimal::ZERO;
            for t in self.tiers(arch) {
                let to = t.up_to_gb_seconds;
                let in_tier = match to {
                    Some(to) => used.min(to) - from,
                    None => used - from,
                };
                if in_tier > Decimal::ZERO {
                    // The free GB-seconds are the first ones of the month.
                    let free_here = (free.min(to.unwrap_or(free)) - from).max(Decimal::ZERO).min(in_tier);
                    let billable = in_tier - free_here;
                    tiers.push(TierLine {
                        arch,
                        from_gb_seconds: from,
                        up_to_gb_seconds: to,
                        gb_seconds: billable,
                        gb_second: t.gb_second,
                        usd: billable * t.gb_second,
                    });
                }
                match to {
                    Some(to) if used > to => from = to,
                    _ => break,
                }
            }
        }
        let free_requests = if free_tier {
            Decimal::from(self.free_requests).min(usage.requests).max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let billable_requests = usage.requests - free_requests;
        let compute_usd: Decimal = tiers.iter().map(|t| t.usd).sum();
        let request_usd = billable_requests * self.request();
        let ephemeral_usd = usage.ephemeral_gb_seconds * self.ephemeral_gb_second;
        LambdaBill {
            tiers,
            free_gb_seconds_used: free_used,
            free_requests_used: free_requests,
            billable_requests,
            compute_usd,
            request_usd,
            ephemeral_usd,
            total_usd: compute_usd + request_usd + ephemeral_usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::d;
    use super::*;

    /// `n` invocations of `ms` at `memory_mb`, priced as a month.
    fn month(arch: Arch, n: u64, ms: u64, memory_mb: u32, ephemeral_mb: u32, free_tier: bool) -> LambdaBill {
        let p = LambdaPricing::default();
        let gbs = gb_seconds(ms, memory_mb) * Decimal::from(n);
        let usage = MonthlyUsage {
            requests: Decimal::from(n),
            gb_seconds_x86_64: if arch == Arch::X86_64 { gbs } else { Decimal::ZERO },
            gb_seconds_arm64: if arch == Arch::Arm64 { gbs } else { Decimal::ZERO },
            ephemeral_gb_seconds: p.ephemeral_gb_seconds(ms, ephemeral_mb) * Decimal::from(n),
        };
        p.monthly(&usage, free_tier)
    }

    // https://aws.amazon.com/lambda/pricing/ — "Example 1: Mobile application backend": 3 million
    // requests, 120 ms, 1536 MB, x86, free tier: 140,000 GB-s × $0.0000166667 = $2.33, requests
    // 2M × $0.2/M = $0.40, total $2.73.
    #[test]
    fn the_mobile_backend_example_from_the_pricing_page_costs_2_73() {
        let b = month(Arch::X86_64, 3_000_000, 120, 1536, 512, true);
        assert_eq!(b.free_gb_seconds_used, d("400000"));
        assert_eq!(b.compute_usd, d("2.333338"));
        assert_eq!(cents(b.compute_usd), d("2.33"));
        assert_eq!(b.request_usd, d("0.40"));
        assert_eq!(b.total_cents(), d("2.73"));
    }

    // https://aws.amazon.com/lambda/pricing/ — "Example 2: Enriching streaming telemetry": 7.44M
    // requests of 2 s at 1024 MB, x86, priced without the free tier: 14.88M GB-s × $0.0000166667 =
    // $248.00, requests $1.488, total $249.49.
    #[test]
    fn the_streaming_telemetry_example_from_the_pricing_page_costs_249_49() {
        let b = month(Arch::X86_64, 7_440_000, 2000, 1024, 512, false);
        assert_eq!(b.compute_usd, d("248.000496"));
        assert_eq!(cents(b.compute_usd), d("248.00"));
        assert_eq!(b.request_usd, d("1.488"));
        assert_eq!(b.total_cents(), d("249.49"));
    }

    // https://aws.amazon.com/lambda/pricing/ — "Example 3: Performing ML on customer support
    // tickets": 6M requests, 280 ms, 4096 MB, 2048 MB ephemeral storage, x86, free tier: compute
    // $105.33, requests $1, ephemeral 2,520,000 GB-s × $0.0000000309 = $0.08, total $106.41.
    #[test]
    fn the_ephemeral_storage_example_from_the_pricing_page_costs_106_41() {
        let b = month(Arch::X86_64, 6_000_000, 280, 4096, 2048, true);
        assert_eq!(cents(b.compute_usd), d("105.33"));
        assert_eq!(b.request_usd, d("1.0"));
        assert_eq!(b.ephemeral_usd, d("0.077868"));
        assert_eq!(cents(b.ephemeral_usd), d("0.08"));
        assert_eq!(b.total_cents(), d("106.41"));
    }

    // https://aws.amazon.com/lambda/pricing/ — Lambda durable functions example, monthly compute:
    // 1M executions × 32 s at 1 GB on Arm = 32,000,000 GB-s − 400,000 free = 31,600,000 GB-s ×
    // $0.0000133334 = $421.34; requests 2M − 1M free = $0.20.
    #[test]
    fn the_arm64_durable_functions_example_from_the_pricing_page_computes_421_34() {
        let b = month(Arch::Arm64, 1_000_000, 32_000, 1024, 512, true);
        assert_eq!(b.compute_usd, d("421.33544"));
        assert_eq!(cents(b.compute_usd), d("421.34"));
    }

    // https://aws.amazon.com/lambda/pricing/ — Provisioned Concurrency "Example 1", the part run
    // without it: 2.5M × 120 ms at 1536 MB = 450,000 GB-s − 400,000 free = 50,000 × $0.0000166667
    // = $0.83.
    #[test]
    fn the_on_demand_part_of_the_provisioned_concurrency_example_costs_0_83() {
        let b = month(Arch::X86_64, 2_500_000, 120, 1536, 512, true);
        assert_eq!(cents(b.compute_usd), d("0.83"));
    }

    #[test]
    fn a_month_crossing_both_x86_tier_boundaries_is_priced_per_tier() {
        let p = LambdaPricing::default();
        let usage = MonthlyUsage { gb_seconds_x86_64: d("16000000000"), ..Default::default() };
        let b = p.monthly(&usage, false);
        let amounts: Vec<_> = b.tiers.iter().map(|t| (t.gb_seconds, t.gb_second)).collect();
        assert_eq!(
            amounts,
            vec![
                (d("6000000000"), d("0.0000166667")),
                (d("9000000000"), d("0.000015")),
                (d("1000000000"), d("0.0000133334")),
            ]
        );
        assert_eq!(b.compute_usd, d("100000.2") + d("135000") + d("13333.4"));
    }

    #[test]
    fn a_month_ending_exactly_on_a_tier_boundary_uses_only_the_tiers_below_it() {
        let p = LambdaPricing::default();
        let b = p.monthly(&MonthlyUsage { gb_seconds_arm64: d("7500000000"), ..Default::default() }, false);
        assert_eq!(b.tiers.len(), 1);
        assert_eq!(b.compute_usd, d("7500000000") * ARM64_GB_SECOND);
    }

    #[test]
    fn arm64_crosses_its_own_tiers_at_7_5_and_18_75_billion_gb_seconds() {
        let p = LambdaPricing::default();
        let b = p.monthly(&MonthlyUsage { gb_seconds_arm64: d("20000000000"), ..Default::default() }, false);
        let amounts: Vec<_> = b.tiers.iter().map(|t| (t.gb_seconds, t.gb_second)).collect();
        assert_eq!(
            amounts,
            vec![
                (d("7500000000"), d("0.0000133334")),
                (d("11250000000"), d("0.0000120001")),
                (d("1250000000"), d("0.0000106667")),
            ]
        );
    }

    #[test]
    fn arm64_costs_less_than_x86_64_for_the_same_work() {
        let x = month(Arch::X86_64, 1_000_000, 100, 512, 512, false);
        let a = month(Arch::Arm64, 1_000_000, 100, 512, 512, false);
        assert_eq!(x.compute_usd, d("50000") * X86_64_GB_SECOND);
        assert_eq!(a.compute_usd, d("50000") * ARM64_GB_SECOND);
        assert!(a.total_usd < x.total_usd);
        assert_eq!(a.request_usd, x.request_usd);
    }

    #[test]
    fn a_free_tier_larger_than_the_usage_makes_the_month_free() {
        let b = month(Arch::X86_64, 500_000, 100, 1024, 512, true);
        assert_eq!(b.free_gb_seconds_used, d("50000"));
        assert_eq!(b.free_requests_used, d("500000"));
        assert_eq!(b.total_usd, Decimal::ZERO);
        assert!(b.tiers.iter().all(|t| t.usd.is_zero()));
    }

    #[test]
    fn the_free_tier_is_shared_by_both_architectures_x86_64_first() {
        let p = LambdaPricing::default();
        let usage =
            MonthlyUsage { gb_seconds_x86_64: d("300000"), gb_seconds_arm64: d("300000"), ..Default::default() };
        let b = p.monthly(&usage, true);
        assert_eq!(b.free_gb_seconds_used, d("400000"));
        assert_eq!(b.compute_usd, d("200000") * ARM64_GB_SECOND);
    }

    #[test]
    fn ephemeral_storage_up_to_512_mb_is_free() {
        let p = LambdaPricing::default();
        assert_eq!(p.ephemeral_gb_seconds(1000, 512), Decimal::ZERO);
        assert_eq!(p.ephemeral_gb_seconds(1000, 1536), Decimal::ONE);
    }

    #[test]
    fn billed_duration_rounds_up_to_the_millisecond_and_includes_init_on_a_cold_start() {
        assert_eq!(billed_ms(1), 1);
        assert_eq!(billed_ms(0), 1);
        assert_eq!(billed_ms(120_000_000), 120);
        assert_eq!(billed_ms(120_000_001), 121);
        let handler = 12_300_000u128; // 12.3 ms
        let init = 180_400_000u128; // 180.4 ms
        assert_eq!(billed_ms(handler + init), 193);
        let p = LambdaPricing::default();
        let warm = p.invocation_usd(Arch::X86_64, billed_ms(handler), 128);
        let cold = p.invocation_usd(Arch::X86_64, billed_ms(handler + init), 128);
        assert_eq!(cold - warm, gb_seconds(180, 128) * X86_64_GB_SECOND);
    }
}
