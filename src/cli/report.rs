//! `orderflow report [FILE…|-]`: what the logged invocations cost — per function, customer and
//! day, reconciled with Lambda's REPORT lines, projected to a month, compared with a fixed
//! server — as a table, JSON or CSV, with an optional SVG chart.

mod baseline;
mod chart;
mod csv;
mod html;
mod svg;

use crate::billing::{Aggregator, CostReport, Projection, UNATTRIBUTED};
use crate::metering::meter::UNKNOWN_CUSTOMER;
use crate::pricing::{cents, Pricing};
use anyhow::Context as _;
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    Function,
    Customer,
    Day,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Log files: our EMF lines and Lambda's REPORT lines (text or JSON, as `aws logs tail`
    /// prints them). None or - reads stdin.
    pub files: Vec<PathBuf>,
    /// Break the cost down by function, customer or day (repeatable; default: function and
    /// customer).
    #[arg(long, value_enum)]
    pub by: Vec<By>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write an SVG chart of the cost by function and by customer.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (tables and charts, no network).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Apply Lambda's monthly free tier in the projection to a month.
    #[arg(long)]
    pub free_tier: bool,
    /// Monthly price of an always-on server, for the break-even.
    #[arg(long, value_name = "X")]
    pub server_monthly_usd: Option<Decimal>,
    /// Days the logs cover, for the projection (default: first to last timestamp).
    #[arg(long, value_name = "DAYS")]
    pub window_days: Option<Decimal>,
    /// A TOML pricing file (other regions, future prices); us-east-1 when absent.
    #[arg(long, env = "ORDERFLOW_PRICING")]
    pub pricing: Option<PathBuf>,
    /// A report saved earlier with `--format json`: compare each function's cost per order and
    /// billed ms per order with it, and exit 1 naming the functions that got dearer than
    /// --max-increase (a cost-regression check for CI).
    #[arg(long, value_name = "BASE.json")]
    pub baseline: Option<PathBuf>,
    /// Lambda Managed Instances in the projection: the EC2 instance type (default: the pricing
    /// file's, m7g.large).
    #[arg(long, value_name = "T")]
    pub instance_type: Option<String>,
    /// Lambda Managed Instances in the projection: how many instances (default 3, Lambda's
    /// default for AZ resiliency).
    #[arg(long, value_name = "N")]
    pub instances: Option<u32>,
    /// The increase --baseline allows, in percent (`5%` or `5`).
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = baseline::parse_percent)]
    pub max_increase: Decimal,
}

/// What to show.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct View {
    pub by: Vec<By>,
    pub format: Format,
    pub free_tier: bool,
    pub server_monthly_usd: Option<Decimal>,
    pub window_days: Option<Decimal>,
    /// Managed Instances in the projection (the pricing file's defaults when `None`).
    pub instance_type: Option<String>,
    pub instances: Option<u32>,
}

impl Default for View {
    fn default() -> Self {
        View {
            by: vec![By::Function, By::Customer],
            format: Format::Table,
            free_tier: false,
            server_monthly_usd: None,
            window_days: None,
            instance_type: None,
            instances: None,
        }
    }
}

