//! The general reader of an order body, through serde_json: every body, with worded errors.
//! Numbers keep their exact text (`RawValue`), wrong types are kept for validation to name, and
//! a key repeated in any object at any depth is refused by name: JSON leaves repeated keys
//! undefined and "last one wins" would let `"quantity":1,"quantity":100` store 100.

use crate::order::{ItemInput, ItemsInput, OrderInput, Scalar};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

pub(super) fn parse(text: &str) -> Result<OrderInput, String> {
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<Unique>(text) {
            Err(e) => format!("malformed JSON: {e}"),
            Ok(_) => "malformed order: the body must be a JSON object".to_string(),
        });
    }
    serde_json::from_str::<Body>(text).map(|b| b.0).map_err(|e| format!("malformed JSON: {e}"))
}

/// The keys of one object so far: a second sighting of a key is an error naming it (and `place`,
/// the object it is in, when that helps: `items[3]`).
#[derive(Default)]
struct Keys<'de>(HashSet<Cow<'de, str>>);

impl<'de> Keys<'de> {
    /// `key` is a clone of the caller's (borrowed from the text unless it had escapes: cheap).
    fn first<E: serde::de::Error>(&mut self, key: Cow<'de, str>, place: Option<usize>) -> Result<(), E> {
        if !self.0.contains(&key) {
            self.0.insert(key);
            return Ok(());
        }
        let shown = crate::order::excerpt(&key, 64);
        Err(match place {
            Some(i) => E::custom(format_args!("duplicate key {shown:?} in items[{i}]")),
            None => E::custom(format_args!("duplicate key {shown:?}")),
        })
    }
}

/// Any JSON value, skipped like `IgnoredAny` but refusing repeated keys in its objects.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            keys.first(key.clone(), None)?;
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
}

/// A known field's value as it arrived. A nested value is checked for repeated keys too.
fn scalar<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Scalar, A::Error> {
    let raw = map.next_value::<&'de RawValue>()?;
    if let Some(b'{' | b'[') = raw.get().as_bytes().first() {
        serde_json::from_str::<Unique>(raw.get()).map_err(A::Error::custom)?;
    }
    Ok(scalar_from_raw(raw))
}

fn scalar_from_raw(raw: &RawValue) -> Scalar {
    let t = raw.get();
    match t.as_bytes().first() {
        // serde_json has checked the string (no control characters): without escapes, its text is its value.
        Some(b'"') if t.len() >= 2 && !t.as_bytes()[1..t.len() - 1].contains(&b'\\') => {
            Scalar::Str(t[1..t.len() - 1].to_string())
        }
        Some(b'"') => match serde_json::from_str::<String>(t) {
            Ok(s) => Scalar::Str(s),
            Err(_) => Scalar::Other("a malformed string"),
        },
        Some(b't') => Scalar::Bool(true),
        Some(b'f') => Scalar::Bool(false),
        Some(b'n') => Scalar::Null,
        Some(b'{') => Scalar::Other("an object"),
        Some(b'[') => Scalar::Other("an array"),
        // serde_json has already checked this is a valid JSON number: keep its exact text.
        _ => Scalar::Num(t.to_string()),
    }
}

/// The whole body: an object of the known fields (others skipped), each key at most once.
struct Body(OrderInput);

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an order object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut input = OrderInput::default();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            keys.first(key.clone(), None)?;
            let slot = match key.as_ref() {
                "order_id" => &mut input.order_id,
                "customer_id" => &mut input.customer_id,
                "currency" => &mut input.currency,
                "discount_percent" => &mut input.discount_percent,
                "tax_rate" => &mut input.tax_rate,
                "placed_at" => &mut input.placed_at,
                "items" => {
                    input.items = Some(map.next_value::<ItemsField>()?.0);
                    continue;
                }
                _ => {
                    map.next_value::<Unique>()?;
                    continue;
                }
            };
            *slot = Some(scalar(&mut map)?);
        }
        Ok(Body(input))
    }
}

/// `items` read in one pass: a list of item objects whose values keep their exact text; any
/// other JSON type is named for the error message instead of failing the whole body.
struct ItemsField(ItemsInput);

impl<'de> Deserialize<'de> for ItemsField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

