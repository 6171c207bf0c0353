//! Writes a large synthetic log (our EMF lines and Lambda's REPORT lines, as `aws logs tail`
//! prints them) for measuring `orderflow report`:
//!
//!   cargo run --release --example generate_logs -- /tmp/orderflow-1g.log 1073741824
//!   /usr/bin/time -v target/release/orderflow report /tmp/orderflow-1g.log --by function > /dev/null

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().cloned().unwrap_or_else(|| "/tmp/orderflow-1g.log".into());
    let bytes: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(1 << 30);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let (mut written, mut i) = (0u64, 0u64);
    while written < bytes {
        let line = orderflow::billing::synthetic::invocation(i);
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += line.len() as u64 + 1;
        i += 1;
    }
    out.flush()?;
    eprintln!("wrote {written} bytes, {i} invocations, to {path}");
    Ok(())
}
