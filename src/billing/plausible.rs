//! What a log line may claim before `orderflow report` adds it up. Logs are untrusted text: a
//! line saying an invocation billed `i64::MAX` ms would wrap a `u64` total (or, summed in
//! Decimal, drown every real figure). Each bound below is a limit of Lambda itself, with
//! slack; a line beyond one is counted as implausible, named in a warning, and left out of
//! the totals. With every line bounded, the totals cannot overflow for fewer than
//! [`MAX_FOLDED_LINES`] lines, and the report refuses lines beyond that count.

use super::logparse::{BilledInvocation, EmfRecord};
use rust_decimal::Decimal;

/// Lambda's longest timeout (15 minutes) plus the longest init phase it bills (10 s), with a
/// minute of slack.
pub(crate) const MAX_BILLED_MS: u64 = 900_000 + 10_000 + 60_000;
/// Lambda's memory sizes: 128 MB to 10,240 MB.
pub(crate) const MIN_MEMORY_MB: u32 = 128;
pub(crate) const MAX_MEMORY_MB: u32 = 10_240;
/// Records one invocation may handle: far above what 15 minutes of importing can reach.
pub(crate) const MAX_RECORDS: u64 = 1_000_000_000;
/// Lines folded into one report. Each adds at most [`MAX_RECORDS`] (the largest per-line
/// count) to any `u64` total, so 10^10 lines stay below `u64::MAX` (1.8 × 10^19).
pub(crate) const MAX_FOLDED_LINES: u64 = 10_000_000_000;

/// Why an EMF line cannot be true, if it cannot.
pub(crate) fn emf_problem(e: &EmfRecord<'_>) -> Option<&'static str> {
    if e.billed_ms > MAX_BILLED_MS {
        return Some("billed duration above Lambda's 15-minute limit");
    }
    if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&e.memory_mb) {
        return Some("memory size outside Lambda's 128-10240 MB");
    }
    if e.counts.records > MAX_RECORDS {
        return Some("more records than one invocation can handle");
    }
    let outcomes = [e.counts.accepted, e.counts.duplicates, e.counts.rejected, e.counts.retried, e.counts.ignored];
    if outcomes.iter().try_fold(0u64, |a, n| a.checked_add(*n)).is_none_or(|sum| sum > e.counts.records) {
        return Some("outcome counts add up to more than the records");
    }
    if e.customers.iter().try_fold(0u64, |a, c| a.checked_add(c.records)).is_none_or(|sum| sum > e.counts.records) {
        return Some("customer records add up to more than the records");
    }
    if e.cost_usd.is_sign_negative() || e.customers.iter().any(|c| c.cost_usd.is_sign_negative()) {
        return Some("a negative cost");
    }
    None
}

/// Why a REPORT line cannot be true, if it cannot.
pub(crate) fn report_problem(r: &BilledInvocation<'_>) -> Option<&'static str> {
    if r.billed_ms > MAX_BILLED_MS {
        return Some("billed duration above Lambda's 15-minute limit");
    }
    if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&r.memory_mb) {
        return Some("memory size outside Lambda's 128-10240 MB");
    }
    None
}

/// Whether the customer parts an EMF line carries can stand for `total`: none negative and
/// summing to it exactly (else the report splits `total` itself).
pub(crate) fn parts_sum_to(parts: impl Iterator<Item = Decimal>, total: Decimal) -> bool {
    let mut sum = Decimal::ZERO;
    for p in parts {
        if p.is_sign_negative() {
            return false;
        }
        match sum.checked_add(p) {
            Some(s) => sum = s,
            None => return false,
        }
    }
    sum == total
}

#[cfg(test)]
mod tests {
    use crate::billing::report_of_lines;
    use crate::pricing::Pricing;
    use rust_decimal::Decimal;

    fn emf(id: &str, billed_ms: &str, memory_mb: u32, ts: &str) -> String {
        format!(
            r#"{{"_aws":{{"Timestamp":{ts}}},"FunctionName":"orderflow-sqs","Records":1,"Accepted":1,"Duplicates":0,"Rejected":0,"Retried":0,"request_id":"{id}","cold_start":false,"memory_mb":{memory_mb},"arch":"x86_64","billed_ms":{billed_ms},"cost_usd":"0.0000002","ignored":0,"customers":{{"c":{{"records":1,"cost_usd":"0.0000002"}}}}}}"#
        )
    }

