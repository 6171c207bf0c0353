//! The one mapping between our records and DynamoDB items (`serde_dynamo::AttributeValue`, the
//! shape DynamoDB JSON and stream images use). The AWS adapter stores these items, and the
//! embedded table reads back the very same ones (its own compact rows included), so a record
//! looks the same whichever store holds it.

use crate::order::{
    rejection_key, Completion, ItemInput, ItemsInput, OrderInput, PendingOrder, RecordKind, Scalar, Source, Status,
    StoredItem, StoredOrder,
};
use rust_decimal::Decimal;
use serde_dynamo::AttributeValue as Av;
use std::collections::HashMap;

pub type Item = HashMap<String, Av>;

/// The table's hash key attribute.
pub(crate) const KEY: &str = "order_id";

fn s(v: &str) -> Av {
    Av::S(v.to_string())
}

/// Decimals are stored as DynamoDB numbers with their exact text.
pub(crate) fn n(d: Decimal) -> Av {
    Av::N(d.to_string())
}

/// The DynamoDB item for a record.
pub fn to_item(r: &StoredOrder) -> Item {
    let mut m = Item::new();
    m.insert(KEY.into(), s(&r.key()));
    m.insert(
        "record_type".into(),
        s(match r.kind {
            RecordKind::Order => "ORDER",
            RecordKind::Rejection => "REJECTION",
        }),
    );
    if r.kind == RecordKind::Rejection {
        if let Some(id) = &r.order_id {
            m.insert("input_order_id".into(), s(id));
        }
    }
    if let Some(c) = &r.customer_id {
        m.insert("customer_id".into(), s(c));
    }
    m.insert("status".into(), s(r.status.as_str()));
    if let Some(c) = &r.currency {
        m.insert("currency".into(), s(c));
    }
    if !r.items.is_empty() {
        m.insert(
            "items".into(),
            Av::L(
                r.items
                    .iter()
                    .map(|i| {
                        Av::M(HashMap::from([
                            ("sku".to_string(), s(&i.sku)),
                            ("quantity".to_string(), Av::N(i.quantity.to_string())),
                            ("unit_price".to_string(), n(i.unit_price)),
                        ]))
                    })
                    .collect(),
            ),
        );
    }
    for (name, v) in [
        ("subtotal", r.subtotal),
        ("discount", r.discount),
        ("tax", r.tax),
        ("total", r.total),
        ("discount_percent", r.discount_percent),
        ("tax_rate", r.tax_rate),
    ] {
        if let Some(v) = v {
            m.insert(name.into(), n(v));
        }
    }
    if let Some(p) = &r.placed_at {
        m.insert("placed_at".into(), s(p));
    }
    m.insert("reasons".into(), Av::L(r.reasons.iter().map(|x| s(x)).collect()));
    m.insert("source".into(), s(r.source.as_str()));
    m.insert("source_id".into(), s(&r.source_id));
    m.insert("received_at".into(), s(&r.received_at));
    if let Some(p) = &r.processed_at {
        m.insert("processed_at".into(), s(p));
    }
    if let Some(f) = &r.fingerprint {
        m.insert("fingerprint".into(), s(f));
    }
    if let Some(e) = &r.excerpt {
        m.insert("excerpt".into(), s(e));
    }
    m
}

fn get_s<'a>(m: &'a Item, k: &str) -> Option<&'a str> {
    match m.get(k) {
        Some(Av::S(v)) => Some(v),
        _ => None,
    }
}

fn get_n(m: &Item, k: &str) -> Option<Decimal> {
    match m.get(k) {
        Some(Av::N(v)) | Some(Av::S(v)) => crate::order::decimal_from_str(v),
        _ => None,
    }
}

/// The status attribute of an item, if it has a valid one.
pub(crate) fn status_of(m: &Item) -> Option<Status> {
    get_s(m, "status").and_then(Status::parse)
}

