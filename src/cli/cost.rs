//! `orderflow cost`: the what-if calculator. A month of invocations of one function, priced
//! exactly with the pricing model: requests, compute through the duration tiers, ephemeral
//! storage, optionally the free tier and cold starts.

use crate::pricing::{
    billed_ms_of, cents, invocation_cost, Arch, LambdaBill, ManagedBill, MonthOfInvocations, MonthlyUsage, Pricing,
};
use anyhow::Context as _;
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

impl From<ArchArg> for Arch {
    fn from(a: ArchArg) -> Arch {
        match a {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Arm64 => Arch::Arm64,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Format {
    #[default]
    Table,
    Json,
}

/// How the functions run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    /// Lambda's default: per request and GB-second.
    #[default]
    OnDemand,
    /// Lambda Managed Instances: EC2 instances, a management fee, per request; no GB-seconds.
    ManagedInstances,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Memory size of the function in MB (on-demand; with managed-instances, for the comparison).
    #[arg(long, value_name = "MB")]
    pub memory: Option<u32>,
    /// Duration of one invocation in ms (billed rounded up to the next ms).
    #[arg(long, value_name = "D")]
    pub duration_ms: Option<Decimal>,
    #[arg(long, value_enum, default_value_t)]
    pub mode: Mode,
    /// Managed Instances: the EC2 instance type (one of the pricing file's).
    #[arg(long, value_name = "T")]
    pub instance_type: Option<String>,
    /// Managed Instances: how many instances run all month (default: the pricing file's, 3).
    #[arg(long, value_name = "N")]
    pub instances: Option<u32>,
    /// Invocations in the month.
    #[arg(long, value_name = "N")]
    pub invocations: u64,
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: ArchArg,
    /// Apply the monthly free tier (1M requests, 400,000 GB-s; shared by the whole account).
    #[arg(long)]
    pub free_tier: bool,
    /// Ephemeral storage in MB (the first 512 MB are free).
    #[arg(long, value_name = "M", default_value_t = 512)]
    pub ephemeral_mb: u32,
    /// How many of the invocations are cold starts, each also billing --init-ms.
    #[arg(long, default_value_t = 0)]
    pub cold_starts: u64,
    /// Init duration of a cold start in ms.
    #[arg(long, value_name = "MS", default_value = "0")]
    pub init_ms: Decimal,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// A TOML pricing file (other regions, future prices); us-east-1 when absent.
    #[arg(long, env = "ORDERFLOW_PRICING")]
    pub pricing: Option<PathBuf>,
}

/// The priced month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Estimate {
    pub region: String,
    pub arch: Arch,
    pub memory_mb: u32,
    pub invocations: u64,
    pub cold_starts: u64,
    pub billed_ms_warm: u64,
    pub billed_ms_cold: u64,
    pub ephemeral_mb: u32,
    pub free_tier: bool,
    pub request_price: Decimal,
    pub usage: MonthlyUsage,
    pub bill: LambdaBill,
    pub total_cents: Decimal,
    pub usd_per_invocation: Option<Decimal>,
}

/// Billed ms of a run of `ms` (decimal, checked to be 0-1,800,000).
fn billed(ms: Decimal) -> u64 {
    billed_ms_of(ms).expect("a checked duration fits u64")
}

/// Lambda's limits the arguments must fall within: anything outside is impossible input.
const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;
const EPHEMERAL_MB: std::ops::RangeInclusive<u32> = 512..=10_240;
/// The 15-minute timeout, in ms.
const MAX_DURATION_MS: Decimal = Decimal::from_parts(900_000, 0, 0, false, 0);

/// Refuses what Lambda cannot run, naming the flag and the limit.
fn check(a: &Args) -> anyhow::Result<()> {
    let memory = a.memory.context("--memory is needed to price on-demand Lambda")?;
    anyhow::ensure!(MEMORY_MB.contains(&memory), "--memory must be 128-10240 MB, Lambda's range (got {memory})");
    anyhow::ensure!(
        EPHEMERAL_MB.contains(&a.ephemeral_mb),
        "--ephemeral-mb must be 512-10240 MB, Lambda's range (got {})",
        a.ephemeral_mb
    );
    let duration = a.duration_ms.context("--duration-ms is needed to price on-demand Lambda")?;
    for (flag, ms) in [("--duration-ms", duration), ("--init-ms", a.init_ms)] {
        anyhow::ensure!(!ms.is_sign_negative() || ms.is_zero(), "{flag} must not be negative (got {ms})");
        anyhow::ensure!(
            ms <= MAX_DURATION_MS,
            "{flag} must be at most 900000 ms, Lambda's 15-minute timeout (got {ms})"
        );
    }
    anyhow::ensure!(a.cold_starts <= a.invocations, "--cold-starts cannot exceed --invocations");
    Ok(())
}

/// Prices the month the arguments describe. Within Lambda's limits ([`check`]) a month of up
/// to `u64::MAX` invocations stays far inside Decimal's range; the products are checked all
/// the same.
pub(crate) fn estimate(a: &Args, pricing: &Pricing) -> anyhow::Result<Estimate> {
    check(a)?;
    let (memory, duration) = (a.memory.unwrap_or_default(), a.duration_ms.unwrap_or_default());
    let arch = Arch::from(a.arch);
    let warm_ms = billed(duration);
    let cold_ms = billed(duration + a.init_ms);
    let month = MonthOfInvocations {
        arch,
        memory_mb: memory,
        ephemeral_mb: a.ephemeral_mb,
        warm: a.invocations - a.cold_starts,
        cold: a.cold_starts,
        billed_ms_warm: warm_ms,
        billed_ms_cold: cold_ms,
    };
    let usage =
        pricing.lambda.usage_of(&month).ok_or_else(|| anyhow::anyhow!("the month is too large to price exactly"))?;
    let bill = pricing.lambda.monthly(&usage, a.free_tier);
    Ok(Estimate {
        region: pricing.region.clone(),
        arch,
        memory_mb: memory,
        invocations: a.invocations,
        cold_starts: a.cold_starts,
        billed_ms_warm: warm_ms,
        billed_ms_cold: cold_ms,
        ephemeral_mb: a.ephemeral_mb,
        free_tier: a.free_tier,
        request_price: pricing.lambda.request(),
        total_cents: bill.total_cents(),
        usd_per_invocation: (a.invocations > 0).then(|| bill.total_usd / Decimal::from(a.invocations)),
        usage,
        bill,
    })
}

/// Managed Instances for the month, beside on-demand Lambda when memory and duration are given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ManagedEstimate {
    pub region: String,
    pub invocations: u64,
    pub managed: ManagedBill,
    pub total_cents: Decimal,
    pub on_demand: Option<Estimate>,
    /// The least invocations a month at which Managed Instances cost less than on-demand.
    pub break_even_invocations: Option<u64>,
}

