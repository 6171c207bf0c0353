//! The cost report over generated log lines (`aws logs tail` text: our EMF line and Lambda's
//! REPORT line per invocation), in bytes per second.
//!
//! Throughput and peak memory of the real command over a 1 GB file (release build):
//! ```text
//! cargo build --release
//! cargo run --release --example generate_logs -- /tmp/orderflow-1g.log 1073741824
//! /usr/bin/time -v target/release/orderflow report /tmp/orderflow-1g.log --by function > /dev/null
//! ```
//! MB/s = 1073.7 / "Elapsed (wall clock)" seconds; peak RSS = "Maximum resident set size".

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orderflow::billing::{synthetic, Aggregator};
use orderflow::pricing::Pricing;

fn report(c: &mut Criterion) {
    let text: String = (0..20_000).map(|i| synthetic::invocation(i) + "\n").collect();
    let mut g = c.benchmark_group("report");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("20k invocations (EMF + REPORT lines)", |b| {
        b.iter(|| {
            let mut a = Aggregator::new(Pricing::default());
            a.read(text.as_bytes()).expect("reading from memory");
            a.finish()
        })
    });
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
