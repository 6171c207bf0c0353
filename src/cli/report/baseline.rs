//! `orderflow report --baseline BASE.json [--max-increase 5%]`: a cost-regression check for a
//! CI pipeline ([`crate::billing::baseline`] compares), failing naming every function that got
//! dearer than allowed.

use crate::billing::baseline::{compare, Comparison};
use crate::billing::CostReport;
use anyhow::Context as _;
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::Path;
use std::str::FromStr;

/// Reads `5%`, `5` or `0.5%` as a percentage.
pub(crate) fn parse_percent(s: &str) -> Result<Decimal, String> {
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    let p = Decimal::from_str(t).map_err(|_| format!("{s:?} is not a percentage (e.g. 5%)"))?;
    if p.is_sign_negative() && !p.is_zero() {
        return Err(format!("{s:?}: the allowed increase must not be negative"));
    }
    Ok(p)
}

/// Reads the baseline file and compares.
pub(crate) fn check(path: &Path, now: &CostReport, max_percent: Decimal) -> anyhow::Result<Comparison> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the baseline {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("the baseline {} is not JSON", path.display()))?;
    compare(&v, now, max_percent).with_context(|| format!("reading the baseline {}", path.display()))
}

/// The comparison as lines of text, ending with the verdict.
pub(crate) fn render(c: &Comparison, path: &Path, max_percent: Decimal) -> String {
    let amount = |d: Decimal| d.round_dp(10).normalize().to_string();
    let mut out =
        format!("Cost regression check against {} (allowed increase {}%):\n", path.display(), max_percent.normalize());
    for ch in &c.changes {
        let pct = ch.percent.map_or_else(|| "from 0".to_string(), |p| format!("{p:+}%"));
        out.push_str(&format!(
            "  {}{}: {} {} -> {} ({pct})\n",
            if ch.too_much { "TOO DEAR " } else { "" },
            ch.function,
            ch.what,
            amount(ch.before),
            amount(ch.after),
        ));
    }
    for n in &c.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    let failed = c.failed();
    if failed.is_empty() {
        out.push_str("No function got dearer than allowed.\n");
    } else {
        out.push_str(&format!("Dearer than allowed: {}.\n", failed.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_reads_with_or_without_its_sign_and_never_negative() {
        assert_eq!(parse_percent("5%"), Ok(Decimal::from(5)));
        assert_eq!(parse_percent(" 2.5 % "), Ok(Decimal::new(25, 1)));
        assert_eq!(parse_percent("0"), Ok(Decimal::ZERO));
        assert!(parse_percent("-1%").is_err());
        assert!(parse_percent("five").is_err());
    }
}
