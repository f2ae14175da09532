//! German Index of Socioeconomic Deprivation (GISD, Robert Koch-Institut).
//!
//! Per dimension (work, income, education in the original): principal component analysis of
//! the indicators on their correlation matrix, first component; its sign is flipped where
//! needed so that it correlates positively with a named anchor indicator (e.g. the
//! unemployment rate). Per year each dimension's scores are min–max rescaled to 0–1, summed,
//! and the sum rescaled to 0–1 again. Higher levels get the population-weighted mean of their
//! areas' scores, rescaled. Quintiles use the type-9 sample quantiles 0, 0.2, …, 1 as breaks;
//! the class is the interval index (R `findInterval`), clamped to 1–5.
//!
//! # References
//! Michalski, N. et al. (2022): German Index of Socioeconomic Deprivation (GISD): Revision,
//! Aktualisierung und Anwendungsbeispiele, Journal of Health Monitoring 7(S5), Robert
//! Koch-Institut; code at github.com/robert-koch-institut/GISD.

use crate::classify::quantile_type9;
use serde::Serialize;

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations,
/// sorted by decreasing eigenvalue.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let p = a.len();
    let mut m: Vec<Vec<f64>> = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..p).map(|i| (0..p).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..p).flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i][j] * m[i][j]).sum();
        if off < 1e-30 {
            break;
        }
        for i in 0..p {
            for j in i + 1..p {
                if m[i][j].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[j][j] - m[i][i]) / (2.0 * m[i][j]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in m.iter_mut() {
                    let (mki, mkj) = (row[i], row[j]);
                    row[i] = c * mki - s * mkj;
                    row[j] = s * mki + c * mkj;
                }
                let (ri, rj) = (m[i].clone(), m[j].clone());
                m[i] = ri.iter().zip(&rj).map(|(a, b)| c * a - s * b).collect();
                m[j] = ri.iter().zip(&rj).map(|(a, b)| s * a + c * b).collect();
                for row in v.iter_mut() {
                    let (vki, vkj) = (row[i], row[j]);
                    row[i] = c * vki - s * vkj;
                    row[j] = s * vki + c * vkj;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&x, &y| m[y][y].total_cmp(&m[x][x]));
    let values = order.iter().map(|&k| m[k][k]).collect();
    let vectors = order.iter().map(|&k| (0..p).map(|r| v[r][k]).collect()).collect();
    (values, vectors)
}

/// The first principal component of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Scores per area (before rescaling).
    pub scores: Vec<f64>,
    /// Loadings per indicator (unit eigenvector, sign fixed by the anchor).
    pub loadings: Vec<f64>,
    /// Share of the total variance explained by the first component.
    pub explained: f64,
}

fn standardise(x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (sd > 0.0).then(|| x.iter().map(|v| (v - mean) / sd).collect())
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (n - 1.0)
}

/// First component of `indicators[j][i]` (indicator j, area i); the sign makes the scores
/// correlate positively with indicator `anchor`. `None` when an indicator has no variance.
pub fn first_component(indicators: &[Vec<f64>], anchor: usize) -> Option<Component> {
    let z: Vec<Vec<f64>> = indicators.iter().map(|x| standardise(x)).collect::<Option<_>>()?;
    let p = z.len();
    let corr: Vec<Vec<f64>> = (0..p).map(|i| (0..p).map(|j| correlation(&z[i], &z[j])).collect()).collect();
    let (values, vectors) = symmetric_eigen(&corr);
    let mut loadings = vectors[0].clone();
    let n = z[0].len();
    let mut scores: Vec<f64> = (0..n).map(|i| (0..p).map(|j| loadings[j] * z[j][i]).sum()).collect();
    if correlation(&standardise(&scores).unwrap_or_else(|| scores.clone()), &z[anchor]) < 0.0 {
        loadings.iter_mut().for_each(|l| *l = -*l);
        scores.iter_mut().for_each(|s| *s = -*s);
    }
    Some(Component { scores, loadings, explained: values[0] / p as f64 })
}

/// Min–max rescaling to 0–1 (all 0 when constant).
pub fn rescale(x: &[f64]) -> Vec<f64> {
    let min = x.iter().copied().fold(f64::INFINITY, f64::min);
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    x.iter().map(|v| if max > min { (v - min) / (max - min) } else { 0.0 }).collect()
}

