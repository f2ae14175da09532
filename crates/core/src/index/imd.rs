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
pub fn rank_desc(v: &[f64]) -> Vec<u32> {
    rank_desc_with(v, &mut Scratch::default())
}

/// Sort buffers, reused across the domains a thread ranks: keys and positions, twice.
#[derive(Default)]
struct Scratch {
    keys: Vec<u64>,
    pos: Vec<u32>,
    keys_out: Vec<u64>,
    pos_out: Vec<u32>,
}

/// [`rank_desc`] with caller-provided scratch buffers.
fn rank_desc_with(v: &[f64], s: &mut Scratch) -> Vec<u32> {
    // Six digits of 11 bits (2,048 buckets): two passes fewer than bytes, and the counts still
    // fit the L1 cache. Keys and positions in separate arrays: 12 bytes moved per item and
    // pass instead of a padded 16.
    const BITS: usize = 11;
    const BUCKETS: usize = 1 << BITS;
    const PASSES: usize = 64usize.div_ceil(BITS);
    const MASK: u64 = BUCKETS as u64 - 1;
    let n = v.len();
    // Descending order = ascending order of the inverted order-preserving key.
    s.keys.clear();
    s.keys.extend(v.iter().map(|x| {
        let b = x.to_bits();
        !(if b >> 63 == 1 { !b } else { b | (1 << 63) })
    }));
    s.pos.clear();
    s.pos.extend(0..n as u32);
    s.keys_out.resize(n, 0);
    s.pos_out.resize(n, 0);
    // All histograms in one pass over the keys.
    let mut hist = vec![[0u32; BUCKETS]; PASSES];
    for k in &s.keys {
        for (pass, h) in hist.iter_mut().enumerate() {
            h[((k >> (pass * BITS)) & MASK) as usize] += 1;
        }
    }
    let mut next = [0u32; BUCKETS];
    for (pass, h) in hist.iter().enumerate() {
        if h.contains(&(n as u32)) {
            continue; // every key has the same digit here
        }
        let mut acc = 0;
        for (d, c) in h.iter().enumerate() {
            next[d] = acc;
            acc += c;
        }
        let shift = pass * BITS;
        for (&k, &i) in s.keys.iter().zip(&s.pos) {
            let d = ((k >> shift) & MASK) as usize;
            let at = next[d] as usize;
            s.keys_out[at] = k;
            s.pos_out[at] = i;
            next[d] += 1;
        }
        std::mem::swap(&mut s.keys, &mut s.keys_out);
        std::mem::swap(&mut s.pos, &mut s.pos_out);
    }
    // Equal keys are equal values (−0 and 0 aside, which compare equal): ties share a rank.
    let mut ranks = vec![0u32; n];
    let mut prev = 0;
    for (at, &i) in s.pos.iter().enumerate() {
        let tie = at > 0 && v[s.pos[at - 1] as usize] == v[i as usize];
        prev = if tie { prev } else { at as u32 + 1 };
        ranks[i as usize] = prev;
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
    pub domain_ranks: Vec<Vec<u32>>,
    /// The exponential score of each rank (`exponential_table[rank]`; entry 0 unused), so the
    /// per-domain scores need not be stored.
    pub exponential_table: Vec<f64>,
    pub score: Vec<f64>,
    pub rank: Vec<u32>,
    pub decile: Vec<u8>,
}

impl ImdResults {
    /// Exponential score of area `i` in domain `d`.
    pub fn exp_score(&self, d: usize, i: usize) -> f64 {
        self.exponential_table[self.domain_ranks[d][i] as usize]
    }
}

/// `domains[d][i]` is the score of area i in domain d, oriented so that higher = more
/// deprived; `weights[d]` any positive numbers (normalised by their sum).
pub fn compute(domains: &[Vec<f64>], weights: &[f64]) -> ImdResults {
    let n = domains.first().map_or(0, Vec::len);
    let total: f64 = weights.iter().sum();
    // Domains are independent: ranked on as many threads as there are cores, this one
    // included (each reusing its sort buffers). The transformation depends only on the rank:
    // one table, made by the last thread, which has no more domains than the others.
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, domains.len().max(1));
    // Per thread: (domain, ranks) for its domains, and the table if it made it.
    type Part = (Vec<(usize, Vec<u32>)>, Option<Vec<f64>>);
    let work = |t: usize| -> Part {
        let mut scratch = Scratch::default();
        let ranked = (t..domains.len()).step_by(threads).map(|d| (d, rank_desc_with(&domains[d], &mut scratch))).collect();
        let table = (t == threads - 1).then(|| (0..=n).map(|k| if k == 0 { 0.0 } else { exponential(k, n) }).collect());
        (ranked, table)
    };
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|t| scope.spawn(move || work(t))).collect();
        let mine = work(0);
        std::iter::once(mine).chain(handles.into_iter().map(|h| h.join().expect("domain thread"))).collect()
    });
    let mut table = Vec::new();
    let mut per_thread = Vec::new();
    for (ranked, t) in parts {
        per_thread.push(ranked);
        table = t.unwrap_or(table);
    }
    let mut domain_ranks: Vec<Vec<u32>> = vec![Vec::new(); domains.len()];
    for (d, r) in per_thread.into_iter().flatten() {
        domain_ranks[d] = r;
    }
    // The weighted sum in domain order, so the result does not depend on the threads.
    let mut score = vec![0.0; n];
    for (ranks, w) in domain_ranks.iter().zip(weights) {
        let share = w / total;
        score.iter_mut().zip(ranks).for_each(|(s, &r)| *s += share * table[r as usize]);
    }
    let rank = rank_desc(&score);
    let decile = rank.iter().map(|&r| (r as f64 / n as f64 * 10.0).ceil() as u8).collect();
    ImdResults { domain_ranks, exponential_table: table, score, rank, decile }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_ranks_equal_comparison_ranks() {
        let v = [3.5, -1.0, 0.0, -0.0, 3.5, 1e-300, -2.5e10, 7.0, 3.5];
        let by_compare: Vec<u32> = v.iter().map(|x| v.iter().filter(|y| *y > x).count() as u32 + 1).collect();
        assert_eq!(rank_desc(&v), by_compare);
    }

    #[test]
    fn radix_ranks_equal_comparison_ranks_on_skewed_data() {
        // Clusters, a huge outlier, ties, negative values and infinities.
        let mut x: u64 = 7;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut v: Vec<f64> = (0..3000).map(|i| if i % 3 == 0 { (next() * 100.0).round() } else { 1.0 + next() * 1e-9 }).collect();
        v.extend([1e300, -5.0, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0]);
        let mut sorted = v.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let by_compare: Vec<u32> = v.iter().map(|x| sorted.partition_point(|y| y > x) as u32 + 1).collect();
        assert_eq!(rank_desc(&v), by_compare);
        assert_eq!(rank_desc(&[2.0; 50]), vec![1; 50]);
        assert!(rank_desc(&[]).is_empty());
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