/// The blocks the input is read in (a few per worker are in flight).
const READ_BLOCK_BYTES: usize = 1 << 19;

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(s) = a.server_monthly_usd {
        anyhow::ensure!(!s.is_sign_negative(), "--server-monthly-usd must not be negative (got {s})");
    }
    if let Some(w) = a.window_days {
        anyhow::ensure!(
            w * Decimal::from(1440) >= Decimal::ONE,
            "--window-days must be at least one minute (1/1440 of a day; got {w})"
        );
    }
    let pricing = Pricing::load(a.pricing.as_deref()).context("loading prices")?;
    if let Some(t) = &a.instance_type {
        anyhow::ensure!(
            pricing.managed_instances.instances.contains_key(t),
            "--instance-type {t:?} is not in the price list (known: {})",
            pricing.managed_instances.known()
        );
    }
    anyhow::ensure!(a.instances != Some(0), "--instances must be at least 1");
    let mut agg = Aggregator::new(pricing.clone());
    let stdin = a.files.is_empty() || a.files.iter().any(|f| f.as_os_str() == "-");
    // Lines are parsed on worker threads in blocks and folded here in their order: the same
    // report as reading them one by one.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    for f in &a.files {
        if f.as_os_str() == "-" {
            continue;
        }
        let file = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        agg.read_parallel(file, workers, READ_BLOCK_BYTES).with_context(|| format!("reading {}", f.display()))?;
    }
    if stdin {
        agg.read_parallel(std::io::stdin(), workers, READ_BLOCK_BYTES).context("reading stdin")?;
    }
    let report = agg.finish();
    if let Some(w) = implausible_warning(&report) {
        eprintln!("warning: {w}");
    }
    let view = View {
        by: if a.by.is_empty() { View::default().by } else { a.by.clone() },
        format: a.format,
        free_tier: a.free_tier,
        server_monthly_usd: a.server_monthly_usd,
        window_days: a.window_days,
        instance_type: a.instance_type.clone(),
        instances: a.instances,
    };
    if let Some(path) = &a.svg {
        chart::write_svg(path, &report).with_context(|| format!("writing the chart {}", path.display()))?;
    }
    if let Some(path) = &a.html {
        write_html(path, &report, &pricing, &view)?;
    }
    print!("{}", render(&report, &pricing, &view)?);
    if let Some(path) = &a.baseline {
        let c = baseline::check(path, &report, a.max_increase)?;
        let text = baseline::render(&c, path, a.max_increase);
        // JSON and CSV on stdout stay machine-readable: the check goes to stderr there.
        match view.format {
            Format::Table => print!("{text}"),
            Format::Json | Format::Csv => eprint!("{text}"),
        }
        if !c.failed().is_empty() {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The report in the view's format.
pub(crate) fn render(r: &CostReport, pricing: &Pricing, view: &View) -> anyhow::Result<String> {
    let projection = r.project(pricing, view.window_days, view.free_tier, view.server_monthly_usd);
    let alternatives = alternatives(r, pricing, view, projection.as_ref());
    Ok(match view.format {
        Format::Table => {
            let mut t = table(r, projection.as_ref(), view);
            if let Some(a) = &alternatives {
                t.push_str(&format!(
                    "Side by side at {} orders/day: on-demand Lambda {} · Managed Instances ({} × {}: instances {} + fee {} + requests {}) {}{} USD/month.\n",
                    a.orders_per_day.round_dp(1).normalize(),
                    usd(a.on_demand_usd),
                    a.managed.instances,
                    a.managed.instance_type,
                    usd(a.managed.instances_usd),
                    usd(a.managed.management_fee_usd),
                    usd(a.managed.request_usd),
                    usd(a.managed_usd),
                    a.server_usd.map_or_else(String::new, |s| format!(" · server {}", usd(s))),
                ));
                for line in crate::billing::alternatives::sentences(a) {
                    t.push_str(&line);
                    t.push('\n');
                }
            }
            t
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(
                &serde_json::json!({ "report": r, "projection": projection, "alternatives": alternatives }),
            )?;
            s.push('\n');
            s
        }
        Format::Csv => csv::csv(r, view)?,
    })
}

/// On-demand Lambda, Managed Instances and the server at the projection's rate.
fn alternatives(
    r: &CostReport,
    pricing: &Pricing,
    view: &View,
    projection: Option<&Projection>,
) -> Option<crate::billing::alternatives::Alternatives> {
    let p = projection?;
    let mi = &pricing.managed_instances;
    let t = view.instance_type.as_deref().unwrap_or(&mi.default_instance_type);
    let n = view.instances.unwrap_or(mi.default_instances);
    r.alternatives(pricing, view.free_tier, p.orders_per_day, t, n, view.server_monthly_usd).ok()
}

/// Writes the report as a self-contained HTML page (for `--html` and the demo).
pub(crate) fn write_html(path: &std::path::Path, r: &CostReport, pricing: &Pricing, view: &View) -> anyhow::Result<()> {
    html::write_html(path, r, pricing, view).with_context(|| format!("writing the page {}", path.display()))
}

/// What the implausible lines were, when there were some.
fn implausible_warning(r: &CostReport) -> Option<String> {
    let l = &r.lines;
    (l.implausible > 0).then(|| {
        let reasons: Vec<String> = l.implausible_reasons.iter().map(|(why, n)| format!("{why}: {n}")).collect();
        format!("{} implausible lines left out of the totals ({})", l.implausible, reasons.join("; "))
    })
}

/// An amount to read: exact up to 10 decimals (the report's totals are exact in JSON and CSV).
fn usd(d: Decimal) -> String {
    d.round_dp(10).normalize().to_string()
}

fn opt_usd(d: Option<Decimal>) -> String {
    d.map_or_else(|| "-".into(), usd)
}

fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.to_vec());
    t
}