/// The GISD score 0–1 from the dimensions' first-component scores: each rescaled to 0–1,
/// summed with `weights` (the RKI method: all 1), rescaled again.
pub fn score(dimensions: &[Component], weights: &[f64]) -> Vec<f64> {
    let rescaled: Vec<Vec<f64>> = dimensions.iter().map(|d| rescale(&d.scores)).collect();
    let n = rescaled.first().map_or(0, Vec::len);
    rescale(&(0..n).map(|i| rescaled.iter().zip(weights).map(|(d, w)| w * d[i]).sum()).collect::<Vec<f64>>())
}

/// Quintile classes 1–5 of scores (type-9 quantile breaks, interval index, clamped).
pub fn quintiles(scores: &[f64]) -> Vec<u8> {
    let mut s = scores.to_vec();
    s.sort_by(f64::total_cmp);
    let breaks: Vec<f64> = (0..=5).map(|i| quantile_type9(&s, i as f64 / 5.0)).collect();
    scores.iter().map(|v| breaks.iter().filter(|b| **b <= *v).count().clamp(1, 5) as u8).collect()
}

/// Population-weighted mean of child scores per parent group, rescaled to 0–1 over the
/// parents. `groups[i]` is the parent index of child i.
pub fn aggregate(scores: &[f64], population: &[f64], groups: &[usize], parents: usize) -> Vec<Option<f64>> {
    let mut sum = vec![0.0; parents];
    let mut w = vec![0.0; parents];
    for ((s, p), &g) in scores.iter().zip(population).zip(groups) {
        sum[g] += s * p;
        w[g] += p;
    }
    let means: Vec<Option<f64>> = sum.iter().zip(&w).map(|(s, w)| (*w > 0.0).then(|| s / w)).collect();
    let known: Vec<f64> = means.iter().flatten().copied().collect();
    let scaled = rescale(&known);
    let mut it = scaled.into_iter();
    means.iter().map(|m| m.map(|_| it.next().expect("one per known mean"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_a_known_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, first vector (1, 1)/√2.
        let (v, e) = symmetric_eigen(&[vec![2.0, 1.0], vec![1.0, 2.0]]);
        assert!((v[0] - 3.0).abs() < 1e-12 && (v[1] - 1.0).abs() < 1e-12);
        assert!((e[0][0].abs() - 0.5f64.sqrt()).abs() < 1e-12 && (e[0][0] - e[0][1]).abs() < 1e-12);
    }

    #[test]
    fn first_component_follows_the_anchor() {
        // Two perfectly correlated indicators: loadings ±(1/√2, 1/√2), explained 100 %.
        let x = vec![vec![1.0, 2.0, 3.0, 4.0], vec![10.0, 20.0, 30.0, 40.0]];
        let c = first_component(&x, 0).unwrap();
        assert!((c.explained - 1.0).abs() < 1e-12);
        assert!(c.loadings.iter().all(|l| (*l - 0.5f64.sqrt()).abs() < 1e-9), "{:?}", c.loadings);
        assert!(c.scores[3] > c.scores[0], "high anchor, high score");
        // An indicator that falls where the anchor rises gets a negative loading.
        let y = vec![vec![1.0, 2.0, 3.0, 4.0], vec![4.0, 3.1, 2.0, 1.0]];
        let c = first_component(&y, 0).unwrap();
        assert!(c.loadings[0] > 0.0 && c.loadings[1] < 0.0);
    }

    #[test]
    fn score_quintiles_and_aggregation() {
        let dims = vec![
            Component { scores: vec![0.0, 1.0, 2.0], loadings: vec![], explained: 1.0 },
            Component { scores: vec![5.0, 5.0, 6.0], loadings: vec![], explained: 1.0 },
        ];
        // Rescaled dimensions [0, .5, 1] and [0, 0, 1]; sums [0, .5, 2] rescaled.
        assert_eq!(score(&dims, &[1.0, 1.0]), [0.0, 0.25, 1.0]);
        // Weighted 3:1: sums [0, 1.5, 4] rescaled.
        assert_eq!(score(&dims, &[3.0, 1.0]), [0.0, 0.375, 1.0]);
        let q = quintiles(&(0..10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(q.first(), Some(&1));
        assert_eq!(q.last(), Some(&5));
        assert!(q.windows(2).all(|w| w[0] <= w[1]));
        // Two parents: (0·1 + 1·3)/4 = 0.75 and 0.2 → rescaled 1 and 0.
        assert_eq!(aggregate(&[0.0, 1.0, 0.2], &[1.0, 3.0, 10.0], &[0, 0, 1], 2), [Some(1.0), Some(0.0)]);
    }
}
