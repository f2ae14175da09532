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
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64
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
    let base = mss::compute(inputs, min_population)?;
    let rated: Vec<usize> = (0..base.len()).filter(|&i| base[i].rated).collect();
    let k = inputs[rated[0]].status.len();
    // z of each status indicator over the rated areas: rated × k.
    let z: Vec<Vec<f64>> = (0..k).map(|j| base_z(&base, &rated, j)).collect();
    let base_class: Vec<u8> = rated.iter().map(|&i| base[i].status_class.expect("rated")).collect();
    // 1. Weights. All weights are drawn first from the seeded generator, so the result does
    // not depend on how the runs are split across threads.
    let mut rng = Rng::new(seed);
    let weights: Vec<f64> = (0..runs * k).map(|_| 1.0 - range + 2.0 * range * rng.next_f64()).collect();
    // Area-major copy of the z-scores: one contiguous row of k values per area.
    let rows: Vec<f64> = (0..rated.len()).flat_map(|r| (0..k).map(|j| z[j][r]).collect::<Vec<_>>()).collect();
    let count_same = |runs: std::ops::Range<usize>| -> Vec<usize> {
        let mut same = vec![0usize; rated.len()];
        let mut sums = vec![0.0; rated.len()];
        for run in runs {
            let w = &weights[run * k..(run + 1) * k];
            let (mut total, mut total2) = (0.0, 0.0);
            for (s, row) in sums.iter_mut().zip(rows.chunks_exact(k)) {
                let v: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
                *s = v;
                total += v;
                total2 += v * v;
            }
            let n = rated.len() as f64;
            let mean = total / n;
            let sd = (total2 / n - mean * mean).max(0.0).sqrt();
            for ((s, c), hit) in sums.iter().zip(&base_class).zip(same.iter_mut()) {
                let idx = if sd > 0.0 { (s - mean) / sd } else { 0.0 };
                if mss::status_class(idx) == *c {
                    *hit += 1;
                }
            }
        }
        same
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(runs.max(1));
    let chunk = runs.div_ceil(threads);
    let parts: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || count_same(t * chunk..((t + 1) * chunk).min(runs)))).collect();
        handles.into_iter().map(|h| h.join().expect("robustness thread")).collect()
    });
    let same: Vec<usize> = (0..rated.len()).map(|r| parts.iter().map(|p| p[r]).sum()).collect();
    // 2. Leave one out (only with at least two status indicators).
    let mut left_out: Vec<Vec<usize>> = vec![Vec::new(); rated.len()];
    if k > 1 {
        for drop in 0..k {
            let s: Vec<f64> = (0..rated.len()).map(|r| (0..k).filter(|&j| j != drop).map(|j| z[j][r]).sum()).collect();
            for (r, idx) in zscores(&s).into_iter().enumerate() {
                if mss::status_class(idx) != base_class[r] {
                    left_out[r].push(drop);
                }
            }
        }
    }
    // 3. Rating population variants.
    let mut variants: Vec<(String, Vec<MssInput>, Option<f64>)> = Vec::new();
    if let Some(m) = min_population {
        variants.push((format!("Mindesteinwohnerzahl {}", m / 2.0), inputs.to_vec(), Some(m / 2.0)));
        variants.push((format!("Mindesteinwohnerzahl {}", m * 2.0), inputs.to_vec(), Some(m * 2.0)));
    }
    if inputs.iter().any(|a| a.excluded.is_some()) {
        variants.push((
            "ohne Ausschlüsse".into(),
            inputs.iter().map(|a| MssInput { excluded: None, ..a.clone() }).collect(),
            min_population,
        ));
    }
    let mut pop_changes: Vec<Vec<String>> = vec![Vec::new(); rated.len()];
    for (label, inp, min) in &variants {
        let Ok(v) = mss::compute(inp, *min) else { continue };
        for (r, &i) in rated.iter().enumerate() {
            if v[i].status_class != Some(base_class[r]) {
                pop_changes[r].push(label.clone());
            }
        }
    }
    Ok(rated
        .iter()
        .enumerate()
        .map(|(r, &i)| Robustness {
            area: base[i].area.clone(),
            status_class: base_class[r],
            same_class_share_weights: if runs == 0 { 1.0 } else { same[r] as f64 / runs as f64 },
            depends_on_single_choice: !left_out[r].is_empty() || !pop_changes[r].is_empty(),
            changes_when_left_out: std::mem::take(&mut left_out[r]),
            changes_with_population: std::mem::take(&mut pop_changes[r]),
        })
        .collect())
}

fn base_z(base: &[mss::MssResult], rated: &[usize], j: usize) -> Vec<f64> {
    rated.iter().map(|&i| base[i].status_z[j].expect("rated")).collect()
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
    }
}
