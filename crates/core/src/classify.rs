//! Class breaks for choropleth maps, as in mapclassify (PySAL).
//!
//! Bins are upper bounds; the last equals the maximum. A value falls into the first class
//! whose upper bound is ≥ the value.
//!
//! # References
//! Rey, S. J. et al. (2023): mapclassify 2.x, `mapclassify/classifiers.py` (Quantiles,
//! EqualInterval).

use serde::Serialize;

/// A classification: upper bounds, class of each value, counts per class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub bins: Vec<f64>,
    pub yb: Vec<usize>,
    pub counts: Vec<usize>,
    pub k: usize,
}

impl Classification {
    fn from_bins(y: &[f64], bins: Vec<f64>) -> Classification {
        let yb: Vec<usize> = y.iter().map(|v| class_of(&bins, *v)).collect();
        let mut counts = vec![0; bins.len()];
        yb.iter().for_each(|&c| counts[c] += 1);
        Classification { k: bins.len(), bins, yb, counts }
    }

    /// The lower bound of class `c` (the minimum for the first class).
    pub fn lower(&self, c: usize, min: f64) -> f64 {
        if c == 0 { min } else { self.bins[c - 1] }
    }
}

/// Index of the class of `v`: first bin with `v <= bin` (right-closed); values above the
/// last bin go into the last class.
pub fn class_of(bins: &[f64], v: f64) -> usize {
    bins.partition_point(|b| *b < v).min(bins.len().saturating_sub(1))
}

/// Quantile classes: bins at the `i/k` percentiles (linear interpolation, numpy's default),
/// duplicates removed, so `k` may shrink for data with many ties — as mapclassify does.
pub fn quantiles(y: &[f64], k: usize) -> Option<Classification> {
    if y.is_empty() || k == 0 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut s = y.to_vec();
    s.sort_by(f64::total_cmp);
    let mut bins: Vec<f64> = (1..=k).map(|i| percentile_sorted(&s, i as f64 / k as f64)).collect();
    bins.dedup();
    Some(Classification::from_bins(y, bins))
}

/// Equal-interval classes between minimum and maximum.
pub fn equal_interval(y: &[f64], k: usize) -> Option<Classification> {
    if y.is_empty() || k == 0 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w = (max - min) / k as f64;
    let mut bins: Vec<f64> = (1..k).map(|i| min + w * i as f64).collect();
    bins.push(max);
    bins.dedup();
    Some(Classification::from_bins(y, bins))
}

/// Percentile `q` in 0..=1 of sorted data, linear interpolation between order statistics
/// (numpy `percentile`, method "linear"; Hyndman–Fan type 7).
pub fn percentile_sorted(s: &[f64], q: f64) -> f64 {
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_mapclassify() {
        // mapclassify 2.10: Quantiles(np.arange(1, 11.0), k=4): bins [3.25, 5.5, 7.75, 10.], counts [3, 2, 2, 3]
        let y: Vec<f64> = (1..=10).map(f64::from).collect();
        let c = quantiles(&y, 4).unwrap();
        assert_eq!(c.bins, vec![3.25, 5.5, 7.75, 10.0]);
        assert_eq!(c.counts, vec![3, 2, 2, 3]);
        assert_eq!(c.yb[2], 0);
        assert_eq!(c.yb[3], 1);
    }

    #[test]
    fn ties_shrink_k() {
        // mapclassify 2.10: Quantiles(np.array([0,0,0,0,1.0]), k=5).bins (warns, sets k=3).
        let c = quantiles(&[0.0, 0.0, 0.0, 0.0, 1.0], 5).unwrap();
        assert_eq!(c.bins, vec![0.0, 0.20000000000000018, 1.0]);
        assert_eq!(c.k, 3);
    }

    #[test]
    fn equal_interval_bins() {
        let c = equal_interval(&[0.0, 10.0, 5.0], 2).unwrap();
        assert_eq!(c.bins, vec![5.0, 10.0]);
        assert_eq!(c.yb, vec![0, 1, 0]);
    }
}
