//! How robust is an area's MSS status class? Three perturbations, each reported per area:
//!
//! 1. Weights: Monte-Carlo runs in which every status indicator gets a weight drawn
//!    uniformly from [1 − r, 1 + r] (seeded); the share of runs that keep the area's class.
//! 2. Leave one out: the index recomputed without each status indicator in turn; the
//!    indicators whose removal changes the class.
//! 3. Rating population: the index recomputed with half and double the minimum population
//!    and with the named exclusions lifted; whether the class holds in each.
//!
//! An area "depends on a single choice" when one leave-one-out run or one population variant
//! changes its class.

use super::mss::{self, MssError, MssInput};
use serde::Serialize;

/// Robustness of the status classes, column by column over the rated areas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robustness {
    /// Input positions of the rated areas, one per row of the columns below.
    pub rated: Vec<usize>,
    pub status_class: Vec<u8>,
    /// Share of weight runs with the same class (0–1).
    pub same_class_share_weights: Vec<f64>,
    /// Status indicators (by position) whose removal changes the class.
    pub changes_when_left_out: Vec<Vec<usize>>,
    /// Labels of the rating-population variants that were run.
    pub variants: Vec<String>,
    /// Variants (positions in `variants`) that change the class (or un-rate the area).
    pub changes_with_population: Vec<Vec<usize>>,
}

impl Robustness {
    /// Whether row `r` changes class with one leave-one-out run or one population variant.
    pub fn depends_on_single_choice(&self, r: usize) -> bool {
        !self.changes_when_left_out[r].is_empty() || !self.changes_with_population[r].is_empty()
    }
}

/// A small seeded generator (xorshift64*), so runs are reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..m (m < 2³²), by Lemire's multiply-shift on the high 32 bits.
    pub fn below(&mut self, m: usize) -> usize {
        (((self.next_u64() >> 32) * m as u64) >> 32) as usize
    }
}

fn zscores(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
}

/// Areas per tile of the weight runs: two AVX2 registers of f64.
const TILE: usize = 8;

/// Runs the three perturbations around the baseline `mss::compute(input, min_population)`.
pub fn robustness(input: &MssInput, min_population: Option<f64>, runs: usize, range: f64, seed: u64) -> Result<Robustness, MssError> {
    let base = status_core(input, min_population, false)?;
    let rated = base.rated;
    let k = base.z.len();
    let n = rated.len();
    let base_class = &base.classes;
    // 1. Weights. All weights are drawn first from the seeded generator, so the result does
    // not depend on how the runs are split across threads.
    let mut rng = Rng::new(seed);
    let weights: Vec<f64> = (0..runs * k).map(|_| 1.0 - range + 2.0 * range * rng.next_f64()).collect();
    let z = &base.z;
    // The z-scores have mean 0, so every weighted sum has mean 0 and variance wᵀCw with C the
    // (population) covariance of the z-scores: the standardisation needs no pass over areas.
    let cov: Vec<Vec<f64>> =
        (0..k).map(|a| (0..k).map(|b| z[a].iter().zip(&z[b]).map(|(x, y)| x * y).sum::<f64>() / n as f64).collect()).collect();
    // Per run the standard deviation of the weighted sum, then the classes counted.
    let sds: Vec<f64> = (0..runs)
        .map(|run| {
            let w = &weights[run * k..(run + 1) * k];
            let var: f64 = (0..k).map(|a| (0..k).map(|b| w[a] * w[b] * cov[a][b]).sum::<f64>()).sum();
            var.max(0.0).sqrt()
        })
        .collect();
    // The z-scores in tiles of TILE areas, indicator by indicator, and the classes as numbers;
    // padding areas get class 0, which no run produces.
    let tiles = n.div_ceil(TILE);
    let mut z_tiles = vec![[0.0f64; TILE]; tiles * k];
    let mut class_tiles = vec![[0.0f64; TILE]; tiles];
    for r in 0..n {
        let (t, a) = (r / TILE, r % TILE);
        for j in 0..k {
            z_tiles[t * k + j][a] = z[j][r];
        }
        class_tiles[t][a] = f64::from(base_class[r]);
    }
    // The weights of each group of four runs, indicator by indicator.
    let group_weights: Vec<[f64; 4]> =
        (0..runs / 4 * k).map(|gj| std::array::from_fn(|r| weights[(gj / k * 4 + r) * k + gj % k])).collect();
    let block = RunBlock { z: &z_tiles, weights: &weights, group_weights: &group_weights, sds: &sds, classes: &class_tiles, k };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, 8).min(runs.max(1));
    // Whole groups of four runs per thread.
    let chunk = runs.div_ceil(threads).next_multiple_of(4);
    // The leave-one-out and population runs beside the weight runs.
    let (parts, (left_out, (variants, pop_changes))) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let block = &block;
                scope.spawn(move || count_runs(block, t * chunk..((t + 1) * chunk).min(runs)))
            })
            .collect();
        let other = scope.spawn(|| (leave_one_out(z, base_class), population_variants(input, min_population, &rated, base_class)));
        let parts: Vec<Vec<f64>> = handles.into_iter().map(|h| h.join().expect("robustness thread")).collect();
        (parts, other.join().expect("robustness thread"))
    });
    let same_class_share_weights =
        (0..n).map(|r| if runs == 0 { 1.0 } else { parts.iter().map(|p| p[r]).sum::<f64>() / runs as f64 }).collect();
    Ok(Robustness {
        status_class: base.classes,
        same_class_share_weights,
        changes_when_left_out: left_out,
        variants,
        changes_with_population: pop_changes,
        rated,
    })
}

