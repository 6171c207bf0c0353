//! `report --format csv`: one row per group (function, customer, day) and key, the same columns
//! for every group; text from the logs neutralised against CSV injection.

use super::{By, View};
use crate::billing::CostReport;
use rust_decimal::Decimal;

/// A text cell read from logs, safe to open in a spreadsheet: one starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a single quote in front, as OWASP recommends against
/// CSV injection (<https://owasp.org/www-community/attacks/CSV_Injection>). Our own numbers
/// are written as they are.
pub(crate) fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

pub(super) fn csv(r: &CostReport, view: &View) -> anyhow::Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "group",
        "key",
        "invocations",
        "cold_starts",
        "records",
        "orders",
        "billed_ms",
        "gb_seconds",
        "lambda_usd",
        "compute_usd",
        "request_usd",
        "services_usd",
        "total_usd",
        "usd_per_order",
        "log_bytes",
        "observability_usd",
    ])?;
    let s = |d: Decimal| d.normalize().to_string();
    let e = String::new;
    for by in &view.by {
        match by {
            By::Function => {
                for f in r.functions.iter().chain(std::iter::once(&r.total)) {
                    w.write_record([
                        "function".into(),
                        cell(&f.function),
                        f.invocations.to_string(),
                        f.cold_starts.to_string(),
                        f.records.to_string(),
                        f.orders.to_string(),
                        f.billed_ms.to_string(),
                        s(f.gb_seconds),
                        s(f.compute_usd + f.request_usd),
                        s(f.compute_usd),
                        s(f.request_usd),
                        s(f.services_usd),
                        s(f.total_usd),
                        f.usd_per_order.map_or_else(e, s),
                        f.log_bytes.to_string(),
                        s(f.observability_usd),
                    ])?;
                }
            }
            By::Customer => {
                for c in &r.customers {
                    w.write_record([
                        "customer".into(),
                        cell(&c.customer),
                        e(),
                        e(),
                        c.records.to_string(),
                        e(),
                        e(),
                        e(),
                        s(c.lambda_usd),
                        e(),
                        e(),
                        s(c.services_usd),
                        s(c.total_usd),
                        e(),
                        e(),
                        s(c.observability_usd),
                    ])?;
                }
            }
            By::Day => {
                for d in &r.days {
                    w.write_record([
                        "day".into(),
                        cell(&d.day),
                        d.invocations.to_string(),
                        e(),
                        e(),
                        d.orders.to_string(),
                        e(),
                        e(),
                        s(d.lambda_usd),
                        e(),
                        e(),
                        s(d.services_usd),
                        s(d.total_usd),
                        e(),
                        e(),
                        s(d.observability_usd),
                    ])?;
                }
            }
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
