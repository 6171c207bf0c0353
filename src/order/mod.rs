//! The order domain: identifiers, currencies, validation (every reason, not just the first),
//! pricing in `rust_decimal`, and the record we store.

mod currency;
mod ids;
mod input;
mod outcome;
mod pricing;
mod record;

pub use currency::Currency;
pub use ids::{CustomerId, OrderId, Sku};
pub(crate) use input::{InputRef, ItemRef, ItemsRef, ScalarRef};
pub use input::{ItemInput, ItemsInput, OrderInput, Scalar};
pub use outcome::{Counts, Outcome, RecordOutcome};
pub use pricing::{round_money, Totals};
pub(crate) use record::rejection_key;
pub use record::{
    rejection_fingerprint, Completion, PendingOrder, RecordKind, Rejection, Source, Status, StoredItem, StoredOrder,
};

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use std::str::FromStr;

pub(crate) const MAX_ITEMS: usize = 500;
pub(crate) const MAX_QUANTITY: u32 = 100_000;

/// A line item that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub sku: Sku,
    pub quantity: u32,
    pub unit_price: Decimal,
}

/// An order that passed validation: every field is valid by type.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub discount_percent: Decimal,
    pub tax_rate: Decimal,
    pub placed_at: Option<DateTime<FixedOffset>>,
}

/// `items[i].name`, formatted only when an error message needs it.
struct ItemField(usize, &'static str);

impl std::fmt::Display for ItemField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "items[{}].{}", self.0, self.1)
    }
}

/// Shortens text for an error message or a stored excerpt, on a character boundary.
pub(crate) fn excerpt(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Reads a decimal exactly from a JSON number's text or a string (`"19.99"`, `1e2`, `"0.0825"`).
fn parse_decimal(v: ScalarRef<'_>, field: &dyn std::fmt::Display) -> Result<Decimal, String> {
    let text = match v {
        ScalarRef::Num(t) => t,
        ScalarRef::Str(s) => s.trim(),
        other => return Err(format!("{field} must be a number or a decimal string, not {}", other.type_name())),
    };
    let parsed = if text.contains(['e', 'E']) { Decimal::from_scientific(text) } else { Decimal::from_str_exact(text) };
    parsed.map_err(|_| {
        if text.is_empty() || text.parse::<f64>().is_err() {
            format!("{field} is not a decimal number: {:?}", excerpt(text, 40))
        } else {
            format!("{field} is out of range: {:?}", excerpt(text, 40))
        }
    })
}

fn parse_quantity(v: ScalarRef<'_>, field: &dyn std::fmt::Display) -> Result<u32, String> {
    // The usual quantity, a JSON integer within the limits, without the decimal round trip;
    // anything else (and every error) goes through the decimal.
    if let ScalarRef::Num(t) = v {
        if (1..=6).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
            let q = t.bytes().fold(0u32, |q, b| q * 10 + u32::from(b - b'0'));
            if (1..=MAX_QUANTITY).contains(&q) {
                return Ok(q);
            }
        }
    }
    let d = parse_decimal(v, field)?;
    if d.fract() != Decimal::ZERO {
        return Err(format!("{field} must be a whole number (got {d})"));
    }
    if d < Decimal::ONE || d > Decimal::from(MAX_QUANTITY) {
        return Err(format!("{field} must be between 1 and {MAX_QUANTITY} (got {d})"));
    }
    Ok(u32::try_from(d.mantissa() / 10i128.pow(d.scale())).expect("bounded above"))
}

fn required_str<'a>(
    v: Option<ScalarRef<'a>>,
    field: &dyn std::fmt::Display,
    reasons: &mut Vec<String>,
) -> Option<&'a str> {
    match v {
        None | Some(ScalarRef::Null) => {
            reasons.push(format!("{field} is missing"));
            None
        }
        Some(ScalarRef::Str(s)) => Some(s),
        Some(other) => {
            reasons.push(format!("{field} must be a string, not {}", other.type_name()));
            None
        }
    }
}

fn collect<T>(r: Result<T, String>, reasons: &mut Vec<String>) -> Option<T> {
    r.map_err(|e| reasons.push(e)).ok()
}

impl Order {
    /// Validates an order, reporting every reason it is invalid.
    pub fn parse(input: &OrderInput) -> Result<Order, Vec<String>> {
        Order::parse_view(&input.view())
    }

