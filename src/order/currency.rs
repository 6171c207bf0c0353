//! ISO 4217 currencies we accept, with their minor units.

use std::fmt;

/// A supported ISO 4217 currency. Valid by construction: only `Currency::parse` makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

const TABLE: &[(&str, u32)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("JPY", 0),
    ("CHF", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("HUF", 2),
    ("INR", 2),
    ("CNY", 2),
    ("KRW", 0),
    ("BRL", 2),
    ("MXN", 2),
    ("ZAR", 2),
    ("SGD", 2),
    ("HKD", 2),
    ("KWD", 3),
    ("BHD", 3),
    ("JOD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("ISK", 0),
    ("CLP", 0),
    ("VND", 0),
    ("TWD", 2),
    ("THB", 2),
    ("ILS", 2),
    ("AED", 2),
    ("SAR", 2),
    ("TRY", 2),
    ("RON", 2),
    ("IDR", 2),
    ("PHP", 2),
    ("MYR", 2),
];

impl Currency {
    /// Parses an upper-case ISO 4217 code we support.
    pub fn parse(code: &str) -> Option<Currency> {
        TABLE.iter().find(|(c, _)| *c == code).map(|&(code, minor_units)| Currency { code, minor_units })
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (USD 2, JPY 0, KWD 3).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}
