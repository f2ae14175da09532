//! Class breaks for choropleth maps, reproducing mapclassify (PySAL) exactly.
//!
//! Bins are upper bounds; the last equals the maximum (where mapclassify's method does so).
//! A value falls into the first class whose upper bound is ≥ the value (`yb`, 0-based).
//!
//! # References
//! Rey, S. J., Arribas-Bel, D., Wolf, L. J. et al.: mapclassify 2.10, `classifiers.py`
//! (Quantiles, EqualInterval, StdMean, FisherJenks, JenksCaspall, BoxPlot, HeadTailBreaks,
//! MaximumBreaks, UserDefined). Fisher, W. D. (1958): On grouping for maximum homogeneity,
//! JASA 53. Jenks, G. F. & Caspall, F. C. (1971): Error on choroplethic maps, Annals AAG 61.
//! Jiang, B. (2013): Head/tail breaks, The Professional Geographer 65. Wang, H. & Song, M.
//! (2011): Ckmeans.1d.dp: optimal k-means clustering in one dimension by dynamic
//! programming, The R Journal 3(2). Hyndman, R. J. & Fan, Y. (1996): Sample quantiles in
//! statistical packages, The American Statistician 50 (type 7 = numpy, type 9 = R option).

use serde::Serialize;
use std::fmt;

/// A classification: upper bounds, class of each value, counts per class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub bins: Vec<f64>,
    pub yb: Vec<usize>,
    pub counts: Vec<usize>,
    pub k: usize,
}

impl Classification {
    /// Classes of `y` for given bins, as mapclassify's `bin1d`.
    pub fn from_bins(y: &[f64], bins: Vec<f64>) -> Classification {
        let yb: Vec<usize> = y.iter().map(|v| bin1d(&bins, *v)).collect();
        let mut counts = vec![0; bins.len()];
        yb.iter().for_each(|&c| counts[c] += 1);
        Classification { k: bins.len(), bins, yb, counts }
    }

    /// The lower bound of class `c` (the minimum for the first class).
    pub fn lower(&self, c: usize, min: f64) -> f64 {
        if c == 0 { min } else { self.bins[c - 1] }
    }
}

/// mapclassify's `bin1d`: the first bin with `v <= bin`; values above the last bin fall
/// into class 0 there. Quartier's own maps use [`class_of`] instead.
fn bin1d(bins: &[f64], v: f64) -> usize {
    let c = bins.partition_point(|b| *b < v);
    if c == bins.len() { 0 } else { c }
}

/// Index of the class of `v`: first bin with `v <= bin` (right-closed); values above the
/// last bin (possible with frozen breaks) go into the last class.
pub fn class_of(bins: &[f64], v: f64) -> usize {
    bins.partition_point(|b| *b < v).min(bins.len().saturating_sub(1))
}

/// A classification method and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Quantiles; `type9` uses Hyndman–Fan type 9 (R's `quantile(type = 9)`) instead of
    /// mapclassify's linear interpolation.
    Quantiles {
        k: usize,
        type9: bool,
    },
    EqualInterval {
        k: usize,
    },
    /// Mean ± multiples of the sample standard deviation (ddof = 1, as mapclassify);
    /// `center` replaces the mean (e.g. 0 or the reference value) for diverging classes.
    StdMean {
        multiples: Vec<f64>,
        center: Option<f64>,
    },
    /// Exact optimal classes (minimum within-class sum of squares).
    FisherJenks {
        k: usize,
    },
    JenksCaspall {
        k: usize,
    },
    BoxPlot {
        hinge: f64,
    },
    HeadTail,
    MaxBreaks {
        k: usize,
    },
    /// User-defined upper bounds, ascending; the maximum is appended if above the last.
    User {
        breaks: Vec<f64>,
    },
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Quantiles { .. } => "quantiles",
            Method::EqualInterval { .. } => "equal-interval",
            Method::StdMean { .. } => "std-mean",
            Method::FisherJenks { .. } => "fisher-jenks",
            Method::JenksCaspall { .. } => "jenks-caspall",
            Method::BoxPlot { .. } => "box-plot",
            Method::HeadTail => "headtail",
            Method::MaxBreaks { .. } => "max-breaks",
            Method::User { .. } => "user",
        }
    }
}