/// Prices the month on Managed Instances.
pub(crate) fn managed_estimate(a: &Args, pricing: &Pricing) -> anyhow::Result<ManagedEstimate> {
    let mi = &pricing.managed_instances;
    let instance_type = a.instance_type.clone().unwrap_or_else(|| mi.default_instance_type.clone());
    let instances = a.instances.unwrap_or(mi.default_instances);
    anyhow::ensure!(instances > 0, "--instances must be at least 1");
    let managed = mi.monthly(&instance_type, instances, Decimal::from(a.invocations)).map_err(anyhow::Error::msg)?;
    let on_demand = match (a.memory, a.duration_ms) {
        (Some(_), Some(_)) => Some(estimate(a, pricing)?),
        _ => None,
    };
    let break_even_invocations = on_demand.as_ref().and_then(|e| {
        // First duration tier, no free tier: the price of one more invocation.
        let warm = invocation_cost(&pricing.lambda.rates(), e.arch, e.billed_ms_warm, e.memory_mb).total_usd();
        mi.break_even_invocations(managed.fixed_usd, warm)
    });
    Ok(ManagedEstimate {
        region: pricing.region.clone(),
        invocations: a.invocations,
        total_cents: cents(managed.total_usd),
        managed,
        on_demand,
        break_even_invocations,
    })
}

