//! The AWS price list behind every cost orderflow shows: Lambda (duration tiers per architecture,
//! requests, ephemeral storage, the monthly free tier) and the other services an order touches
//! (SQS, S3, DynamoDB). All exact decimals. Defaults are us-east-1; a TOML pricing file overrides
//! any part of them (other regions, future prices).
//!
//! Sources (us-east-1, as published when this was written):
//! - Lambda duration, requests, ephemeral storage, free tier and the worked examples:
//!   <https://aws.amazon.com/lambda/pricing/>
//! - Lambda duration tiers (6 / 15 billion GB-s for x86_64, 7.5 / 18.75 billion for arm64, 10% and
//!   20% off): <https://aws.amazon.com/blogs/compute/introducing-tiered-pricing-for-aws-lambda/>
//! - SQS standard queues, $0.40 per million requests, every 64 KB chunk of a payload billed as one
//!   request: <https://aws.amazon.com/sqs/pricing/>
//! - S3 Standard, PUT/COPY/POST/LIST $0.005 per 1,000, GET/SELECT $0.0004 per 1,000:
//!   <https://aws.amazon.com/s3/pricing/>
//! - DynamoDB on-demand (after the November 2024 reduction), $0.625 per million write request
//!   units (1 KB each; failed conditional writes consume them too), $0.125 per million read request
//!   units (4 KB strongly consistent): <https://aws.amazon.com/dynamodb/pricing/on-demand/>

use super::managed::ManagedInstancesPricing;
use super::meter::Arch;
use super::observability::ObservabilityPricing;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A decimal from a mantissa and a scale, usable in constants.
const fn dec(mantissa: u64, scale: u32) -> Decimal {
    Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, false, scale)
}

/// Lambda x86_64, first tier: $0.0000166667 per GB-second.
pub const X86_64_GB_SECOND: Decimal = dec(166_667, 10);
/// Lambda arm64, first tier: $0.0000133334 per GB-second.
pub const ARM64_GB_SECOND: Decimal = dec(133_334, 10);
/// Lambda requests: $0.20 per million, i.e. $0.0000002 per request.
pub const REQUEST: Decimal = dec(2, 7);
/// Ephemeral storage above the free 512 MB: $0.0000000309 per GB-second.
pub const EPHEMERAL_GB_SECOND: Decimal = dec(309, 10);

const MILLION: Decimal = dec(1_000_000, 0);
/// 1 / (1000 ms × 1024 MB), exactly: GB-seconds per MB-millisecond (a multiplication is much
/// cheaper than a division, and this one terminates).
const GB_S_PER_MB_MS: Decimal = dec(9_765_625, 13);
const THOUSAND: Decimal = dec(1_000, 0);

/// Why a pricing file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read the pricing file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the pricing file is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the pricing file is not valid: {0}")]
    Invalid(String),
}

/// Prices are written as strings in the pricing file ("0.0000166667"): a TOML float is binary
/// floating point, and money never goes through one.
pub(crate) mod exact {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::str::FromStr;

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.normalize().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        Decimal::from_str(s.trim()).map_err(|e| serde::de::Error::custom(format!("{s:?} is not a decimal: {e}")))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
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

/// SQS standard queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqsPricing {
    #[serde(with = "exact")]
    pub request_per_million: Decimal,
    /// Every chunk of this many payload bytes is billed as one request.
    pub chunk_bytes: u64,
}

impl Default for SqsPricing {
    fn default() -> Self {
        SqsPricing { request_per_million: dec(40, 2), chunk_bytes: 64 * 1024 }
    }
}

/// S3 Standard requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Pricing {
    #[serde(with = "exact")]
    pub get_per_thousand: Decimal,
    #[serde(with = "exact")]
    pub put_per_thousand: Decimal,
}

impl Default for S3Pricing {
    fn default() -> Self {
        S3Pricing { get_per_thousand: dec(4, 4), put_per_thousand: dec(5, 3) }
    }
}

/// DynamoDB on-demand request units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamoDbPricing {
    #[serde(with = "exact")]
    pub write_request_unit_per_million: Decimal,
    #[serde(with = "exact")]
    pub read_request_unit_per_million: Decimal,
}