fn right_align(t: &mut Table, from: usize) {
    let n = t.column_count();
    for i in from..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn table(r: &CostReport, projection: Option<&Projection>, view: &View) -> String {
    let mut out = String::new();
    for by in &view.by {
        match by {
            By::Function => {
                let mut t = new_table(&[
                    "function",
                    "invocations",
                    "cold starts",
                    "records",
                    "orders",
                    "billed GB-s",
                    "compute $",
                    "request $",
                    "SQS/S3/DynamoDB $",
                    "observability $",
                    "total $",
                    "$ per order",
                ]);
                for f in r.functions.iter().chain(std::iter::once(&r.total)) {
                    t.add_row([
                        f.function.clone(),
                        f.invocations.to_string(),
                        f.cold_starts.to_string(),
                        f.records.to_string(),
                        f.orders.to_string(),
                        f.gb_seconds.normalize().to_string(),
                        usd(f.compute_usd),
                        usd(f.request_usd),
                        usd(f.services_usd),
                        usd(f.observability_usd),
                        usd(f.total_usd),
                        opt_usd(f.usd_per_order),
                    ]);
                }
                right_align(&mut t, 1);
                out.push_str(&format!("Cost per function ({}, USD)\n{t}\n", r.region));
            }
            By::Customer => {
                let mut t =
                    new_table(&["customer", "records", "Lambda $", "SQS/S3/DynamoDB $", "observability $", "total $"]);
                for c in &r.customers {
                    t.add_row([
                        c.customer.clone(),
                        c.records.to_string(),
                        usd(c.lambda_usd),
                        usd(c.services_usd),
                        usd(c.observability_usd),
                        usd(c.total_usd),
                    ]);
                }
                let records: u64 = r.customers.iter().map(|c| c.records).sum();
                t.add_row([
                    "total".to_string(),
                    records.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    usd(r.attributed_usd),
                ]);
                right_align(&mut t, 1);
                out.push_str(&format!("Cost per customer (USD)\n{t}\n"));
            }
            By::Day => {
                let mut t = new_table(&[
                    "day (UTC)",
                    "invocations",
                    "orders",
                    "Lambda $",
                    "SQS/S3/DynamoDB $",
                    "observability $",
                    "total $",
                ]);
                for d in &r.days {
                    t.add_row([
                        d.day.clone(),
                        d.invocations.to_string(),
                        d.orders.to_string(),
                        usd(d.lambda_usd),
                        usd(d.services_usd),
                        usd(d.observability_usd),
                        usd(d.total_usd),
                    ]);
                }
                right_align(&mut t, 1);
                out.push_str(&format!("Cost per day (USD)\n{t}\n"));
            }
        }
    }
    out.push_str(&format!(
        "records: every record handled (accepted, duplicate, rejected, retried, ignored); orders: accepted orders. Records without a customer id: {UNKNOWN_CUSTOMER}; invocations with no customer's records: {UNATTRIBUTED}.\n"
    ));
    let l = &r.lines;
    out.push_str(&format!(
        "Lines: {} read ({} bytes) — {} EMF, {} REPORT (text), {} REPORT (JSON); skipped {} from other programs, {} malformed.\n",
        l.total, l.bytes, l.emf, l.report_text, l.report_json, l.other, l.malformed
    ));
    out.push_str(&format!(
        "Observability: the invocations logged {} bytes (EMF lines as read, Lambda's START/END/REPORT lines at their size); {} custom metrics.\n",
        r.total.log_bytes, r.custom_metrics
    ));
    out.push_str(&format!(
        "Total {} USD for {} orders ({} USD per order); attributed to customers {} USD.\n",
        usd(r.total.total_usd),
        r.total.orders,
        opt_usd(r.total.usd_per_order),
        usd(r.attributed_usd)
    ));
    if let Some(w) = implausible_warning(r) {
        out.push_str(&format!("Warning: {w}.\n"));
    }
    let rc = &r.reconciliation;
    if rc.matched > 0 {
        out.push_str(&format!(
            "Reconciled with Lambda's REPORT lines: {} invocations, our estimate {} ms vs Lambda's billed {} ms ({} %, worst {} ms off); cost corrected by {} USD.\n",
            rc.matched,
            rc.our_billed_ms,
            rc.lambda_billed_ms,
            rc.error_percent().map_or_else(|| "-".into(), |p| format!("{p:+}")),
            rc.max_abs_diff_ms,
            usd(rc.cost_correction_usd),
        ));
    }
    if l.report_text + l.report_json == 0 {
        out.push_str("No Lambda REPORT lines: the Lambda costs are our own estimates.\n");
    } else if rc.emf_only > 0 || rc.report_only > 0 {
        out.push_str(&format!(
            "Unmatched: {} invocations with our estimate only, {} with Lambda's REPORT only.\n",
            rc.emf_only, rc.report_only
        ));
    }
    match projection {
        Some(p) => {
            out.push_str(&format!(
                "Projected to a 30-day month (observed over {} days, {} orders/day, free tier {}): {} requests, {} GB-s → Lambda {} + services {} + observability {} = {} USD/month (≈ {}).\n",
                p.window_days.round_dp(3).normalize(),
                p.orders_per_day.round_dp(1).normalize(),
                if p.free_tier { "on" } else { "off" },
                p.usage.requests.round_dp(0),
                (p.usage.gb_seconds_x86_64 + p.usage.gb_seconds_arm64).round_dp(1).normalize(),
                usd(p.lambda.total_usd),
                usd(p.services_usd),
                usd(p.observability.total_usd),
                usd(p.total_usd),
                cents(p.total_usd),
            ));
            let o = &p.observability;
            out.push_str(&format!(
                "  observability: {} GB of log lines (ingestion {} + storage {}), {} custom metrics ({}), {} X-Ray traces ({}) = {} USD/month\n",
                o.log_gb.round_dp(6).normalize(),
                usd(o.ingestion_usd),
                usd(o.storage_usd),
                r.custom_metrics,
                usd(o.metrics_usd),
                o.traces.round_dp(0),
                usd(o.traces_usd),
                usd(o.total_usd),
            ));
            for t in &p.lambda.tiers {
                out.push_str(&format!(
                    "  {} tier from {} GB-s: {} GB-s × {} = {} USD\n",
                    t.arch.as_str(),
                    t.from_gb_seconds.normalize(),
                    t.gb_seconds.round_dp(1).normalize(),
                    t.gb_second.normalize(),
                    usd(t.usd)
                ));
            }
            if let Some(b) = &p.break_even {
                match b.orders_per_day {
                    Some(n) => out.push_str(&format!(
                        "Break-even: at {n} orders/day a fixed server of {} USD/month becomes cheaper.\n",
                        b.server_monthly_usd.normalize()
                    )),
                    None if r.total.orders == 0 => {
                        out.push_str("Break-even: no orders observed, so no volume to compare with the server.\n")
                    }
                    None => out.push_str(&format!(
                        "Break-even: none up to 2^50 orders/day: the server of {} USD/month stays dearer.\n",
                        b.server_monthly_usd.normalize()
                    )),
                }
            }
        }
        None => out.push_str("No projection: the logs span under a minute (give --window-days).\n"),
    }
    out
}
