use super::*;
use crate::pricing::gb_seconds;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn emf(id: &str, function: &str, billed_ms: u64, ts: i64, customers: &[(&str, u64)]) -> String {
    let cost = pricing::LambdaPricing::default().invocation_usd(Arch::X86_64, billed_ms, 128);
    let weights: Vec<(String, u64)> = customers.iter().map(|(c, n)| (c.to_string(), *n)).collect();
    let parts = split_by_weight(cost, &weights);
    let cs: Vec<String> = parts
        .iter()
        .zip(customers)
        .map(|((c, p), (_, n))| format!(r#""{c}":{{"records":{n},"cost_usd":"{p}"}}"#))
        .collect();
    let records: u64 = customers.iter().map(|(_, n)| n).sum();
    format!(
        r#"{{"_aws":{{"Timestamp":{ts}}},"FunctionName":"{function}","Records":{records},"Accepted":{records},"Duplicates":0,"Rejected":0,"Retried":0,"request_id":"{id}","cold_start":false,"memory_mb":128,"arch":"x86_64","billed_ms":{billed_ms},"cost_usd":"{cost}","ignored":0,"customers":{{{}}}}}"#,
        cs.join(",")
    )
}

fn report_line(id: &str, billed_ms: u64, init: bool) -> String {
    let init = if init { "\tInit Duration: 80.12 ms" } else { "" };
    format!("REPORT RequestId: {id}\tDuration: {}.5 ms\tBilled Duration: {billed_ms} ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB{init}\t", billed_ms - 1)
}

fn assert_exact(r: &CostReport) {
    assert_eq!(r.attributed_usd, r.total.total_usd, "customers must sum to the total exactly");
    let functions: Decimal = r.functions.iter().map(|f| f.total_usd).sum();
    assert_eq!(functions, r.total.total_usd);
    let days: Decimal = r.days.iter().map(|d| d.total_usd).sum();
    assert_eq!(days, r.total.total_usd);
}

#[test]
fn lambdas_report_line_replaces_our_billed_duration_and_the_customers_still_sum_exactly() {
    let lines = [
        emf("a", "orderflow-sqs", 10, 1_000, &[("c1", 2), ("c2", 1)]),
        report_line("a", 13, true),
        report_line("b", 7, false),
        emf("b", "orderflow-sqs", 9, 2_000, &[("c1", 1), ("c3", 3)]),
    ];
    let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
    assert_eq!(r.reconciliation.matched, 2);
    assert_eq!(r.reconciliation.our_billed_ms, 19);
    assert_eq!(r.reconciliation.lambda_billed_ms, 20);
    assert_eq!(r.reconciliation.max_abs_diff_ms, 3);
    assert_eq!(r.reconciliation.error_percent(), Some(d("-5.00")));
    let f = &r.functions[0];
    assert_eq!(f.billed_ms, 20);
    assert_eq!(f.cold_starts, 1);
    assert_eq!(f.compute_usd, gb_seconds(20, 128) * pricing::X86_64_GB_SECOND);
    assert_eq!(r.customers.iter().map(|c| c.records).sum::<u64>(), 7);
    assert_exact(&r);
}

#[test]
fn report_lines_without_emf_are_attributed_to_their_streams_function_or_to_nobody() {
    let lines = [
        format!("2026-11-26T10:00:00.000Z s1 {}", emf("a", "orderflow-s3", 10, 1_795_687_200_000, &[("c1", 1)])),
        format!("2026-11-26T10:00:01.000Z s1 {}", report_line("x", 5, false)),
        format!("2026-11-26T10:00:02.000Z s9 {}", report_line("y", 5, false)),
    ];
    let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
    assert_eq!(r.reconciliation.report_only, 2);
    assert_eq!(r.reconciliation.emf_only, 1);
    let names: Vec<_> = r.functions.iter().map(|f| (f.function.as_str(), f.invocations)).collect();
    assert_eq!(names, vec![(UNKNOWN_FUNCTION, 1), ("orderflow-s3", 2)]);
    assert!(r.customers.iter().any(|c| c.customer == UNATTRIBUTED));
    assert_exact(&r);
}

#[test]
fn an_emf_cost_at_other_prices_is_repriced_and_split_again_exactly() {
    let mut p = Pricing::default();
    p.lambda.x86_64[0].gb_second = d("0.0000200000");
    let lines = [emf("a", "orderflow-sqs", 100, 0, &[("c1", 1), ("c2", 1), ("c3", 1)])];
    let r = report_of_lines(p, lines.iter().map(String::as_str));
    assert_eq!(r.total.compute_usd, gb_seconds(100, 128) * d("0.00002"));
    assert_exact(&r);
}

#[test]
fn the_pending_window_gives_up_on_old_request_ids_without_losing_cost() {
    let mut a = Aggregator::with_pending_limit(Pricing::default(), 2);
    for i in 0..10 {
        a.feed(&emf(&format!("e{i}"), "orderflow-sqs", 10, i, &[("c", 1)]));
        a.feed(&report_line(&format!("r{i}"), 10, false));
    }
    a.feed(&report_line("e9", 12, false));
    let r = a.finish();
    assert_eq!(r.reconciliation.matched, 1);
    assert_eq!(r.reconciliation.report_only, 10);
    assert_eq!(r.reconciliation.emf_only, 9);
    assert_eq!(r.total.invocations, 20);
    assert_exact(&r);
}

#[test]
fn a_line_longer_than_the_limit_is_skipped_as_malformed_and_reading_goes_on() {
    let mut text = "x".repeat(MAX_LINE_BYTES + 10);
    text.push('\n');
    text.push_str(&emf("a", "orderflow-sqs", 10, 0, &[("c", 1)]));
    text.push('\n');
    text.push_str("no newline at the end");
    let mut a = Aggregator::new(Pricing::default());
    a.read(std::io::BufReader::with_capacity(4096, text.as_bytes())).unwrap();
    let r = a.finish();
    assert_eq!(r.lines.total, 3);
    assert_eq!(r.lines.malformed, 1);
    assert_eq!(r.lines.emf, 1);
    assert_eq!(r.lines.other, 1);
}

/// Reading ahead on worker threads gives the same report as reading line by line through a
/// buffered reader, whatever the block size: long lines, blank lines, CRLF, invalid UTF-8,
/// escaped strings, no newline at the end.
#[test]
fn reading_in_parallel_gives_exactly_the_report_of_reading_in_order() {
    let mut text: Vec<u8> = Vec::new();
    for i in 0..300u64 {
        text.extend_from_slice(crate::billing::synthetic::invocation(i).as_bytes());
        text.push(b'\n');
        match i % 37 {
            0 => text.extend_from_slice(b"\n"),
            1 => text.extend_from_slice(b"\xff\xfe not utf-8\n"),
            2 => {
                text.extend_from_slice(&vec![b'y'; MAX_LINE_BYTES + 1 + (i as usize % 3)]);
                text.push(b'\n');
            }
            3 => {
                text.extend_from_slice(&vec![b'z'; MAX_LINE_BYTES]);
                text.push(b'\n');
            }
            4 => {
                let e = emf(&format!("esc{i}"), "orderflow-\\u0073qs", 10, 5, &[("c\\\"1", 2)]);
                text.extend_from_slice(e.as_bytes());
                text.extend_from_slice(b"\r\n");
            }
            5 => text.extend_from_slice(b"{\"_aws\":{} truncated\n"),
            _ => {}
        }
    }
    for tail in [&b""[..], b"no newline at the end", &[b'q'; MAX_LINE_BYTES + 5]] {
        let mut t = text.clone();
        t.extend_from_slice(tail);
        let mut a = Aggregator::new(Pricing::default());
        a.read(std::io::BufReader::with_capacity(1 << 18, t.as_slice())).unwrap();
        let expected = a.finish();
        assert!(expected.lines.malformed >= 8);
        for (workers, block) in [(1, 7), (2, 100), (3, 4096), (2, 1 << 20)] {
            let mut a = Aggregator::new(Pricing::default());
            a.read_parallel(t.as_slice(), workers, block).unwrap();
            assert_eq!(a.finish(), expected, "{workers} workers, blocks of {block}");
        }
    }
}

#[test]
fn the_projection_carries_the_observed_rate_to_30_days_and_finds_the_break_even() {
    // One invocation with one order per hour for a day.
    let lines: Vec<String> =
        (0..=24).map(|h| emf(&format!("r{h}"), "orderflow-sqs", 100, h * 3_600_000, &[("c", 1)])).collect();
    let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
    let p = r.project(&Pricing::default(), None, false, Some(d("5"))).unwrap();
    assert_eq!(p.window_days, Decimal::ONE);
    assert_eq!(p.orders_per_day, d("25"));
    assert_eq!(p.usage.requests, d("750"));
    let be = p.break_even.unwrap().orders_per_day.unwrap();
    assert!(r.monthly_at(&Pricing::default(), false, Decimal::from(be)).unwrap() > d("5"));
    assert!(r.monthly_at(&Pricing::default(), false, Decimal::from(be - 1)).unwrap() <= d("5"));
    let free = r.project(&Pricing::default(), None, true, None).unwrap();
    assert_eq!(free.lambda.total_usd, Decimal::ZERO);
}
