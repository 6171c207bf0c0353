//! `orderflow report --html FILE` and `--svg FILE`: one self-contained page, checked as text and
//! in a real headless Chromium (scripts/browser_check.py over chromedriver), and the demo writing
//! it too.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_orderflow");
const LOGS: [&str; 2] = ["tests/fixtures/cloudwatch-tail.log", "tests/fixtures/lambda-json-format.log"];

fn write_page(dir: &Path) -> (String, String) {
    let html = dir.join("report.html");
    let json = dir.join("report.json");
    let mut args = vec!["report", "--window-days", "1", "--server-monthly-usd", "50", "--instances", "2"];
    args.extend(LOGS);
    let out = Command::new(BIN).args(&args).args(["--html", html.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(BIN).args(&args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success());
    std::fs::write(&json, out.stdout).unwrap();
    (html.to_str().unwrap().to_string(), json.to_str().unwrap().to_string())
}

#[test]
fn the_page_is_self_contained_with_readable_amounts_and_four_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (html, _) = write_page(dir.path());
    let page = std::fs::read_to_string(html).unwrap();
    for outside in ["<script", "src=", "href=", "url(", "@import", "https://"] {
        assert!(!page.contains(outside), "the page reaches outside: {outside}");
    }
    // The only URL is SVG's namespace name, which no browser fetches.
    assert_eq!(page.matches("http://").count(), page.matches("http://www.w3.org/2000/svg").count());
    assert_eq!(page.matches(r#"<svg class="chart""#).count(), 4);
    assert!(page.contains("$0.0000"), "small amounts in fixed point");
    let scientific = regex_free_scientific(&page);
    assert!(scientific.is_none(), "scientific notation: {scientific:?}");
    assert!(page.contains("orders/day Managed Instances on 2 × m7g.large is cheaper than on-demand Lambda."));
}

/// The first `<digit>e-<digit>` or `<digit>E+<digit>` in `s`.
fn regex_free_scientific(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(2)).find_map(|i| {
        let hit = b[i - 1].is_ascii_digit()
            && matches!(b[i], b'e' | b'E')
            && matches!(b[i + 1], b'-' | b'+')
            && b[i + 2].is_ascii_digit();
        hit.then(|| s[i.saturating_sub(10)..(i + 10).min(s.len())].to_string())
    })
}

#[test]
fn the_page_loads_in_headless_chromium_without_errors_or_requests_and_shows_the_json_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (html, json) = write_page(dir.path());
    let found =
        |name: &str| Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap().status.success();
    assert!(
        found("chromium") && found("chromedriver"),
        "this test needs Debian's chromium and chromium-driver (scripts/test.sh installs them)"
    );
    let out = Command::new("python3").args(["scripts/browser_check.py", &html, &json]).output().unwrap();
    assert!(
        out.status.success(),
        "browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(probe["resources"], 0);
    assert!(probe["charts"].as_array().unwrap().iter().all(|c| c["drawn"].as_u64().unwrap() > 0), "{probe}");
}

#[test]
fn the_svg_chart_has_stacked_parts_and_money_axes() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("cost.svg");
    let out = Command::new(BIN).args(["report", LOGS[0], "--svg", svg.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let chart = std::fs::read_to_string(svg).unwrap();
    assert!(chart.starts_with("<svg"));
    // One function with 4 parts, two customers and the unattributed with 3 parts each.
    assert_eq!(chart.matches(r#"class="mark""#).count(), 4 + 3 * 3);
    assert!(chart.contains(">$0.00002<") || chart.contains(">$0.00001<"), "money ticks: {chart}");
    assert!(regex_free_scientific(&chart).is_none());
}

#[test]
fn the_demo_writes_the_page_and_prints_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--data-dir", dir.path().to_str().unwrap()])
        .env("ORDERFLOW_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let page = dir.path().join("report.html");
    assert!(text.contains(&format!("The report as a page (self-contained HTML): {}", page.display())), "{text}");
    assert!(std::fs::read_to_string(page).unwrap().contains("Cost by customer (USD)"));
}