/// Why values could not be classified.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifyError {
    NoValues,
    NotFinite,
    ZeroClasses,
    TooFewDistinct { distinct: usize, k: usize },
    AllEqual,
    BreaksNotAscending(Vec<f64>),
}

impl fmt::Display for ClassifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassifyError::NoValues => write!(f, "keine Werte zum Klassifizieren"),
            ClassifyError::NotFinite => write!(f, "Werte enthalten NaN oder Unendlich"),
            ClassifyError::ZeroClasses => write!(f, "die Klassenzahl muss mindestens 1 sein"),
            ClassifyError::TooFewDistinct { distinct, k } => {
                write!(f, "nur {distinct} verschiedene Werte für {k} Klassen: weniger Klassen wählen")
            }
            ClassifyError::AllEqual => write!(f, "alle Werte sind gleich: keine Klassenbildung möglich"),
            ClassifyError::BreaksNotAscending(b) => write!(f, "Klassengrenzen müssen aufsteigen: {b:?}"),
        }
    }
}

/// Classifies `y` with `method`.
pub fn classify(y: &[f64], method: &Method) -> Result<Classification, ClassifyError> {
    if y.is_empty() {
        return Err(ClassifyError::NoValues);
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(ClassifyError::NotFinite);
    }
    let mut s = y.to_vec();
    s.sort_by(f64::total_cmp);
    let (min, max) = (s[0], s[s.len() - 1]);
    let bins = match method {
        Method::Quantiles { k, type9 } => {
            if *k == 0 {
                return Err(ClassifyError::ZeroClasses);
            }
            let mut b: Vec<f64> =
                quantile_points(*k).into_iter().map(|p| if *type9 { quantile_type9(&s, p) } else { percentile_sorted(&s, p) }).collect();
            b.dedup();
            b
        }
        Method::EqualInterval { k } => {
            if *k == 0 {
                return Err(ClassifyError::ZeroClasses);
            }
            if min == max {
                return Err(ClassifyError::AllEqual);
            }
            // numpy.arange(min + w, max + w, w), cut to k, last set to the maximum.
            let w = (max - min) / *k as f64;
            let start = min + w;
            let stop = max + w;
            let len = ((stop - start) / w).ceil().max(0.0) as usize;
            let mut b: Vec<f64> = (0..len.min(*k)).map(|i| start + i as f64 * w).collect();
            if let Some(last) = b.last_mut() {
                *last = max;
            }
            b
        }
        Method::StdMean { multiples, center } => {
            let n = s.len() as f64;
            let mean = y.iter().sum::<f64>() / n;
            let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let m = center.unwrap_or(mean);
            let mut b: Vec<f64> = multiples.iter().map(|w| m + sd * w).collect();
            if b.last().is_none_or(|l| *l < max) {
                b.push(max);
            }
            b
        }
        Method::FisherJenks { k } => {
            let distinct = count_distinct(&s);
            if *k == 0 {
                return Err(ClassifyError::ZeroClasses);
            }
            if distinct < *k {
                return Err(ClassifyError::TooFewDistinct { distinct, k: *k });
            }
            fisher_jenks(&s, *k)
        }
        Method::JenksCaspall { k } => {
            if *k == 0 {
                return Err(ClassifyError::ZeroClasses);
            }
            // Where mapclassify never settles (e.g. fewer values than classes), refuse.
            jenks_caspall(y, &s, *k).ok_or(ClassifyError::TooFewDistinct { distinct: count_distinct(&s), k: *k })?
        }
        Method::BoxPlot { hinge } => {
            let q: Vec<f64> = [0.25, 0.5, 0.75, 1.0].iter().map(|p| percentile_sorted(&s, *p)).collect();
            let iqr = q[2] - q[0];
            let (left, right) = (q[0] - hinge * iqr, q[2] + hinge * iqr);
            let mut b = q.clone();
            if right < q[3] {
                b.insert(3, right);
            } else {
                b[3] = right;
            }
            b.insert(0, left);
            b
        }
        Method::HeadTail => head_tail(&s),
        Method::MaxBreaks { k } => {
            if *k == 0 {
                return Err(ClassifyError::ZeroClasses);
            }
            if min == max {
                return Err(ClassifyError::AllEqual);
            }
            let diffs: Vec<f64> = s.windows(2).map(|w| w[1] - w[0]).collect();
            if diffs.len() < k - 1 {
                return Err(ClassifyError::TooFewDistinct { distinct: count_distinct(&s), k: *k });
            }
            let mut idx: Vec<usize> = (0..diffs.len()).collect();
            idx.sort_by(|a, b| diffs[*a].total_cmp(&diffs[*b]));
            let mut b: Vec<f64> =
                (1..*k).filter_map(|c| idx.len().checked_sub(c).map(|i| idx[i])).map(|i| (s[i] + s[i + 1]) / 2.0).collect();
            b.push(max);
            b.sort_by(f64::total_cmp);
            b
        }
        Method::User { breaks } => {
            if breaks.is_empty() {
                return Err(ClassifyError::ZeroClasses);
            }
            if breaks.windows(2).any(|w| w[0] >= w[1]) || breaks.iter().any(|b| !b.is_finite()) {
                return Err(ClassifyError::BreaksNotAscending(breaks.clone()));
            }
            let mut b = breaks.clone();
            if b[b.len() - 1] < max {
                b.push(max);
            }
            b
        }
    };
    Ok(Classification::from_bins(y, bins))
}

