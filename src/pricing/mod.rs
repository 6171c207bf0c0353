//! The AWS price list behind every cost orderflow shows, and the one cost formula of an
//! invocation (`invocation_cost`): Lambda (duration tiers per architecture, requests, ephemeral
//! storage, the monthly free tier) and the other services an order touches (SQS, S3, DynamoDB).
//! All exact decimals. Defaults are us-east-1; a TOML pricing file overrides any part of them
//! (other regions, future prices).
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
//!
//! The leaf of the cost path: it imports nothing of the crate. [`crate::metering`] (in Lambda)
//! and [`crate::billing`] (the offline report) price with it; so does `orderflow cost`.

mod arch;
mod lambda;
pub mod managed;
pub mod observability;
mod services;

pub use arch::Arch;
#[cfg(test)]
pub(crate) use lambda::X86_64_GB_SECOND;
pub use lambda::{billed_ms, gb_seconds, LambdaBill, LambdaPricing, MonthlyUsage, Tier, TierLine};
pub(crate) use lambda::{billed_ms_of, cents, invocation_cost, InvocationCharge, LambdaRates, MonthOfInvocations};
pub use managed::{ManagedBill, ManagedInstancesPricing};
pub use observability::ObservabilityPricing;
pub(crate) use services::sqs_requests_for;
pub use services::{ApiGatewayPricing, DynamoDbPricing, FrontDoor, S3Pricing, ServiceUsage, SqsPricing};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A decimal from a mantissa and a scale, usable in constants.
pub(crate) const fn dec(mantissa: u64, scale: u32) -> Decimal {
    Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, false, scale)
}

const MILLION: Decimal = dec(1_000_000, 0);
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

    pub(crate) fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.normalize().to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        Decimal::from_str(s.trim()).map_err(|e| serde::de::Error::custom(format!("{s:?} is not a decimal: {e}")))
    }

    pub mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            super::deserialize(d).map(Some)
        }
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
    /// API Gateway in front of `orderflow-http`.
    pub api_gateway: ApiGatewayPricing,
    /// CloudWatch Logs, custom metrics and X-Ray ([`observability`]).
    pub observability: ObservabilityPricing,
    /// Lambda Managed Instances ([`managed`]).
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
            api_gateway: ApiGatewayPricing::default(),
            observability: ObservabilityPricing::default(),
            managed_instances: ManagedInstancesPricing::default(),
        }
    }
}

/// Prices per single unit (request, GB-second, request unit), for hot loops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct UnitPrices {
    pub lambda: LambdaRates,
    pub sqs_request: Decimal,
    pub s3_get: Decimal,
    pub s3_put: Decimal,
    pub dynamodb_wru: Decimal,
    pub dynamodb_rru: Decimal,
    pub api_request: Decimal,
}

impl UnitPrices {
    pub fn services_usd(&self, u: &ServiceUsage) -> Decimal {
        let mut total = Decimal::ZERO;
        for (n, price) in [
            (u.sqs_requests, self.sqs_request),
            (u.s3_gets, self.s3_get),
            (u.s3_puts, self.s3_put),
            (u.dynamodb_wru, self.dynamodb_wru),
            (u.dynamodb_rru, self.dynamodb_rru),
            (u.api_requests, self.api_request),
        ] {
            if n > 0 {
                total += Decimal::from(n) * price;
            }
        }
        total
    }
}

/// The largest price a pricing file may give (per unit, million or thousand): far above any
/// real one, and low enough that a month's volume times it stays inside Decimal's range.
pub(crate) const MAX_PRICE: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

impl Pricing {
    /// Reads a pricing file; anything it leaves out keeps its us-east-1 default.
    pub fn from_file(path: &Path) -> Result<Pricing, PricingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PricingError::Read { path: path.display().to_string(), source })?;
        Pricing::from_toml(&text)
    }

    pub(crate) fn from_toml(text: &str) -> Result<Pricing, PricingError> {
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
            self.api_gateway.http_api_request_per_million,
            self.api_gateway.rest_api_request_per_million,
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
    pub(crate) fn unit_prices(&self) -> UnitPrices {
        UnitPrices {
            lambda: self.lambda.rates(),
            sqs_request: self.sqs.request_per_million / MILLION,
            s3_get: self.s3.get_per_thousand / THOUSAND,
            s3_put: self.s3.put_per_thousand / THOUSAND,
            dynamodb_wru: self.dynamodb.write_request_unit_per_million / MILLION,
            dynamodb_rru: self.dynamodb.read_request_unit_per_million / MILLION,
            api_request: self.api_gateway.request_per_million() / MILLION,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::str::FromStr;

    /// A decimal from its text, for the tests of the price list.
    pub(crate) fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
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
        assert_eq!(Pricing::from_toml(&toml::to_string(&p).unwrap()).unwrap(), p);
    }
}
