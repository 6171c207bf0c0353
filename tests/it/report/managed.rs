//! Lambda Managed Instances: `orderflow cost --mode managed-instances` and the report's
//! projection side by side with on-demand Lambda and a fixed server.

use rust_decimal::Decimal;
use serde_json::Value;
use std::process::Command;
use std::str::FromStr;

const BIN: &str = env!("CARGO_BIN_EXE_orderflow");
const TAIL: &str = "tests/fixtures/cloudwatch-tail.log";

fn orderflow(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).env("ORDERFLOW_LOG", "error").output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string"))).unwrap()
}

// Published rates (https://aws.amazon.com/lambda/pricing/, Lambda Managed Instances: 15% of the
// EC2 on-demand price as the management fee, $0.20 per million requests; m7g.large $0.0816/h
// on-demand in us-east-1, https://aws.amazon.com/ec2/pricing/on-demand/): 2 instances for 720 h
// = $117.504, fee $17.6256, 10M requests $2 = $137.1296.
#[test]
fn the_cost_calculator_prices_a_month_on_managed_instances_and_says_where_it_beats_on_demand() {
    let (code, out, err) = orderflow(&[
        "cost",
        "--mode",
        "managed-instances",
        "--instance-type",
        "m7g.large",
        "--instances",
        "2",
        "--invocations",
        "10000000",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dec(&v["managed"]["instances_usd"]), Decimal::from_str("117.504").unwrap());
    assert_eq!(dec(&v["managed"]["management_fee_usd"]), Decimal::from_str("17.6256").unwrap());
    assert_eq!(dec(&v["managed"]["total_usd"]), Decimal::from_str("137.1296").unwrap());
    assert_eq!(dec(&v["total_cents"]), Decimal::from_str("137.13").unwrap());
    assert!(v["on_demand"].is_null());

    // With memory and duration: on-demand beside it, and the invocations where they cross.
    // 1024 MB × 200 ms: $0.0000033333 compute + $0.0000002 request per invocation on demand,
    // $0.0000002 on Managed Instances; 0.2 GB-s × $0.0000166667 = $0.00000333334 more per
    // invocation on demand: $135.1296 fixed / $0.00000333334 = 40,538,798.92...
    let (code, out, err) = orderflow(&[
        "cost",
        "--mode",
        "managed-instances",
        "--instance-type",
        "m7g.large",
        "--instances",
        "2",
        "--invocations",
        "10000000",
        "--memory",
        "1024",
        "--duration-ms",
        "200",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("From 40538799 invocations a month Managed Instances on 2 × m7g.large are cheaper"), "{out}");
    let (code, _, err) =
        orderflow(&["cost", "--mode", "managed-instances", "--instance-type", "t2.nano", "--invocations", "1"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown instance type \"t2.nano\"") && err.contains("m7g.large"), "{err}");
}

#[test]
fn the_projection_shows_on_demand_managed_instances_and_the_server_side_by_side() {
    let args = ["report", TAIL, "--window-days", "1", "--server-monthly-usd", "50", "--instances", "2"];
    let (code, out, err) = orderflow(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Side by side at"), "{out}");
    assert!(out.contains("Managed Instances (2 × m7g.large"), "{out}");
    assert!(out.contains("orders/day Managed Instances on 2 × m7g.large is cheaper than on-demand Lambda."), "{out}");
    assert!(
        out.contains(
            "A fixed server of 50 USD/month is cheaper than Managed Instances on 2 × m7g.large at every volume."
        ),
        "{out}"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&orderflow(&json_args).1).unwrap();
    let a = &v["alternatives"];
    assert_eq!(dec(&a["managed"]["fixed_usd"]), Decimal::from_str("135.1296").unwrap());
    assert!(a["managed_cheaper_than_on_demand_above"].as_u64().unwrap() > 0);
    let (code, _, err) = orderflow(&["report", TAIL, "--instance-type", "z9.huge"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("z9.huge"), "{err}");
}