fn not_a_list<E>(t: &'static str) -> Result<ItemsField, E> {
    Ok(ItemsField(ItemsInput::NotAList(t)))
}

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = ItemsField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemsField, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(crate::order::MAX_ITEMS + 1));
        while let Some(item) = seq.next_element_seed(ItemSeed(items.len()))? {
            items.push(item);
        }
        Ok(ItemsField(ItemsInput::List(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ItemsField, A::Error> {
        UniqueVisitor.visit_map(map)?;
        not_a_list("an object")
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemsField, E> {
        not_a_list("a string")
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemsField, E> {
        not_a_list("a boolean")
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemsField, E> {
        not_a_list("a number")
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemsField, E> {
        not_a_list("a number")
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemsField, E> {
        not_a_list("a number")
    }

    fn visit_unit<E>(self) -> Result<ItemsField, E> {
        not_a_list("null")
    }
}

/// One element of `items` (its index names it in errors): an object's sku/quantity/unit_price
/// as exact text, or its type.
struct ItemSeed(usize);

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = ItemInput;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ItemInput, D::Error> {
        d.deserialize_any(self)
    }
}

fn not_an_object<E>(t: &'static str) -> Result<ItemInput, E> {
    Ok(ItemInput { not_an_object: Some(t), ..ItemInput::default() })
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = ItemInput;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemInput, A::Error> {
        let mut item = ItemInput::default();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            keys.first(key.clone(), Some(self.0))?;
            let slot = match key.as_ref() {
                "sku" => &mut item.sku,
                "quantity" => &mut item.quantity,
                "unit_price" => &mut item.unit_price,
                _ => {
                    map.next_value::<Unique>()?;
                    continue;
                }
            };
            *slot = Some(scalar(&mut map)?);
        }
        Ok(item)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ItemInput, A::Error> {
        UniqueVisitor.visit_seq(seq)?;
        not_an_object("an array")
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemInput, E> {
        not_an_object("a string")
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemInput, E> {
        not_an_object("a boolean")
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemInput, E> {
        not_an_object("a number")
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemInput, E> {
        not_an_object("a number")
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemInput, E> {
        not_an_object("a number")
    }

    fn visit_unit<E>(self) -> Result<ItemInput, E> {
        not_an_object("null")
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::order::{read, read_view};

    const ITEM_TWICE: &str = r#"{"order_id":"o","customer_id":"c","currency":"USD","items":[{"sku":"S","quantity":1,"unit_price":"1.00"},{"sku":"S","quantity":1,"quantity":100,"unit_price":"1.00"}]}"#;

    fn refused(text: &str) -> String {
        // Both readers: the fast one must not answer, the general one must refuse.
        assert_eq!(read_view(text), None, "{text}");
        read(text).expect_err(text)
    }

    #[test]
    fn a_key_repeated_inside_a_line_item_is_refused_naming_the_key_and_the_item() {
        let reason = refused(ITEM_TWICE);
        assert!(reason.starts_with(r#"malformed JSON: duplicate key "quantity" in items[1]"#), "{reason}");
        let price = r#"{"items":[{"sku":"S","unit_price":"1.00","quantity":1,"unit_price":"1000.00"}]}"#;
        assert!(refused(price).contains(r#"duplicate key "unit_price" in items[0]"#));
    }

    #[test]
    fn a_key_repeated_at_the_top_or_deeper_is_refused_by_name() {
        for (text, key) in [
            (r#"{"order_id":"a","currency":"USD","order_id":"b"}"#, "order_id"),
            (r#"{"note":1,"items":[],"note":2}"#, "note"),
            (r#"{"items":[{"sku":"S","extra":{"a":{"b":1,"b":2}}}]}"#, "b"),
            (r#"{"meta":[{"x":1},{"y":1,"y":2}]}"#, "y"),
            (r#"{"order_id":{"k":1,"k":2}}"#, "k"),
            (r#"{"items":{"z":1,"z":1}}"#, "z"),
            (r#"{"order\u005fid":"a","order_id":"b"}"#, "order_id"),
        ] {
            let reason = refused(text);
            assert!(reason.contains(&format!("duplicate key {key:?}")), "{text}: {reason}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_is_not_a_repeat() {
        let text = r#"{"order_id":"o","items":[{"sku":"A","quantity":1},{"sku":"B","quantity":2}],"x":{"sku":1}}"#;
        let input = crate::codec::order::read(text).expect("distinct objects may share key names");
        assert_eq!(input.order_id_text(), Some("o"));
    }
}
