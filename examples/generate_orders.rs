//! Writes benchmark inputs: an SQS event of N order messages, or a JSON Lines file of N orders,
//! each order with 3 line items (the shapes the real-store benchmark script feeds `orderflow`).
//!
//!   cargo run --release --example generate_orders -- sqs-event 10000 /tmp/sqs-10k.json
//!   cargo run --release --example generate_orders -- jsonl 1000000 /tmp/orders-1m.jsonl
//!   cargo run --release --example generate_orders -- s3-event BUCKET KEY /tmp/s3-event.json

use std::io::Write;

fn order(i: usize) -> String {
    format!(
        r#"{{"order_id":"ord-{i}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}},{{"sku":"SKU-2","quantity":1,"unit_price":5.25}},{{"sku":"SKU-3","quantity":4,"unit_price":"0.99"}}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}}"#,
        i % 100
    )
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: generate_orders sqs-event N FILE | jsonl N FILE | s3-event BUCKET KEY FILE";
    let [kind, a, b, rest @ ..] = args.as_slice() else { anyhow::bail!(usage) };
    match kind.as_str() {
        "sqs-event" => {
            let n: usize = a.parse()?;
            let records: Vec<serde_json::Value> = (0..n)
                .map(|i| {
                    serde_json::json!({
                        "messageId": format!("00000000-0000-4000-8000-{i:012}"),
                        "receiptHandle": format!("rh-{i}"),
                        "body": order(i),
                        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795687200000",
                                       "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": "1795687200000"},
                        "messageAttributes": {},
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:orderflow-orders",
                        "awsRegion": "us-east-1",
                    })
                })
                .collect();
            std::fs::write(b, serde_json::to_vec(&serde_json::json!({ "Records": records }))?)?;
        }
        "jsonl" => {
            let n: usize = a.parse()?;
            let mut f = std::io::BufWriter::new(std::fs::File::create(b)?);
            for i in 0..n {
                writeln!(f, "{}", order(i))?;
            }
            f.flush()?;
        }
        "s3-event" => {
            let file = rest.first().ok_or_else(|| anyhow::anyhow!(usage))?;
            let key: String = b.replace(' ', "+");
            let event = serde_json::json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T10:00:00.000Z", "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": a, "arn": format!("arn:aws:s3:::{a}")},
                       "object": {"key": key}}
            }]});
            std::fs::write(file, serde_json::to_vec(&event)?)?;
        }
        _ => anyhow::bail!(usage),
    }
    Ok(())
}