fn render_managed(m: &ManagedEstimate) -> String {
    let b = &m.managed;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["item", "quantity", "unit price (USD)", "USD"]);
    t.add_row([
        format!("{} × {} ({} h)", b.instances, b.instance_type, b.hours),
        format!("{} instance-hours", b.instances * b.hours),
        n(b.hourly_usd),
        n(b.instances_usd),
    ]);
    t.add_row(["management fee".to_string(), String::new(), String::new(), n(b.management_fee_usd)]);
    t.add_row(["requests".to_string(), n(b.requests), String::new(), n(b.request_usd)]);
    t.add_row(["total".to_string(), String::new(), String::new(), format!("{} (≈ {})", n(b.total_usd), m.total_cents)]);
    for col in [1, 2, 3] {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = format!("What-if: {} invocations on Lambda Managed Instances — {}\n{t}", m.invocations, m.region);
    if let Some(e) = &m.on_demand {
        out.push_str(&format!("\nOn-demand Lambda for the same month: {} USD.", n(e.bill.total_usd)));
        match m.break_even_invocations {
            Some(k) => out.push_str(&format!(
                "\nFrom {k} invocations a month Managed Instances on {} × {} are cheaper than on-demand.",
                b.instances, b.instance_type
            )),
            None => out.push_str("\nManaged Instances are never cheaper than on-demand for these invocations."),
        }
    }
    out
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let pricing = Pricing::load(a.pricing.as_deref()).context("loading prices")?;
    if a.mode == Mode::ManagedInstances {
        let m = managed_estimate(&a, &pricing)?;
        match a.format {
            Format::Table => println!("{}", render_managed(&m)),
            Format::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let e = estimate(&a, &pricing)?;
    match a.format {
        Format::Table => println!("{}", render(&e)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&e)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn n(d: Decimal) -> String {
    d.normalize().to_string()
}

fn bound(d: Option<Decimal>) -> String {
    d.map_or_else(|| "∞".into(), n)
}

/// The estimate as a table.
pub(crate) fn render(e: &Estimate) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["item", "quantity", "unit price (USD)", "USD"]);
    let b = &e.bill;
    let free = if e.free_tier { format!(" ({} free)", n(b.free_requests_used)) } else { String::new() };
    t.add_row([format!("requests{free}"), n(b.billable_requests), n(e.request_price), n(b.request_usd)]);
    for tier in &b.tiers {
        t.add_row([
            format!("compute {} {}–{} GB-s", tier.arch.as_str(), n(tier.from_gb_seconds), bound(tier.up_to_gb_seconds)),
            format!("{} GB-s", n(tier.gb_seconds)),
            n(tier.gb_second),
            n(tier.usd),
        ]);
    }
    if e.free_tier {
        t.add_row([
            "free tier compute".to_string(),
            format!("{} GB-s", n(b.free_gb_seconds_used)),
            "0".into(),
            "0".into(),
        ]);
    }
    t.add_row([
        format!("ephemeral storage above 512 MB ({} MB)", e.ephemeral_mb),
        format!("{} GB-s", n(e.usage.ephemeral_gb_seconds)),
        if e.usage.ephemeral_gb_seconds.is_zero() {
            "-".into()
        } else {
            n(b.ephemeral_usd / e.usage.ephemeral_gb_seconds)
        },
        n(b.ephemeral_usd),
    ]);
    t.add_row([
        "total".to_string(),
        String::new(),
        String::new(),
        format!("{} (≈ {})", n(b.total_usd), cents(b.total_usd)),
    ]);
    for col in [1, 2, 3] {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let cold = if e.cold_starts > 0 {
        format!(", {} cold starts billed {} ms", e.cold_starts, e.billed_ms_cold)
    } else {
        String::new()
    };
    let per = e.usd_per_invocation.map_or_else(String::new, |p| format!("\nper invocation: {} USD", n(p.round_dp(12))));
    format!(
        "What-if: {} invocations × {} ms billed at {} MB ({}){cold}, free tier {} — {}\n{t}{per}",
        e.invocations,
        e.billed_ms_warm,
        e.memory_mb,
        e.arch.as_str(),
        if e.free_tier { "on" } else { "off" },
        e.region,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn args(memory: u32, ms: &str, n: u64) -> Args {
        Args {
            memory: Some(memory),
            duration_ms: Some(Decimal::from_str(ms).unwrap()),
            mode: Mode::OnDemand,
            instance_type: None,
            instances: None,
            invocations: n,
            arch: ArchArg::X86_64,
            free_tier: true,
            ephemeral_mb: 512,
            cold_starts: 0,
            init_ms: Decimal::ZERO,
            format: Format::Table,
            pricing: None,
        }
    }

    // https://aws.amazon.com/lambda/pricing/ — "Example 1: Mobile application backend".
    #[test]
    fn the_calculator_reproduces_the_mobile_backend_example() {
        let e = estimate(&args(1536, "120", 3_000_000), &Pricing::default()).unwrap();
        assert_eq!(e.total_cents, Decimal::from_str("2.73").unwrap());
        let text = render(&e);
        assert!(text.contains("2.733338"), "{text}");
    }

    #[test]
    fn cold_starts_bill_their_init_duration_on_top() {
        let mut a = args(1024, "10.2", 1_000);
        a.free_tier = false;
        a.cold_starts = 10;
        a.init_ms = Decimal::from_str("150.3").unwrap();
        let e = estimate(&a, &Pricing::default()).unwrap();
        assert_eq!((e.billed_ms_warm, e.billed_ms_cold), (11, 161));
        assert_eq!(e.usage.gb_seconds_x86_64, Decimal::from_str("12.5").unwrap());
    }

    #[test]
    fn more_cold_starts_than_invocations_is_refused() {
        let mut a = args(128, "1", 1);
        a.cold_starts = 2;
        assert!(estimate(&a, &Pricing::default()).is_err());
    }
}
