//! Pricing: subtotal, discount, tax and total in the currency's minor units, with checked
//! arithmetic so an absurd order is rejected with a reason instead of panicking.

use super::{Currency, Order};
use rust_decimal::{Decimal, RoundingStrategy};

/// The priced amounts of an order, each at the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

/// Rounds to the currency's minor units, half away from zero, and shows exactly that many
/// decimals (`36` USD becomes `36.00`).
pub fn round_money(amount: Decimal, currency: Currency) -> Decimal {
    let mut r = amount.round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointAwayFromZero);
    r.rescale(currency.minor_units());
    r
}

/// `d / 100`, exactly: two more decimal places when they fit (a division costs far more).
fn percent_of(d: Decimal) -> Option<Decimal> {
    let mut shifted = d;
    match shifted.set_scale(d.scale() + 2) {
        Ok(()) => Some(shifted),
        Err(_) => d.checked_div(Decimal::ONE_HUNDRED),
    }
}

const OVERFLOW: &str = "the order's amounts are too large to compute exactly (arithmetic overflow)";

impl Order {
    /// subtotal = Σ quantity × unit_price; discount = round(subtotal × discount_percent / 100);
    /// tax = round((subtotal − discount) × tax_rate); total = subtotal − discount + tax.
    pub fn price(&self) -> Result<Totals, String> {
        let c = self.currency;
        let mut subtotal = Decimal::ZERO;
        for (i, item) in self.items.iter().enumerate() {
            let line = Decimal::from(item.quantity)
                .checked_mul(item.unit_price)
                .ok_or_else(|| format!("items[{i}]: quantity × unit_price overflows"))?;
            subtotal = subtotal.checked_add(line).ok_or(OVERFLOW)?;
        }
        let discount = subtotal.checked_mul(self.discount_percent).and_then(percent_of).ok_or(OVERFLOW)?;
        let discount = round_money(discount, c);
        let taxable = subtotal.checked_sub(discount).ok_or(OVERFLOW)?;
        let tax = round_money(taxable.checked_mul(self.tax_rate).ok_or(OVERFLOW)?, c);
        let total = taxable.checked_add(tax).ok_or(OVERFLOW)?;
        // rescale can fail silently on values near the 28-digit limit: check it kept the value.
        let (subtotal, total) = (round_money(subtotal, c), round_money(total, c));
        if subtotal.scale() != c.minor_units() || total.scale() != c.minor_units() {
            return Err(OVERFLOW.to_string());
        }
        Ok(Totals { subtotal, discount, tax, total })
    }
}

#[cfg(test)]
mod tests {
    use super::percent_of;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    proptest! {
        #[test]
        fn a_percentage_by_shifting_the_scale_equals_dividing_by_100(m in any::<i64>(), scale in 0u32..=28) {
            let d = Decimal::new(m, scale.min(28));
            prop_assert_eq!(percent_of(d), d.checked_div(Decimal::ONE_HUNDRED));
        }
    }
}