/// Per rated area the status indicators whose removal changes its class (only with at least
/// two). The sums keep indicator order, as the full method would add them.
fn leave_one_out(z: &[Vec<f64>], base_class: &[u8]) -> Vec<Vec<usize>> {
    let (k, n) = (z.len(), base_class.len());
    let mut left_out: Vec<Vec<usize>> = vec![Vec::new(); n];
    if k < 2 {
        return left_out;
    }
    let mut s = vec![0.0; n];
    for drop in 0..k {
        s.fill(0.0);
        for zj in z.iter().enumerate().filter(|(j, _)| *j != drop).map(|(_, zj)| zj) {
            s.iter_mut().zip(zj).for_each(|(s, x)| *s += x);
        }
        for (r, idx) in zscores(&s).into_iter().enumerate() {
            if mss::status_class(idx) != base_class[r] {
                left_out[r].push(drop);
            }
        }
    }
    left_out
}

/// The rating population varied (half and double the minimum population, exclusions
/// lifted): the labels of the variants run, and per rated area those that change its class.
fn population_variants(
    input: &MssInput,
    min_population: Option<f64>,
    rated: &[usize],
    base_class: &[u8],
) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut variants: Vec<(String, Option<f64>, bool)> = Vec::new();
    if let Some(m) = min_population {
        variants.push((format!("Mindesteinwohnerzahl {}", m / 2.0), Some(m / 2.0), false));
        variants.push((format!("Mindesteinwohnerzahl {}", m * 2.0), Some(m * 2.0), false));
    }
    if input.excluded.iter().any(Option::is_some) {
        variants.push(("ohne Ausschlüsse".into(), min_population, true));
    }
    let mut changes: Vec<Vec<usize>> = vec![Vec::new(); rated.len()];
    let mut class_of = vec![0u8; input.len()];
    for (v_pos, (_, min, lift)) in variants.iter().enumerate() {
        let Ok(v) = status_core(input, *min, *lift) else { continue };
        class_of.fill(0);
        for (r, &i) in v.rated.iter().enumerate() {
            class_of[i] = v.classes[r];
        }
        for (r, &i) in rated.iter().enumerate() {
            if class_of[i] != base_class[r] {
                changes[r].push(v_pos);
            }
        }
    }
    (variants.into_iter().map(|v| v.0).collect(), changes)
}

/// What the weight runs share.
struct RunBlock<'a> {
    /// `z[t * k + j]`: indicator j's z-scores of the areas in tile t.
    z: &'a [[f64; TILE]],
    weights: &'a [f64],
    /// `group_weights[g * k + j]`: indicator j's weights in runs 4g..4g + 4.
    group_weights: &'a [[f64; 4]],
    sds: &'a [f64],
    classes: &'a [[f64; TILE]],
    k: usize,
}

/// Counts per rated area the runs that keep its class, with AVX2 and FMA where the processor
/// has them. Every path sums in indicator order with fused multiply-adds, which IEEE 754
/// rounds exactly once (`f64::mul_add` in software gives the same bits), so the counts are
/// the same on every machine.
fn count_runs(b: &RunBlock, runs: std::ops::Range<usize>) -> Vec<f64> {
    let mut same = vec![0.0; b.classes.len() * TILE];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the processor supports AVX2 and FMA, checked just above.
        count_tiles(b, runs, &mut same, |z, w, sds, c, h| unsafe { avx2::tile4(z, w, sds, c, h) });
        return same;
    }
    count_tiles(b, runs, &mut same, tile::<4>);
    same
}

