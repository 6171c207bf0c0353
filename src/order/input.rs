//! The untyped shape of an order as it arrives (JSON body, CSV rows, DynamoDB image), before
//! validation. Numbers keep their exact text: nothing goes through `f64`.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One scalar field as it arrived, with numbers kept as their exact source text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    /// A number, as its exact decimal text (`"19.99"`, `"1e2"`).
    Num(String),
    Bool(bool),
    Null,
    /// Any other JSON/DynamoDB type (object, array, binary...), named for the error message.
    Other(&'static str),
}

impl Scalar {
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::Num(_) => "a number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Null => "null",
            Scalar::Other(t) => t,
        }
    }
}

/// One line item as it arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInput {
    pub sku: Option<Scalar>,
    pub quantity: Option<Scalar>,
    pub unit_price: Option<Scalar>,
    /// Set when the item was not an object at all.
    pub not_an_object: Option<&'static str>,
}

/// The items field as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemsInput {
    List(Vec<ItemInput>),
    NotAList(&'static str),
}

/// An order as it arrived, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderInput {
    pub order_id: Option<Scalar>,
    pub customer_id: Option<Scalar>,
    pub currency: Option<Scalar>,
    pub items: Option<ItemsInput>,
    pub discount_percent: Option<Scalar>,
    pub tax_rate: Option<Scalar>,
    pub placed_at: Option<Scalar>,
}

impl OrderInput {
    /// The order id as text, if it arrived as a string: used to key rejections and hand-offs.
    pub fn order_id_text(&self) -> Option<&str> {
        match &self.order_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn customer_id_text(&self) -> Option<&str> {
        match &self.customer_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Parses one JSON order body. Fails only when the text is not a JSON object at all;
    /// wrong field types are kept for validation to report.
    pub fn from_json(text: &str) -> Result<OrderInput, String> {
        #[derive(Deserialize)]
        struct Wire<'a> {
            #[serde(borrow, default)]
            order_id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            customer_id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            currency: Option<&'a RawValue>,
            #[serde(default)]
            items: Option<ItemsField>,
            #[serde(borrow, default)]
            discount_percent: Option<&'a RawValue>,
            #[serde(borrow, default)]
            tax_rate: Option<&'a RawValue>,
            #[serde(borrow, default)]
            placed_at: Option<&'a RawValue>,
        }
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(e) => format!("malformed JSON: {e}"),
                Ok(_) => "malformed order: the body must be a JSON object".to_string(),
            });
        }
        let wire: Wire = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        let items = wire.items.map(|f| f.0);
        Ok(OrderInput {
            order_id: wire.order_id.map(scalar_from_raw),
            customer_id: wire.customer_id.map(scalar_from_raw),
            currency: wire.currency.map(scalar_from_raw),
            items,
            discount_percent: wire.discount_percent.map(scalar_from_raw),
            tax_rate: wire.tax_rate.map(scalar_from_raw),
            placed_at: wire.placed_at.map(scalar_from_raw),
        })
    }

    /// Renders the order back to the JSON wire format (numbers exactly as they arrived), e.g. to
    /// hand a CSV order on to the orders queue.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        let mut first = true;
        let mut field = |out: &mut String, name: &str, v: &Option<Scalar>| {
            if let Some(v) = v {
                if !first {
                    out.push(',');
                }
                first = false;
                push_json_str(out, name);
                out.push(':');
                push_scalar(out, v);
            }
        };
        field(&mut out, "order_id", &self.order_id);
        field(&mut out, "customer_id", &self.customer_id);
        field(&mut out, "currency", &self.currency);
        field(&mut out, "discount_percent", &self.discount_percent);
        field(&mut out, "tax_rate", &self.tax_rate);
        field(&mut out, "placed_at", &self.placed_at);
        if let Some(ItemsInput::List(items)) = &self.items {
            if !first {
                out.push(',');
            }
            out.push_str("\"items\":[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                let mut first_field = true;
                for (name, v) in [("sku", &item.sku), ("quantity", &item.quantity), ("unit_price", &item.unit_price)] {
                    if let Some(v) = v {
                        if !first_field {
                            out.push(',');
                        }
                        first_field = false;
                        push_json_str(&mut out, name);
                        out.push(':');
                        push_scalar(&mut out, v);
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        out.push('}');
        out
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("a string always serializes"));
}

fn push_scalar(out: &mut String, v: &Scalar) {
    match v {
        Scalar::Str(s) => push_json_str(out, s),
        Scalar::Num(n) => out.push_str(n),
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Scalar::Null | Scalar::Other(_) => out.push_str("null"),
    }
}

fn scalar_from_raw(raw: &RawValue) -> Scalar {
    let t = raw.get();
    match t.as_bytes().first() {
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

/// `items` read in one pass: a list of item objects whose values keep their exact text; any
/// other JSON type is named for the error message instead of failing the whole body.
struct ItemsField(ItemsInput);

impl<'de> Deserialize<'de> for ItemsField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> serde::de::Visitor<'de> for ItemsVisitor {
    type Value = ItemsField;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ItemsField, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(crate::order::MAX_ITEMS + 1));
        while let Some(item) = seq.next_element::<ItemField>()? {
            items.push(item.0);
        }
        Ok(ItemsField(ItemsInput::List(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ItemsField, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(ItemsField(ItemsInput::NotAList("an object")))
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a string")))
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_unit<E>(self) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("null")))
    }
}

/// One element of `items`: an object's sku/quantity/unit_price as exact text, or its type.
struct ItemField(ItemInput);

impl<'de> Deserialize<'de> for ItemField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

fn not_an_object(t: &'static str) -> ItemField {
    ItemField(ItemInput { not_an_object: Some(t), ..ItemInput::default() })
}

impl<'de> serde::de::Visitor<'de> for ItemVisitor {
    type Value = ItemField;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an item object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ItemField, A::Error> {
        let mut item = ItemInput::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "sku" => &mut item.sku,
                "quantity" => &mut item.quantity,
                "unit_price" => &mut item.unit_price,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(scalar_from_raw(map.next_value::<&'de RawValue>()?));
        }
        Ok(ItemField(item))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ItemField, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(not_an_object("an array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemField, E> {
        Ok(not_an_object("a string"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemField, E> {
        Ok(not_an_object("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_unit<E>(self) -> Result<ItemField, E> {
        Ok(not_an_object("null"))
    }
}
