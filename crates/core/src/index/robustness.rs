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

/// Robustness of one area's status class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robustness {
    pub area: String,
    pub status_class: u8,
    /// Share of weight runs with the same class (0–1).
    pub same_class_share_weights: f64,
    /// Status indicators (by position) whose removal changes the class.
    pub changes_when_left_out: Vec<usize>,
    /// Population variants (labels) that change the class (or un-rate the area).
    pub changes_with_population: Vec<String>,
    pub depends_on_single_choice: bool,
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

/// Runs the three perturbations around the baseline `mss::compute(inputs, min_population)`.
pub fn robustness(
    inputs: &[MssInput],
    min_population: Option<f64>,
    runs: usize,
    range: f64,
    seed: u64,
) -> Result<Vec<Robustness>, MssError> {
    let base = status_core(inputs, min_population)?;
    let rated = &base.rated;
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
    let count_same = |runs: std::ops::Range<usize>| -> Vec<usize> {
        let mut same = vec![0usize; n];
        count_runs(&RunBlock { z, weights: &weights, sds: &sds, classes: base_class, k }, runs, &mut same);
        same
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, 8).min(runs.max(1));
    let chunk = runs.div_ceil(threads);
    let parts: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || count_same(t * chunk..((t + 1) * chunk).min(runs)))).collect();
        handles.into_iter().map(|h| h.join().expect("robustness thread")).collect()
    });
    let same: Vec<usize> = (0..n).map(|r| parts.iter().map(|p| p[r]).sum()).collect();
    // 2. Leave one out (only with at least two status indicators).
    let mut left_out: Vec<Vec<usize>> = vec![Vec::new(); n];
    if k > 1 {
        for drop in 0..k {
            let s: Vec<f64> = (0..n).map(|r| (0..k).filter(|&j| j != drop).map(|j| z[j][r]).sum()).collect();
            for (r, idx) in zscores(&s).into_iter().enumerate() {
                if mss::status_class(idx) != base_class[r] {
                    left_out[r].push(drop);
                }
            }
        }
    }
    // 3. Rating population variants.
    // (label, minimum population, exclusions lifted): the inputs are not copied.
    let mut variants: Vec<(String, Option<f64>, bool)> = Vec::new();
    if let Some(m) = min_population {
        variants.push((format!("Mindesteinwohnerzahl {}", m / 2.0), Some(m / 2.0), false));
        variants.push((format!("Mindesteinwohnerzahl {}", m * 2.0), Some(m * 2.0), false));
    }
    if inputs.iter().any(|a| a.excluded.is_some()) {
        variants.push(("ohne Ausschlüsse".into(), min_population, true));
    }
    let mut pop_changes: Vec<Vec<String>> = vec![Vec::new(); n];
    for (label, min, lift) in &variants {
        let Ok(v) = status_core_with(inputs, *min, *lift) else { continue };
        let mut class_of = vec![None; inputs.len()];
        for (r, &i) in v.rated.iter().enumerate() {
            class_of[i] = Some(v.classes[r]);
        }
        for (r, &i) in rated.iter().enumerate() {
            if class_of[i] != Some(base_class[r]) {
                pop_changes[r].push(label.clone());
            }
        }
    }
    Ok(rated
        .iter()
        .enumerate()
        .map(|(r, &i)| Robustness {
            area: inputs[i].area.clone(),
            status_class: base_class[r],
            same_class_share_weights: if runs == 0 { 1.0 } else { same[r] as f64 / runs as f64 },
            depends_on_single_choice: !left_out[r].is_empty() || !pop_changes[r].is_empty(),
            changes_when_left_out: std::mem::take(&mut left_out[r]),
            changes_with_population: std::mem::take(&mut pop_changes[r]),
        })
        .collect())
}

/// What the weight runs share.
struct RunBlock<'a> {
    z: &'a [Vec<f64>],
    weights: &'a [f64],
    sds: &'a [f64],
    classes: &'a [u8],
    k: usize,
}

/// Counts per area the runs that keep its class, with AVX2 where the processor has it. Only
/// separate multiplications and additions are used (no fused multiply-add), so every path
/// rounds alike and the counts are the same on every machine.
fn count_runs(b: &RunBlock, runs: std::ops::Range<usize>, same: &mut [usize]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2, checked just above.
        unsafe { count_runs_avx2(b, runs, same) };
        return;
    }
    count_runs_portable(b, runs, same);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn count_runs_avx2(b: &RunBlock, runs: std::ops::Range<usize>, same: &mut [usize]) {
    count_runs_portable(b, runs, same);
}

