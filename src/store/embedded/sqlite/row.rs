//! What the `item` column of the embedded orders table holds, and how it is read back.
//!
//! A record this store writes itself (an accepted order, a rejection) is a BLOB: one format
//! byte, then the `StoredOrder` in postcard. A three-line order takes ~260 bytes there against
//! ~820 as DynamoDB JSON, and every byte of a row is written twice (to the WAL, then back into
//! the database): on a 1M-line import they were about half of the writer's time.
//!
//! Every other row is DynamoDB JSON TEXT, as before: a PENDING row written straight into the
//! table (it may hold any attribute), a row once a completion has modified it, and every row of
//! a data dir made before this format. Change-stream images are always DynamoDB JSON. Readers
//! tell the two apart by the value's type, and both read back as the same `Item`.

use crate::order::StoredOrder;
use crate::store::item::{self, Item};
use crate::store::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};

/// The first byte of a postcard row. Postcard is positional: a change to `StoredOrder`'s fields
/// needs a new format byte, and the reader keeps the old one (the golden test below fails first).
const POSTCARD_V1: u8 = 1;

/// A row's `item` value as written.
pub(super) enum Stored {
    Json(String),
    Record(Vec<u8>),
}

impl Stored {
    /// A record, in the compact form.
    pub(super) fn record(r: &StoredOrder) -> Stored {
        Stored::Record(postcard::to_extend(r, vec![POSTCARD_V1]).expect("a record serializes"))
    }
}