/// Per tile of areas all runs of the range, four at a time with `four` (the range starts at
/// a multiple of four, see the caller), the rest one by one.
#[inline(always)]
fn count_tiles(
    b: &RunBlock,
    runs: std::ops::Range<usize>,
    same: &mut [f64],
    four: impl Fn(&[[f64; TILE]], &[[f64; 4]], &[f64; 4], &[f64; TILE], &mut [f64; TILE]),
) {
    let k = b.k;
    for (t, classes) in b.classes.iter().enumerate() {
        let z = &b.z[t * k..(t + 1) * k];
        let mut hits = [0.0f64; TILE];
        let mut run = runs.start;
        while run + 4 <= runs.end {
            let sds: &[f64; 4] = b.sds[run..run + 4].try_into().expect("four runs");
            four(z, &b.group_weights[run / 4 * k..(run / 4 + 1) * k], sds, classes, &mut hits);
            run += 4;
        }
        while run < runs.end {
            let w: Vec<[f64; 1]> = b.weights[run * k..(run + 1) * k].iter().map(|w| [*w]).collect();
            tile(z, &w, &[b.sds[run]], classes, &mut hits);
            run += 1;
        }
        same[t * TILE..(t + 1) * TILE].copy_from_slice(&hits);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::TILE;
    use std::arch::x86_64::*;

    /// [`super::tile`] for four runs in AVX2 registers: eight accumulators (4 runs × 8
    /// areas), each z-score vector loaded once for the four runs.
    ///
    /// # Safety
    /// The processor must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile4(z: &[[f64; TILE]], weights: &[[f64; 4]], sds: &[f64; 4], classes: &[f64; TILE], hits: &mut [f64; TILE]) {
        // SAFETY (loads and stores): every pointer covers 8 f64 (TILE = 8), 4 from each offset.
        unsafe {
            let mut acc = [_mm256_setzero_pd(); 8];
            for (zj, wj) in z.iter().zip(weights) {
                let z0 = _mm256_loadu_pd(zj.as_ptr());
                let z1 = _mm256_loadu_pd(zj.as_ptr().add(4));
                for r in 0..4 {
                    let w = _mm256_set1_pd(wj[r]);
                    acc[2 * r] = _mm256_fmadd_pd(w, z0, acc[2 * r]);
                    acc[2 * r + 1] = _mm256_fmadd_pd(w, z1, acc[2 * r + 1]);
                }
            }
            let one = _mm256_set1_pd(1.0);
            let c = [_mm256_loadu_pd(classes.as_ptr()), _mm256_loadu_pd(classes.as_ptr().add(4))];
            let mut h = [_mm256_loadu_pd(hits.as_ptr()), _mm256_loadu_pd(hits.as_ptr().add(4))];
            for (r, &sd) in sds.iter().enumerate() {
                let (l1, l2, l3) = (_mm256_set1_pd(-sd), _mm256_set1_pd(sd), _mm256_set1_pd(1.5 * sd));
                for half in 0..2 {
                    let s = acc[2 * r + half];
                    let ge1 = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GE_OQ>(s, l1), one);
                    let gt2 = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(s, l2), one);
                    let gt3 = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(s, l3), one);
                    let class = _mm256_add_pd(_mm256_add_pd(one, ge1), _mm256_add_pd(gt2, gt3));
                    let hit = _mm256_and_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(class, c[half]), one);
                    h[half] = _mm256_add_pd(h[half], hit);
                }
            }
            _mm256_storeu_pd(hits.as_mut_ptr(), h[0]);
            _mm256_storeu_pd(hits.as_mut_ptr().add(4), h[1]);
        }
    }
}

