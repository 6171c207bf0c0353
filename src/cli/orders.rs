//! `orderflow orders`: the stored orders and rejected intake records, as a table or JSON.

use super::DataDir;
use crate::order::{Status, StoredOrder};
use crate::store::embedded::Embedded;
use crate::store::OrderStore;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataDir,
    /// Only records with this status (PENDING, ACCEPTED, REJECTED).
    #[arg(long, value_parser = parse_status)]
    status: Option<Status>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Read the DynamoDB table (ORDERFLOW_TABLE) instead of the embedded default.
    #[arg(long)]
    aws: bool,
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).ok_or_else(|| format!("unknown status {s:?}: expected PENDING, ACCEPTED or REJECTED"))
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let items = if a.aws {
        crate::wiring::aws(&crate::config::Config::from_env()).await.store.scan().await?
    } else {
        Embedded::open(&a.data.data_dir)?.store.scan().await?
    };
    let records = select(items, a.status);
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&records)?),
        Format::Table => println!("{}", table(&records)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Filters by status and sorts by key, so output is stable whichever store it came from.
pub(crate) fn select(mut records: Vec<StoredOrder>, status: Option<Status>) -> Vec<StoredOrder> {
    records.retain(|r| status.is_none_or(|s| r.status == s));
    records.sort_by_key(|r| (r.kind == crate::order::RecordKind::Rejection, r.key()));
    records
}

pub(crate) fn table(records: &[StoredOrder]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(160);
    t.set_header([
        "order / source id",
        "status",
        "customer",
        "currency",
        "subtotal",
        "discount",
        "tax",
        "total",
        "source",
        "reasons",
    ]);
    let money = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    for r in records {
        let id = match r.kind {
            crate::order::RecordKind::Order => r.order_id.clone().unwrap_or_default(),
            crate::order::RecordKind::Rejection => r.source_id.clone(),
        };
        t.add_row([
            id,
            r.status.to_string(),
            r.customer_id.clone().unwrap_or_default(),
            r.currency.clone().unwrap_or_default(),
            money(r.subtotal),
            money(r.discount),
            money(r.tax),
            money(r.total),
            r.source.as_str().to_string(),
            r.reasons.join("; "),
        ]);
    }
    t
}