impl rusqlite::ToSql for Stored {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Stored::Json(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Stored::Record(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// A stored value read back: DynamoDB JSON, or a record.
enum Read {
    Json(Item),
    Record(Box<StoredOrder>),
}

impl Read {
    fn of(v: ValueRef<'_>) -> Result<Read, StoreError> {
        match v {
            ValueRef::Text(t) => {
                let t = std::str::from_utf8(t).map_err(|e| corrupt(format!("stored item is not UTF-8: {e}")))?;
                serde_json::from_str(t)
                    .map(Read::Json)
                    .map_err(|e| corrupt(format!("stored item is not valid DynamoDB JSON: {e}")))
            }
            ValueRef::Blob([POSTCARD_V1, rest @ ..]) => match postcard::take_from_bytes::<StoredOrder>(rest) {
                Ok((r, [])) => Ok(Read::Record(Box::new(r))),
                Ok((_, extra)) => Err(corrupt(format!("stored record has {} bytes past its end", extra.len()))),
                Err(e) => Err(corrupt(format!("stored record cannot be read: {e}"))),
            },
            ValueRef::Blob(b) => Err(corrupt(format!("stored record has an unknown format byte {:?}", b.first()))),
            other => Err(corrupt(format!("stored item is {:?}, not text or a record", other.data_type()))),
        }
    }

    /// The item, as DynamoDB JSON would have held it.
    fn into_item(self) -> Item {
        match self {
            Read::Json(i) => i,
            Read::Record(r) => item::to_item(&r),
        }
    }
}

fn corrupt(e: String) -> StoreError {
    StoreError::Permanent(e)
}

/// Reads a stored value as an item.
pub(super) fn item_of(v: ValueRef<'_>) -> Result<Item, StoreError> {
    Read::of(v).map(Read::into_item)
}

/// Reads a stored value as an item with the length of its DynamoDB JSON text (a stream record's
/// size): the text's own length, or, for a record, the length serde_json gives its item.
pub(super) fn image_of(v: ValueRef<'_>) -> Result<(Item, usize), StoreError> {
    let text_len = match v {
        ValueRef::Text(t) => Some(t.len()),
        _ => None,
    };
    let it = item_of(v)?;
    let len = match text_len {
        Some(n) => n,
        None => serde_json::to_string(&it).map_or(0, |t| t.len()),
    };
    Ok((it, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{RecordKind, Source, Status, StoredItem};
    use proptest::prelude::*;
    use rusqlite::ToSql;
    use rust_decimal::Decimal;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale))
    }

    fn text() -> impl Strategy<Value = String> {
        any::<String>()
    }

    prop_compose! {
        fn record()(
            rejection in any::<bool>(),
            order_id in proptest::option::of(text()),
            customer_id in proptest::option::of(text()),
            status in prop_oneof![Just(Status::Pending), Just(Status::Accepted), Just(Status::Rejected)],
            currency in proptest::option::of(text()),
            items in prop::collection::vec((text(), any::<u32>(), decimal()), 0..5),
            money in prop::collection::vec(proptest::option::of(decimal()), 6),
            placed_at in proptest::option::of(text()),
            reasons in prop::collection::vec(text(), 0..4),
            source in prop_oneof![Just(Source::Sqs), Just(Source::S3), Just(Source::Stream), Just(Source::Table), Just(Source::Http)],
            strings in (text(), text(), proptest::option::of(text()), proptest::option::of(text()), proptest::option::of(text())),
        ) -> StoredOrder {
            let (source_id, received_at, processed_at, fingerprint, excerpt) = strings;
            StoredOrder {
                kind: if rejection { RecordKind::Rejection } else { RecordKind::Order },
                order_id, customer_id, status, currency,
                items: items.into_iter().map(|(sku, quantity, unit_price)| StoredItem { sku, quantity, unit_price }).collect(),
                subtotal: money[0], discount: money[1], tax: money[2], total: money[3],
                discount_percent: money[4], tax_rate: money[5],
                placed_at, reasons, source, source_id, received_at, processed_at, fingerprint, excerpt,
            }
        }
    }

    /// The value SQLite is handed for `s`, read back.
    fn read_back(s: &Stored) -> Result<Read, StoreError> {
        match s.to_sql().unwrap() {
            ToSqlOutput::Borrowed(v) => Read::of(v),
            _ => unreachable!("a stored value is borrowed"),
        }
    }

    proptest! {
        #[test]
        fn a_record_reads_back_as_the_item_its_dynamodb_json_holds(r in record()) {
            let stored = Stored::record(&r);
            let Ok(Read::Record(back)) = read_back(&stored) else { panic!("a record reads back") };
            prop_assert_eq!(&*back, &r);
            let json = serde_json::to_string(&item::to_item(&r)).unwrap();
            let Stored::Record(b) = &stored else { unreachable!("a record") };
            let (it, size) = image_of(ValueRef::Blob(b)).unwrap();
            prop_assert_eq!(it, serde_json::from_str::<Item>(&json).unwrap());
            prop_assert_eq!(size, json.len());
        }

        #[test]
        fn a_cut_or_padded_record_is_refused_not_misread(r in record(), cut in any::<prop::sample::Index>()) {
            let Stored::Record(b) = Stored::record(&r) else { unreachable!("a record") };
            let short = &b[..cut.index(b.len())];
            prop_assert!(Read::of(ValueRef::Blob(short)).is_err());
            let mut long = b.clone();
            long.push(0);
            prop_assert!(Read::of(ValueRef::Blob(&long)).is_err());
        }
    }

    #[test]
    fn the_record_format_is_pinned() {
        // A new field in `StoredOrder` changes these bytes: give the format a new byte and keep
        // reading this one, or existing data dirs stop reading.
        let r = StoredOrder {
            kind: RecordKind::Order,
            order_id: Some("o-1".into()),
            customer_id: Some("c".into()),
            status: Status::Accepted,
            currency: Some("EUR".into()),
            items: vec![StoredItem { sku: "S".into(), quantity: 2, unit_price: Decimal::new(150, 2) }],
            subtotal: Some(Decimal::new(300, 2)),
            discount: None,
            tax: None,
            total: Some(Decimal::new(300, 2)),
            discount_percent: None,
            tax_rate: None,
            placed_at: None,
            reasons: vec![],
            source: Source::S3,
            source_id: "b/k:1".into(),
            received_at: "t".into(),
            processed_at: None,
            fingerprint: Some("f".into()),
            excerpt: None,
        };
        let Stored::Record(b) = Stored::record(&r) else { unreachable!("a record") };
        let expected: &[u8] = b"\x01\x00\x01\x03o-1\x01\x01c\x01\x01\x03EUR\x01\x01S\x02\x041.50\x01\x043.00\
            \x00\x00\x01\x043.00\x00\x00\x00\x00\x01\x05b/k:1\x01t\x00\x01\x01f\x00";
        assert_eq!(b, expected, "{b:?}");
    }

    #[test]
    fn an_unknown_format_byte_and_a_non_text_value_are_clear_errors() {
        let e = Read::of(ValueRef::Blob(&[9, 1, 2])).err().unwrap();
        assert!(e.to_string().contains("unknown format byte"), "{e}");
        let e = Read::of(ValueRef::Integer(3)).err().unwrap();
        assert!(e.to_string().contains("not text or a record"), "{e}");
    }
}
