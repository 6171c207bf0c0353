//! Lambda Managed Instances: functions on EC2 instances the Lambda service manages in the
//! account. Billed as the instances' EC2 on-demand price, a management fee on top of it, and
//! Lambda's request price; no GB-second charge. The option between on-demand Lambda (pay per
//! use) and an always-on server (fixed).
//!
//! Sources (us-east-1, as published when this was written):
//! - Requests $0.20 per million; a compute management fee of 15% of the EC2 on-demand instance
//!   price: <https://aws.amazon.com/lambda/pricing/> ("Lambda Managed Instances"). Lambda starts
//!   three instances by default, for Availability Zone resiliency:
//!   <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html>.
//! - EC2 on-demand Linux prices per hour: <https://aws.amazon.com/ec2/pricing/on-demand/>.
//!
//! A month is 30 days (720 hours), like every projection of the report.

use super::{dec, exact};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Hours in the report's 30-day month.
pub(crate) const MONTH_HOURS: u32 = 720;

/// One EC2 instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    /// EC2 on-demand Linux price per hour.
    #[serde(with = "exact")]
    pub hourly_usd: Decimal,
    pub vcpus: u32,
    pub memory_gib: u32,
}

/// The prices of Lambda Managed Instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagedInstancesPricing {
    /// The management fee, in percent of the instances' EC2 on-demand price.
    #[serde(with = "exact")]
    pub management_fee_percent: Decimal,
    #[serde(with = "exact")]
    pub request_per_million: Decimal,
    /// What `--instances` defaults to: Lambda's three instances for AZ resiliency.
    pub default_instances: u32,
    pub default_instance_type: String,
    pub instances: BTreeMap<String, InstanceType>,
}

impl Default for ManagedInstancesPricing {
    fn default() -> Self {
        let it =
            |hourly: u64, scale, vcpus, memory_gib| InstanceType { hourly_usd: dec(hourly, scale), vcpus, memory_gib };
        // us-east-1 Linux on-demand prices per hour (m7g.large $0.0816, as listed in June 2026:
        // factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026); override
        // them in the pricing file for another region or date.
        let instances = [
            // General purpose, Graviton3 and Graviton4 (arm64).
            ("m7g.large", it(816, 4, 2, 8)),
            ("m7g.xlarge", it(1632, 4, 4, 16)),
            ("m8g.large", it(8976, 5, 2, 8)),
            // General purpose, Intel (x86_64).
            ("m7i.large", it(1008, 4, 2, 8)),
            ("m7i.xlarge", it(2016, 4, 4, 16)),
            // Compute optimized.
            ("c7g.large", it(725, 4, 2, 4)),
            ("c7g.xlarge", it(1450, 4, 4, 8)),
            ("c8g.large", it(7976, 5, 2, 4)),
            ("c7i.large", it(8925, 5, 2, 4)),
            ("c7i.xlarge", it(17850, 5, 4, 8)),
        ];
        ManagedInstancesPricing {
            management_fee_percent: dec(15, 0),
            request_per_million: dec(20, 2),
            default_instances: 3,
            default_instance_type: "m7g.large".into(),
            instances: instances.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }
}

/// A month of Managed Instances, priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedBill {
    pub instance_type: String,
    pub instances: u32,
    pub hours: u32,
    pub hourly_usd: Decimal,
    pub instances_usd: Decimal,
    pub management_fee_usd: Decimal,
    /// What the month costs whatever the volume: instances and fee.
    pub fixed_usd: Decimal,
    pub requests: Decimal,
    pub request_usd: Decimal,
    pub total_usd: Decimal,
}

