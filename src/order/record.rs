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
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Accepted => "ACCEPTED",
            Status::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
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
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Sqs => "sqs",
            Source::S3 => "s3",
            Source::Stream => "stream",
            Source::Table => "table",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "sqs" => Some(Source::Sqs),
            "s3" => Some(Source::S3),
            "stream" => Some(Source::Stream),
            "table" => Some(Source::Table),
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
pub const REJECTION_KEY_PREFIX: &str = "rejected#";

impl StoredOrder {
    /// The table key: the order id for orders, `rejected#<source>#<source_id>` for rejections.
    pub fn key(&self) -> String {
        match self.kind {
            RecordKind::Order => self.order_id.clone().unwrap_or_default(),
            RecordKind::Rejection => rejection_key(self.source, &self.source_id),
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
        StoredOrder {
            kind: RecordKind::Order,
            order_id: Some(order.order_id.as_str().to_string()),
            customer_id: Some(order.customer_id.as_str().to_string()),
            status: Status::Accepted,
            currency: Some(order.currency.code().to_string()),
            items: order
                .items
                .iter()
                .map(|i| StoredItem { sku: i.sku.as_str().to_string(), quantity: i.quantity, unit_price: i.unit_price })
                .collect(),
            subtotal: Some(totals.subtotal),
            discount: Some(totals.discount),
            tax: Some(totals.tax),
            total: Some(totals.total),
            discount_percent: Some(order.discount_percent),
            tax_rate: Some(order.tax_rate),
            placed_at: order.placed_at.map(|t| t.to_rfc3339()),
            reasons: Vec::new(),
            source,
            source_id: source_id.to_string(),
            received_at: received_at.to_string(),
            processed_at: Some(now.to_string()),
            fingerprint: Some(order.fingerprint()),
            excerpt: None,
        }
    }

    /// A rejected intake record keyed by its source id.
    #[allow(clippy::too_many_arguments)]
    pub fn rejection(
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
            reasons,
            source,
            source_id: source_id.to_string(),
            received_at: received_at.to_string(),
            processed_at: Some(now.to_string()),
            fingerprint: None,
            excerpt: Some(super::excerpt(body, 200)),
        }
    }
}

pub fn rejection_key(source: Source, source_id: &str) -> String {
    format!("{REJECTION_KEY_PREFIX}{}#{source_id}", source.as_str())
}

impl Order {
    /// A fingerprint of the order's content: equal for the same order sent twice (whatever the
    /// JSON formatting or trailing zeros), different as soon as any field differs.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        // Decimals are hashed as their normalised binary form (19.990 and 19.99 agree), with a
        // separator after every field so that no two field lists hash alike.
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u32).to_le_bytes());
            h.update(bytes);
        };
        field(self.order_id.as_str().as_bytes());
        field(self.customer_id.as_str().as_bytes());
        field(self.currency.code().as_bytes());
        field(&self.discount_percent.normalize().serialize());
        field(&self.tax_rate.normalize().serialize());
        field(&self.placed_at.map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX)).unwrap_or(i64::MIN).to_le_bytes());
        for i in &self.items {
            field(i.sku.as_str().as_bytes());
            field(&i.quantity.to_le_bytes());
            field(&i.unit_price.normalize().serialize());
        }
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
