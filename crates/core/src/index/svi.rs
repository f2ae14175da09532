//! CDC/ATSDR Social Vulnerability Index: percentile ranks, theme sums, flags.
//!
//! Areas with zero population take no part. Per variable, the percentile rank is
//! EPL = (rank − 1) / (n − 1) with ties at their minimum rank, rounded to 4 decimals; a
//! variable where high means less vulnerable is inverted (1 − EPL). A theme's SPL is the sum
//! of its EPLs and its RPL the percentile rank of SPL (same formula, 4 decimals); the overall
//! SPL sums the theme SPLs and is percentile-ranked again. A variable is flagged where
//! EPL ≥ 0.90; a theme's flag count is the number of its flagged variables.
//!
//! # References
//! CDC/ATSDR Social Vulnerability Index 2020 Documentation (Agency for Toxic Substances and
//! Disease Registry, 2022), "Methods".

use serde::Serialize;

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Percentile ranks (rank − 1) / (n − 1), ascending, ties at the minimum rank, 4 decimals.
pub fn percentile_rank(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    v.iter()
        .map(|x| {
            if n < 2 {
                return 0.0;
            }
            let rank = sorted.partition_point(|s| s < x) + 1;
            round4((rank - 1) as f64 / (n - 1) as f64)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SviResult {
    /// EPL per theme, per variable.
    pub epl: Vec<Vec<f64>>,
    /// Flags per theme, per variable.
    pub flags: Vec<Vec<bool>>,
    pub spl: Vec<f64>,
    pub rpl: Vec<f64>,
    pub flag_counts: Vec<usize>,
    pub spl_overall: f64,
    pub rpl_overall: f64,
    pub flags_total: usize,
}

/// CDC's map classes of the overall percentile rank: 1 (0–0.25, lowest vulnerability),
/// 2 (0.2501–0.50), 3 (0.5001–0.75), 4 (0.7501–1, highest).
pub fn quartile_class(rpl: f64) -> u8 {
    1 + u8::from(rpl > 0.25) + u8::from(rpl > 0.5) + u8::from(rpl > 0.75)
}

/// `themes[t][v][i]`: value of variable v of theme t in area i (areas with population > 0
/// only); `inverted[t][v]`: high means less vulnerable; `theme_weights[t]` the weight of
/// theme t's sum in the overall sum (the CDC method: all 1).
pub fn compute(themes: &[Vec<Vec<f64>>], inverted: &[Vec<bool>], theme_weights: &[f64]) -> Vec<SviResult> {
    let n = themes.first().and_then(|t| t.first()).map_or(0, Vec::len);
    let epl: Vec<Vec<Vec<f64>>> = themes
        .iter()
        .zip(inverted)
        .map(|(vars, inv)| {
            vars.iter()
                .zip(inv)
                .map(|(v, &i)| percentile_rank(v).into_iter().map(|p| if i { round4(1.0 - p) } else { p }).collect())
                .collect()
        })
        .collect();
    let spl: Vec<Vec<f64>> = epl.iter().map(|vars| (0..n).map(|i| vars.iter().map(|v| v[i]).sum()).collect()).collect();
    let rpl: Vec<Vec<f64>> = spl.iter().map(|s| percentile_rank(s)).collect();
    let overall: Vec<f64> = (0..n).map(|i| spl.iter().zip(theme_weights).map(|(s, w)| w * s[i]).sum()).collect();
    let rpl_overall = percentile_rank(&overall);
    (0..n)
        .map(|i| {
            let e: Vec<Vec<f64>> = epl.iter().map(|vars| vars.iter().map(|v| v[i]).collect()).collect();
            let flags: Vec<Vec<bool>> = e.iter().map(|vars| vars.iter().map(|p| *p >= 0.9).collect()).collect();
            let flag_counts: Vec<usize> = flags.iter().map(|f| f.iter().filter(|x| **x).count()).collect();
            SviResult {
                flags_total: flag_counts.iter().sum(),
                flag_counts,
                flags,
                spl: spl.iter().map(|s| s[i]).collect(),
                rpl: rpl.iter().map(|r| r[i]).collect(),
                spl_overall: overall[i],
                rpl_overall: rpl_overall[i],
                epl: e,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_ranks_with_ties() {
        // Ranks 1, 2, 2, 4, 5 → (r − 1)/4: 0, 0.25, 0.25, 0.75, 1.
        assert_eq!(percentile_rank(&[1.0, 5.0, 5.0, 7.0, 9.0]), [0.0, 0.25, 0.25, 0.75, 1.0]);
        assert_eq!(percentile_rank(&[3.0, 1.0, 2.0]), [1.0, 0.0, 0.5]);
        // 4 decimals: 1/3 → 0.3333.
        assert_eq!(percentile_rank(&[1.0, 2.0, 3.0, 4.0])[1], 0.3333);
    }

    #[test]
    fn themes_flags_and_inversion() {
        // Theme 0: poverty (higher = worse) and income (higher = better); theme 1: one variable.
        let themes = vec![vec![vec![10.0, 20.0, 30.0, 40.0], vec![4.0, 3.0, 2.0, 1.0]], vec![vec![1.0, 1.0, 2.0, 3.0]]];
        let r = compute(&themes, &[vec![false, true], vec![false]], &[1.0, 1.0]);
        assert_eq!(r[3].epl[0], [1.0, 1.0], "income inverted: lowest income most vulnerable");
        assert_eq!(r[3].spl[0], 2.0);
        assert_eq!(r[3].rpl[0], 1.0);
        assert_eq!(r[3].flags[0], [true, true]);
        assert_eq!(r[3].flag_counts, [2, 1]);
        assert_eq!(r[0].epl[1], [0.0], "tie at the minimum rank");
        assert_eq!(r[1].epl[1], [0.0]);
        assert_eq!(r[3].spl_overall, 3.0);
        assert_eq!(r[3].rpl_overall, 1.0);
        assert_eq!(
            [quartile_class(0.0), quartile_class(0.25), quartile_class(0.2501), quartile_class(0.75), quartile_class(0.7501)],
            [1, 1, 2, 3, 4]
        );
        // A weight moves the overall ranking: theme 1 alone decides with theme 0 weighted 0.
        let w = compute(&themes, &[vec![false, true], vec![false]], &[0.0, 1.0]);
        assert_eq!(w[0].rpl_overall, 0.0);
        assert_eq!(w[0].spl_overall, 0.0);
        assert_eq!(w[2].rpl_overall, 0.6667);
    }
}
