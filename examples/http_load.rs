//! A small load generator for `orderflow serve` (or any `POST /orders` endpoint): `connections`
//! keep-alive connections post distinct orders for `seconds`, then print requests/s, latency
//! percentiles and the statuses seen.
//!
//!   cargo run --release --example http_load -- http://127.0.0.1:3000/orders 64 10
//!
//! Each connection is one task with its own client holding one connection, so exactly
//! `connections` requests are in flight at any time.

use std::time::{Duration, Instant};

fn order(worker: usize, n: usize) -> String {
    format!(
        r#"{{"order_id":"load-{worker}-{n}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}},{{"sku":"SKU-2","quantity":1,"unit_price":"5.25"}}],"discount_percent":"10","tax_rate":"0.0825"}}"#,
        n % 100
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:3000/orders".into());
    let connections: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let run_for = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..connections {
        let url = url.clone();
        workers.spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("a client");
            let (mut latencies, mut statuses) = (Vec::new(), std::collections::BTreeMap::<u16, u64>::new());
            let mut n = 0;
            while started.elapsed() < run_for {
                n += 1;
                let sent = Instant::now();
                let status =
                    match client.post(&url).header("content-type", "application/json").body(order(w, n)).send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                latencies.push(sent.elapsed());
                *statuses.entry(status).or_default() += 1;
            }
            (latencies, statuses)
        });
    }
    let (mut latencies, mut statuses) = (Vec::new(), std::collections::BTreeMap::<u16, u64>::new());
    while let Some(done) = workers.join_next().await {
        let (l, s) = done.expect("a worker");
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} requests in {elapsed:.2} s over {connections} connections: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; statuses {statuses:?} (0 = connection error)",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap()),
    );
}
