//! The record we store: an order (accepted, pending or rejected in place) or a rejected intake
//! record (a body that could not be accepted, keyed by where it came from).

use super::{Order, Totals};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
}

impl Status {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Accepted => "ACCEPTED",
            Status::Rejected => "REJECTED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Status> {
        match s.to_ascii_uppercase().as_str() {
            "PENDING" => Some(Status::Pending),
            "ACCEPTED" => Some(Status::Accepted),
            "REJECTED" => Some(Status::Rejected),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The channel a record arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Sqs,
    S3,
    Stream,
    /// Written straight into the table (`orderflow insert`), not yet processed.
    Table,
    /// A request to `orderflow-http` (`POST /orders`); its source id is the request id.
    Http,
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Sqs => "sqs",
            Source::S3 => "s3",
            Source::Stream => "stream",
            Source::Table => "table",
            Source::Http => "http",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Source> {
        match s {
            "sqs" => Some(Source::Sqs),
            "s3" => Some(Source::S3),
            "stream" => Some(Source::Stream),
            "table" => Some(Source::Table),
            "http" => Some(Source::Http),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Order,
    /// A body rejected at intake (malformed, invalid, or conflicting with a stored order).
    Rejection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: rust_decimal::Decimal,
}

/// An order or rejected intake record as stored (DynamoDB item, SQLite row, `orders --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOrder {
    pub kind: RecordKind,
    pub order_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Status,
    pub currency: Option<String>,
    pub items: Vec<StoredItem>,
    pub subtotal: Option<rust_decimal::Decimal>,
    pub discount: Option<rust_decimal::Decimal>,
    pub tax: Option<rust_decimal::Decimal>,
    pub total: Option<rust_decimal::Decimal>,
    pub discount_percent: Option<rust_decimal::Decimal>,
    pub tax_rate: Option<rust_decimal::Decimal>,
    pub placed_at: Option<String>,
    pub reasons: Vec<String>,
    pub source: Source,
    pub source_id: String,
    pub received_at: String,
    pub processed_at: Option<String>,
    pub fingerprint: Option<String>,
    /// For rejected intake records: the start of the body that was rejected.
    pub excerpt: Option<String>,
}

/// A rejected intake record is a `StoredOrder` of kind `Rejection`.
pub type Rejection = StoredOrder;

/// The key prefix of rejected intake records. `#` can never appear in a valid order id,
/// so these keys cannot collide with orders.
pub(crate) const REJECTION_KEY_PREFIX: &str = "rejected#";

impl StoredOrder {
    /// The table key: the order id for orders, `rejected#<source>#<source_id>#<fingerprint>`
    /// for rejections (see `rejection_key`).
    pub fn key(&self) -> String {
        match self.kind {
            RecordKind::Order => self.order_id.clone().unwrap_or_default(),
            RecordKind::Rejection => rejection_key(self.source, &self.source_id, self.fingerprint.as_deref()),
        }
    }

    /// An accepted (or, on the stream channel, priced-in-place) order.
    pub fn accepted(
        order: &Order,
        totals: Totals,
        source: Source,
        source_id: &str,
        received_at: &str,
        now: &str,
    ) -> StoredOrder {
        StoredOrder::from_order(
            order.clone(),
            totals,
            source,
            source_id.to_string(),
            received_at.to_string(),
            now.to_string(),
        )
    }

    /// `accepted`, taking the order and the strings it keeps (no copies).
    pub(crate) fn from_order(
        order: Order,
        totals: Totals,
        source: Source,
        source_id: String,
        received_at: String,
        now: String,
    ) -> StoredOrder {
        let fingerprint = order.fingerprint();
        StoredOrder {
            kind: RecordKind::Order,
            order_id: Some(order.order_id.into_string()),
            customer_id: Some(order.customer_id.into_string()),
            status: Status::Accepted,
            currency: Some(order.currency.code().to_string()),
            items: order
                .items
                .into_iter()
                .map(|i| StoredItem { sku: i.sku.into_string(), quantity: i.quantity, unit_price: i.unit_price })
                .collect(),
            subtotal: Some(totals.subtotal),
            discount: Some(totals.discount),
            tax: Some(totals.tax),
            total: Some(totals.total),
            discount_percent: Some(order.discount_percent),
            tax_rate: Some(order.tax_rate),
            placed_at: order.placed_at.as_ref().map(rfc3339),
            reasons: Vec::new(),
            source,
            source_id,
            received_at,
            processed_at: Some(now),
            fingerprint: Some(fingerprint),
            excerpt: None,
        }
    }

    /// A rejected intake record keyed by its source id and what it is about (`rejection_key`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rejection(
        order_id: Option<&str>,
        customer_id: Option<&str>,
        reasons: Vec<String>,
        source: Source,
        source_id: &str,
        body: &str,
        received_at: &str,
        now: &str,
    ) -> StoredOrder {
        StoredOrder {
            kind: RecordKind::Rejection,
            order_id: order_id.map(str::to_string),
            customer_id: customer_id.map(str::to_string),
            status: Status::Rejected,
            currency: None,
            items: Vec::new(),
            subtotal: None,
            discount: None,
            tax: None,
            total: None,
            discount_percent: None,
            tax_rate: None,
            placed_at: None,
            source,
            source_id: source_id.to_string(),
            received_at: received_at.to_string(),
            processed_at: Some(now.to_string()),
            fingerprint: Some(rejection_fingerprint(source_id, &reasons.join("\n"), body)),
            reasons,
            excerpt: Some(super::excerpt(body, 200)),
        }
    }
}

/// What a rejection is about, as 16 hex digits: its source id, reasons and whole body. The same
/// rejection again has the same fingerprint (stored once); a later, different one (a fixed file
/// uploaded to the same key, a second body under one messageId) has its own, and is kept too.
pub fn rejection_fingerprint(source_id: &str, reasons: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [source_id, reasons, body] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest source id kept whole in a rejection's key: DynamoDB allows 2,048 bytes in a
/// partition key. The fingerprint covers the whole source id, so a shortened one stays unique.
const KEY_SOURCE_ID_BYTES: usize = 1800;

/// A rejection's table key: `rejected#<source>#<source id>#<fingerprint>` (records stored before
/// fingerprints were added have none: `rejected#<source>#<source id>`).
pub(crate) fn rejection_key(source: Source, source_id: &str, fingerprint: Option<&str>) -> String {
    let mut cut = source_id.len().min(KEY_SOURCE_ID_BYTES);
    while !source_id.is_char_boundary(cut) {
        cut -= 1;
    }
    match fingerprint {
        Some(f) => format!("{REJECTION_KEY_PREFIX}{}#{}#{f}", source.as_str(), &source_id[..cut]),
        None => format!("{REJECTION_KEY_PREFIX}{}#{}", source.as_str(), &source_id[..cut]),
    }
}

impl Order {
    /// A fingerprint of the order's content: equal for the same order sent twice (whatever the
    /// JSON formatting or trailing zeros), different as soon as any field differs.
    pub fn fingerprint(&self) -> String {
        // Decimals are hashed as their normalised binary form (19.990 and 19.99 agree), with a
        // separator after every field so that no two field lists hash alike. The fields are
        // gathered in a buffer and hashed in one go (the same bytes as hashing them one by one).
        let mut buf = FieldBuf { h: Sha256::new(), buf: [0; 512], len: 0 };
        buf.field(self.order_id.as_str().as_bytes());
        buf.field(self.customer_id.as_str().as_bytes());
        buf.field(self.currency.code().as_bytes());
        buf.field(&self.discount_percent.normalize().serialize());
        buf.field(&self.tax_rate.normalize().serialize());
        buf.field(
            &self.placed_at.map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX)).unwrap_or(i64::MIN).to_le_bytes(),
        );
        for i in &self.items {
            buf.field(i.sku.as_str().as_bytes());
            buf.field(&i.quantity.to_le_bytes());
            buf.field(&i.unit_price.normalize().serialize());
        }
        let h = buf.finish();
        let digest = h.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(32);
        for b in &digest[..16] {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
        out
    }
}

/// `DateTime::to_rfc3339`, written directly: chrono's general formatter cost more than pricing
/// the order. Same text for every timestamp (tested against chrono); years outside 0-9999 go
/// to chrono.
pub(crate) fn rfc3339(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Datelike, Offset, Timelike};
    let local = t.naive_local();
    let year = local.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339();
    }
    let mut text = String::with_capacity(35);
    // Zero-padded digits of `value`, then the separator that follows them (if any).
    let mut put = |value: u32, digits: u32, then: Option<char>| {
        for d in (0..digits).rev() {
            text.push(char::from(b'0' + (value / 10u32.pow(d) % 10) as u8));
        }
        text.extend(then);
    };
    put(year as u32, 4, Some('-'));
    put(local.month(), 2, Some('-'));
    put(local.day(), 2, Some('T'));
    put(local.hour(), 2, Some(':'));
    put(local.minute(), 2, Some(':'));
    // A leap second is carried in the nanoseconds.
    let (second, nanos) = match local.nanosecond() {
        n if n >= 1_000_000_000 => (local.second() + 1, n - 1_000_000_000),
        n => (local.second(), n),
    };
    let offset = t.offset().fix().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    match nanos {
        0 => put(second, 2, Some(sign)),
        n => {
            put(second, 2, Some('.'));
            match n {
                n if n % 1_000_000 == 0 => put(n / 1_000_000, 3, Some(sign)),
                n if n % 1_000 == 0 => put(n / 1_000, 6, Some(sign)),
                n => put(n, 9, Some(sign)),
            }
        }
    }
    // The offset to the nearest minute, as chrono rounds it.
    let minutes = (offset.unsigned_abs() + 30) / 60;
    put(minutes / 60, 2, Some(':'));
    put(minutes % 60, 2, None);
    text
}

