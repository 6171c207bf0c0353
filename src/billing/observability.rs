//! The size of what every invocation writes to CloudWatch Logs besides our EMF line: Lambda's
//! own START, END and REPORT lines (what watching the functions costs is priced in
//! [`crate::pricing::observability`]).

/// The bytes Lambda's own lines add to an invocation's log, as Lambda writes them (each line
/// ends in a newline): `START RequestId: ID Version: $LATEST`, `END RequestId: ID`, and `REPORT
/// RequestId: ID` with Duration (2 decimals), Billed Duration, Memory Size, Max Memory Used and,
/// on a cold start, Init Duration, each followed by a tab. What the meter cannot know exactly
/// (Lambda's own duration, the memory used) is taken at `billed_ms - 1`.xx ms and two digits of
/// MB, and Init Duration at three digits: within a few bytes of the real line.
pub(crate) fn platform_line_bytes(request_id: &str, billed_ms: u64, memory_mb: u32, cold_start: bool) -> u64 {
    let id = request_id.len() as u64;
    let digits = |n: u64| n.checked_ilog10().map_or(1, |d| u64::from(d) + 1);
    let start = "START RequestId: ".len() as u64 + id + " Version: $LATEST\n".len() as u64;
    let end = "END RequestId: ".len() as u64 + id + 1;
    let duration = digits(billed_ms.saturating_sub(1)) + 3;
    let report = "REPORT RequestId: ".len() as u64
        + id
        + "\tDuration: ".len() as u64
        + duration
        + " ms\tBilled Duration: ".len() as u64
        + digits(billed_ms)
        + " ms\tMemory Size: ".len() as u64
        + digits(u64::from(memory_mb))
        + " MB\tMax Memory Used: ".len() as u64
        + 2
        + " MB\t".len() as u64
        + if cold_start { "Init Duration: 123.45 ms\t".len() as u64 } else { 0 }
        + 1;
    start + end + report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_lines_of_an_invocation_are_counted_at_their_real_size() {
        let id = "8f5c3a2e-6b7d-4e1f-9a0b-1c2d3e4f5a6b";
        let lines = format!(
            "START RequestId: {id} Version: $LATEST\nEND RequestId: {id}\nREPORT RequestId: {id}\tDuration: 11.52 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\t\n"
        );
        assert_eq!(platform_line_bytes(id, 12, 128, false), lines.len() as u64);
        let cold = lines.replace("21 MB\t\n", "21 MB\tInit Duration: 180.40 ms\t\n");
        assert_eq!(platform_line_bytes(id, 12, 128, true), cold.len() as u64);
    }
}