/// What a conditional write reports about the item already there.
pub(crate) fn exists(existing: &Item) -> crate::store::PutOutcome {
    crate::store::PutOutcome::Exists {
        fingerprint: get_s(existing, "fingerprint").map(str::to_string),
        status: status_of(existing),
    }
}

/// Reads any item of the table back as a record, leniently (a row written straight into the
/// table may hold anything; what cannot be read is left empty).
pub fn from_item(m: &Item) -> StoredOrder {
    // DynamoDB normalises numbers (8.500 comes back as 8.5): show money at the currency's minor units.
    let currency = get_s(m, "currency").and_then(crate::order::Currency::parse);
    let money = |k: &str| get_n(m, k).map(|v| currency.map_or(v, |c| crate::order::round_money(v, c)));
    let kind = if get_s(m, "record_type") == Some("REJECTION") { RecordKind::Rejection } else { RecordKind::Order };
    let order_id = match kind {
        RecordKind::Order => get_s(m, KEY),
        RecordKind::Rejection => get_s(m, "input_order_id"),
    }
    .map(str::to_string);
    let items = match m.get("items") {
        Some(Av::L(list)) => list
            .iter()
            .filter_map(|i| match i {
                Av::M(im) => Some(StoredItem {
                    sku: get_s(im, "sku").unwrap_or_default().to_string(),
                    quantity: get_n(im, "quantity").and_then(|q| u32::try_from(q.trunc().mantissa()).ok()).unwrap_or(0),
                    unit_price: get_n(im, "unit_price").unwrap_or_default(),
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    StoredOrder {
        kind,
        order_id,
        customer_id: get_s(m, "customer_id").map(str::to_string),
        status: status_of(m).unwrap_or(Status::Pending),
        currency: get_s(m, "currency").map(str::to_string),
        items,
        subtotal: money("subtotal"),
        discount: money("discount"),
        tax: money("tax"),
        total: money("total"),
        discount_percent: get_n(m, "discount_percent"),
        tax_rate: get_n(m, "tax_rate"),
        placed_at: get_s(m, "placed_at").map(str::to_string),
        reasons: match m.get("reasons") {
            Some(Av::L(l)) => l.iter().filter_map(|r| if let Av::S(s) = r { Some(s.clone()) } else { None }).collect(),
            Some(Av::Ss(l)) => l.clone(),
            _ => Vec::new(),
        },
        source: get_s(m, "source").and_then(Source::parse).unwrap_or(Source::Table),
        source_id: get_s(m, "source_id").unwrap_or_default().to_string(),
        received_at: get_s(m, "received_at").unwrap_or_default().to_string(),
        processed_at: get_s(m, "processed_at").map(str::to_string),
        fingerprint: get_s(m, "fingerprint").map(str::to_string),
        excerpt: get_s(m, "excerpt").map(str::to_string),
    }
}

/// The attributes a completion sets on the item (an UpdateItem `SET` list, or applied to the
/// embedded row).
pub(crate) fn completion_attributes(c: &Completion) -> Vec<(&'static str, Av)> {
    let mut v = vec![
        ("status", s(c.status.as_str())),
        ("reasons", Av::L(c.reasons.iter().map(|r| s(r)).collect())),
        ("source", s(Source::Stream.as_str())),
        ("source_id", s(&c.source_id)),
        ("received_at", s(&c.received_at)),
        ("processed_at", s(&c.processed_at)),
    ];
    if let Some(t) = c.totals {
        v.push(("subtotal", n(t.subtotal)));
        v.push(("discount", n(t.discount)));
        v.push(("tax", n(t.tax)));
        v.push(("total", n(t.total)));
    }
    if let Some(f) = &c.fingerprint {
        v.push(("fingerprint", s(f)));
    }
    v
}

/// Sets a completion's attributes on an item.
pub(crate) fn apply_completion(c: &Completion, item: &mut Item) {
    for (k, v) in completion_attributes(c) {
        item.insert(k.to_string(), v);
    }
}

fn scalar(av: &Av) -> Scalar {
    match av {
        Av::S(v) => Scalar::Str(v.clone()),
        Av::N(v) => Scalar::Num(v.clone()),
        Av::Bool(b) => Scalar::Bool(*b),
        Av::Null(_) => Scalar::Null,
        Av::M(_) => Scalar::Other("a map"),
        Av::L(_) => Scalar::Other("a list"),
        Av::B(_) => Scalar::Other("binary"),
        Av::Ss(_) | Av::Ns(_) | Av::Bs(_) => Scalar::Other("a set"),
    }
}

/// Reads an order written straight into the table (a stream NewImage) for validation.
pub(crate) fn order_input(m: &Item) -> OrderInput {
    let items = m.get("items").map(|av| match av {
        Av::L(list) => ItemsInput::List(
            list.iter()
                .map(|i| match i {
                    Av::M(im) => ItemInput {
                        sku: im.get("sku").map(scalar),
                        quantity: im.get("quantity").map(scalar),
                        unit_price: im.get("unit_price").map(scalar),
                        not_an_object: None,
                    },
                    other => ItemInput { not_an_object: Some(scalar(other).type_name()), ..ItemInput::default() },
                })
                .collect(),
        ),
        other => ItemsInput::NotAList(scalar(other).type_name()),
    });
    OrderInput {
        order_id: m.get(KEY).map(scalar),
        customer_id: m.get("customer_id").map(scalar),
        currency: m.get("currency").map(scalar),
        items,
        discount_percent: m.get("discount_percent").map(scalar),
        tax_rate: m.get("tax_rate").map(scalar),
        placed_at: m.get("placed_at").map(scalar),
    }
}

/// The pending order a stream record's NewImage holds; when its key is not a non-empty string,
/// the image's text instead (for the rejection that records it).
pub(crate) fn pending_image(m: &Item) -> Result<PendingOrder, String> {
    PendingOrder::new(order_input(m))
        .ok_or_else(|| serde_json::to_string(&serde_dynamo::Item::from(m.clone())).unwrap_or_default())
}

/// The table row of a PENDING order, as a user (or `orderflow insert`) writes one.
pub fn pending_row(p: &PendingOrder) -> Item {
    let input = p.input();
    let mut m = Item::new();
    let av = |v: &Scalar| match v {
        Scalar::Str(x) => Av::S(x.clone()),
        Scalar::Num(x) => Av::N(x.clone()),
        Scalar::Bool(b) => Av::Bool(*b),
        Scalar::Null | Scalar::Other(_) => Av::Null(true),
    };
    m.insert(KEY.into(), s(p.key()));
    for (k, v) in [
        ("customer_id", &input.customer_id),
        ("currency", &input.currency),
        ("discount_percent", &input.discount_percent),
        ("tax_rate", &input.tax_rate),
        ("placed_at", &input.placed_at),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), av(v));
        }
    }
    if let Some(ItemsInput::List(items)) = &input.items {
        m.insert(
            "items".into(),
            Av::L(
                items
                    .iter()
                    .map(|i| {
                        let mut im = HashMap::new();
                        for (k, v) in [("sku", &i.sku), ("quantity", &i.quantity), ("unit_price", &i.unit_price)] {
                            if let Some(v) = v {
                                im.insert(k.to_string(), av(v));
                            }
                        }
                        Av::M(im)
                    })
                    .collect(),
            ),
        );
    }
    m.insert("status".into(), s(Status::Pending.as_str()));
    m.insert("record_type".into(), s("ORDER"));
    m.insert("source".into(), s(Source::Table.as_str()));
    m
}

/// The key of a rejection record for a source id and fingerprint (re-exported for adapters
/// and tests).
pub fn rejection_item_key(source: Source, source_id: &str, fingerprint: Option<&str>) -> String {
    rejection_key(source, source_id, fingerprint)
}
