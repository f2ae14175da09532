//! Spatial autocorrelation, as PySAL esda computes it.
//!
//! - [`Weights`]: sparse spatial weights with row standardisation or binary form.
//! - [`moran`]: global Moran's I with analytic inference under normality and randomisation
//!   and a permutation test.
//! - [`local_moran`]: Local Moran's Iᵢ (LISA) with quadrants and conditional randomisation.
//!
//! # References
//! Moran, P. A. P. (1950): Notes on continuous stochastic phenomena, Biometrika 37.
//! Cliff, A. D. & Ord, J. K. (1981): Spatial Processes, Pion (moments of I).
//! Anselin, L. (1995): Local indicators of spatial association — LISA, Geographical Analysis
//! 27(2). Rey, S. J. & Anselin, L. (2007): PySAL; esda 2.9 `moran.py` (the reference).

use crate::index::robustness::Rng;
use serde::Serialize;

/// Sparse spatial weights: for each area its neighbours and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub neighbors: Vec<Vec<usize>>,
    pub weights: Vec<Vec<f64>>,
}

impl Weights {
    /// Binary weights from neighbour lists.
    pub fn binary(neighbors: Vec<Vec<usize>>) -> Weights {
        let weights = neighbors.iter().map(|n| vec![1.0; n.len()]).collect();
        Weights { neighbors, weights }
    }

    /// Row-standardised copy: each row sums to 1 (islands keep an empty row).
    pub fn row_standardised(&self) -> Weights {
        let weights = self.weights.iter().map(|w| {
            let s: f64 = w.iter().sum();
            w.iter().map(|x| if s > 0.0 { x / s } else { 0.0 }).collect()
        });
        Weights { neighbors: self.neighbors.clone(), weights: weights.collect() }
    }

    pub fn n(&self) -> usize {
        self.neighbors.len()
    }

    /// Areas without neighbours.
    pub fn islands(&self) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.neighbors[i].is_empty()).collect()
    }

    /// Spatial lag Σⱼ wᵢⱼ xⱼ.
    pub fn lag(&self, x: &[f64]) -> Vec<f64> {
        self.neighbors.iter().zip(&self.weights).map(|(n, w)| n.iter().zip(w).map(|(j, wij)| wij * x[*j]).sum()).collect()
    }

    /// S0 = Σᵢⱼ wᵢⱼ, S1 = ½ Σᵢⱼ (wᵢⱼ + wⱼᵢ)², S2 = Σᵢ (wᵢ. + w.ᵢ)².
    fn s012(&self) -> (f64, f64, f64) {
        let n = self.n();
        // Ordered, so that sums (and results) are the same in every run.
        let mut map = std::collections::BTreeMap::new();
        for (i, (nb, w)) in self.neighbors.iter().zip(&self.weights).enumerate() {
            for (j, wij) in nb.iter().zip(w) {
                *map.entry((i, *j)).or_insert(0.0) += wij;
            }
        }
        let s0: f64 = map.values().sum();
        let mut s1 = 0.0;
        for (&(i, j), &wij) in &map {
            let wji = map.get(&(j, i)).copied().unwrap_or(0.0);
            s1 += (wij + wji).powi(2);
        }
        s1 /= 2.0;
        // Pairs present only one way were counted once above with wji = 0: complete them.
        let mut s1_missing = 0.0;
        for (&(i, j), &wij) in &map {
            if !map.contains_key(&(j, i)) {
                s1_missing += wij * wij;
            }
        }
        s1 += s1_missing / 2.0;
        let mut row = vec![0.0; n];
        let mut col = vec![0.0; n];
        for (&(i, j), &wij) in &map {
            row[i] += wij;
            col[j] += wij;
        }
        let s2 = row.iter().zip(&col).map(|(r, c)| (r + c).powi(2)).sum();
        (s0, s1, s2)
    }
}

/// Upper tail of the standard normal distribution.
pub fn norm_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// Global Moran's I with the attribute names of esda.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct Moran {
    pub n: usize,
    pub I: f64,
    pub EI: f64,
    pub VI_norm: f64,
    pub seI_norm: f64,
    pub z_norm: f64,
    pub p_norm: f64,
    pub VI_rand: f64,
    pub seI_rand: f64,
    pub z_rand: f64,
    pub p_rand: f64,
    pub EI_sim: Option<f64>,
    pub seI_sim: Option<f64>,
    pub z_sim: Option<f64>,
    pub p_sim: Option<f64>,
    pub p_z_sim: Option<f64>,
}