    /// `parse`, on the borrowed view (what the usual JSON body is read into).
    pub(crate) fn parse_view(input: &InputRef<'_>) -> Result<Order, Vec<String>> {
        let mut reasons = Vec::new();
        let order_id = required_str(input.order_id, &"order_id", &mut reasons)
            .and_then(|s| collect(OrderId::parse(s), &mut reasons));
        let customer_id = required_str(input.customer_id, &"customer_id", &mut reasons)
            .and_then(|s| collect(CustomerId::parse(s), &mut reasons));
        let currency = required_str(input.currency, &"currency", &mut reasons).and_then(|s| {
            let c = Currency::parse(s);
            if c.is_none() {
                reasons.push(format!("currency {:?} is not a supported ISO 4217 code", excerpt(s, 16)));
            }
            c
        });
        let discount_percent = match input.discount_percent {
            None | Some(ScalarRef::Null) => Some(Decimal::ZERO),
            Some(v) => collect(parse_decimal(v, &"discount_percent"), &mut reasons).and_then(|d| {
                if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED {
                    reasons.push(format!("discount_percent must be between 0 and 100 (got {d})"));
                    None
                } else {
                    Some(d)
                }
            }),
        };
        let tax_rate = match input.tax_rate {
            None | Some(ScalarRef::Null) => Some(Decimal::ZERO),
            Some(v) => collect(parse_decimal(v, &"tax_rate"), &mut reasons).and_then(|d| {
                if d < Decimal::ZERO || d > Decimal::ONE {
                    reasons.push(format!("tax_rate must be between 0 and 1 (got {d})"));
                    None
                } else {
                    Some(d)
                }
            }),
        };
        let placed_at = match input.placed_at {
            None | Some(ScalarRef::Null) => Some(None),
            Some(ScalarRef::Str(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(Some(t)),
                Err(e) => {
                    reasons.push(format!("placed_at is not an RFC 3339 timestamp ({e}): {:?}", excerpt(s, 40)));
                    None
                }
            },
            Some(other) => {
                reasons.push(format!("placed_at must be an RFC 3339 string, not {}", other.type_name()));
                None
            }
        };
        let items = match &input.items {
            None => {
                reasons.push("items is missing".to_string());
                None
            }
            Some(ItemsRef::NotAList(t)) => {
                reasons.push(format!("items must be an array, not {t}"));
                None
            }
            Some(ItemsRef::List(list)) if list.is_empty() => {
                reasons.push("items must contain at least 1 item".to_string());
                None
            }
            Some(ItemsRef::List(list)) if list.len() > MAX_ITEMS => {
                reasons.push(format!("items must contain at most {MAX_ITEMS} items (got {})", list.len()));
                None
            }
            Some(ItemsRef::List(list)) => {
                // Every item is checked (all reasons are reported); the list is kept while all are valid.
                let before = reasons.len();
                let mut parsed = Vec::with_capacity(list.len());
                for (i, item) in list.iter().enumerate() {
                    if let Some(item) = parse_item(i, item, currency.as_ref(), &mut reasons) {
                        parsed.push(item);
                    }
                }
                if reasons.len() == before && parsed.len() == list.len() {
                    Some(parsed)
                } else {
                    None
                }
            }
        };
        match (order_id, customer_id, currency, items, discount_percent, tax_rate, placed_at) {
            (
                Some(order_id),
                Some(customer_id),
                Some(currency),
                Some(items),
                Some(discount_percent),
                Some(tax_rate),
                Some(placed_at),
            ) if reasons.is_empty() => {
                Ok(Order { order_id, customer_id, currency, items, discount_percent, tax_rate, placed_at })
            }
            _ => Err(reasons),
        }
    }
}

fn parse_item(
    i: usize,
    item: &ItemRef<'_>,
    currency: Option<&Currency>,
    reasons: &mut Vec<String>,
) -> Option<LineItem> {
    if let Some(t) = item.not_an_object {
        reasons.push(format!("items[{i}] must be an object, not {t}"));
        return None;
    }
    let sku = required_str(item.sku, &ItemField(i, "sku"), reasons)
        .and_then(|s| collect(Sku::parse(s, &ItemField(i, "sku")), reasons));
    let quantity = match item.quantity {
        None | Some(ScalarRef::Null) => {
            reasons.push(format!("items[{i}].quantity is missing"));
            None
        }
        Some(v) => collect(parse_quantity(v, &ItemField(i, "quantity")), reasons),
    };
    let unit_price = match item.unit_price {
        None | Some(ScalarRef::Null) => {
            reasons.push(format!("items[{i}].unit_price is missing"));
            None
        }
        Some(v) => collect(parse_decimal(v, &ItemField(i, "unit_price")), reasons).and_then(|p| {
            if p < Decimal::ZERO {
                reasons.push(format!("items[{i}].unit_price must not be negative (got {p})"));
                return None;
            }
            if let Some(c) = currency {
                if p.normalize().scale() > c.minor_units() {
                    reasons.push(format!(
                        "items[{i}].unit_price {p} has more decimals than {} allows ({})",
                        c.code(),
                        c.minor_units()
                    ));
                    return None;
                }
            }
            Some(p)
        }),
    };
    Some(LineItem { sku: sku?, quantity: quantity?, unit_price: unit_price? })
}

/// Parses a decimal from a DynamoDB `N` or a stored decimal string.
pub fn decimal_from_str(s: &str) -> Option<Decimal> {
    Decimal::from_str(s).ok().or_else(|| Decimal::from_scientific(s).ok())
}
