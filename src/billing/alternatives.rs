//! Three ways to run the same orders, side by side for the projected month: on-demand Lambda,
//! Lambda Managed Instances on N × an instance type, and an always-on server; with where each
//! pair crosses (the least orders per day at which the first costs more than the second).
//! The services around Lambda (SQS, S3, DynamoDB) and observability cost the same on-demand and
//! on Managed Instances; the server's price is taken as the whole monthly cost, as in
//! [`CostReport::break_even`](super::report::CostReport::break_even).

use super::projection::crossing;
use super::report::CostReport;
use crate::pricing::{ManagedBill, Pricing};
use rust_decimal::Decimal;
use serde::Serialize;

/// The three options for the projected month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternatives {
    pub orders_per_day: Decimal,
    pub on_demand_usd: Decimal,
    pub managed: ManagedBill,
    /// Managed Instances plus the services and observability.
    pub managed_usd: Decimal,
    pub server_usd: Option<Decimal>,
    /// Above this many orders/day Managed Instances cost less than on-demand Lambda.
    pub managed_cheaper_than_on_demand_above: Option<u64>,
    /// Above this many orders/day the server costs less than on-demand Lambda.
    pub server_cheaper_than_on_demand_above: Option<u64>,
    /// Above this many orders/day the server costs less than Managed Instances.
    pub server_cheaper_than_managed_above: Option<u64>,
}

impl CostReport {
    /// Managed Instances on `instances` × `instance_type` at `orders_per_day`, with the services
    /// and observability.
    pub(crate) fn managed_at(
        &self,
        pricing: &Pricing,
        free_tier: bool,
        instance_type: &str,
        instances: u32,
        orders_per_day: Decimal,
    ) -> Option<(ManagedBill, Decimal)> {
        let m = self.month_at(pricing, free_tier, orders_per_day)?;
        let bill = pricing.managed_instances.monthly(instance_type, instances, m.usage.requests).ok()?;
        let total = bill.total_usd.checked_add(m.services_usd)?.checked_add(m.observability_usd)?;
        Some((bill, total))
    }

    /// The three options at `orders_per_day` (the projection's rate), and their crossings.
    pub fn alternatives(
        &self,
        pricing: &Pricing,
        free_tier: bool,
        orders_per_day: Decimal,
        instance_type: &str,
        instances: u32,
        server_usd: Option<Decimal>,
    ) -> Result<Alternatives, String> {
        // The instance type is checked before anything is priced: a typo is an error, not a
        // missing comparison.
        pricing.managed_instances.monthly(instance_type, instances, Decimal::ZERO)?;
        let on_demand_usd =
            self.monthly_at(pricing, free_tier, orders_per_day).ok_or("no orders observed, nothing to compare")?;
        let (managed, managed_usd) = self
            .managed_at(pricing, free_tier, instance_type, instances, orders_per_day)
            .ok_or("no orders observed, nothing to compare")?;
        let od = |n: u64| self.monthly_at(pricing, free_tier, Decimal::from(n));
        let mi = |n: u64| self.managed_at(pricing, free_tier, instance_type, instances, Decimal::from(n)).map(|m| m.1);
        Ok(Alternatives {
            orders_per_day,
            on_demand_usd,
            managed,
            managed_usd,
            server_usd,
            managed_cheaper_than_on_demand_above: crossing(|n| Some(od(n)? > mi(n)?)),
            server_cheaper_than_on_demand_above: server_usd.and_then(|s| crossing(|n| Some(od(n)? > s))),
            server_cheaper_than_managed_above: server_usd.and_then(|s| crossing(|n| Some(mi(n)? > s))),
        })
    }
}

/// The break-even sentences, one per pair.
pub(crate) fn sentences(a: &Alternatives) -> Vec<String> {
    let mi = format!("Managed Instances on {} × {}", a.managed.instances, a.managed.instance_type);
    let mut out = Vec::new();
    out.push(match a.managed_cheaper_than_on_demand_above {
        Some(0) => format!("{mi} is cheaper than on-demand Lambda at every volume."),
        Some(n) => format!("Above {} orders/day {mi} is cheaper than on-demand Lambda.", n.saturating_sub(1)),
        None => format!("On-demand Lambda stays cheaper than {mi} up to 2^50 orders/day."),
    });
    if let Some(s) = a.server_usd {
        let server = format!("a fixed server of {} USD/month", s.normalize());
        out.push(match a.server_cheaper_than_on_demand_above {
            Some(n) => format!("Above {} orders/day {server} is cheaper than on-demand Lambda.", n.saturating_sub(1)),
            None => format!("On-demand Lambda stays cheaper than {server} up to 2^50 orders/day."),
        });
        out.push(match a.server_cheaper_than_managed_above {
            Some(0) => format!("A{} is cheaper than {mi} at every volume.", &server[1..]),
            Some(n) => format!("Above {} orders/day {server} is cheaper than {mi}.", n.saturating_sub(1)),
            None => format!("{mi} stays cheaper than {server} up to 2^50 orders/day."),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::report_of_lines;

    fn line(i: u64) -> String {
        format!(
            r#"{{"_aws":{{"Timestamp":{}}},"FunctionName":"orderflow-sqs","Records":1,"Accepted":1,"Duplicates":0,"Rejected":0,"Retried":0,"request_id":"r{i}","cold_start":false,"memory_mb":1024,"arch":"x86_64","billed_ms":200,"cost_usd":"0.0000035333","ignored":0,"customers":{{"c":{{"records":1,"cost_usd":"0.0000035333"}}}}}}"#,
            i * 3_600_000
        )
    }

    #[test]
    fn each_crossing_is_the_least_volume_at_which_the_first_option_costs_more() {
        let lines: Vec<String> = (0..=24).map(line).collect();
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        let p = Pricing::default();
        let a = r.alternatives(&p, false, Decimal::from(25), "m7g.large", 3, Some(Decimal::from(100))).unwrap();
        let n = a.managed_cheaper_than_on_demand_above.unwrap();
        let od = |n: u64| r.monthly_at(&p, false, Decimal::from(n)).unwrap();
        let mi = |n: u64| r.managed_at(&p, false, "m7g.large", 3, Decimal::from(n)).unwrap().1;
        assert!(od(n) > mi(n) && od(n - 1) <= mi(n - 1), "{n}");
        let s = a.server_cheaper_than_on_demand_above.unwrap();
        assert!(od(s) > Decimal::from(100) && od(s - 1) <= Decimal::from(100));
        // Managed Instances' fixed $202.69 is above the $100 server at any volume.
        assert_eq!(a.server_cheaper_than_managed_above, Some(0));
        let text = sentences(&a).join("\n");
        assert!(text.contains(&format!("Above {} orders/day Managed Instances on 3 × m7g.large", n - 1)), "{text}");
        assert!(r.alternatives(&p, false, Decimal::ONE, "t2.nano", 3, None).is_err());
    }
}
