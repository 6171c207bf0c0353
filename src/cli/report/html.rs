//! `orderflow report --html FILE`: the report as one self-contained page — inline CSS and SVG, no
//! script, no network — with the totals, the tables, stacked bars of where each function's and
//! customer's money goes, the cost per day as a line, and the break-even chart of on-demand
//! Lambda, Managed Instances and a fixed server with the crossings marked. The page's totals
//! carry the exact amounts in `data-usd` attributes (the browser test compares them with
//! `report --format json`).

use super::svg::{esc, line_chart, money, Series, PALETTE};
use super::View;
use crate::billing::alternatives::{sentences, Alternatives};
use crate::billing::{CostReport, Projection};
use crate::pricing::Pricing;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::path::Path;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 8px}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.totals{display:flex;gap:24px;flex-wrap:wrap}.totals div{border:1px solid #ccc;padding:8px 12px;border-radius:6px}\
.totals b{display:block;font-size:20px}svg{display:block;margin:8px 0}.title{font-size:15px;font-weight:600}\
.tick,.legend,.label,.value{font-size:12px}.grid{stroke:#eee}.axis{stroke:#888}";

/// Writes the page to `path`.
pub(crate) fn write_html(path: &Path, r: &CostReport, pricing: &Pricing, view: &View) -> anyhow::Result<()> {
    std::fs::write(path, page(r, pricing, view))?;
    Ok(())
}

fn total(id: &str, label: &str, v: Decimal) -> String {
    format!(r#"<div>{label}<b id="{id}" data-usd="{}">{}</b></div>"#, v.normalize(), money(v))
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<(String, bool)>>) -> String {
    let mut s = String::from("<table><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for row in rows {
        s.push_str("<tr>");
        for (cell, numeric) in row {
            let _ = write!(s, "<td{}>{}</td>", if numeric { r#" class="n""# } else { "" }, esc(&cell));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// The page.
pub(crate) fn page(r: &CostReport, pricing: &Pricing, view: &View) -> String {
    let projection = r.project(pricing, view.window_days, view.free_tier, view.server_monthly_usd);
    let alternatives = super::alternatives(r, pricing, view, projection.as_ref());
    let t = &r.total;
    let mut s = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>orderflow cost report</title><style>{CSS}</style></head><body><h1>orderflow cost report ({})</h1>"#,
        esc(&r.region)
    );
    s.push_str(r#"<div class="totals">"#);
    s.push_str(&total("total-usd", "total", t.total_usd));
    let _ = write!(s, r#"<div>orders<b id="total-orders" data-n="{}">{}</b></div>"#, t.orders, t.orders);
    if let Some(p) = t.usd_per_order {
        s.push_str(&total("usd-per-order", "per order", p));
    }
    s.push_str(&total("compute-usd", "Lambda compute + requests", t.compute_usd + t.request_usd));
    s.push_str(&total("services-usd", "SQS/S3/DynamoDB", t.services_usd));
    s.push_str(&total("observability-usd", "observability", t.observability_usd));
    if let Some(p) = &projection {
        s.push_str(&total("month-usd", "projected month", p.total_usd));
    }
    s.push_str("</div>");

    s.push_str("<h2>Where each function's money goes</h2>");
    s.push_str(&super::chart::function_panel(r));
    let n = |v: u64| (v.to_string(), true);
    let m = |v: Decimal| (money(v), true);
    s.push_str(&table(
        &[
            "function",
            "invocations",
            "records",
            "orders",
            "compute",
            "requests",
            "SQS/S3/DynamoDB",
            "observability",
            "total",
            "per order",
        ],
        r.functions.iter().chain(std::iter::once(t)).map(|f| {
            vec![
                (f.function.clone(), false),
                n(f.invocations),
                n(f.records),
                n(f.orders),
                m(f.compute_usd),
                m(f.request_usd),
                m(f.services_usd),
                m(f.observability_usd),
                m(f.total_usd),
                f.usd_per_order.map_or(("-".into(), true), m),
            ]
        }),
    ));

    s.push_str("<h2>Where each customer's money goes</h2>");
    s.push_str(&super::chart::customer_panel(r));
    s.push_str(&table(
        &["customer", "records", "Lambda", "SQS/S3/DynamoDB", "observability", "total"],
        r.customers.iter().map(|c| {
            vec![
                (c.customer.clone(), false),
                n(c.records),
                m(c.lambda_usd),
                m(c.services_usd),
                m(c.observability_usd),
                m(c.total_usd),
            ]
        }),
    ));

    s.push_str("<h2>Cost per day</h2>");
    let days: Vec<_> = r.days.iter().filter(|d| d.day != "unknown").collect();
    let labels: Vec<(Decimal, String)> =
        days.iter().enumerate().map(|(i, d)| (Decimal::from(i as u64), d.day.clone())).collect();
    let points: Vec<(Decimal, Decimal)> =
        days.iter().enumerate().map(|(i, d)| (Decimal::from(i as u64), d.total_usd)).collect();
    s.push_str(&line_chart(
        "Cost per day (USD)",
        "day (UTC)",
        &labels,
        &[Series { name: "total per day".into(), colour: PALETTE[0], points }],
        &[],
    ));

    if let (Some(p), Some(a)) = (&projection, &alternatives) {
        s.push_str("<h2>Break-even: monthly cost against orders per day</h2>");
        s.push_str(&break_even_chart(r, pricing, view, p, a));
        s.push_str("<ul>");
        for line in sentences(a) {
            let _ = write!(s, "<li>{}</li>", esc(&line));
        }
        s.push_str("</ul>");
    }
    let l = &r.lines;
    let _ = writeln!(
        s,
        "<p>Lines read: {} ({} EMF, {} REPORT); {} malformed, {} implausible. Amounts in USD, exact in <code>orderflow report --format json</code>.</p></body></html>",
        l.total,
        l.emf,
        l.report_text + l.report_json,
        l.malformed,
        l.implausible
    );
    s
}

fn break_even_chart(r: &CostReport, pricing: &Pricing, view: &View, p: &Projection, a: &Alternatives) -> String {
    let crossings = [
        a.managed_cheaper_than_on_demand_above,
        a.server_cheaper_than_on_demand_above,
        a.server_cheaper_than_managed_above,
    ];
    let far = crossings.iter().flatten().copied().max().unwrap_or(0);
    let seen = p.orders_per_day.ceil();
    let x_max = (Decimal::from(far) * Decimal::new(15, 1)).max(seen * Decimal::TWO).max(Decimal::TEN).ceil();
    let xs: Vec<Decimal> = (0..=40u32).map(|i| (x_max * Decimal::from(i) / Decimal::from(40)).round_dp(2)).collect();
    let on_demand: Vec<(Decimal, Decimal)> =
        xs.iter().filter_map(|x| Some((*x, r.monthly_at(pricing, view.free_tier, *x)?))).collect();
    let (t, k) = (a.managed.instance_type.as_str(), a.managed.instances);
    let managed: Vec<(Decimal, Decimal)> =
        xs.iter().filter_map(|x| Some((*x, r.managed_at(pricing, view.free_tier, t, k, *x)?.1))).collect();
    let mut series = vec![
        Series { name: "on-demand Lambda".into(), colour: PALETTE[0], points: on_demand },
        Series { name: format!("Managed Instances {k} × {t}"), colour: PALETTE[1], points: managed },
    ];
    if let Some(server) = a.server_usd {
        series.push(Series {
            name: "fixed server".into(),
            colour: PALETTE[2],
            points: vec![(Decimal::ZERO, server), (x_max, server)],
        });
    }
    let mut marks = Vec::new();
    let at = |n: u64| r.monthly_at(pricing, view.free_tier, Decimal::from(n));
    if let Some(n) = a.managed_cheaper_than_on_demand_above.filter(|n| *n > 0) {
        if let Some(c) = r.managed_at(pricing, view.free_tier, t, k, Decimal::from(n)) {
            marks.push((Decimal::from(n), c.1, format!("{n} orders/day")));
        }
    }
    if let (Some(n), Some(server)) = (a.server_cheaper_than_on_demand_above.filter(|n| *n > 0), a.server_usd) {
        if at(n).is_some() {
            marks.push((Decimal::from(n), server, format!("{n} orders/day")));
        }
    }
    let labels: Vec<(Decimal, String)> = (0..=4u32)
        .map(|i| x_max * Decimal::from(i) / Decimal::from(4))
        .map(|v| (v, v.round_dp(0).to_string()))
        .collect();
    line_chart("Monthly cost against orders per day (USD)", "orders per day", &labels, &series, &marks)
}