impl Default for DynamoDbPricing {
    fn default() -> Self {
        DynamoDbPricing { write_request_unit_per_million: dec(625, 3), read_request_unit_per_million: dec(125, 3) }
    }
}

/// The whole price list. `Pricing::default()` is us-east-1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    pub region: String,
    pub lambda: LambdaPricing,
    pub sqs: SqsPricing,
    pub s3: S3Pricing,
    pub dynamodb: DynamoDbPricing,
    /// CloudWatch Logs, custom metrics and X-Ray ([`super::observability`]).
    pub observability: ObservabilityPricing,
    /// Lambda Managed Instances ([`super::managed`]).
    pub managed_instances: ManagedInstancesPricing,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            region: "us-east-1".to_string(),
            lambda: LambdaPricing::default(),
            sqs: SqsPricing::default(),
            s3: S3Pricing::default(),
            dynamodb: DynamoDbPricing::default(),
            observability: ObservabilityPricing::default(),
            managed_instances: ManagedInstancesPricing::default(),
        }
    }
}

/// What one invocation uses of the services around Lambda.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceUsage {
    pub sqs_requests: u64,
    pub s3_gets: u64,
    pub s3_puts: u64,
    pub dynamodb_wru: u64,
    pub dynamodb_rru: u64,
}

impl ServiceUsage {
    pub fn add(&mut self, o: &ServiceUsage) {
        self.sqs_requests += o.sqs_requests;
        self.s3_gets += o.s3_gets;
        self.s3_puts += o.s3_puts;
        self.dynamodb_wru += o.dynamodb_wru;
        self.dynamodb_rru += o.dynamodb_rru;
    }
}

/// SQS requests one message of `payload_bytes` costs per API call (one per 64 KiB chunk).
pub fn sqs_requests_for(payload_bytes: u64, chunk_bytes: u64) -> u64 {
    payload_bytes.div_ceil(chunk_bytes.max(1)).max(1)
}

/// DynamoDB write request units for writing an item of `item_bytes` (one per started KB).
pub fn write_units_for(item_bytes: u64) -> u64 {
    item_bytes.div_ceil(1024).max(1)
}

/// Billed milliseconds for a run of `nanos` (handler plus, on a cold start, init): rounded up to
/// the next millisecond, at least 1.
pub fn billed_ms(nanos: u128) -> u64 {
    u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX).max(1)
}

/// GB-seconds = billed ms / 1000 × memory MB / 1024, exactly.
pub fn gb_seconds(billed_ms: u64, memory_mb: u32) -> Decimal {
    Decimal::from(billed_ms) * Decimal::from(memory_mb) * GB_S_PER_MB_MS
}

/// Prices per single unit (request, GB-second, request unit), for hot loops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitPrices {
    pub request: Decimal,
    pub gb_second_x86_64: Decimal,
    pub gb_second_arm64: Decimal,
    pub sqs_request: Decimal,
    pub s3_get: Decimal,
    pub s3_put: Decimal,
    pub dynamodb_wru: Decimal,
    pub dynamodb_rru: Decimal,
}

impl UnitPrices {
    pub fn gb_second(&self, arch: Arch) -> Decimal {
        match arch {
            Arch::X86_64 => self.gb_second_x86_64,
            Arch::Arm64 => self.gb_second_arm64,
        }
    }

