//! English Indices of Deprivation 2019: domains combined with an exponential transformation.
//!
//! Each domain score is ranked (rank 1 = most deprived after applying the direction), turned
//! into R = (N − rank + 1) / N, and transformed X = −23 · ln(1 − R · (1 − e^(−100/23))),
//! which stretches the most deprived end to 0–100. The IMD score is Σ wᵈ · Xᵈ with the
//! weights as shares of their sum; the IMD rank orders the scores (1 = most deprived) and
//! the decile is ceil(rank / N · 10). Ties in a ranking share the best (lowest) rank.
//!
//! # References
//! Ministry of Housing, Communities & Local Government (2019): The English Indices of
//! Deprivation 2019, Technical report, section 3.8 (exponential transformation) and 3.9.

use serde::Serialize;

/// Ranks with 1 = largest value; ties share the best rank.
pub fn rank_desc(v: &[f64]) -> Vec<usize> {
    let mut order: Vec<u32> = (0..v.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| v[b as usize].total_cmp(&v[a as usize]));
    let mut ranks = vec![0usize; v.len()];
    for (pos, &i) in order.iter().enumerate() {
        let prev = pos.checked_sub(1).map(|p| order[p] as usize);
        ranks[i as usize] = match prev {
            Some(p) if v[p] == v[i as usize] => ranks[p],
            _ => pos + 1,
        };
    }
    ranks
}

/// The exponential transformation of a rank among `n` (rank 1 = most deprived → 100).
pub fn exponential(rank: usize, n: usize) -> f64 {
    let r = (n - rank + 1) as f64 / n as f64;
    -23.0 * (1.0 - r * (1.0 - (-100.0f64 / 23.0).exp())).ln()
}

/// Results per area, column by column (index = area).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImdResults {
    /// Per domain: rank per area (1 = most deprived).
    pub domain_ranks: Vec<Vec<usize>>,
    /// Per domain: exponential score per area.
    pub domain_exp: Vec<Vec<f64>>,
    pub score: Vec<f64>,
    pub rank: Vec<usize>,
    pub decile: Vec<usize>,
}

/// `domains[d][i]` is the score of area i in domain d, oriented so that higher = more
/// deprived; `weights[d]` any positive numbers (normalised by their sum).
pub fn compute(domains: &[Vec<f64>], weights: &[f64]) -> ImdResults {
    let n = domains.first().map_or(0, Vec::len);
    let total: f64 = weights.iter().sum();
    // The transformation depends only on the rank: one table for all domains.
    let table: Vec<f64> = (0..=n).map(|k| if k == 0 { 0.0 } else { exponential(k, n) }).collect();
    let table = &table;
    // Domains are independent: ranked and transformed in parallel.
    let per_domain: Vec<(Vec<usize>, Vec<f64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = domains
            .iter()
            .map(|d| {
                scope.spawn(move || {
                    let r = rank_desc(d);
                    let e = r.iter().map(|&k| table[k]).collect();
                    (r, e)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("domain thread")).collect()
    });
    let (domain_ranks, domain_exp): (Vec<Vec<usize>>, Vec<Vec<f64>>) = per_domain.into_iter().unzip();
    let mut score = vec![0.0; n];
    for (e, w) in domain_exp.iter().zip(weights) {
        let share = w / total;
        score.iter_mut().zip(e).for_each(|(s, x)| *s += share * x);
    }
    let rank = rank_desc(&score);
    let decile = rank.iter().map(|&r| (r as f64 / n as f64 * 10.0).ceil() as usize).collect();
    ImdResults { domain_ranks, domain_exp, score, rank, decile }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transformation_end_points() {
        // Most deprived: exactly 100; least deprived of N: −23·ln(1 − (1 − e^(−100/23))/N).
        assert!((exponential(1, 10) - 100.0).abs() < 1e-12);
        let least = -23.0 * (1.0 - 0.1 * (1.0 - (-100.0f64 / 23.0).exp())).ln();
        assert!((exponential(10, 10) - least).abs() < 1e-12);
        assert!(exponential(5, 10) < exponential(4, 10));
    }

    #[test]
    fn weighted_ranks_and_deciles() {
        // Two domains, weights 3:1; area 0 most deprived in both.
        let r = compute(&[vec![9.0, 5.0, 1.0, 5.0], vec![8.0, 1.0, 2.0, 3.0]], &[75.0, 25.0]);
        assert_eq!((r.domain_ranks[0][0], r.domain_ranks[1][0]), (1, 1));
        assert_eq!(r.domain_ranks[0][1], 2, "ties share the best rank");
        assert_eq!(r.domain_ranks[0][3], 2);
        assert!((r.score[0] - 100.0).abs() < 1e-12);
        assert_eq!(r.rank[0], 1);
        assert_eq!(r.decile[0], 3, "ceil(1/4·10)");
        let s3 = 0.75 * exponential(2, 4) + 0.25 * exponential(2, 4);
        assert!((r.score[3] - s3).abs() < 1e-12);
        assert_eq!(r.rank[2], 4);
        assert_eq!(r.decile[2], 10);
    }
}