/// Why a statistic cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum SpatialError {
    TooFew(usize),
    ZeroVariance,
    NoWeights,
}

fn moran_i(z: &[f64], w: &Weights, s0: f64, z2: f64) -> f64 {
    let lag = w.lag(z);
    let n = z.len() as f64;
    n / s0 * z.iter().zip(&lag).map(|(a, b)| a * b).sum::<f64>() / z2
}

/// Folded pseudo p-value of a permutation test, as esda: (min(#≥, P − #≥) + 1) / (P + 1).
fn folded(sim: &[f64], observed: f64) -> f64 {
    let p = sim.len();
    let mut larger = sim.iter().filter(|s| **s >= observed).count();
    if p - larger < larger {
        larger = p - larger;
    }
    (larger + 1) as f64 / (p + 1) as f64
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt())
}

/// Fisher–Yates shuffle with the seeded generator.
fn shuffle(v: &mut [f64], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Conditional randomisation as esda does it (`crand`): one table of random draws shared by
/// all areas — per permutation the first `k_max` values of a random permutation of `0..n−1`
/// (a partial Fisher–Yates shuffle, seeded per permutation). Area `i` with `k` neighbours uses
/// the first `k` values of each row, value `v` standing for area `v + (v ≥ i)`: k distinct
/// areas other than `i`, uniformly. Drawing once instead of per area makes the tests cheap.
fn draw_table(n: usize, k_max: usize, permutations: usize, seed: u64) -> Vec<u32> {
    let mut pool: Vec<u32> = (0..n.saturating_sub(1) as u32).collect();
    let m = pool.len();
    let k_max = k_max.min(m);
    let mut table = Vec::with_capacity(permutations * k_max);
    for p in 0..permutations {
        let mut rng = area_rng(seed, p);
        for d in 0..k_max {
            let r = d + rng.below(m - d);
            pool.swap(d, r);
        }
        table.extend_from_slice(&pool[..k_max]);
    }
    table
}

/// The area a drawn value stands for when area `i` is left out.
#[inline]
fn other(v: u32, i: usize) -> usize {
    v as usize + usize::from(v as usize >= i)
}

/// The generator of permutation `i`: seeded per permutation, so results do not depend on how
/// the work is split across threads.
fn area_rng(seed: u64, i: usize) -> Rng {
    Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// `f` over the areas `0..n` in contiguous chunks on all cores, results in area order.
fn per_area<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> Vec<T> + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, 8).min(n.max(1));
    if threads == 1 || n < 64 {
        return f(0..n);
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || f(t * chunk..((t + 1) * chunk).min(n)))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("permutation thread")).collect()
    })
}

/// Global Moran's I of `y` under weights `w` (use them as given: transform beforehand).
pub fn moran(y: &[f64], w: &Weights, permutations: usize, seed: u64) -> Result<Moran, SpatialError> {
    let n = y.len();
    if n < 4 {
        return Err(SpatialError::TooFew(n));
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let z: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let z2: f64 = z.iter().map(|v| v * v).sum();
    if z2 == 0.0 {
        return Err(SpatialError::ZeroVariance);
    }
    let (s0, s1, s2) = w.s012();
    if s0 == 0.0 {
        return Err(SpatialError::NoWeights);
    }
    let i = moran_i(&z, w, s0, z2);
    let nf = n as f64;
    let ei = -1.0 / (nf - 1.0);
    let vi_norm = (nf * nf * s1 - nf * s2 + 3.0 * s0 * s0) / ((nf - 1.0) * (nf + 1.0) * s0 * s0) - ei * ei;
    let k = (z.iter().map(|v| v.powi(4)).sum::<f64>() / nf) / (z2 / nf).powi(2);
    let a = nf * ((nf * nf - 3.0 * nf + 3.0) * s1 - nf * s2 + 3.0 * s0 * s0);
    let b = k * ((nf * nf - nf) * s1 - 2.0 * nf * s2 + 6.0 * s0 * s0);
    let vi_rand = (a - b) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0) * s0 * s0) - ei * ei;
    let (se_n, se_r) = (vi_norm.sqrt(), vi_rand.sqrt());
    let (z_n, z_r) = ((i - ei) / se_n, (i - ei) / se_r);
    let mut m = Moran {
        n,
        I: i,
        EI: ei,
        VI_norm: vi_norm,
        seI_norm: se_n,
        z_norm: z_n,
        p_norm: 2.0 * norm_sf(z_n.abs()),
        VI_rand: vi_rand,
        seI_rand: se_r,
        z_rand: z_r,
        p_rand: 2.0 * norm_sf(z_r.abs()),
        EI_sim: None,
        seI_sim: None,
        z_sim: None,
        p_sim: None,
        p_z_sim: None,
    };
    if permutations > 0 {
        // Each permutation a full shuffle of z with its own generator: the same values on
        // any number of threads.
        let sim: Vec<f64> = per_area(permutations, |perms| {
            let mut perm = z.clone();
            perms
                .map(|p| {
                    perm.copy_from_slice(&z);
                    shuffle(&mut perm, &mut area_rng(seed, p));
                    let cross: f64 = perm
                        .iter()
                        .zip(w.neighbors.iter().zip(&w.weights))
                        .map(|(zi, (nb, wt))| zi * nb.iter().zip(wt).map(|(&j, wij)| wij * perm[j]).sum::<f64>())
                        .sum();
                    n as f64 / s0 * cross / z2
                })
                .collect()
        });
        let (e, s) = mean_sd(&sim);
        let zs = (i - e) / s;
        m.EI_sim = Some(e);
        m.seI_sim = Some(s);
        m.z_sim = Some(zs);
        m.p_sim = Some(folded(&sim, i));
        m.p_z_sim = Some(norm_sf(zs.abs()));
    }
    Ok(m)
}