    pub fn services_usd(&self, u: &ServiceUsage) -> Decimal {
        let mut total = Decimal::ZERO;
        for (n, price) in [
            (u.sqs_requests, self.sqs_request),
            (u.s3_gets, self.s3_get),
            (u.s3_puts, self.s3_put),
            (u.dynamodb_wru, self.dynamodb_wru),
            (u.dynamodb_rru, self.dynamodb_rru),
        ] {
            if n > 0 {
                total += Decimal::from(n) * price;
            }
        }
        total
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
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl LambdaBill {
    pub fn total_cents(&self) -> Decimal {
        cents(self.total_usd)
    }
}

impl LambdaPricing {
    pub fn tiers(&self, arch: Arch) -> &[Tier] {
        match arch {
            Arch::X86_64 => &self.x86_64,
            Arch::Arm64 => &self.arm64,
        }
    }

    /// The first tier's price: what one more GB-second costs in an ordinary month.
    pub fn gb_second(&self, arch: Arch) -> Decimal {
        self.tiers(arch).first().map(|t| t.gb_second).unwrap_or_default()
    }

    pub fn request(&self) -> Decimal {
        self.request_per_million / MILLION
    }

    /// The cost of one invocation at first-tier prices (no free tier): GB-s × price + request.
    pub fn invocation_usd(&self, arch: Arch, billed_ms: u64, memory_mb: u32) -> Decimal {
        gb_seconds(billed_ms, memory_mb) * self.gb_second(arch) + self.request()
    }

    /// GB-seconds of billable ephemeral storage for `billed_ms` at `ephemeral_mb` configured.
    pub fn ephemeral_gb_seconds(&self, billed_ms: u64, ephemeral_mb: u32) -> Decimal {
        gb_seconds(billed_ms, ephemeral_mb.saturating_sub(self.ephemeral_free_mb))
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

/// The largest price a pricing file may give (per unit, million or thousand): far above any
/// real one, and low enough that a month's volume times it stays inside Decimal's range.
pub const MAX_PRICE: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

impl Pricing {
    /// Reads a pricing file; anything it leaves out keeps its us-east-1 default.
    pub fn from_file(path: &Path) -> Result<Pricing, PricingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PricingError::Read { path: path.display().to_string(), source })?;
        Pricing::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Pricing, PricingError> {
        let p: Pricing = toml::from_str(text)?;
        p.validate()?;
        Ok(p)
    }

    /// The file or the defaults.
    pub fn load(path: Option<&Path>) -> Result<Pricing, PricingError> {
        path.map(Pricing::from_file).unwrap_or_else(|| Ok(Pricing::default()))
    }

    fn validate(&self) -> Result<(), PricingError> {
        for arch in [Arch::X86_64, Arch::Arm64] {
            let tiers = self.lambda.tiers(arch);
            let name = arch.as_str();
            if tiers.is_empty() {
                return Err(PricingError::Invalid(format!("lambda.{name} needs at least one tier")));
            }
            let mut last = Decimal::ZERO;
            for (i, t) in tiers.iter().enumerate() {
                if t.gb_second.is_sign_negative() {
                    return Err(PricingError::Invalid(format!("lambda.{name}: a negative price")));
                }
                if t.gb_second > MAX_PRICE {
                    return Err(PricingError::Invalid(format!("lambda.{name}: a price above {MAX_PRICE} USD")));
                }
                match (t.up_to_gb_seconds, i + 1 == tiers.len()) {
                    (None, true) => {}
                    (None, false) => {
                        return Err(PricingError::Invalid(format!(
                            "lambda.{name}: only the last tier may be unbounded"
                        )))
                    }
                    (Some(_), true) => {
                        return Err(PricingError::Invalid(format!(
                            "lambda.{name}: the last tier must have no up_to_gb_seconds"
                        )))
                    }
                    (Some(to), false) if to <= last => {
                        return Err(PricingError::Invalid(format!("lambda.{name}: tier bounds must increase")))
                    }
                    (Some(to), false) => last = to,
                }
            }
        }
        let prices = [
            self.lambda.request_per_million,
            self.lambda.ephemeral_gb_second,
            self.sqs.request_per_million,
            self.s3.get_per_thousand,
            self.s3.put_per_thousand,
            self.dynamodb.write_request_unit_per_million,
            self.dynamodb.read_request_unit_per_million,
        ];
        if prices.iter().any(|p| p.is_sign_negative()) || self.lambda.free_gb_seconds.is_sign_negative() {
            return Err(PricingError::Invalid("prices must not be negative".into()));
        }
        if prices.iter().any(|p| *p > MAX_PRICE) {
            return Err(PricingError::Invalid(format!("prices above {MAX_PRICE} USD are refused as implausible")));
        }
        self.observability.validate().map_err(PricingError::Invalid)?;
        self.managed_instances.validate().map_err(PricingError::Invalid)
    }

    /// What the service usage costs, exactly.
    pub fn services_usd(&self, u: &ServiceUsage) -> Decimal {
        self.unit_prices().services_usd(u)
    }

    /// The prices per single unit, divided once.
    pub fn unit_prices(&self) -> UnitPrices {
        UnitPrices {
            request: self.lambda.request(),
            gb_second_x86_64: self.lambda.gb_second(Arch::X86_64),
            gb_second_arm64: self.lambda.gb_second(Arch::Arm64),
            sqs_request: self.sqs.request_per_million / MILLION,
            s3_get: self.s3.get_per_thousand / THOUSAND,
            s3_put: self.s3.put_per_thousand / THOUSAND,
            dynamodb_wru: self.dynamodb.write_request_unit_per_million / MILLION,
            dynamodb_rru: self.dynamodb.read_request_unit_per_million / MILLION,
        }
    }

    /// The default prices as a pricing file, to copy and edit.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the price list serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

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

    #[test]
    fn sqs_bills_one_request_per_64_kib_chunk_and_dynamodb_one_wru_per_kb() {
        assert_eq!(sqs_requests_for(0, 65_536), 1);
        assert_eq!(sqs_requests_for(65_536, 65_536), 1);
        assert_eq!(sqs_requests_for(65_537, 65_536), 2);
        assert_eq!(sqs_requests_for(256 * 1024, 65_536), 4);
        assert_eq!(write_units_for(1), 1);
        assert_eq!(write_units_for(1024), 1);
        assert_eq!(write_units_for(3 * 1024 + 1), 4);
        let p = Pricing::default();
        let u = ServiceUsage {
            sqs_requests: 1_000_000,
            s3_gets: 1000,
            s3_puts: 1000,
            dynamodb_wru: 1_000_000,
            dynamodb_rru: 1_000_000,
        };
        assert_eq!(p.services_usd(&u), d("0.40") + d("0.0004") + d("0.005") + d("0.625") + d("0.125"));
    }

    #[test]
    fn a_pricing_file_overrides_only_what_it_names() {
        let p = Pricing::from_toml(
            r#"
            region = "eu-west-1"
            [lambda]
            request_per_million = "0.20"
            x86_64 = [{ up_to_gb_seconds = "6000000000", gb_second = "0.0000166667" }, { gb_second = "0.000015" }]
            [dynamodb]
            write_request_unit_per_million = "0.7068"
            "#,
        )
        .unwrap();
        assert_eq!(p.region, "eu-west-1");
        assert_eq!(p.lambda.x86_64.len(), 2);
        assert_eq!(p.lambda.arm64, LambdaPricing::default().arm64);
        assert_eq!(p.dynamodb.write_request_unit_per_million, d("0.7068"));
        assert_eq!(p.dynamodb.read_request_unit_per_million, d("0.125"));
        assert_eq!(p.sqs, SqsPricing::default());
    }

    #[test]
    fn a_pricing_file_with_a_float_price_or_bad_tiers_is_refused() {
        assert!(Pricing::from_toml("[lambda]\nrequest_per_million = 0.2\n").is_err());
        assert!(Pricing::from_toml("[lambda]\nx86_64 = [{ gb_second = \"1\" }, { gb_second = \"2\" }]\n").is_err());
        assert!(Pricing::from_toml("[lambda]\nx86_64 = [{ up_to_gb_seconds = \"5\", gb_second = \"1\" }]\n").is_err());
        assert!(Pricing::from_toml("[lambda]\nbogus = \"1\"\n").is_err());
    }

    #[test]
    fn the_default_price_list_round_trips_through_its_own_toml() {
        let p = Pricing::default();
        assert_eq!(Pricing::from_toml(&p.to_toml()).unwrap(), p);
    }

    #[test]
    fn the_per_invocation_meter_uses_the_same_prices_as_the_pricing_model() {
        let p = LambdaPricing::default();
        let m = super::super::meter::LAMBDA_PRICES;
        assert_eq!(m.gb_second(Arch::X86_64), p.gb_second(Arch::X86_64));
        assert_eq!(m.gb_second(Arch::Arm64), p.gb_second(Arch::Arm64));
        assert_eq!(m.request, p.request());
        let c = super::super::meter::cost_of(
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
