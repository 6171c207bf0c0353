//! Decimal text without `fmt`: `Decimal::to_string` goes through `Formatter` and builds its
//! digits one division at a time, and an embedded import writes nine amounts per order. The
//! proptest holds `push_decimal` to `to_string` for every decimal.

use rust_decimal::Decimal;

/// Appends `d` as `d.to_string()` writes it: the mantissa's digits with `scale` of them after
/// the point, a leading `0` before a bare point, and the sign of negative zero kept.
pub(crate) fn push_decimal(out: &mut String, d: &Decimal) {
    if d.is_sign_negative() {
        out.push('-');
    }
    let scale = d.scale() as usize;
    let mantissa = d.mantissa().unsigned_abs();
    let mut buf = itoa::Buffer::new();
    let digits = match mantissa {
        0 => "",
        m => match u64::try_from(m) {
            Ok(small) => buf.format(small),
            Err(_) => buf.format(m),
        },
    };
    if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(whole);
        if scale > 0 {
            out.push('.');
            out.push_str(fraction);
        }
    } else {
        out.push('0');
        if scale > 0 {
            out.push('.');
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(digits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(d: &Decimal) -> String {
        let mut out = String::new();
        push_decimal(&mut out, d);
        out
    }

    #[test]
    fn amounts_are_written_as_to_string_writes_them() {
        for s in ["0", "0.00", "-0.5", "19.99", "0.0825", "10", "47.92", "-123.4500", "0.000001"] {
            let d: Decimal = s.parse().unwrap();
            assert_eq!(text(&d), d.to_string(), "{s}");
        }
        let negative_zero = Decimal::from_parts(0, 0, 0, true, 2);
        assert_eq!(text(&negative_zero), negative_zero.to_string());
        assert_eq!(text(&Decimal::MAX), Decimal::MAX.to_string());
        assert_eq!(text(&Decimal::MIN), Decimal::MIN.to_string());
    }

    proptest! {
        #[test]
        fn every_decimal_is_written_as_to_string_writes_it(
            lo in any::<u32>(), mid in any::<u32>(), hi in any::<u32>(), negative in any::<bool>(), scale in 0u32..=28,
        ) {
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            prop_assert_eq!(text(&d), d.to_string());
        }

        #[test]
        fn small_decimals_are_written_as_to_string_writes_them(m in any::<i64>(), scale in 0u32..=28) {
            let d = Decimal::new(m, scale);
            prop_assert_eq!(text(&d), d.to_string());
        }
    }
}
