//! The `--svg` chart: horizontal bars of the cost by function and by customer. Amounts become
//! `f64` here only, as pixel coordinates.

use crate::metering::report::Report;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::path::Path;

const BAR_HEIGHT: u32 = 28;
const PANEL_EXTRA: u32 = 90;

/// Writes the chart to `path`.
pub fn write_svg(path: &Path, r: &Report) -> anyhow::Result<()> {
    let functions: Vec<(String, Decimal)> = r.functions.iter().map(|f| (f.function.clone(), f.total_usd)).collect();
    let customers: Vec<(String, Decimal)> = r.customers.iter().map(|c| (c.customer.clone(), c.total_usd)).collect();
    let h1 = PANEL_EXTRA + BAR_HEIGHT * functions.len().max(1) as u32;
    let h2 = PANEL_EXTRA + BAR_HEIGHT * customers.len().max(1) as u32;
    let root = SVGBackend::new(path, (960, h1 + h2)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (top, bottom) = root.split_vertically(h1);
    panel(&top, "Cost by function (USD)", &functions, &BLUE)?;
    panel(&bottom, "Cost by customer (USD)", &customers, &GREEN)?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    bars: &[(String, Decimal)],
    color: &RGBColor,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{e:?}");
    let values: Vec<f64> = bars.iter().map(|(_, v)| v.to_f64().unwrap_or(0.0).max(0.0)).collect();
    let max = values.iter().cloned().fold(0.0, f64::max);
    let max = if max > 0.0 { max * 1.25 } else { 1.0 };
    let n = bars.len().max(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(170)
        .build_cartesian_2d(0f64..max, (0..n).into_segmented())
        .map_err(err)?;
    let names: Vec<&str> = bars.iter().map(|(k, _)| k.as_str()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .label_style(("sans-serif", 12))
        .x_labels(5)
        .x_label_formatter(&|v| {
            if max < 0.01 {
                format!("{v:.1e}")
            } else {
                format!("{v:.2}")
            }
        })
        .y_labels(bars.len().max(1))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).map_or_else(String::new, |s| s.to_string()),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    chart
        .draw_series(values.iter().enumerate().map(|(i, v)| {
            let i = i as i32;
            let mut bar = Rectangle::new(
                [(0.0, SegmentValue::Exact(i)), (*v, SegmentValue::Exact(i + 1))],
                color.mix(0.7).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().zip(&values).enumerate().map(|(i, ((_, d), v))| {
            Text::new(
                format!(" {}", d.round_dp(10).normalize()),
                (*v, SegmentValue::CenterOf(i as i32)),
                ("sans-serif", 12),
            )
        }))
        .map_err(err)?;
    Ok(())
}
