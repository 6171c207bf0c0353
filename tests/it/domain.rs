//! The order domain: validation reasons, rounding per currency, exact JSON numbers, overflow,
//! and the exactness properties (money parts, cost splits, DynamoDB `N` round trips).

use orderflow::metering::split_by_weight;
use orderflow::order::{round_money, Currency, Order, Source, StoredOrder};
use orderflow::store::item;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn parse(json: &str) -> Result<Order, Vec<String>> {
    Order::parse(&orderflow::codec::order::read(json).expect("a JSON object"))
}

#[test]
fn every_reason_an_order_is_invalid_is_reported_not_just_the_first() {
    let reasons = parse(r#"{"customer_id":"","currency":7,"items":[{"sku":"A","quantity":1.5,"unit_price":"abc"},"x"],"tax_rate":"1.5","placed_at":"yesterday"}"#)
        .unwrap_err();
    assert_eq!(
        reasons,
        vec![
            "order_id is missing",
            "customer_id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got \"\")",
            "currency must be a string, not a number",
            "tax_rate must be between 0 and 1 (got 1.5)",
            "placed_at is not an RFC 3339 timestamp (premature end of input): \"yesterday\"",
            "items[0].quantity must be a whole number (got 1.5)",
            "items[0].unit_price is not a decimal number: \"abc\"",
            "items[1] must be an object, not a string",
        ]
    );
}

#[test]
fn item_count_limits_are_enforced() {
    assert_eq!(
        parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[]}"#).unwrap_err(),
        vec!["items must contain at least 1 item"]
    );
    let many = format!(
        r#"{{"order_id":"o","customer_id":"c","currency":"USD","items":[{}]}}"#,
        vec![r#"{"sku":"A","quantity":1,"unit_price":"1"}"#; 501].join(",")
    );
    assert_eq!(parse(&many).unwrap_err(), vec!["items must contain at most 500 items (got 501)"]);
    assert_eq!(
        parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":{"sku":"A"}}"#).unwrap_err(),
        vec!["items must be an array, not an object"]
    );
}

#[test]
fn ids_accept_only_the_documented_characters_and_lengths() {
    let ok = "a".repeat(64);
    let long = "a".repeat(65);
    assert!(parse(&format!(r#"{{"order_id":"{ok}","customer_id":"A.b_c:d-9","currency":"USD","items":[{{"sku":"S","quantity":1,"unit_price":1}}]}}"#)).is_ok());
    let r = parse(&format!(r#"{{"order_id":"{long}","customer_id":"c/1","currency":"USD","items":[{{"sku":"S","quantity":1,"unit_price":1}}]}}"#)).unwrap_err();
    assert_eq!(r.len(), 2);
    assert!(r[0].starts_with("order_id must be 1-64 characters"));
    assert!(r[1].starts_with("customer_id must be 1-64 characters"));
}

#[test]
fn unknown_fields_are_ignored_and_unknown_currencies_named() {
    let r = parse(
        r#"{"order_id":"o","customer_id":"c","currency":"usd","items":[{"sku":"S","quantity":1,"unit_price":1,"colour":"red"}],"gift":true}"#,
    );
    assert_eq!(r.unwrap_err(), vec!["currency \"usd\" is not a supported ISO 4217 code"]);
}

#[test]
fn rounding_is_half_away_from_zero_at_each_currencys_minor_units() {
    let usd = Currency::parse("USD").unwrap();
    let jpy = Currency::parse("JPY").unwrap();
    let kwd = Currency::parse("KWD").unwrap();
    assert_eq!(round_money(d("2.345"), usd).to_string(), "2.35");
    assert_eq!(round_money(d("2.344999"), usd).to_string(), "2.34");
    assert_eq!(round_money(d("-2.345"), usd).to_string(), "-2.35");
    assert_eq!(round_money(d("36"), usd).to_string(), "36.00");
    assert_eq!(round_money(d("1250.5"), jpy).to_string(), "1251");
    assert_eq!(round_money(d("1249.4999"), jpy).to_string(), "1249");
    assert_eq!(round_money(d("0.0005"), kwd).to_string(), "0.001");
    assert_eq!(round_money(d("0.39375"), kwd).to_string(), "0.394");
}

#[test]
fn a_unit_price_with_more_decimals_than_the_currency_allows_is_rejected() {
    let r = parse(
        r#"{"order_id":"o","customer_id":"c","currency":"JPY","items":[{"sku":"S","quantity":1,"unit_price":"10.5"}]}"#,
    );
    assert_eq!(r.unwrap_err(), vec!["items[0].unit_price 10.5 has more decimals than JPY allows (0)"]);
    // Trailing zeros do not count: 19.990 is 19.99.
    assert!(parse(
        r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"S","quantity":1,"unit_price":19.990}]}"#
    )
    .is_ok());
}

#[test]
fn json_numbers_are_read_exactly_never_through_f64() {
    // 0.1 + 0.2 in f64 is 0.30000000000000004; 12345678901234567.89 does not fit an f64.
    let o = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":1,"unit_price":0.1},{"sku":"B","quantity":1,"unit_price":0.2}]}"#).unwrap();
    assert_eq!(o.price().unwrap().total.to_string(), "0.30");
    let o = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":1,"unit_price":12345678901234567.89}],"tax_rate":0.0825}"#).unwrap();
    let t = o.price().unwrap();
    assert_eq!(t.subtotal.to_string(), "12345678901234567.89");
    assert_eq!(t.tax.to_string(), "1018518509351851.85");
    assert_eq!(t.total.to_string(), "13364197410586419.74");
    // Exponent notation is exact too.
    let o = parse(
        r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":2,"unit_price":1.25e1}]}"#,
    )
    .unwrap();
    assert_eq!(o.price().unwrap().total.to_string(), "25.00");
}

#[test]
fn the_worked_example_from_the_order_format_prices_to_the_cent() {
    let o = parse(r#"{"order_id":"ord-1001","customer_id":"cust-42","currency":"USD","items":[{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}"#).unwrap();
    let t = o.price().unwrap();
    assert_eq!(
        (t.subtotal.to_string(), t.discount.to_string(), t.tax.to_string(), t.total.to_string()),
        ("39.98".into(), "4.00".into(), "2.97".into(), "38.95".into())
    );
}

#[test]
fn amounts_too_large_to_compute_exactly_are_rejected_with_a_reason_not_a_panic() {
    let o = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":100000,"unit_price":"79000000000000000000000000"}]}"#).unwrap();
    assert_eq!(o.price().unwrap_err(), "items[0]: quantity × unit_price overflows");
    let o = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":1,"unit_price":"79000000000000000000000000000"},{"sku":"B","quantity":1,"unit_price":"79000000000000000000000000000"}]}"#).unwrap();
    assert_eq!(o.price().unwrap_err(), "the order's amounts are too large to compute exactly (arithmetic overflow)");
    let r = parse(
        r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":1,"unit_price":1e40}]}"#,
    )
    .unwrap_err();
    assert_eq!(r, vec!["items[0].unit_price is out of range: \"1e40\""]);
}

#[test]
fn a_body_that_is_not_a_json_object_is_malformed() {
    assert_eq!(orderflow::codec::order::read("[1,2]").unwrap_err(), "malformed order: the body must be a JSON object");
    assert!(orderflow::codec::order::read("{\"a\":").unwrap_err().starts_with("malformed JSON: EOF while parsing"));
}

#[test]
fn the_same_order_formatted_differently_has_the_same_fingerprint() {
    let a = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":2,"unit_price":"19.99"}]}"#).unwrap();
    let b = parse(r#"{ "currency":"USD","customer_id":"c","order_id":"o","items":[{"unit_price":19.990,"quantity":2.0,"sku":"A"}],"tax_rate":"0"}"#).unwrap();
    let c = parse(r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":3,"unit_price":"19.99"}]}"#).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
}

fn money() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000_000, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s))
}

proptest! {
    #[test]
    fn money_parts_always_add_up_exactly(
        cur in prop::sample::select(vec!["USD", "JPY", "KWD", "EUR"]),
        items in prop::collection::vec((1u32..100_000, money()), 1..20),
        discount in (0u32..=10_000).prop_map(|p| Decimal::new(p.into(), 2)),
        tax in (0u32..=10_000).prop_map(|p| Decimal::new(p.into(), 4)),
    ) {
        let c = Currency::parse(cur).unwrap();
        let items_json: Vec<String> = items.iter().map(|(q, p)| {
            let p = round_money(*p, c);
            format!(r#"{{"sku":"S","quantity":{q},"unit_price":"{p}"}}"#)
        }).collect();
        let json = format!(r#"{{"order_id":"o","customer_id":"c","currency":"{cur}","items":[{}],"discount_percent":"{discount}","tax_rate":"{tax}"}}"#, items_json.join(","));
        let o = parse(&json).unwrap();
        let t = o.price().unwrap();
        prop_assert_eq!(t.subtotal - t.discount + t.tax, t.total);
        for v in [t.subtotal, t.discount, t.tax, t.total] {
            prop_assert_eq!(v.scale(), c.minor_units());
        }
        let expected: Decimal = o.items.iter().map(|i| Decimal::from(i.quantity) * i.unit_price).sum();
        prop_assert_eq!(t.subtotal, expected);
    }

    #[test]
    fn a_split_cost_always_sums_to_the_whole(
        units in 0i64..1_000_000_000_000, scale in 0u32..20,
        weights in prop::collection::vec(0u64..1000, 1..30),
    ) {
        let amount = Decimal::new(units, scale);
        let named: Vec<(usize, u64)> = weights.iter().copied().enumerate().collect();
        let parts = split_by_weight(amount, &named);
        let sum: Decimal = parts.iter().map(|(_, p)| *p).sum();
        if weights.iter().any(|w| *w > 0) {
            prop_assert_eq!(sum, amount);
        }
        for ((_, p), w) in parts.iter().zip(&weights) {
            if *w == 0 { prop_assert_eq!(*p, Decimal::ZERO); }
            prop_assert!(*p >= Decimal::ZERO);
        }
    }

    #[test]
    fn dynamodb_numbers_round_trip_exactly(m in any::<i64>(), s in 0u32..=12, q in 1u32..100_000) {
        let price = Decimal::new(m.unsigned_abs() as i64 / 2, s);
        let order = Order::parse(&orderflow::codec::order::read(&format!(
            r#"{{"order_id":"o","customer_id":"c","currency":"KWD","items":[{{"sku":"S","quantity":{q},"unit_price":"{}"}}],"tax_rate":"0.0825"}}"#,
            orderflow::order::round_money(price, Currency::parse("KWD").unwrap())
        )).unwrap()).unwrap();
        let Ok(t) = order.price() else { return Ok(()) };
        let rec = StoredOrder::accepted(&order, t, Source::Sqs, "m", "2026-11-26T00:00:00Z", "2026-11-26T00:00:01Z");
        let it = item::to_item(&rec);
        // Through the AWS SDK's attribute values and back, and through DynamoDB JSON text and back.
        let sdk = orderflow::store::aws::to_sdk_item(&it);
        let back = item::from_item(&orderflow::store::aws::from_sdk_item(&sdk));
        prop_assert_eq!(&back, &rec);
        let text = serde_json::to_string(&it).unwrap();
        let back: item::Item = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(item::from_item(&back), rec);
    }
}
