//! Segregation measures over areas, from counts.
//!
//! For a group with counts aᵢ (sum A), a comparison group bᵢ (sum B; by default the rest of
//! the population, tᵢ − aᵢ) and the total population tᵢ:
//! - dissimilarity D = ½ Σ |aᵢ/A − bᵢ/B| (share of the group that would have to move for an
//!   even distribution relative to the comparison group);
//! - segregation IS = ½ Σ |aᵢ/A − (tᵢ − aᵢ)/(T − A)| (the group against the rest of the
//!   population; equals D when the comparison group is the rest);
//! - isolation xPx = Σ (aᵢ/A)(aᵢ/tᵢ) (the group share in the area of an average member);
//! - exposure xPy = Σ (aᵢ/A)(bᵢ/tᵢ) (the comparison-group share there).
//!
//! # References
//! Duncan, O. D. & Duncan, B. (1955): A methodological analysis of segregation indexes,
//! American Sociological Review 20(2). Massey, D. S. & Denton, N. A. (1988): The dimensions of
//! residential segregation, Social Forces 67(2).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segregation {
    pub areas: usize,
    pub group_total: f64,
    pub comparison_total: f64,
    pub population_total: f64,
    pub dissimilarity: f64,
    pub segregation: f64,
    pub isolation: f64,
    pub exposure: f64,
}

/// Computes the measures; `None` when the group, the comparison group or the rest is empty.
/// Areas with no population count for D and IS but not for isolation and exposure.
pub fn measures(group: &[f64], comparison: Option<&[f64]>, total: &[f64]) -> Option<Segregation> {
    let a_sum: f64 = group.iter().sum();
    let t_sum: f64 = total.iter().sum();
    let rest: Vec<f64> = group.iter().zip(total).map(|(a, t)| t - a).collect();
    let b: &[f64] = comparison.unwrap_or(&rest);
    let b_sum: f64 = b.iter().sum();
    let r_sum = t_sum - a_sum;
    if a_sum <= 0.0 || b_sum <= 0.0 || r_sum <= 0.0 {
        return None;
    }
    let n = group.len();
    let d = 0.5 * (0..n).map(|i| (group[i] / a_sum - b[i] / b_sum).abs()).sum::<f64>();
    let is = 0.5 * (0..n).map(|i| (group[i] / a_sum - rest[i] / r_sum).abs()).sum::<f64>();
    let iso = (0..n).filter(|&i| total[i] > 0.0).map(|i| group[i] / a_sum * group[i] / total[i]).sum();
    let exp = (0..n).filter(|&i| total[i] > 0.0).map(|i| group[i] / a_sum * b[i] / total[i]).sum();
    Some(Segregation {
        areas: n,
        group_total: a_sum,
        comparison_total: b_sum,
        population_total: t_sum,
        dissimilarity: d,
        segregation: is,
        isolation: iso,
        exposure: exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn by_hand() {
        // Two areas: group 10 of 20 and 0 of 20. A = 10, rest = 10 + 20 = 30.
        // IS = ½(|1 − 10/30| + |0 − 20/30|) = ½(2/3 + 2/3) = 2/3.
        // xPx = 1 · 10/20 = 0.5; xPy = 1 · 10/20 = 0.5.
        let s = measures(&[10.0, 0.0], None, &[20.0, 20.0]).unwrap();
        close(s.segregation, 2.0 / 3.0);
        close(s.dissimilarity, 2.0 / 3.0);
        close(s.isolation, 0.5);
        close(s.exposure, 0.5);
        // Even distribution: no segregation, isolation = overall share.
        let e = measures(&[5.0, 5.0], None, &[50.0, 50.0]).unwrap();
        close(e.segregation, 0.0);
        close(e.isolation, 0.1);
        // Against a second group.
        let g = measures(&[10.0, 0.0], Some(&[0.0, 10.0]), &[20.0, 20.0]).unwrap();
        close(g.dissimilarity, 1.0);
        close(g.exposure, 0.0);
        assert!(measures(&[0.0, 0.0], None, &[1.0, 1.0]).is_none());
    }
}