impl ManagedInstancesPricing {
    /// The instance types, for error messages.
    pub(crate) fn known(&self) -> String {
        self.instances.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The price of one request.
    pub(crate) fn request(&self) -> Decimal {
        self.request_per_million / super::MILLION
    }

    /// The least invocations a month at which Managed Instances costing `fixed_usd` a month
    /// cost less than on-demand Lambda at `on_demand_usd` per invocation: per invocation,
    /// on-demand adds its GB-seconds and request, Managed Instances only the request. None when
    /// on-demand never costs more per invocation.
    pub(crate) fn break_even_invocations(&self, fixed_usd: Decimal, on_demand_usd: Decimal) -> Option<u64> {
        use rust_decimal::prelude::ToPrimitive;
        let diff = on_demand_usd - self.request();
        if diff <= Decimal::ZERO {
            return None;
        }
        fixed_usd.checked_div(diff)?.floor().to_u64()?.checked_add(1)
    }

    /// A month of `instances` × `instance_type` serving `requests`.
    pub fn monthly(&self, instance_type: &str, instances: u32, requests: Decimal) -> Result<ManagedBill, String> {
        let t = self.instances.get(instance_type).ok_or_else(|| {
            format!("unknown instance type {instance_type:?}: the pricing file knows {}", self.known())
        })?;
        let hours = Decimal::from(MONTH_HOURS);
        let instances_usd = t.hourly_usd * hours * Decimal::from(instances);
        let management_fee_usd = instances_usd * self.management_fee_percent / Decimal::ONE_HUNDRED;
        let request_usd = requests * self.request();
        let fixed_usd = instances_usd + management_fee_usd;
        Ok(ManagedBill {
            instance_type: instance_type.to_string(),
            instances,
            hours: MONTH_HOURS,
            hourly_usd: t.hourly_usd,
            instances_usd,
            management_fee_usd,
            fixed_usd,
            requests,
            request_usd,
            total_usd: fixed_usd + request_usd,
        })
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let max = super::MAX_PRICE;
        for p in [self.management_fee_percent, self.request_per_million] {
            if p.is_sign_negative() || p > max {
                return Err(format!("managed_instances: prices must be 0-{max}"));
            }
        }
        for (name, t) in &self.instances {
            if t.hourly_usd.is_sign_negative() || t.hourly_usd > max {
                return Err(format!("managed_instances.instances.{name}: the hourly price must be 0-{max}"));
            }
        }
        if !self.instances.contains_key(&self.default_instance_type) {
            return Err(format!(
                "managed_instances.default_instance_type {:?} is not in managed_instances.instances",
                self.default_instance_type
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::d;
    use super::*;

    // No worked Managed Instances example was found on AWS's pricing page as stored here; the
    // vector is the published rates applied by hand: 3 × m7g.large at $0.0816/h (EC2 on-demand,
    // us-east-1) for 720 h = $176.256, the 15% management fee $26.4384, 10M requests × $0.20/M
    // = $2.00: $204.6944.
    #[test]
    fn three_m7g_large_for_a_month_with_ten_million_requests_cost_204_69() {
        let p = ManagedInstancesPricing::default();
        let b = p.monthly("m7g.large", 3, d("10000000")).unwrap();
        assert_eq!(b.instances_usd, d("176.256"));
        assert_eq!(b.management_fee_usd, d("26.4384"));
        assert_eq!(b.request_usd, d("2"));
        assert_eq!(b.total_usd, d("204.6944"));
        assert_eq!(b.fixed_usd, d("202.6944"));
    }

    #[test]
    fn managed_instances_break_even_at_the_first_month_where_on_demand_costs_more() {
        let p = ManagedInstancesPricing::default();
        let fixed = d("202.6944");
        // On-demand at $0.0000022 an invocation is $0.000002 above the request price.
        let n = p.break_even_invocations(fixed, d("0.0000022")).unwrap();
        let on_demand = |n: u64| Decimal::from(n) * d("0.0000022");
        let managed = |n: u64| fixed + Decimal::from(n) * p.request();
        assert!(on_demand(n) > managed(n) && on_demand(n - 1) <= managed(n - 1), "{n}");
        assert_eq!(p.break_even_invocations(fixed, p.request()), None);
    }

    #[test]
    fn an_unknown_instance_type_is_refused_naming_the_known_ones() {
        let err = ManagedInstancesPricing::default().monthly("t2.nano", 1, Decimal::ZERO).unwrap_err();
        assert!(err.contains("t2.nano") && err.contains("m7g.large"), "{err}");
    }
}