/// Local Moran's Iᵢ of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct LocalMoran {
    pub Is: f64,
    /// 1 HH, 2 LH, 3 LL, 4 HL.
    pub q: u8,
    pub p_sim: Option<f64>,
    pub z_sim: Option<f64>,
    pub p_z_sim: Option<f64>,
}

/// Local Moran (LISA): Iᵢ = (n − 1) · zᵢ (Wz)ᵢ / Σ zⱼ² with z standardised by the population
/// SD; quadrants with strict signs; conditional randomisation holding zᵢ and drawing its
/// neighbours' values from the other n − 1 areas without replacement.
pub fn local_moran(y: &[f64], w: &Weights, permutations: usize, seed: u64) -> Result<Vec<LocalMoran>, SpatialError> {
    let n = y.len();
    if n < 3 {
        return Err(SpatialError::TooFew(n));
    }
    let (mean, sd) = mean_sd(y);
    if sd == 0.0 {
        return Err(SpatialError::ZeroVariance);
    }
    let z: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
    let z2: f64 = z.iter().map(|v| v * v).sum();
    let lag = w.lag(&z);
    let scale = (n as f64 - 1.0) / z2;
    let k_max = w.neighbors.iter().map(Vec::len).max().unwrap_or(0).min(n - 1);
    let table = draw_table(n, k_max, permutations, seed);
    Ok(per_area(n, |areas| {
        let mut sim = Vec::with_capacity(permutations);
        areas
            .map(|i| {
                let is = scale * z[i] * lag[i];
                let q = match (z[i] > 0.0, lag[i] > 0.0) {
                    (true, true) => 1,
                    (false, true) => 2,
                    (false, false) => 3,
                    (true, false) => 4,
                };
                let k = w.neighbors[i].len();
                let (mut p_sim, mut z_sim, mut p_z) = (None, None, None);
                if permutations > 0 && k > 0 && k < n {
                    sim.clear();
                    for row in table.chunks_exact(k_max) {
                        let l: f64 = w.weights[i].iter().zip(&row[..k]).map(|(wij, &v)| wij * z[other(v, i)]).sum();
                        sim.push(scale * z[i] * l);
                    }
                    let (e, s) = mean_sd(&sim);
                    let zs = (is - e) / s;
                    p_sim = Some(folded(&sim, is));
                    z_sim = Some(zs);
                    p_z = Some(norm_sf(zs.abs()));
                }
                LocalMoran { Is: is, q, p_sim, z_sim, p_z_sim: p_z }
            })
            .collect()
    }))
}

/// Getis–Ord local G of one area, with esda's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct LocalG {
    pub Gs: f64,
    pub EGs: f64,
    pub VGs: f64,
    pub Zs: f64,
    /// One-sided normal tail of |Zs|, as esda.
    pub p_norm: f64,
    pub p_sim: Option<f64>,
}

