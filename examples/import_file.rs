//! Imports one large order file through the S3 handler's import path — the real folder bucket
//! (a streaming file read) and a store double that keeps nothing — and prints the throughput.
//! For peak memory, run it under `/usr/bin/time -v`:
//!
//!   cargo run --release --example import_file -- --generate 1000000 /tmp/orders-1m.jsonl
//!   /usr/bin/time -v target/release/examples/import_file /tmp/orders-1m.jsonl

use orderflow::core::batch::DeadlineGuard;
use orderflow::ingest::{s3, Deps};
use orderflow::metering::{Metrics, Tally};
use orderflow::store::embedded::FolderBucket;
use orderflow::store::memory::{DiscardingStoreDouble, RecordingQueueDouble};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--generate") {
        let n: usize = args[1].parse()?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&args[2])?);
        for i in 0..n {
            writeln!(
                f,
                r#"{{"order_id":"ord-{i}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}},{{"sku":"SKU-2","quantity":1,"unit_price":5.25}}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}}"#,
                i % 100
            )?;
        }
        return Ok(());
    }
    let path = std::path::PathBuf::from(
        args.first().ok_or_else(|| anyhow::anyhow!("usage: import_file FILE.jsonl|FILE.csv[.gz]"))?,
    );
    let root = tempfile_root(&path)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let store = Arc::new(DiscardingStoreDouble::default());
    let deps = Deps::new(
        store.clone(),
        Arc::new(FolderBucket::new(root.0.clone())),
        Arc::new(RecordingQueueDouble::default()),
        Metrics::memory().0,
    );
    let size = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let report = rt.block_on(async {
        let mut tally = Tally::default();
        s3::import_object(
            &deps,
            "bench",
            &root.1,
            DeadlineGuard::from_remaining(Duration::from_secs(3600)),
            "bench",
            &mut tally,
        )
        .await
    })?;
    let secs = started.elapsed().as_secs_f64();
    let r = report.ok_or_else(|| anyhow::anyhow!("not imported"))?;
    if let Some(e) = &r.error {
        anyhow::bail!("the import failed: {e}");
    }
    println!(
        "{} bytes, {} lines, {} orders ({} accepted, {} rejected) in {:.3} s: {:.1} MB/s, {:.0} orders/s",
        size,
        r.lines,
        r.orders,
        r.accepted,
        r.rejected,
        secs,
        size as f64 / 1e6 / secs,
        r.orders as f64 / secs
    );
    std::fs::remove_dir_all(&root.0)?;
    Ok(())
}

/// A bucket folder holding the file under `incoming/`: a hard link (the bucket follows no
/// symlink), else a copy.
fn tempfile_root(path: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, String)> {
    let root = std::env::temp_dir().join(format!("orderflow-import-{}", std::process::id()));
    let name = path.file_name().ok_or_else(|| anyhow::anyhow!("no file name"))?.to_string_lossy().into_owned();
    std::fs::create_dir_all(root.join("bench/incoming"))?;
    let dest = root.join("bench/incoming").join(&name);
    std::fs::hard_link(path, &dest).or_else(|_| std::fs::copy(path, &dest).map(|_| ()))?;
    Ok((root, format!("incoming/{name}")))
}
