//! The cost-regression comparison behind `orderflow report --baseline BASE.json`: each
//! function's cost per order and billed ms per order against a report saved earlier by
//! `report --format json`, and which functions got dearer than allowed.

use super::report::CostReport;
use anyhow::Context as _;
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// The cost fields summed into a function's cost, when the baseline has them (a baseline
/// written before a field existed is compared without it on both sides).
const COST_FIELDS: [&str; 4] = ["compute_usd", "request_usd", "services_usd", "observability_usd"];

/// One function as a report saw it: orders, billed ms and cost per field.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    orders: u64,
    billed_ms: u64,
    costs: Vec<(&'static str, Decimal)>,
}

/// How one figure of one function moved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub function: String,
    pub what: &'static str,
    pub before: Decimal,
    pub after: Decimal,
    /// `None` when the baseline's figure was 0 (any increase is infinite).
    pub percent: Option<Decimal>,
    pub too_much: bool,
}

/// The comparison: changes per function, and what could not be compared.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Comparison {
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn failed(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.changes.iter().filter(|c| c.too_much).map(|c| c.function.as_str()).collect();
        names.dedup();
        names
    }
}

fn decimal(v: &Value, what: &str) -> anyhow::Result<Decimal> {
    let s = v.as_str().with_context(|| format!("{what} is not a decimal string (got {v})"))?;
    Decimal::from_str(s).with_context(|| format!("{what} is not a decimal ({s:?})"))
}

/// The functions of a saved `report --format json` (or of its `report` object alone).
fn baseline_functions(v: &Value) -> anyhow::Result<Vec<(String, Figures)>> {
    let report = if v.get("report").is_some() { &v["report"] } else { v };
    let functions = report["functions"]
        .as_array()
        .context("the baseline has no report.functions: save it with `orderflow report --format json`")?;
    let mut out = Vec::new();
    for f in functions {
        let name = f["function"].as_str().context("a baseline function without a name")?.to_string();
        let int = |k: &str| f[k].as_u64().with_context(|| format!("{name}: {k} is not a whole number"));
        let mut costs = Vec::new();
        for field in COST_FIELDS {
            if !f[field].is_null() {
                costs.push((field, decimal(&f[field], &format!("{name}: {field}"))?));
            }
        }
        anyhow::ensure!(!costs.is_empty(), "{name}: the baseline has none of {COST_FIELDS:?}");
        let figures = Figures { orders: int("orders")?, billed_ms: int("billed_ms")?, costs };
        out.push((name, figures));
    }
    Ok(out)
}

fn current(r: &CostReport, name: &str, fields: &[&'static str]) -> Option<Figures> {
    let f = r.functions.iter().find(|f| f.function == name)?;
    let costs = fields
        .iter()
        .map(|&field| {
            let v = match field {
                "compute_usd" => f.compute_usd,
                "request_usd" => f.request_usd,
                "services_usd" => f.services_usd,
                _ => f.observability_usd,
            };
            (field, v)
        })
        .collect();
    Some(Figures { orders: f.orders, billed_ms: f.billed_ms, costs })
}

fn change(function: &str, what: &'static str, before: Decimal, after: Decimal, max: Decimal) -> Change {
    let percent = (!before.is_zero()).then(|| ((after - before) * Decimal::ONE_HUNDRED / before).round_dp(2));
    let too_much = match percent {
        Some(p) => p > max,
        None => after > before,
    };
    Change { function: function.to_string(), what, before, after, percent, too_much }
}

/// Compares `now` with the saved report `base` at an allowed increase of `max_percent`.
pub(crate) fn compare(base: &Value, now: &CostReport, max_percent: Decimal) -> anyhow::Result<Comparison> {
    let mut c = Comparison::default();
    let base = baseline_functions(base)?;
    for (name, before) in &base {
        let fields: Vec<&'static str> = before.costs.iter().map(|(f, _)| *f).collect();
        let Some(after) = current(now, name, &fields) else {
            c.notes.push(format!("{name}: in the baseline, not in these logs"));
            continue;
        };
        if before.orders == 0 || after.orders == 0 {
            c.notes.push(format!("{name}: no orders on one side, nothing per order to compare"));
            continue;
        }
        let per = |x: Decimal, n: u64| x / Decimal::from(n);
        let cost = |f: &Figures| f.costs.iter().map(|(_, v)| *v).sum::<Decimal>();
        c.changes.push(change(
            name,
            "USD per order",
            per(cost(before), before.orders),
            per(cost(&after), after.orders),
            max_percent,
        ));
        c.changes.push(change(
            name,
            "billed ms per order",
            per(Decimal::from(before.billed_ms), before.orders),
            per(Decimal::from(after.billed_ms), after.orders),
            max_percent,
        ));
    }
    for f in &now.functions {
        if !base.iter().any(|(n, _)| *n == f.function) {
            c.notes.push(format!("{}: new, not in the baseline", f.function));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_increase_from_zero_is_too_much_and_a_decrease_never_is() {
        assert!(change("f", "x", Decimal::ZERO, Decimal::ONE, Decimal::from(5)).too_much);
        assert!(!change("f", "x", Decimal::from(10), Decimal::from(9), Decimal::ZERO).too_much);
        let c = change("f", "x", Decimal::from(100), Decimal::from(105), Decimal::from(5));
        assert_eq!(c.percent, Some(Decimal::from(5)));
        assert!(!c.too_much, "exactly the allowed increase passes");
    }
}