/// Getis–Ord Gᵢ (or Gᵢ* with `star`) of `y` on binary contiguity `w`, row-standardised when
/// `row_standardise` (esda's default "R"). Gᵢ = (Wy)ᵢ / (Σy − yᵢ); E = wᵢ./N with N = n − 1
/// (Gᵢ) or n (Gᵢ*, where each area is its own neighbour with the row's maximum weight);
/// V = wᵢ.(N − wᵢ.)/(N − 1)/N² · s²/ȳ² with ȳ and s² over the other areas for Gᵢ.
///
/// # References
/// Getis, A. & Ord, J. K. (1992): The analysis of spatial association by use of distance
/// statistics, Geographical Analysis 24(3); Ord, J. K. & Getis, A. (1995), ibid. 27(4);
/// esda 2.9 `getisord.py` (`G_Local`).
pub fn getis_ord(
    y: &[f64],
    w: &Weights,
    star: bool,
    row_standardise: bool,
    permutations: usize,
    seed: u64,
) -> Result<Vec<LocalG>, SpatialError> {
    let n = y.len();
    if n < 3 {
        return Err(SpatialError::TooFew(n));
    }
    // Self-weight for Gᵢ*: the row maximum (1 for binary contiguity).
    let mut nb = w.neighbors.clone();
    let mut wt = w.weights.clone();
    if star {
        for i in 0..n {
            let m = wt[i].iter().copied().fold(0.0, f64::max);
            nb[i].push(i);
            wt[i].push(if m > 0.0 { m } else { 1.0 });
        }
    }
    let card_binary: Vec<usize> = w.neighbors.iter().map(Vec::len).collect();
    let mut ww = Weights { neighbors: nb, weights: wt };
    if row_standardise {
        ww = ww.row_standardised();
    }
    let sum: f64 = y.iter().sum();
    let sum2: f64 = y.iter().map(|v| v * v).sum();
    let remove = if star { 0.0 } else { 1.0 };
    let big_n = n as f64 - remove;
    let lag = ww.lag(y);
    // The zero-denominator check first, so the threads need not report errors.
    if (0..n).any(|i| sum - y[i] * remove == 0.0) {
        return Err(SpatialError::ZeroVariance);
    }
    let k_max = card_binary.iter().copied().max().unwrap_or(0).min(n - 1);
    let table = draw_table(n, k_max, permutations, seed);
    Ok(per_area(n, |areas| {
        let mut sim = Vec::with_capacity(permutations);
        areas
            .map(|i| {
                let denom = sum - y[i] * remove;
                let g = lag[i] / denom;
                let mean = denom / big_n;
                let var = (sum2 - y[i] * y[i] * remove) / big_n - mean * mean;
                let card: f64 = ww.weights[i].iter().sum();
                let eg = card / big_n;
                let vg = card * (big_n - card) / (big_n - 1.0) / (big_n * big_n) * var / (mean * mean);
                let z = (g - eg) / vg.sqrt();
                let mut p_sim = None;
                let k = card_binary[i];
                if permutations > 0 && k > 0 && k < n {
                    // Conditional randomisation as esda: k other values drawn without
                    // replacement; their mean (row-standardised) or sum (binary), plus yᵢ for Gᵢ*.
                    let den = if row_standardise { k as f64 + if star { 1.0 } else { 0.0 } } else { 1.0 };
                    sim.clear();
                    for row in table.chunks_exact(k_max) {
                        let s = row[..k].iter().map(|&v| y[other(v, i)]).sum::<f64>() + if star { y[i] } else { 0.0 };
                        sim.push(s / den / denom);
                    }
                    p_sim = Some(folded(&sim, g));
                }
                LocalG { Gs: g, EGs: eg, VGs: vg, Zs: z, p_norm: norm_sf(z.abs()), p_sim }
            })
            .collect()
    }))
}

/// Benjamini–Hochberg threshold: the largest p₍ₖ₎ with p₍ₖ₎ ≤ k/m · α (0 if none), as esda's
/// `fdr`.
pub fn fdr_threshold(p: &[f64], alpha: f64) -> f64 {
    let mut s: Vec<f64> = p.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() as f64;
    s.iter().enumerate().filter(|(k, v)| **v <= (*k as f64 + 1.0) / m * alpha).map(|(_, v)| *v).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail() {
        assert!((norm_sf(0.0) - 0.5).abs() < 1e-15);
        assert!((norm_sf(1.959963984540054) - 0.025).abs() < 1e-15);
    }

    #[test]
    fn folded_pseudo_p() {
        assert_eq!(folded(&[1.0, 2.0, 3.0, 4.0], 3.5), 2.0 / 5.0);
        assert_eq!(folded(&[1.0, 2.0, 3.0, 4.0], 0.5), 1.0 / 5.0, "folded: 4 larger → P − 4 = 0");
    }
}