/// R runs over one tile: `weights[j]` holds indicator j's weight in each run.
#[inline(always)]
fn tile<const R: usize>(z: &[[f64; TILE]], weights: &[[f64; R]], sds: &[f64; R], classes: &[f64; TILE], hits: &mut [f64; TILE]) {
    let mut acc = [[0.0f64; TILE]; R];
    for (zj, wj) in z.iter().zip(weights) {
        for (acc, &w) in acc.iter_mut().zip(wj) {
            for (s, &v) in acc.iter_mut().zip(zj) {
                *s = w.mul_add(v, *s);
            }
        }
    }
    for (acc, &sd) in acc.iter().zip(sds) {
        let (l1, l2, l3) = (-sd, sd, 1.5 * sd);
        for ((&s, &c), hit) in acc.iter().zip(classes).zip(hits.iter_mut()) {
            let class = 1.0 + if s >= l1 { 1.0 } else { 0.0 } + if s > l2 { 1.0 } else { 0.0 } + if s > l3 { 1.0 } else { 0.0 };
            *hit += if class == c { 1.0 } else { 0.0 };
        }
    }
}

/// The status part of the MSS method without building result records: rated areas (input
/// positions), z-scores per status indicator over them, and their status classes. Same
/// rules and errors as [`mss::compute`] (it shares them), which the tests check.
struct StatusCore {
    rated: Vec<usize>,
    z: Vec<Vec<f64>>,
    classes: Vec<u8>,
}

fn status_core(input: &MssInput, min_population: Option<f64>, lift_exclusions: bool) -> Result<StatusCore, MssError> {
    let (rated, s) = mss::rated_status(input, min_population, lift_exclusions, true)?;
    Ok(StatusCore { rated, z: s.z, classes: s.index.into_iter().map(mss::status_class).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rows: &[(&str, [f64; 2], f64)]) -> MssInput {
        MssInput {
            areas: rows.iter().map(|r| r.0.to_string()).collect(),
            population: rows.iter().map(|r| Some(r.2)).collect(),
            excluded: vec![None; rows.len()],
            status: (0..2).map(|j| rows.iter().map(|r| Some(r.1[j])).collect()).collect(),
            dynamics: vec![],
        }
    }

    #[test]
    fn clear_cases_are_stable_borderline_ones_are_not() {
        // Area "x" is extreme in both indicators; "y" is extreme in only one.
        let names: Vec<String> = (0..20).map(|i| format!("a{i}")).collect();
        let mut rows: Vec<(&str, [f64; 2], f64)> = (0..20).map(|i| (names[i].as_str(), [(i % 5) as f64, (i % 4) as f64], 1000.0)).collect();
        rows.extend([("x", [20.0, 20.0], 1000.0), ("y", [20.0, 1.0], 1000.0), ("small", [1.0, 1.0], 250.0)]);
        let inputs = input(&rows);
        // 503 runs: four-run tiles and single runs both used.
        let r = robustness(&inputs, Some(300.0), 503, 0.5, 42).unwrap();
        let get = |a: &str| r.rated.iter().position(|&i| inputs.areas[i] == a).unwrap();
        let (x, y) = (get("x"), get("y"));
        assert_eq!(r.status_class[x], 4);
        assert_eq!(r.same_class_share_weights[x], 1.0);
        assert!(r.changes_when_left_out[x].is_empty());
        assert!(!r.changes_when_left_out[y].is_empty(), "{r:?}");
        assert!(r.depends_on_single_choice(y));
        // Seeded: the same result again.
        assert_eq!(robustness(&inputs, Some(300.0), 503, 0.5, 42).unwrap(), r);
        assert!(r.rated.iter().all(|&i| inputs.areas[i] != "small"), "only rated areas");
        assert_eq!(r.variants, ["Mindesteinwohnerzahl 150", "Mindesteinwohnerzahl 600"]);
        // The fast path agrees with the full method, and the tiled runs with a plain loop.
        let full = mss::compute(&inputs, Some(300.0)).unwrap();
        assert_eq!((&r.status_class, &r.rated), (&full.status_class, &full.rated));
        let z = &full.status_z;
        let mut rng = Rng::new(42);
        let w: Vec<[f64; 2]> = (0..503).map(|_| [0.5 + rng.next_f64(), 0.5 + rng.next_f64()]).collect();
        for (row, &share) in r.same_class_share_weights.iter().enumerate() {
            let same = w
                .iter()
                .filter(|w| {
                    let sums: Vec<f64> = (0..z[0].len()).map(|a| w[0] * z[0][a] + w[1] * z[1][a]).collect();
                    mss::status_class(zscores(&sums)[row]) == r.status_class[row]
                })
                .count();
            assert!((share - same as f64 / 503.0).abs() < 0.004, "row {row}: {share} vs {same}/503");
        }
    }
}
