//! The `--svg` chart: stacked bars of where each function's and each customer's money goes, on
//! readable money axes ([`super::svg`]).

use super::svg::{stacked_bars, Bar};
use crate::billing::CostReport;
use std::path::Path;

/// Where each function's money goes: compute, requests, the services, observability.
pub(crate) fn function_panel(r: &CostReport) -> String {
    let bars: Vec<Bar> = r
        .functions
        .iter()
        .map(|f| Bar {
            label: f.function.clone(),
            parts: vec![f.compute_usd, f.request_usd, f.services_usd, f.observability_usd],
        })
        .collect();
    stacked_bars("Cost by function (USD)", &["compute", "requests", "SQS/S3/DynamoDB", "observability"], &bars)
}

/// Where each customer's money goes: Lambda, the services, observability.
pub(crate) fn customer_panel(r: &CostReport) -> String {
    let bars: Vec<Bar> = r
        .customers
        .iter()
        .map(|c| Bar { label: c.customer.clone(), parts: vec![c.lambda_usd, c.services_usd, c.observability_usd] })
        .collect();
    stacked_bars("Cost by customer (USD)", &["Lambda", "SQS/S3/DynamoDB", "observability"], &bars)
}

/// Writes the chart to `path`: one SVG holding the function and the customer panels.
pub(crate) fn write_svg(path: &Path, r: &CostReport) -> anyhow::Result<()> {
    let (top, bottom) = (function_panel(r), customer_panel(r));
    let height = |svg: &str| -> f64 {
        svg.split("height=\"").nth(1).and_then(|h| h.split('"').next()).and_then(|h| h.parse().ok()).unwrap_or(0.0)
    };
    let (h1, h2) = (height(&top), height(&bottom));
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{h}" viewBox="0 0 900 {h}"><style>text{{font-family:sans-serif}}.title{{font-size:15px;font-weight:600}}.tick,.legend,.label,.value{{font-size:12px}}.grid{{stroke:#eee}}.axis{{stroke:#888}}</style><rect width="900" height="{h}" fill="white"/><g>{top}</g><g transform="translate(0,{h1})">{bottom}</g></svg>"#,
        h = h1 + h2,
    );
    std::fs::write(path, svg)?;
    Ok(())
}
