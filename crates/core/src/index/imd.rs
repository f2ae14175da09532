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

/// Ranks with 1 = largest value; ties share the best rank. Sorted by an LSD radix sort on
/// order-preserving integer keys: linear time, which matters for tens of thousands of areas.
pub fn rank_desc(v: &[f64]) -> Vec<usize> {
    rank_desc_with(v, &mut Vec::new(), &mut Vec::new())
}

/// [`rank_desc`] with caller-provided scratch buffers (reused across domains).
fn rank_desc_with(v: &[f64], items: &mut Vec<(u64, u32)>, buf: &mut Vec<(u64, u32)>) -> Vec<usize> {
    // Descending order = ascending order of the inverted key.
    let key = |x: f64| {
        let b = x.to_bits();
        let ordered = if b >> 63 == 1 { !b } else { b | (1 << 63) };
        !ordered
    };
    items.clear();
    items.extend(v.iter().enumerate().map(|(i, x)| (key(*x), i as u32)));
    buf.clear();
    buf.extend_from_slice(items);
    // All eight byte histograms in one pass over the keys.
    let mut hist = [[0usize; 256]; 8];
    for (k, _) in items.iter() {
        for (pass, h) in hist.iter_mut().enumerate() {
            h[((k >> (pass * 8)) & 0xFF) as usize] += 1;
        }
    }
    for (pass, h) in hist.iter().enumerate() {
        if h.contains(&items.len()) {
            continue; // every key has the same byte here
        }
        let shift = pass * 8;
        let mut next = [0usize; 256];
        let mut acc = 0;
        for (d, c) in h.iter().enumerate() {
            next[d] = acc;
            acc += c;
        }
        for &(k, i) in items.iter() {
            let d = ((k >> shift) & 0xFF) as usize;
            buf[next[d]] = (k, i);
            next[d] += 1;
        }
        std::mem::swap(items, buf);
    }
    let mut ranks = vec![0usize; v.len()];
    for (pos, &(_, i)) in items.iter().enumerate() {
        let i = i as usize;
        ranks[i] = match pos.checked_sub(1).map(|p| items[p].1 as usize) {
            Some(p) if v[p] == v[i] => ranks[p],
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
    // Domains are independent: ranked and transformed on as many threads as there are cores
    // (each reusing its sort buffers), results put back in domain order.
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, domains.len().max(1));
    let mut per_domain: Vec<Option<(Vec<usize>, Vec<f64>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let (mut items, mut buf) = (Vec::new(), Vec::new());
                    (t..domains.len())
                        .step_by(threads)
                        .map(|d| {
                            let r = rank_desc_with(&domains[d], &mut items, &mut buf);
                            let e = r.iter().map(|&k| table[k]).collect();
                            (d, (r, e))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out: Vec<Option<(Vec<usize>, Vec<f64>)>> = (0..domains.len()).map(|_| None).collect();
        for h in handles {
            for (d, res) in h.join().expect("domain thread") {
                out[d] = Some(res);
            }
        }
        out
    });
    let per_domain: Vec<(Vec<usize>, Vec<f64>)> = per_domain.iter_mut().map(|x| x.take().expect("every domain ranked")).collect();
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
    fn radix_ranks_equal_comparison_ranks() {
        let v = [3.5, -1.0, 0.0, -0.0, 3.5, 1e-300, -2.5e10, 7.0, 3.5];
        let by_compare: Vec<usize> = v.iter().map(|x| v.iter().filter(|y| *y > x).count() + 1).collect();
        assert_eq!(rank_desc(&v), by_compare);
    }

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
