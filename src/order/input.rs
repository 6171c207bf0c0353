//! The untyped shape of an order as it arrives (JSON body, CSV rows, DynamoDB image), before
//! validation. Numbers keep their exact text: nothing goes through `f64`.

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
    pub(crate) fn type_name(&self) -> &'static str {
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

/// A scalar borrowed from its source text or from an `OrderInput`: what validation reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalarRef<'a> {
    Str(&'a str),
    Num(&'a str),
    Bool(bool),
    Null,
    Other(&'static str),
}

impl<'a> ScalarRef<'a> {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            ScalarRef::Str(_) => "a string",
            ScalarRef::Num(_) => "a number",
            ScalarRef::Bool(_) => "a boolean",
            ScalarRef::Null => "null",
            ScalarRef::Other(t) => t,
        }
    }

    pub(crate) fn to_scalar(self) -> Scalar {
        match self {
            ScalarRef::Str(s) => Scalar::Str(s.to_string()),
            ScalarRef::Num(n) => Scalar::Num(n.to_string()),
            ScalarRef::Bool(b) => Scalar::Bool(b),
            ScalarRef::Null => Scalar::Null,
            ScalarRef::Other(t) => Scalar::Other(t),
        }
    }
}

impl Scalar {
    pub(crate) fn view(&self) -> ScalarRef<'_> {
        match self {
            Scalar::Str(s) => ScalarRef::Str(s),
            Scalar::Num(n) => ScalarRef::Num(n),
            Scalar::Bool(b) => ScalarRef::Bool(*b),
            Scalar::Null => ScalarRef::Null,
            Scalar::Other(t) => ScalarRef::Other(t),
        }
    }
}

/// One line item, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ItemRef<'a> {
    pub sku: Option<ScalarRef<'a>>,
    pub quantity: Option<ScalarRef<'a>>,
    pub unit_price: Option<ScalarRef<'a>>,
    pub not_an_object: Option<&'static str>,
}

/// The items field, borrowed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemsRef<'a> {
    List(Vec<ItemRef<'a>>),
    NotAList(&'static str),
}

/// An order as it arrived, borrowed from its text (the usual JSON body, read without copying)
/// or from an `OrderInput`. Validation reads this view.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct InputRef<'a> {
    pub order_id: Option<ScalarRef<'a>>,
    pub customer_id: Option<ScalarRef<'a>>,
    pub currency: Option<ScalarRef<'a>>,
    pub items: Option<ItemsRef<'a>>,
    pub discount_percent: Option<ScalarRef<'a>>,
    pub tax_rate: Option<ScalarRef<'a>>,
    pub placed_at: Option<ScalarRef<'a>>,
}

impl<'a> InputRef<'a> {
    pub(crate) fn order_id_text(&self) -> Option<&'a str> {
        match self.order_id {
            Some(ScalarRef::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn customer_id_text(&self) -> Option<&'a str> {
        match self.customer_id {
            Some(ScalarRef::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn to_input(&self) -> OrderInput {
        let s = |v: &Option<ScalarRef<'a>>| v.map(ScalarRef::to_scalar);
        OrderInput {
            order_id: s(&self.order_id),
            customer_id: s(&self.customer_id),
            currency: s(&self.currency),
            items: self.items.as_ref().map(|items| match items {
                ItemsRef::List(list) => ItemsInput::List(
                    list.iter()
                        .map(|i| ItemInput {
                            sku: s(&i.sku),
                            quantity: s(&i.quantity),
                            unit_price: s(&i.unit_price),
                            not_an_object: i.not_an_object,
                        })
                        .collect(),
                ),
                ItemsRef::NotAList(t) => ItemsInput::NotAList(t),
            }),
            discount_percent: s(&self.discount_percent),
            tax_rate: s(&self.tax_rate),
            placed_at: s(&self.placed_at),
        }
    }
}

impl OrderInput {
    /// The order id as text, if it arrived as a string: used to key rejections and hand-offs.
    pub(crate) fn order_id_text(&self) -> Option<&str> {
        match &self.order_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn customer_id_text(&self) -> Option<&str> {
        match &self.customer_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The borrowed view validation reads.
    pub(crate) fn view(&self) -> InputRef<'_> {
        fn s(v: &Option<Scalar>) -> Option<ScalarRef<'_>> {
            v.as_ref().map(Scalar::view)
        }
        InputRef {
            order_id: s(&self.order_id),
            customer_id: s(&self.customer_id),
            currency: s(&self.currency),
            items: self.items.as_ref().map(|items| match items {
                ItemsInput::List(list) => ItemsRef::List(
                    list.iter()
                        .map(|i| ItemRef {
                            sku: s(&i.sku),
                            quantity: s(&i.quantity),
                            unit_price: s(&i.unit_price),
                            not_an_object: i.not_an_object,
                        })
                        .collect(),
                ),
                ItemsInput::NotAList(t) => ItemsRef::NotAList(t),
            }),
            discount_percent: s(&self.discount_percent),
            tax_rate: s(&self.tax_rate),
            placed_at: s(&self.placed_at),
        }
    }

    /// Renders the order back to the JSON wire format (numbers exactly as they arrived), e.g. to
    /// hand a CSV order on to the orders queue.
    pub(crate) fn to_json(&self) -> String {
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