/// Blocks of areas: a block's z-scores stay in the L1 cache for all runs, instead of
/// streaming every indicator's column from memory once per run.
#[inline(always)]
fn count_runs_portable(b: &RunBlock, runs: std::ops::Range<usize>, same: &mut [usize]) {
    const BLOCK: usize = 512;
    let n = b.classes.len();
    let mut sums = [0.0f64; BLOCK];
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let sums = &mut sums[..end - start];
        let classes = &b.classes[start..end];
        let hits = &mut same[start..end];
        for run in runs.clone() {
            let w = &b.weights[run * b.k..(run + 1) * b.k];
            // Σ wⱼ·zⱼ as k vectorisable passes over the block.
            sums.fill(0.0);
            for (zj, wj) in b.z.iter().zip(w) {
                sums.iter_mut().zip(&zj[start..end]).for_each(|(s, v)| *s += wj * v);
            }
            // Class limits −1, 1, 1.5 on the standardised sum, scaled instead of dividing;
            // the class as a sum of comparisons (no branches).
            let sd = b.sds[run];
            let (l1, l2, l3) = (-sd, sd, 1.5 * sd);
            for ((s, c), hit) in sums.iter().zip(classes).zip(hits.iter_mut()) {
                let class = 1 + u8::from(*s >= l1) + u8::from(*s > l2) + u8::from(*s > l3);
                *hit += usize::from(class == *c);
            }
        }
    }
}

/// The status part of the MSS method without building result records: rated areas (input
/// positions), z-scores per status indicator over them, and their status classes. Same
/// rules and errors as [`mss::compute`], which the tests check.
struct StatusCore {
    rated: Vec<usize>,
    z: Vec<Vec<f64>>,
    classes: Vec<u8>,
}

fn status_core(inputs: &[MssInput], min_population: Option<f64>) -> Result<StatusCore, MssError> {
    status_core_with(inputs, min_population, false)
}

/// [`status_core`], with the definition's exclusions lifted when `lift_exclusions`.
fn status_core_with(inputs: &[MssInput], min_population: Option<f64>, lift_exclusions: bool) -> Result<StatusCore, MssError> {
    let rated: Vec<usize> = (0..inputs.len())
        .filter(|&i| {
            let a = &inputs[i];
            (lift_exclusions || a.excluded.is_none())
                && match (min_population, a.population) {
                    (Some(_), None) => false,
                    (Some(m), Some(p)) => p >= m,
                    _ => true,
                }
        })
        .collect();
    if rated.len() < 2 {
        return Err(MssError::TooFewRated(rated.len()));
    }
    let k = inputs[rated[0]].status.len();
    let mut missing = Vec::new();
    for &i in &rated {
        for (j, v) in inputs[i].status.iter().enumerate() {
            if v.is_none() {
                missing.push((inputs[i].area.clone(), j, true));
            }
        }
    }
    if !missing.is_empty() {
        return Err(MssError::MissingValues(missing));
    }
    let mut z = Vec::with_capacity(k);
    for j in 0..k {
        let v: Vec<f64> = rated.iter().map(|&i| inputs[i].status[j].expect("checked")).collect();
        if v.iter().all(|x| *x == v[0]) {
            return Err(MssError::ZeroVariance { status: true, position: j });
        }
        z.push(zscores(&v));
    }
    let sums: Vec<f64> = (0..rated.len()).map(|r| z.iter().map(|zj| zj[r]).sum()).collect();
    let classes = zscores(&sums).into_iter().map(mss::status_class).collect();
    Ok(StatusCore { rated, z, classes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(area: &str, s: [f64; 2], pop: f64) -> MssInput {
        MssInput { area: area.into(), population: Some(pop), excluded: None, status: vec![Some(s[0]), Some(s[1])], dynamics: vec![] }
    }

    #[test]
    fn clear_cases_are_stable_borderline_ones_are_not() {
        // Area "x" is extreme in both indicators; "y" is extreme in only one.
        let mut inputs: Vec<MssInput> = (0..20).map(|i| input(&format!("a{i}"), [(i % 5) as f64, (i % 4) as f64], 1000.0)).collect();
        inputs.push(input("x", [20.0, 20.0], 1000.0));
        inputs.push(input("y", [20.0, 1.0], 1000.0));
        inputs.push(input("small", [1.0, 1.0], 250.0));
        let r = robustness(&inputs, Some(300.0), 500, 0.5, 42).unwrap();
        let get = |a: &str| r.iter().find(|x| x.area == a).unwrap();
        assert_eq!(get("x").status_class, 4);
        assert_eq!(get("x").same_class_share_weights, 1.0);
        assert!(get("x").changes_when_left_out.is_empty());
        assert!(!get("y").changes_when_left_out.is_empty(), "{:?}", get("y"));
        assert!(get("y").depends_on_single_choice);
        // Seeded: the same result again.
        assert_eq!(robustness(&inputs, Some(300.0), 500, 0.5, 42).unwrap(), r);
        assert!(r.iter().all(|x| x.area != "small"), "only rated areas");
        // The fast path agrees with the full method.
        let full = mss::compute(&inputs, Some(300.0)).unwrap();
        let core = status_core(&inputs, Some(300.0)).unwrap();
        let full_classes: Vec<u8> = full.iter().filter_map(|x| x.status_class).collect();
        assert_eq!(core.classes, full_classes);
    }
}
