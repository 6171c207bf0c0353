//! Synthetic logs for benchmarks and the throughput measurement: what CloudWatch shows for
//! invocation `i` of a steady workload, as `aws logs tail` prints it — our EMF line (real format,
//! from the meter) followed by Lambda's REPORT line.

use super::usage::{Channel, FUNCTIONS};
use crate::metering::emf::emf_line;
use crate::metering::meter::{cost_of, Tally};
use crate::order::Outcome;
use crate::pricing::Arch;
use std::time::Duration;

/// The two lines of invocation `i` (no trailing newline on the second).
pub fn invocation(i: u64) -> String {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7;
    let (function, channel) = FUNCTIONS[(h % 3) as usize];
    let mut tally = Tally::default();
    for k in 0..(1 + h % 5) {
        let customer = format!("cust-{}", (h >> 8).wrapping_add(k * 7) % 500);
        *tally.customers.entry(customer).or_default() += 1;
        tally.counts.add(&Outcome::Accepted);
    }
    let cold = h.is_multiple_of(50);
    let micros = 2_000 + (h >> 16) % 40_000;
    let init = cold.then(|| Duration::from_micros(90_000 + (h >> 20) % 30_000));
    let arch = if channel == Channel::Stream { Arch::Arm64 } else { Arch::X86_64 };
    let request_id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i as u32,
        (h >> 3) as u16,
        h % 4096,
        (h >> 5) % 4096,
        h & 0xffff_ffff_ffff
    );
    let c =
        cost_of(request_id.clone(), function.to_string(), cold, 256, arch, Duration::from_micros(micros), init, tally);
    let ts = 1_795_651_200_000i64 + (i as i64) * 250;
    let stamp =
        chrono::DateTime::from_timestamp_millis(ts).expect("a valid time").format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    let stream = format!("2026/11/26/[$LATEST]{:016x}", h % 64);
    let init =
        init.map_or_else(String::new, |d| format!("\tInit Duration: {}.{:03} ms", d.as_millis(), d.as_micros() % 1000));
    let billed = c.billed_ms + h % 2;
    format!(
        "{stamp} {stream} {}\n{stamp} {stream} REPORT RequestId: {request_id}\tDuration: {}.{:03} ms\tBilled Duration: {billed} ms\tMemory Size: 256 MB\tMax Memory Used: 31 MB{init}\t",
        emf_line(&c, "Orderflow", ts),
        micros / 1000,
        micros % 1000
    )
}
