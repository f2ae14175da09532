//! Statistics across areas: the spread around the reference value ("der Durchschnitt ist
//! nirgendwo"), and each area's position in it.

use crate::classify::percentile_sorted;
use serde::Serialize;

/// Distribution of one indicator over the areas of a level in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub max: f64,
    /// Unweighted mean of the area values.
    pub mean: f64,
    /// Whole-municipality value (from summed counts), if known.
    pub reference: Option<f64>,
    pub median: f64,
    /// Quartiles by linear interpolation (numpy's default, Hyndman–Fan type 7).
    pub q1: f64,
    pub q3: f64,
    /// Standard deviation dividing by n.
    pub sd_population: f64,
    /// Standard deviation dividing by n − 1 (`None` for n = 1).
    pub sd_sample: Option<f64>,
    /// Coefficient of variation: population SD / mean (`None` if the mean is 0).
    pub cv: Option<f64>,
}

/// One area's position in the distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Position {
    pub value: f64,
    /// value − reference (percentage points for rates).
    pub deviation_abs: Option<f64>,
    /// (value − reference) / reference × 100.
    pub deviation_rel: Option<f64>,
    /// (value − mean) / population SD; `None` when all values are equal.
    pub z: Option<f64>,
    /// 1 = most need: the highest value where higher is worse, the lowest where higher is
    /// better; ties share the best rank.
    pub rank: usize,
    /// (r − 1) / (n − 1) with r the ascending rank, ties at their minimum rank (as the CDC
    /// Social Vulnerability Index defines percentile ranks); 0 for n = 1.
    pub percentile_rank: f64,
}

/// Summary of `values` (finite numbers); `None` when there are none.
pub fn summary(values: &[f64], reference: Option<f64>) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    let sd_population = (ss / n as f64).sqrt();
    Some(Summary {
        n,
        min: s[0],
        max: s[n - 1],
        mean,
        reference,
        median: percentile_sorted(&s, 0.5),
        q1: percentile_sorted(&s, 0.25),
        q3: percentile_sorted(&s, 0.75),
        sd_population,
        sd_sample: (n > 1).then(|| (ss / (n - 1) as f64).sqrt()),
        cv: (mean != 0.0).then(|| sd_population / mean),
    })
}

/// Positions of all values; `higher_is_worse` decides the direction of the rank.
pub fn positions(values: &[f64], summary: &Summary, higher_is_worse: bool) -> Vec<Position> {
    let n = values.len();
    let mut asc = values.to_vec();
    asc.sort_by(f64::total_cmp);
    values
        .iter()
        .map(|&v| {
            let below = asc.partition_point(|x| *x < v);
            let above = n - asc.partition_point(|x| *x <= v);
            let rank = if higher_is_worse { above + 1 } else { below + 1 };
            Position {
                value: v,
                deviation_abs: summary.reference.map(|r| v - r),
                deviation_rel: summary.reference.filter(|r| *r != 0.0).map(|r| (v - r) / r * 100.0),
                z: (summary.sd_population > 0.0).then(|| (v - summary.mean) / summary.sd_population),
                rank,
                percentile_rank: if n > 1 { below as f64 / (n - 1) as f64 } else { 0.0 },
            }
        })
        .collect()
}

/// Least-squares slope of `(year, value)` points (change per year); `None` for fewer than
/// two distinct years.
pub fn trend_slope(points: &[(i32, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    Some(points.iter().map(|p| (p.0 as f64 - mx) * (p.1 - my)).sum::<f64>() / sxx)
}

/// Direction of change of an area relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dynamics {
    Improving,
    Stable,
    Worsening,
}

impl Dynamics {
    pub fn label_de(self) -> &'static str {
        match self {
            Dynamics::Improving => "verbessert",
            Dynamics::Stable => "stabil",
            Dynamics::Worsening => "verschlechtert",
        }
    }
}

/// Classifies changes by their z-score across areas (population SD): beyond ±`threshold`
/// an area improved or worsened relative to the others, as the Berlin MSS dynamics index
/// does with ±1. `None` entries stay `None`.
pub fn dynamics(changes: &[Option<f64>], higher_is_worse: bool, threshold: f64) -> Vec<Option<(f64, Dynamics)>> {
    let known: Vec<f64> = changes.iter().flatten().copied().collect();
    let Some(s) = summary(&known, None) else { return vec![None; changes.len()] };
    changes
        .iter()
        .map(|c| {
            let c = (*c)?;
            let z = if s.sd_population > 0.0 { (c - s.mean) / s.sd_population } else { 0.0 };
            let worse = if higher_is_worse { z > threshold } else { z < -threshold };
            let better = if higher_is_worse { z < -threshold } else { z > threshold };
            Some((
                z,
                if worse {
                    Dynamics::Worsening
                } else if better {
                    Dynamics::Improving
                } else {
                    Dynamics::Stable
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn summary_by_hand() {
        // Hand check: values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population SD 2, sample SD √(32/7).
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = summary(&v, Some(4.0)).unwrap();
        close(s.mean, 5.0);
        close(s.sd_population, 2.0);
        close(s.sd_sample.unwrap(), (32.0f64 / 7.0).sqrt());
        close(s.median, 4.5);
        // numpy.percentile([2,4,4,4,5,5,7,9], [25, 75]) -> [4.0, 5.5]
        close(s.q1, 4.0);
        close(s.q3, 5.5);
        close(s.cv.unwrap(), 0.4);
        let p = positions(&v, &s, true);
        assert_eq!(p[7].rank, 1);
        assert_eq!(p[1].rank, 5, "ties share the best rank: three values above 4");
        close(p[7].z.unwrap(), 2.0);
        close(p[0].deviation_abs.unwrap(), -2.0);
        close(p[0].deviation_rel.unwrap(), -50.0);
        close(p[0].percentile_rank, 0.0);
        close(p[7].percentile_rank, 1.0);
        close(p[1].percentile_rank, 1.0 / 7.0);
        let better = positions(&v, &s, false);
        assert_eq!(better[0].rank, 1);
    }

    #[test]
    fn edge_cases() {
        assert!(summary(&[], None).is_none());
        let s = summary(&[3.0], None).unwrap();
        assert_eq!((s.sd_sample, s.sd_population), (None, 0.0));
        assert_eq!(positions(&[3.0], &s, true)[0].z, None);
        assert_eq!(summary(&[-1.0, 1.0], None).unwrap().cv, None);
    }

    #[test]
    fn trend_and_dynamics() {
        close(trend_slope(&[(2015, 10.0), (2016, 12.0), (2017, 14.0)]).unwrap(), 2.0);
        assert_eq!(trend_slope(&[(2015, 1.0)]), None);
        let d = dynamics(&[Some(-3.0), Some(0.0), Some(0.1), Some(-0.1), Some(3.0), None], true, 1.0);
        assert_eq!(d[0].unwrap().1, Dynamics::Improving);
        assert_eq!(d[1].unwrap().1, Dynamics::Stable);
        assert_eq!(d[4].unwrap().1, Dynamics::Worsening);
        assert_eq!(d[5], None);
    }
}