/// Length-prefixed fields, gathered before hashing.
struct FieldBuf {
    h: Sha256,
    buf: [u8; 512],
    len: usize,
}

impl FieldBuf {
    #[inline]
    fn field(&mut self, bytes: &[u8]) {
        let len = (bytes.len() as u32).to_le_bytes();
        if self.len + 4 + bytes.len() <= self.buf.len() {
            self.buf[self.len..self.len + 4].copy_from_slice(&len);
            self.buf[self.len + 4..self.len + 4 + bytes.len()].copy_from_slice(bytes);
            self.len += 4 + bytes.len();
        } else {
            self.put(&len);
            self.put(bytes);
        }
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.h.update(&self.buf[..self.len]);
            self.len = 0;
            if bytes.len() > self.buf.len() {
                self.h.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn finish(mut self) -> Sha256 {
        self.h.update(&self.buf[..self.len]);
        self.h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Just, Strategy};

    /// The fingerprint as first written, one hasher update per piece: stored fingerprints must
    /// keep matching, so the buffered one must hash exactly the same bytes.
    fn fingerprint_piece_by_piece(o: &Order) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u32).to_le_bytes());
            h.update(bytes);
        };
        field(o.order_id.as_str().as_bytes());
        field(o.customer_id.as_str().as_bytes());
        field(o.currency.code().as_bytes());
        field(&o.discount_percent.normalize().serialize());
        field(&o.tax_rate.normalize().serialize());
        field(&o.placed_at.map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX)).unwrap_or(i64::MIN).to_le_bytes());
        for i in &o.items {
            field(i.sku.as_str().as_bytes());
            field(&i.quantity.to_le_bytes());
            field(&i.unit_price.normalize().serialize());
        }
        h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    proptest::proptest! {
        #[test]
        fn placed_at_is_written_as_chrono_writes_it(
            secs in -62_167_219_200i64..253_402_300_799,
            nanos in proptest::prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000), (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..2_000_000_000],
            offset_min in -(24 * 60 - 1)..(24 * 60),
        ) {
            let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let nanos = if nanos >= 1_000_000_000 && secs.rem_euclid(60) != 59 { nanos - 1_000_000_000 } else { nanos };
            if let Some(utc) = chrono::DateTime::from_timestamp(secs, nanos) {
                let t = utc.with_timezone(&offset);
                proptest::prop_assert_eq!(super::rfc3339(&t), t.to_rfc3339());
            }
        }
    }

    #[test]
    fn placed_at_text_matches_chrono_on_edge_cases() {
        for text in [
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.5+02:00",
            "0000-01-01T00:00:00-00:30",
            "9999-12-31T23:59:59.999999999+23:59",
            "2016-12-31T23:59:60Z",
            "2026-01-01T00:00:00.000001-05:00",
            "2026-01-01T00:00:00.120+00:00",
        ] {
            let t = chrono::DateTime::parse_from_rfc3339(text).unwrap();
            assert_eq!(super::rfc3339(&t), t.to_rfc3339(), "{text}");
        }
    }

    #[test]
    fn the_buffered_fingerprint_hashes_the_same_bytes_as_piece_by_piece() {
        let item = |i: usize| {
            format!(
                r#"{{"sku":"{}","quantity":{},"unit_price":"{}.{:02}"}}"#,
                "S".repeat(1 + i % 64),
                1 + i,
                i,
                i % 100
            )
        };
        for n in [1, 2, 7, 30, 500] {
            let items: Vec<String> = (0..n).map(item).collect();
            let body = format!(
                r#"{{"order_id":"ord-{n}","customer_id":"c","currency":"USD","items":[{}],"tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00.5+02:00"}}"#,
                items.join(",")
            );
            let order = Order::parse(&crate::codec::order::read(&body).unwrap()).unwrap();
            assert_eq!(order.fingerprint(), fingerprint_piece_by_piece(&order), "{n} items");
        }
        // A known value, so that a change to the hashed bytes cannot go unnoticed.
        let body = r#"{"order_id":"ord-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}]}"#;
        let order = Order::parse(&crate::codec::order::read(body).unwrap()).unwrap();
        assert_eq!(order.fingerprint(), fingerprint_piece_by_piece(&order));
        assert_eq!(order.fingerprint(), KNOWN);
    }

    const KNOWN: &str = "7de19e3156b1653d3277b6834c6450bc";
}

/// What the stream handler writes onto a PENDING item when it has processed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub status: Status,
    pub totals: Option<Totals>,
    pub reasons: Vec<String>,
    pub source_id: String,
    pub received_at: String,
    pub processed_at: String,
    pub fingerprint: Option<String>,
}

/// An order written straight into the table with status PENDING (by a client, `orderflow
/// insert`, or as a stream record's NewImage): its table key and what it says, not yet priced.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOrder {
    key: String,
    input: crate::order::OrderInput,
}

impl PendingOrder {
    /// The pending order `input` describes, keyed by its order_id: none unless that is a
    /// non-empty string (a table key must be).
    pub fn new(input: crate::order::OrderInput) -> Option<PendingOrder> {
        match &input.order_id {
            Some(crate::order::Scalar::Str(k)) if !k.is_empty() => Some(PendingOrder { key: k.clone(), input }),
            _ => None,
        }
    }

    /// Its table key (the order_id as written).
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn input(&self) -> &crate::order::OrderInput {
        &self.input
    }
}
