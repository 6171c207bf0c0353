//! Splitting an amount into parts proportional to weights so that the parts sum to it exactly
//! (largest-remainder method at the amount's own decimal scale).

use rust_decimal::Decimal;

/// Splits `amount` by `weights`. Every part has the amount's scale; the parts sum to `amount`
/// exactly; leftover units go to the largest remainders (ties: the earlier entry).
pub fn split_by_weight<K: Clone>(amount: Decimal, weights: &[(K, u64)]) -> Vec<(K, Decimal)> {
    let total: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();
    if total == 0 {
        return weights.iter().map(|(k, _)| (k.clone(), Decimal::ZERO)).collect();
    }
    let scale = amount.scale();
    let units = amount.mantissa();
    let negative = units < 0;
    let units = units.unsigned_abs();
    let mut parts: Vec<(usize, u128, u128)> = weights
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            // units < 2^96 and weights < 2^64, so this cannot overflow u128... except in theory;
            // fall back to a division first when it would.
            let w = u128::from(*w);
            match units.checked_mul(w) {
                Some(p) => (i, p / total, p % total),
                None => (i, units / total * w, 0),
            }
        })
        .collect();
    let assigned: u128 = parts.iter().map(|p| p.1).sum();
    let mut left = units - assigned;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then(a.cmp(&b)));
    for &i in order.iter().cycle().take(parts.len() * 2) {
        if left == 0 {
            break;
        }
        if weights[i].1 > 0 {
            parts[i].1 += 1;
            left -= 1;
        }
    }
    parts
        .into_iter()
        .map(|(i, u, _)| {
            let v = i128::try_from(u).expect("a part is at most the whole");
            (weights[i].0.clone(), Decimal::from_i128_with_scale(if negative { -v } else { v }, scale))
        })
        .collect()
}
