//! Charts as inline SVG, drawn by hand: stacked bars of where the money goes, a line of cost per
//! day, and the break-even chart. Amounts are exact decimals everywhere but in pixel
//! coordinates; every label is a readable amount (`$0.000041`, never `4.1e-5`). Every drawn
//! mark has the class `mark` (the browser test counts them).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// The colours of the parts of a bar, in order.
pub(crate) const PALETTE: [&str; 4] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];

/// An amount to read: cents from a cent up, two significant digits below (`$0.000041`).
pub(crate) fn money(d: Decimal) -> String {
    let a = d.abs();
    let s = if a.is_zero() || a >= Decimal::new(1, 2) {
        format!("{:.2}", d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
    } else {
        d.round_sf_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            .unwrap_or(d)
            .normalize()
            .to_string()
    };
    match s.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${s}"),
    }
}

/// Text safe inside SVG/HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn px(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Axis ticks from 0 to at least `max`: 1, 2 or 5 × a power of ten, exact.
pub(crate) fn ticks(max: Decimal, count: u32) -> Vec<Decimal> {
    if max <= Decimal::ZERO {
        return vec![Decimal::ZERO, Decimal::ONE];
    }
    let raw = max / Decimal::from(count.max(1));
    // The power of ten at or below `raw`.
    let mut p = Decimal::ONE;
    while p > raw && p.scale() < 26 {
        p /= Decimal::TEN;
    }
    while p * Decimal::TEN <= raw {
        p *= Decimal::TEN;
    }
    let step = [1, 2, 5, 10].iter().map(|m| p * Decimal::from(*m)).find(|s| *s >= raw).unwrap_or(p * Decimal::TEN);
    let mut out = vec![Decimal::ZERO];
    let mut t = Decimal::ZERO;
    while t < max && out.len() < 50 {
        t += step;
        out.push(t.normalize());
    }
    out
}

/// One bar: a label and its parts (in [`PALETTE`] order).
pub(crate) struct Bar {
    pub label: String,
    pub parts: Vec<Decimal>,
}

/// Horizontal stacked bars with a money axis and a legend.
pub(crate) fn stacked_bars(title: &str, legend: &[&str], bars: &[Bar]) -> String {
    let (left, right, top, row) = (190.0, 30.0, 56.0, 26.0);
    let width = 900.0;
    let plot_w = width - left - right;
    let height = top + row * bars.len().max(1) as f64 + 46.0;
    let max =
        bars.iter().map(|b| b.parts.iter().copied().map(|p| p.max(Decimal::ZERO)).sum()).max().unwrap_or_default();
    let ticks = ticks(max, 5);
    let scale_max = px(*ticks.last().expect("at least two ticks"));
    let x = |v: Decimal| left + if scale_max > 0.0 { px(v) / scale_max * plot_w } else { 0.0 };
    let mut s = format!(
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>{t}</title><text x="10" y="22" class="title">{t}</text>"#,
        t = esc(title)
    );
    for (i, name) in legend.iter().enumerate() {
        let lx = left + i as f64 * 150.0;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="32" width="12" height="12" fill="{}"/><text x="{}" y="42" class="legend">{}</text>"#,
            PALETTE[i % PALETTE.len()],
            lx + 16.0,
            esc(name)
        );
    }
    let axis_y = top + row * bars.len().max(1) as f64;
    for t in &ticks {
        let tx = x(*t);
        let _ = write!(
            s,
            r#"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{axis_y}" class="grid"/><text x="{tx:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            axis_y + 16.0,
            money(*t)
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = top + row * i as f64 + 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="label" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 13.0,
            esc(&b.label)
        );
        let mut at = Decimal::ZERO;
        for (k, part) in b.parts.iter().enumerate() {
            let part = part.max(&Decimal::ZERO);
            let (x0, x1) = (x(at), x(at + *part));
            at += *part;
            let _ = write!(
                s,
                r#"<rect class="mark" x="{x0:.2}" y="{y}" width="{:.2}" height="{}" fill="{}"><title>{}: {}</title></rect>"#,
                (x1 - x0).max(0.0),
                row - 8.0,
                PALETTE[k % PALETTE.len()],
                esc(legend.get(k).copied().unwrap_or("")),
                money(*part)
            );
        }
        let _ = write!(s, r#"<text x="{:.2}" y="{}" class="value">{}</text>"#, x(at) + 4.0, y + 13.0, money(at));
    }
    let _ = write!(s, r#"<line x1="{left}" y1="{axis_y}" x2="{}" y2="{axis_y}" class="axis"/></svg>"#, width - right);
    s
}

/// A line chart: named series of (x label, x value, y amount), money on the y axis, with
/// optional marked points (x, y, caption).
pub(crate) struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(Decimal, Decimal)>,
}

