//! Property: however the invocations fall, the per-customer costs of the report sum exactly to
//! the per-function total — with our estimates, and after Lambda's REPORT lines replace them.

use orderflow::billing::report_of_lines;
use orderflow::metering::emf::emf_line;
use orderflow::metering::{meter::cost_of, Arch, Tally};
use orderflow::pricing::Pricing;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Inv {
    micros: u64,
    init_micros: Option<u64>,
    memory: u32,
    arm: bool,
    customers: Vec<(u8, u8)>,
    lambda_billed: Option<(u64, bool)>,
}

fn inv() -> impl Strategy<Value = Inv> {
    (
        1u64..5_000_000,
        proptest::option::of(1u64..2_000_000),
        prop::sample::select(vec![128u32, 256, 512, 1536, 3008, 10_240]),
        any::<bool>(),
        prop::collection::vec((0u8..6, 0u8..20), 0..5),
        proptest::option::of((1u64..10_000, any::<bool>())),
    )
        .prop_map(|(micros, init_micros, memory, arm, customers, lambda_billed)| Inv {
            micros,
            init_micros,
            memory,
            arm,
            customers,
            lambda_billed,
        })
}

fn lines(invs: &[Inv], function: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, v) in invs.iter().enumerate() {
        let mut tally = Tally::default();
        for (c, n) in &v.customers {
            *tally.customers.entry(format!("c{c}")).or_default() += u64::from(*n);
            tally.counts.records += u64::from(*n);
            tally.counts.accepted += u64::from(*n);
        }
        let arch = if v.arm { Arch::Arm64 } else { Arch::X86_64 };
        let id = format!("req-{i}");
        let c = cost_of(
            id.clone(),
            function.into(),
            v.init_micros.is_some(),
            v.memory,
            arch,
            Duration::from_micros(v.micros),
            v.init_micros.map(Duration::from_micros),
            tally,
        );
        let emf = emf_line(&c, "Orderflow", 1_795_651_200_000 + i as i64 * 1000);
        match v.lambda_billed {
            Some((billed, before)) => {
                let report = format!("REPORT RequestId: {id}\tDuration: 1.0 ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: 10 MB", v.memory);
                if before {
                    out.push(report);
                    out.push(emf);
                } else {
                    out.push(emf);
                    out.push(report);
                }
            }
            None => out.push(emf),
        }
    }
    out
}

proptest! {
    #[test]
    fn the_sum_of_per_customer_costs_equals_the_per_function_total_exactly(invs in prop::collection::vec(inv(), 1..40)) {
        let lines = lines(&invs, "orderflow-sqs");
        let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
        prop_assert_eq!(r.functions.len(), 1);
        let customers: Decimal = r.customers.iter().map(|c| c.total_usd).sum();
        prop_assert_eq!(customers, r.functions[0].total_usd);
        let lambda: Decimal = r.customers.iter().map(|c| c.lambda_usd).sum();
        prop_assert_eq!(lambda, r.functions[0].compute_usd + r.functions[0].request_usd);
        let records: u64 = r.customers.iter().map(|c| c.records).sum();
        prop_assert_eq!(records, r.functions[0].records);
        prop_assert_eq!(r.reconciliation.matched, invs.iter().filter(|v| v.lambda_billed.is_some()).count() as u64);
    }
}
