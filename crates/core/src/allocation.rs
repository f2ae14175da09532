//! Needs-based allocation of a budget ("Ungleiches ungleich behandeln"): shares
//! proportional to a weight per area, with eligibility, a minimum and a maximum per area, in
//! whole euros that sum exactly to the budget.
//!
//! 1. Eligible areas (weight > 0 after the eligibility rule) share the budget in proportion to
//!    their weights, bounded: x = clamp(λ·w, min, max), with λ found so that Σx = budget
//!    (water filling: areas at a bound keep it, the rest share what remains).
//! 2. Whole euros by the largest-remainder method (Hare–Niemeyer, as German parliaments
//!    allocate seats): every area gets the floor of its share, the remaining euros go to the
//!    largest fractional parts (ties: larger weight, then input order), never above a maximum.

/// Bounds and the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Whole euros to distribute.
    pub budget: u64,
    /// Per eligible area (whole euros).
    pub min: u64,
    pub max: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AllocationError {
    NoEligibleArea,
    /// The minimums alone exceed the budget: (areas, minimum, budget).
    MinimumsExceedBudget(usize, u64, u64),
    /// The maximums cannot take the budget: (areas, maximum, budget).
    MaximumsBelowBudget(usize, u64, u64),
    /// A weight is negative or not a number (position).
    InvalidWeight(usize),
}

impl std::fmt::Display for AllocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllocationError::NoEligibleArea => write!(f, "kein Gebiet erfüllt die Bedingungen: nichts zu verteilen"),
            AllocationError::MinimumsExceedBudget(n, m, b) => {
                write!(f, "{n} Gebiete × Mindestbetrag {m} € = {} € übersteigen das Budget von {b} €", *n as u64 * m)
            }
            AllocationError::MaximumsBelowBudget(n, m, b) => {
                write!(f, "{n} Gebiete × Höchstbetrag {m} € = {} € reichen nicht für das Budget von {b} €", *n as u64 * m)
            }
            AllocationError::InvalidWeight(i) => write!(f, "Gewicht an Position {i} ist negativ oder keine Zahl"),
        }
    }
}

/// Whole euros per area for `weights` (0 = not eligible; areas with weight 0 get nothing,
/// not even the minimum).
pub fn allocate(weights: &[f64], rules: &Rules) -> Result<Vec<u64>, AllocationError> {
    if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
        return Err(AllocationError::InvalidWeight(i));
    }
    let eligible: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0.0).collect();
    let n = eligible.len();
    if n == 0 {
        return Err(AllocationError::NoEligibleArea);
    }
    let budget = rules.budget as f64;
    let min = rules.min as f64;
    let max = rules.max.map(|m| m as f64).unwrap_or(f64::INFINITY);
    if rules.min.saturating_mul(n as u64) > rules.budget {
        return Err(AllocationError::MinimumsExceedBudget(n, rules.min, rules.budget));
    }
    if let Some(m) = rules.max
        && m.saturating_mul(n as u64) < rules.budget
    {
        return Err(AllocationError::MaximumsBelowBudget(n, m, rules.budget));
    }
    // Σ clamp(λ·w, min, max) is continuous and non-decreasing in λ: bisection on λ.
    let total = |lambda: f64| -> f64 { eligible.iter().map(|&i| (lambda * weights[i]).clamp(min, max)).sum() };
    let (mut lo, mut hi) = (0.0, 1.0);
    while total(hi) < budget {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if total(mid) < budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut exact = vec![0.0; weights.len()];
    for &i in &eligible {
        exact[i] = (hi * weights[i]).clamp(min, max);
    }
    // Rescale the tiny bisection error away among the areas strictly inside their bounds.
    let free: Vec<usize> = eligible.iter().copied().filter(|&i| exact[i] > min && exact[i] < max).collect();
    let gap = budget - exact.iter().sum::<f64>();
    if !free.is_empty() {
        let fw: f64 = free.iter().map(|&i| weights[i]).sum();
        for &i in &free {
            exact[i] = (exact[i] + gap * weights[i] / fw).clamp(min, max);
        }
    }
    // Largest remainder.
    let mut out: Vec<u64> = exact.iter().map(|x| x.floor().max(0.0) as u64).collect();
    let given: u64 = out.iter().sum();
    let mut left = rules.budget.saturating_sub(given);
    let mut order: Vec<usize> = eligible.clone();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(weights[b].total_cmp(&weights[a])).then(a.cmp(&b))
    });
    while left > 0 {
        let before = left;
        for &i in &order {
            if left == 0 {
                break;
            }
            if rules.max.is_none_or(|m| out[i] < m) {
                out[i] += 1;
                left -= 1;
            }
        }
        if left == before {
            break; // every area at its maximum (excluded by the check above)
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_in_whole_euros_summing_exactly() {
        let r = allocate(&[1.0, 2.0, 3.0, 0.0], &Rules { budget: 100, min: 0, max: None }).unwrap();
        // 16.67, 33.33, 50, 0 → floors 16, 33, 50 = 99; the last euro to the largest remainder.
        assert_eq!(r, [17, 33, 50, 0]);
        assert_eq!(r.iter().sum::<u64>(), 100);
        let r = allocate(&[1.0, 1.0, 1.0], &Rules { budget: 100, min: 0, max: None }).unwrap();
        assert_eq!(r, [34, 33, 33], "ties: input order");
    }

    #[test]
    fn bounds_are_kept_and_the_rest_shared() {
        // Without bounds 10/20/70 of 1000; max 500 caps the third, the others share the rest.
        let r = allocate(&[1.0, 2.0, 7.0], &Rules { budget: 1000, min: 0, max: Some(500) }).unwrap();
        assert_eq!(r, [167, 333, 500]);
        // A minimum lifts the smallest.
        let r = allocate(&[1.0, 10.0, 89.0], &Rules { budget: 1000, min: 50, max: None }).unwrap();
        assert_eq!(r[0], 50);
        assert_eq!(r.iter().sum::<u64>(), 1000);
        assert!(r[2] > r[1] * 8, "{r:?}");
    }

    #[test]
    fn impossible_rules_are_named() {
        assert_eq!(allocate(&[0.0, 0.0], &Rules { budget: 10, min: 0, max: None }), Err(AllocationError::NoEligibleArea));
        assert_eq!(allocate(&[1.0, 1.0], &Rules { budget: 10, min: 6, max: None }), Err(AllocationError::MinimumsExceedBudget(2, 6, 10)));
        assert_eq!(allocate(&[1.0, 1.0], &Rules { budget: 10, min: 0, max: Some(4) }), Err(AllocationError::MaximumsBelowBudget(2, 4, 10)));
        assert_eq!(allocate(&[1.0, -1.0], &Rules { budget: 10, min: 0, max: None }), Err(AllocationError::InvalidWeight(1)));
    }

    #[test]
    fn many_areas_sum_exactly() {
        let w: Vec<f64> = (0..447).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        for budget in [1, 999, 1_000_000, 12_345_677] {
            let r = allocate(&w, &Rules { budget, min: 0, max: Some(budget / 10 + 1) }).unwrap();
            assert_eq!(r.iter().sum::<u64>(), budget);
            assert!(r.iter().zip(&w).all(|(x, w)| *w > 0.0 || *x == 0));
        }
    }
}
