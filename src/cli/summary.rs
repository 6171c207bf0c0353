//! What the invocations of a run cost, per function and per customer, read back from the EMF
//! lines they wrote.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct FunctionCost {
    pub invocations: u64,
    pub cold_starts: u64,
    pub records: u64,
    pub billed_ms: u64,
    pub gb_seconds: Decimal,
    pub cost_usd: Decimal,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub functions: BTreeMap<String, FunctionCost>,
    pub customers: BTreeMap<String, (u64, Decimal)>,
    pub skipped_lines: u64,
}

fn dec(v: &serde_json::Value) -> Option<Decimal> {
    v.as_str().and_then(|s| Decimal::from_str(s).ok())
}

/// Adds up EMF lines; lines that are not ours are counted as skipped.
pub fn summarize<'a>(lines: impl IntoIterator<Item = &'a str>) -> Summary {
    let mut s = Summary::default();
    for line in lines {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                s.skipped_lines += 1;
                continue;
            }
        };
        let (Some(name), Some(cost), Some(gbs)) =
            (v["FunctionName"].as_str(), dec(&v["cost_usd"]), dec(&v["gb_seconds"]))
        else {
            s.skipped_lines += 1;
            continue;
        };
        let f = s.functions.entry(name.to_string()).or_default();
        f.invocations += 1;
        f.cold_starts += u64::from(v["cold_start"].as_bool().unwrap_or(false));
        f.records += v["Records"].as_u64().unwrap_or(0);
        f.billed_ms += v["billed_ms"].as_u64().unwrap_or(0);
        f.gb_seconds += gbs;
        f.cost_usd += cost;
        if let Some(customers) = v["customers"].as_object() {
            for (c, entry) in customers {
                let e = s.customers.entry(c.clone()).or_default();
                e.0 += entry["records"].as_u64().unwrap_or(0);
                e.1 += dec(&entry["cost_usd"]).unwrap_or_default();
            }
        }
    }
    s
}

impl Summary {
    pub fn total(&self) -> Decimal {
        self.functions.values().map(|f| f.cost_usd).sum()
    }

    pub fn render(&self) -> String {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header([
            "function",
            "invocations",
            "cold starts",
            "records",
            "billed ms",
            "GB-s",
            "cost (USD)",
            "USD per record",
        ]);
        for (name, f) in &self.functions {
            let per = if f.records > 0 {
                (f.cost_usd / Decimal::from(f.records)).round_dp(12).normalize().to_string()
            } else {
                "-".into()
            };
            t.add_row([
                name.clone(),
                f.invocations.to_string(),
                f.cold_starts.to_string(),
                f.records.to_string(),
                f.billed_ms.to_string(),
                f.gb_seconds.normalize().to_string(),
                f.cost_usd.normalize().to_string(),
                per,
            ]);
        }
        let mut c = Table::new();
        c.load_preset(UTF8_FULL_CONDENSED);
        c.set_header(["customer", "records", "cost (USD)"]);
        for (name, (records, cost)) in &self.customers {
            c.add_row([name.clone(), records.to_string(), cost.normalize().to_string()]);
        }
        let attributed: Decimal = self.customers.values().map(|(_, c)| *c).sum();
        format!(
            "Cost per function\n{t}\nCost per customer\n{c}\ntotal {} USD; attributed to customers {} USD",
            self.total().normalize(),
            attributed.normalize()
        )
    }
}