fn quantile_points(k: usize) -> Vec<f64> {
    // numpy.arange(w, 100 + w, w) with w = 100 / k, the last capped at 100.
    let w = 100.0 / k as f64;
    let len = ((100.0 + w - w) / w).ceil() as usize;
    let mut p: Vec<f64> = (0..len).map(|i| w + i as f64 * w).collect();
    if let Some(l) = p.last_mut()
        && *l > 100.0
    {
        *l = 100.0;
    }
    p.into_iter().map(|x| x / 100.0).collect()
}

fn count_distinct(sorted: &[f64]) -> usize {
    if sorted.is_empty() { 0 } else { 1 + sorted.windows(2).filter(|w| w[0] != w[1]).count() }
}

/// Quantile classes (mapclassify `Quantiles`): bins at the `i/k` percentiles, duplicates
/// removed, so `k` may shrink for data with many ties.
pub fn quantiles(y: &[f64], k: usize) -> Option<Classification> {
    classify(y, &Method::Quantiles { k, type9: false }).ok()
}

/// Equal-interval classes (mapclassify `EqualInterval`).
pub fn equal_interval(y: &[f64], k: usize) -> Option<Classification> {
    classify(y, &Method::EqualInterval { k }).ok()
}

/// Percentile `q` in 0..=1 of sorted data, linear interpolation between order statistics
/// (numpy `percentile`, scipy `scoreatpercentile`; Hyndman–Fan type 7).
pub fn percentile_sorted(s: &[f64], q: f64) -> f64 {
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Hyndman–Fan type 9 quantile of sorted data (R `quantile(type = 9)`): approximately
/// unbiased for normal data; `m = p/4 + 3/8`.
pub fn quantile_type9(s: &[f64], p: f64) -> f64 {
    let n = s.len() as f64;
    let m = p / 4.0 + 3.0 / 8.0;
    let np_m = n * p + m;
    let j = np_m.floor();
    let g = np_m - j;
    // 1-based order statistics, clamped to the data.
    let at = |i: f64| s[(i.max(1.0).min(n) as usize) - 1];
    (1.0 - g) * at(j) + g * at(j + 1.0)
}

/// Head/tail breaks (Jiang 2013), as mapclassify: the mean, then the mean of the values
/// above it, while more than one distinct value remains.
fn head_tail(sorted: &[f64]) -> Vec<f64> {
    let mut cuts: Vec<f64> = Vec::new();
    let mut values: Vec<f64> = sorted.to_vec();
    loop {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        if cuts.last() == Some(&mean) {
            return cuts;
        }
        cuts.push(mean);
        if count_distinct(&values) <= 1 {
            return cuts;
        }
        values.retain(|v| *v > mean);
        if values.is_empty() {
            return cuts;
        }
    }
}

/// Jenks–Caspall iterative medians (mapclassify `JenksCaspall`), including its handling of
/// classes that become empty (their median is NaN, and numpy's argmin picks the first NaN).
fn jenks_caspall(y: &[f64], sorted: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut q: Vec<f64> = quantile_points(k).into_iter().map(|p| percentile_sorted(sorted, p)).collect();
    q.dedup();
    let initial = Classification::from_bins(y, q);
    let mut present: Vec<usize> = initial.yb.clone();
    present.sort_unstable();
    present.dedup();
    let median_of = |cls: &[usize], c: usize| -> f64 {
        let mut v: Vec<f64> = y.iter().zip(cls).filter(|(_, b)| **b == c).map(|(x, _)| *x).collect();
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
    };
    let mut centers: Vec<f64> = present.iter().map(|&c| median_of(&initial.yb, c)).collect();
    let mut xb0 = initial.yb;
    // mapclassify iterates until stable; the cap only guards against cycles.
    let mut settled = false;
    for _ in 0..10_000 {
        let xb: Vec<usize> = y
            .iter()
            .map(|x| {
                let d: Vec<f64> = centers.iter().map(|c| (x - c).abs()).collect();
                if let Some(i) = d.iter().position(|v| v.is_nan()) {
                    return i;
                }
                let mut best = 0;
                for (i, v) in d.iter().enumerate() {
                    if *v < d[best] {
                        best = i;
                    }
                }
                best
            })
            .collect();
        let stable = xb == xb0;
        xb0 = xb;
        centers = (0..k).map(|c| median_of(&xb0, c)).collect();
        if stable {
            settled = true;
            break;
        }
    }
    if !settled {
        return None;
    }
    let mut classes: Vec<usize> = xb0.clone();
    classes.sort_unstable();
    classes.dedup();
    Some(classes.iter().map(|&c| y.iter().zip(&xb0).filter(|(_, b)| **b == c).map(|(x, _)| *x).fold(f64::NEG_INFINITY, f64::max)).collect())
}

/// Exact optimal 1-D classes (Fisher 1958): minimises the within-class sum of squared
/// deviations. Dynamic programming with the divide-and-conquer optimisation of
/// Ckmeans.1d.dp (Wang & Song 2011): O(k·n·log n) instead of O(k·n²), same optimum; among
/// equally good splits the one with the earliest class start is taken, as mapclassify does.
/// Returns each class's maximum.
pub fn fisher_jenks(sorted: &[f64], k: usize) -> Vec<f64> {
    let n = sorted.len();
    if k >= count_distinct(sorted) {
        let mut u = sorted.to_vec();
        u.dedup();
        return u;
    }
    // Prefix sums of values shifted by the median, for numerically stable variances.
    let shift = sorted[n / 2];
    let mut s1 = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for (i, v) in sorted.iter().enumerate() {
        let x = v - shift;
        s1[i + 1] = s1[i] + x;
        s2[i + 1] = s2[i] + x * x;
    }
    let cost = |j: usize, i: usize| -> f64 {
        let m = (i - j + 1) as f64;
        let a = s1[i + 1] - s1[j];
        (s2[i + 1] - s2[j] - a * a / m).max(0.0)
    };
    let mut prev: Vec<f64> = (0..n).map(|i| cost(0, i)).collect();
    let mut starts: Vec<Vec<usize>> = vec![vec![0; n]];
    for c in 1..k {
        let mut cur = vec![f64::INFINITY; n];
        let mut arg = vec![0usize; n];
        // Fill cur[i] for i in c..n with start j in c..=i.
        let mut stack = vec![(c, n - 1, c, n - 1)];
        while let Some((lo, hi, jlo, jhi)) = stack.pop() {
            if lo > hi {
                continue;
            }
            let mid = (lo + hi) / 2;
            let (mut best, mut best_j) = (f64::INFINITY, jlo.max(c));
            for j in jlo.max(c)..=jhi.min(mid) {
                let v = prev[j - 1] + cost(j, mid);
                if v < best {
                    best = v;
                    best_j = j;
                }
            }
            cur[mid] = best;
            arg[mid] = best_j;
            if mid > lo {
                stack.push((lo, mid - 1, jlo, best_j));
            }
            stack.push((mid + 1, hi, best_j, jhi));
        }
        prev = cur;
        starts.push(arg);
    }
    let mut bins = vec![0.0; k];
    let mut end = n - 1;
    for c in (0..k).rev() {
        bins[c] = sorted[end];
        if c > 0 {
            end = starts[c][end] - 1;
        }
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(y: &[f64], m: Method, bins: &[f64], counts: &[usize]) {
        let c = classify(y, &m).unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!(c.bins.len(), bins.len(), "{m:?}: {:?} vs {bins:?}", c.bins);
        for (a, b) in c.bins.iter().zip(bins) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{m:?}: bins {:?} vs {bins:?}", c.bins);
        }
        assert_eq!(c.counts, counts, "{m:?}: counts");
    }

    #[test]
    fn quantiles_match_mapclassify() {
        // mapclassify 2.10: Quantiles(np.arange(1, 11.0), k=4): bins [3.25, 5.5, 7.75, 10.], counts [3, 2, 2, 3]
        let y: Vec<f64> = (1..=10).map(f64::from).collect();
        check(&y, Method::Quantiles { k: 4, type9: false }, &[3.25, 5.5, 7.75, 10.0], &[3, 2, 2, 3]);
        // mapclassify 2.10: Quantiles(np.array([0,0,0,0,1.0]), k=5).bins (warns, sets k=3).
        check(&[0.0, 0.0, 0.0, 0.0, 1.0], Method::Quantiles { k: 5, type9: false }, &[0.0, 0.20000000000000018, 1.0], &[4, 0, 1]);
    }

    #[test]
    fn type9_matches_r() {
        // numpy 2.4: np.quantile(np.arange(1, 11.0), [.25, .5, .75, 1], method="normal_unbiased")
        // (Hyndman–Fan type 9, as R's type = 9) -> [2.9375, 5.5, 8.0625, 10.]
        let y: Vec<f64> = (1..=10).map(f64::from).collect();
        check(&y, Method::Quantiles { k: 4, type9: true }, &[2.9375, 5.5, 8.0625, 10.0], &[2, 3, 3, 2]);
    }

    #[test]
    fn user_breaks_must_ascend() {
        assert_eq!(classify(&[1.0, 2.0], &Method::User { breaks: vec![2.0, 1.0] }), Err(ClassifyError::BreaksNotAscending(vec![2.0, 1.0])));
        check(&[-2.0, 0.0, 3.0], Method::User { breaks: vec![0.0] }, &[0.0, 3.0], &[2, 1]);
    }

    #[test]
    fn fisher_jenks_dp_equals_brute_force() {
        // The O(k n log n) optimisation against an exhaustive search of all splits.
        let y = [1.0, 2.0, 2.5, 7.0, 8.0, 8.5, 15.0, 16.0, 30.0, 31.0, 31.5, 60.0];
        for k in 2..=4 {
            let fj = fisher_jenks(&y, k);
            let best = brute_force(&y, k);
            assert_eq!(fj, best, "k = {k}");
        }
    }

    fn brute_force(s: &[f64], k: usize) -> Vec<f64> {
        fn ssq(v: &[f64]) -> f64 {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum()
        }
        fn rec(s: &[f64], k: usize, start: usize) -> (f64, Vec<usize>) {
            if k == 1 {
                return (ssq(&s[start..]), vec![s.len() - 1]);
            }
            let mut best = (f64::INFINITY, vec![]);
            for end in start..=s.len() - k {
                let (c, mut ends) = rec(s, k - 1, end + 1);
                let total = ssq(&s[start..=end]) + c;
                if total < best.0 - 1e-12 {
                    ends.insert(0, end);
                    best = (total, ends);
                }
            }
            best
        }
        rec(s, k, 0).1.iter().map(|&e| s[e]).collect()
    }
}