pub(crate) fn line_chart(
    title: &str,
    x_name: &str,
    x_labels: &[(Decimal, String)],
    series: &[Series],
    marks: &[(Decimal, Decimal, String)],
) -> String {
    let (left, right, top, bottom) = (90.0, 30.0, 56.0, 52.0);
    let (width, height) = (900.0, 360.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).chain(x_labels.iter().map(|l| l.0));
    let x_max = xs.max().unwrap_or_default().max(Decimal::ONE);
    let y_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).max().unwrap_or_default();
    let y_ticks = ticks(y_max, 5);
    let y_top = px(*y_ticks.last().expect("at least two ticks"));
    let x = |v: Decimal| left + px(v) / px(x_max) * plot_w;
    let y = |v: Decimal| top + plot_h - if y_top > 0.0 { px(v) / y_top * plot_h } else { 0.0 };
    let mut s = format!(
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>{t}</title><text x="10" y="22" class="title">{t}</text>"#,
        t = esc(title)
    );
    for (i, se) in series.iter().enumerate() {
        let lx = left + i as f64 * 230.0;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="32" width="12" height="12" fill="{}"/><text x="{}" y="42" class="legend">{}</text>"#,
            se.colour,
            lx + 16.0,
            esc(&se.name)
        );
    }
    for t in &y_ticks {
        let ty = y(*t);
        let _ = write!(
            s,
            r#"<line x1="{left}" y1="{ty:.1}" x2="{}" y2="{ty:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            width - right,
            left - 6.0,
            ty + 4.0,
            money(*t)
        );
    }
    for (v, label) in x_labels {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            x(*v),
            top + plot_h + 18.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
        left + plot_w / 2.0,
        height - 8.0,
        esc(x_name)
    );
    for se in series {
        let pts: Vec<String> = se.points.iter().map(|(a, b)| format!("{:.2},{:.2}", x(*a), y(*b))).collect();
        let _ = write!(
            s,
            r#"<polyline class="mark" fill="none" stroke="{}" stroke-width="2.5" points="{}"/>"#,
            se.colour,
            pts.join(" ")
        );
        if se.points.len() <= 40 {
            for (a, b) in &se.points {
                let _ = write!(
                    s,
                    r#"<circle class="mark" cx="{:.2}" cy="{:.2}" r="3.5" fill="{}"><title>{}</title></circle>"#,
                    x(*a),
                    y(*b),
                    se.colour,
                    money(*b)
                );
            }
        }
    }
    for (a, b, caption) in marks {
        let (cx, cy) = (x(*a), y(*b));
        let _ = write!(
            s,
            r##"<circle class="mark crossing" cx="{cx:.2}" cy="{cy:.2}" r="6" fill="none" stroke="#222" stroke-width="2"/><text x="{:.2}" y="{:.2}" class="label">{}</text>"##,
            cx + 8.0,
            cy - 8.0,
            esc(caption)
        );
    }
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{b}" x2="{}" y2="{b}" class="axis"/><line x1="{left}" y1="{top}" x2="{left}" y2="{b}" class="axis"/></svg>"#,
        width - right,
        b = top + plot_h
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_read_as_dollars_and_cents_or_two_significant_digits_never_in_scientific_notation() {
        assert_eq!(money(d("0.0000412")), "$0.000041");
        assert_eq!(money(d("0.00000000465")), "$0.0000000047");
        assert_eq!(money(d("2.7029")), "$2.70");
        assert_eq!(money(d("1234.5")), "$1234.50");
        assert_eq!(money(Decimal::ZERO), "$0.00");
        assert_eq!(money(d("-0.5")), "-$0.50");
    }

    #[test]
    fn ticks_are_round_steps_that_cover_the_maximum() {
        assert_eq!(
            ticks(d("0.000047"), 5),
            vec![d("0"), d("0.00001"), d("0.00002"), d("0.00003"), d("0.00004"), d("0.00005")]
        );
        assert_eq!(ticks(d("230"), 5), vec![d("0"), d("50"), d("100"), d("150"), d("200"), d("250")]);
    }

    #[test]
    fn a_stacked_bar_draws_one_mark_per_part_and_escapes_labels() {
        let bars = [Bar { label: "<c&d>".into(), parts: vec![d("1"), d("2")] }];
        let svg = stacked_bars("t", &["a", "b"], &bars);
        assert_eq!(svg.matches(r#"class="mark""#).count(), 2);
        assert!(svg.contains("&lt;c&amp;d&gt;"));
        assert!(svg.contains("$3.00"));
    }
}