    #[test]
    fn four_lines_billing_i64_max_ms_are_left_out_as_implausible_instead_of_wrapping_the_total() {
        let max = i64::MAX.to_string();
        let lines: Vec<String> = (0..4).map(|i| emf(&format!("r{i}"), &max, 128, "0")).collect();
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        assert_eq!(r.lines.emf, 4);
        assert_eq!(r.lines.implausible, 4);
        assert_eq!(r.lines.implausible_reasons.values().sum::<u64>(), 4);
        assert_eq!(r.total.billed_ms, 0);
        assert_eq!(r.total.total_usd, Decimal::ZERO);
    }

    #[test]
    fn a_line_at_lambdas_limits_is_counted_and_one_past_them_is_not() {
        let lines = [
            emf("a", &super::MAX_BILLED_MS.to_string(), 10_240, "0"),
            emf("b", &(super::MAX_BILLED_MS + 1).to_string(), 128, "0"),
            emf("c", "10", 64, "0"),
            emf("d", "10", 10_241, "0"),
        ];
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        assert_eq!(r.lines.implausible, 3);
        assert_eq!(r.total.invocations, 1);
        assert_eq!(r.total.billed_ms, super::MAX_BILLED_MS);
    }

    #[test]
    fn counts_that_add_up_to_more_than_the_records_are_implausible() {
        let line = emf("a", "10", 128, "0").replace(r#""Duplicates":0"#, r#""Duplicates":18446744073709551615"#);
        let r = report_of_lines(Pricing::default(), [line.as_str()]);
        assert_eq!(r.lines.implausible, 1);
        let line = emf("a", "10", 128, "0").replace(r#""records":1,"#, r#""records":2,"#);
        let r = report_of_lines(Pricing::default(), [line.as_str()]);
        assert_eq!(r.lines.implausible, 1);
    }

    #[test]
    fn customer_parts_that_do_not_sum_to_the_cost_are_split_again_so_the_customers_still_sum_exactly() {
        let line = emf("a", "10", 128, "0")
            .replace(r#""cost_usd":"0.0000002","ignored""#, r#""cost_usd":"0.0000022","ignored""#)
            .replace(r#""Records":1,"Accepted":1"#, r#""Records":2,"Accepted":2"#)
            .replace(
                r#""customers":{"c":{"records":1,"cost_usd":"0.0000002"}}"#,
                r#""customers":{"c":{"records":1,"cost_usd":"5"},"d":{"records":1,"cost_usd":"-4.9999978"}}"#,
            );
        let r = report_of_lines(Pricing::default(), [line.as_str()]);
        assert_eq!(r.lines.implausible, 1, "a negative part is implausible");
        let line = line.replace(r#""cost_usd":"-4.9999978""#, r#""cost_usd":"0""#);
        let r = report_of_lines(Pricing::default(), [line.as_str()]);
        assert_eq!(r.lines.implausible, 0);
        assert_eq!(r.attributed_usd, r.total.total_usd);
        assert!(r.customers.iter().all(|c| c.total_usd < Decimal::ONE));
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_project_without_overflowing() {
        let lines = [emf("a", "10", 128, &i64::MIN.to_string()), emf("b", "10", 128, &i64::MAX.to_string())];
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        assert!(r.observed_days().unwrap() > Decimal::from(200_000_000_000u64), "2^64 ms are 2.1e11 days");
        let p = r.project(&Pricing::default(), None, false, Some(Decimal::from(5))).unwrap();
        assert!(p.break_even.unwrap().orders_per_day.is_some());
    }

    #[test]
    fn a_break_even_beyond_what_decimal_can_price_is_found_without_a_panic() {
        let lines = [emf("a", &super::MAX_BILLED_MS.to_string(), 10_240, "0")];
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        let huge = Decimal::from_str_exact("1000000000000000000000000").unwrap();
        assert_eq!(r.break_even(&Pricing::default(), false, huge), None);
        assert!(r.monthly_at(&Pricing::default(), false, Decimal::from(1_000_000)).is_some());
        assert!(r.monthly_at(&Pricing::default(), false, huge).is_none());
    }

    #[test]
    fn a_window_under_a_minute_gives_no_projection() {
        let r = report_of_lines(Pricing::default(), [emf("a", "10", 128, "0").as_str()]);
        assert!(r.project(&Pricing::default(), Some(Decimal::new(1, 4)), false, None).is_none());
        assert!(r.project(&Pricing::default(), Some(Decimal::ONE), false, None).is_some());
    }
}
