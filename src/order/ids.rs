//! Identifier newtypes: an `OrderId`, `CustomerId` or `Sku` is valid by type.

use std::fmt;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

macro_rules! id_type {
    ($name:ident, $field:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses 1-64 characters of `[A-Za-z0-9._:-]`.
            pub fn parse(s: &str) -> Result<Self, String> {
                if s.is_empty() || s.len() > 64 || !s.chars().all(is_id_char) {
                    Err(format!(
                        "{} must be 1-64 characters of A-Z a-z 0-9 . _ : - (got {:?})",
                        $field,
                        crate::order::excerpt(s, 80)
                    ))
                } else {
                    Ok(Self(s.to_string()))
                }
            }

            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }

            pub(crate) fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(OrderId, "order_id");
id_type!(CustomerId, "customer_id");

/// A stock-keeping unit: 1-64 characters, any printable text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub(crate) fn parse(s: &str, field: &dyn std::fmt::Display) -> Result<Self, String> {
        let n = s.chars().count();
        if n == 0 || n > 64 || s.chars().any(char::is_control) {
            Err(format!("{field} must be 1-64 printable characters (got {:?})", crate::order::excerpt(s, 80)))
        } else {
            Ok(Self(s.to_string()))
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}
