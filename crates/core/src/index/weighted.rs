//! The plain composite index a planner configures: each indicator normalised over the rated
//! areas (z-scores with the population SD, min–max, or percentile ranks), then the weighted
//! mean, overall and per dimension (Lebensbereich). Higher = more disadvantage: the caller
//! orients every indicator by its direction first.
//!
//! # References
//! OECD/JRC (2008): Handbook on Constructing Composite Indicators, sections 5 (normalisation)
//! and 6 (weighting and aggregation: linear aggregation of normalised indicators).

use super::definition::{Normalisation, Weighted};
use super::svi;

/// The weighted index over the rated areas (index = position among them).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedIndex {
    /// Per domain: the normalised values.
    pub normalised: Vec<Vec<f64>>,
    pub index: Vec<f64>,
    /// Per dimension (in order of first appearance): name and sub-index.
    pub sub_indices: Vec<(String, Vec<f64>)>,
}

/// Why the index cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightedError {
    /// The domain at this position has the same value in every rated area.
    ZeroVariance(usize),
}

/// `values[d][r]`: domain d's value in rated area r, oriented (higher = more disadvantage).
pub fn compute(values: &[Vec<f64>], domains: &[Weighted], normalisation: Normalisation) -> Result<WeightedIndex, WeightedError> {
    let mut normalised = Vec::with_capacity(values.len());
    for (d, x) in values.iter().enumerate() {
        let n = x.len() as f64;
        normalised.push(match normalisation {
            Normalisation::Z => {
                let mean = x.iter().sum::<f64>() / n;
                let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                if sd == 0.0 {
                    return Err(WeightedError::ZeroVariance(d));
                }
                x.iter().map(|v| (v - mean) / sd).collect()
            }
            Normalisation::Minmax => {
                let (min, max) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
                if max == min {
                    return Err(WeightedError::ZeroVariance(d));
                }
                x.iter().map(|v| (v - min) / (max - min)).collect()
            }
            Normalisation::Rank => svi::percentile_rank(x),
        });
    }
    let areas = values.first().map_or(0, Vec::len);
    let mean_of = |which: &dyn Fn(&Weighted) -> bool| -> Vec<f64> {
        let total: f64 = domains.iter().filter(|d| which(d)).map(|d| d.weight).sum();
        (0..areas)
            .map(|r| domains.iter().zip(&normalised).filter(|(d, _)| which(d)).map(|(d, v)| d.weight * v[r]).sum::<f64>() / total)
            .collect()
    };
    let index = mean_of(&|_| true);
    let mut dims: Vec<String> = Vec::new();
    for d in domains.iter().filter_map(|d| d.dimension.clone()) {
        if !dims.contains(&d) {
            dims.push(d);
        }
    }
    let sub_indices = dims.into_iter().map(|name| (name.clone(), mean_of(&|d| d.dimension.as_deref() == Some(name.as_str())))).collect();
    Ok(WeightedIndex { normalised, index, sub_indices })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dom(indicator: &str, weight: f64, dimension: Option<&str>) -> Weighted {
        Weighted { indicator: indicator.into(), weight, dimension: dimension.map(String::from) }
    }

    #[test]
    fn weighted_mean_of_z_scores_with_sub_indices() {
        // z of [1, 2, 3] = [-1.2247, 0, 1.2247]; of [3, 1, 2] = [1.2247, -1.2247, 0].
        let values = vec![vec![1.0, 2.0, 3.0], vec![3.0, 1.0, 2.0]];
        let doms = [dom("a", 2.0, Some("X")), dom("b", 1.0, Some("Y"))];
        let w = compute(&values, &doms, Normalisation::Z).unwrap();
        let z = 1.5f64.sqrt();
        let expect = [(2.0 * -z + z) / 3.0, (0.0 - z) / 3.0, (2.0 * z + 0.0) / 3.0];
        for (a, b) in w.index.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
        assert_eq!(w.sub_indices.len(), 2);
        assert_eq!(w.sub_indices[0].0, "X");
        assert!((w.sub_indices[0].1[2] - z).abs() < 1e-12);
    }

    #[test]
    fn constant_domain_is_an_error_naming_it() {
        let values = vec![vec![1.0, 2.0], vec![5.0, 5.0]];
        let doms = [dom("a", 1.0, None), dom("b", 1.0, None)];
        assert_eq!(compute(&values, &doms, Normalisation::Minmax), Err(WeightedError::ZeroVariance(1)));
    }
}
