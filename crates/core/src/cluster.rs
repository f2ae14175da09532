//! Area types: clustering areas on standardised indicators.
//!
//! - k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), several seeded starts,
//!   Lloyd iterations; the start with the lowest within-cluster sum of squares wins.
//! - Ward's hierarchical clustering (Ward 1963) by the nearest-neighbour chain algorithm with
//!   the Lance–Williams update (Murtagh 1983), cut at k clusters: O(n²) time and memory.
//! - Silhouette widths (Rousseeuw 1987) to judge the number of clusters.

use crate::index::robustness::Rng;
use serde::Serialize;

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// A clustering: label per area (0-based), centers (means of the members), inertia.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clusters {
    pub labels: Vec<usize>,
    pub centers: Vec<Vec<f64>>,
    /// Within-cluster sum of squared distances.
    pub inertia: f64,
}

fn centers_of(data: &[Vec<f64>], labels: &[usize], k: usize) -> Vec<Vec<f64>> {
    let p = data.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0.0; p]; k];
    let mut counts = vec![0usize; k];
    for (x, &l) in data.iter().zip(labels) {
        counts[l] += 1;
        sums[l].iter_mut().zip(x).for_each(|(s, v)| *s += v);
    }
    sums.into_iter().zip(counts).map(|(s, c)| s.into_iter().map(|v| if c > 0 { v / c as f64 } else { 0.0 }).collect()).collect()
}

fn inertia(data: &[Vec<f64>], labels: &[usize], centers: &[Vec<f64>]) -> f64 {
    data.iter().zip(labels).map(|(x, &l)| dist2(x, &centers[l])).sum()
}

/// k-means; `None` if there are fewer areas than clusters.
pub fn kmeans(data: &[Vec<f64>], k: usize, starts: usize, seed: u64) -> Option<Clusters> {
    let n = data.len();
    if k == 0 || n < k {
        return None;
    }
    let mut rng = Rng::new(seed);
    let mut best: Option<Clusters> = None;
    for _ in 0..starts.max(1) {
        // k-means++: first center uniform, then proportional to squared distance.
        let mut centers: Vec<Vec<f64>> = vec![data[(rng.next_f64() * n as f64) as usize % n].clone()];
        let mut d2: Vec<f64> = data.iter().map(|x| dist2(x, &centers[0])).collect();
        while centers.len() < k {
            let total: f64 = d2.iter().sum();
            let next = if total <= 0.0 {
                (rng.next_f64() * n as f64) as usize % n
            } else {
                let mut r = rng.next_f64() * total;
                let mut pick = n - 1;
                for (i, d) in d2.iter().enumerate() {
                    if r < *d {
                        pick = i;
                        break;
                    }
                    r -= d;
                }
                pick
            };
            centers.push(data[next].clone());
            for (i, x) in data.iter().enumerate() {
                d2[i] = d2[i].min(dist2(x, &centers[centers.len() - 1]));
            }
        }
        let mut labels = vec![usize::MAX; n];
        for _ in 0..300 {
            let mut changed = false;
            for (i, x) in data.iter().enumerate() {
                let l = (0..k).min_by(|&a, &b| dist2(x, &centers[a]).total_cmp(&dist2(x, &centers[b]))).expect("k > 0");
                if labels[i] != l {
                    labels[i] = l;
                    changed = true;
                }
            }
            let new = centers_of(data, &labels, k);
            // An emptied cluster keeps its old center.
            let counts: Vec<usize> = (0..k).map(|c| labels.iter().filter(|&&l| l == c).count()).collect();
            centers = new.into_iter().zip(centers).zip(counts).map(|((nc, oc), c)| if c > 0 { nc } else { oc }).collect();
            if !changed {
                break;
            }
        }
        let w = inertia(data, &labels, &centers);
        if best.as_ref().is_none_or(|b| w < b.inertia) {
            best = Some(Clusters { labels, centers, inertia: w });
        }
    }
    best.map(relabel)
}

/// Numbers clusters by decreasing size (ties: first member), so labels are stable.
fn relabel(c: Clusters) -> Clusters {
    let k = c.centers.len();
    let mut order: Vec<usize> = (0..k).collect();
    let size = |l: usize| c.labels.iter().filter(|&&x| x == l).count();
    let first = |l: usize| c.labels.iter().position(|&x| x == l).unwrap_or(usize::MAX);
    order.sort_by_key(|&l| (std::cmp::Reverse(size(l)), first(l)));
    let mut map = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        map[old] = new;
    }
    let labels: Vec<usize> = c.labels.iter().map(|&l| map[l]).collect();
    let centers = order.iter().map(|&old| c.centers[old].clone()).collect();
    Clusters { labels, centers, inertia: c.inertia }
}

/// Ward clustering cut at k clusters; `None` if there are fewer areas than clusters.
pub fn ward(data: &[Vec<f64>], k: usize) -> Option<Clusters> {
    let n = data.len();
    if k == 0 || n < k {
        return None;
    }
    // Squared Euclidean distances; Ward's criterion via Lance–Williams on them.
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..i {
            let v = dist2(&data[i], &data[j]);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut merges: Vec<(f64, usize, usize)> = Vec::with_capacity(n - 1);
    let mut chain: Vec<usize> = Vec::new();
    let mut remaining = n;
    while remaining > 1 {
        if chain.is_empty() {
            chain.push((0..n).find(|&i| active[i]).expect("active cluster"));
        }
        let a = *chain.last().expect("non-empty");
        let prev = if chain.len() > 1 { Some(chain[chain.len() - 2]) } else { None };
        // Nearest active neighbour of a; prefer the previous chain element on ties.
        let mut best = prev.unwrap_or(usize::MAX);
        let mut best_d = prev.map_or(f64::INFINITY, |p| d[a * n + p]);
        for j in 0..n {
            if active[j] && j != a && d[a * n + j] < best_d {
                best = j;
                best_d = d[a * n + j];
            }
        }
        if Some(best) == prev {
            chain.pop();
            chain.pop();
            let (i, j) = (a.min(best), a.max(best));
            merges.push((best_d, i, j));
            // Merge j into i (Lance–Williams for Ward on squared distances).
            for m in 0..n {
                if active[m] && m != i && m != j {
                    let (ni, nj, nm) = (size[i] as f64, size[j] as f64, size[m] as f64);
                    let v = ((ni + nm) * d[i * n + m] + (nj + nm) * d[j * n + m] - nm * d[i * n + j]) / (ni + nj + nm);
                    d[i * n + m] = v;
                    d[m * n + i] = v;
                }
            }
            size[i] += size[j];
            active[j] = false;
            remaining -= 1;
        } else {
            chain.push(best);
        }
    }
    // Apply the n − k cheapest merges (union–find on the original areas).
    merges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        let mut y = x;
        while p[y] != r {
            let nx = p[y];
            p[y] = r;
            y = nx;
        }
        r
    }
    for &(_, i, j) in merges.iter().take(n - k) {
        let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
        parent[rj] = ri;
    }
    let mut roots: Vec<usize> = Vec::new();
    let labels: Vec<usize> = (0..n)
        .map(|i| {
            let r = find(&mut parent, i);
            match roots.iter().position(|&x| x == r) {
                Some(p) => p,
                None => {
                    roots.push(r);
                    roots.len() - 1
                }
            }
        })
        .collect();
    let centers = centers_of(data, &labels, roots.len());
    let w = inertia(data, &labels, &centers);
    Some(relabel(Clusters { labels, centers, inertia: w }))
}

/// Silhouette width of each area (0 for areas alone in their cluster).
pub fn silhouette(data: &[Vec<f64>], labels: &[usize]) -> Vec<f64> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let n = data.len();
    (0..n)
        .map(|i| {
            let mut sum = vec![0.0; k];
            let mut cnt = vec![0usize; k];
            for j in 0..n {
                if j != i {
                    sum[labels[j]] += dist2(&data[i], &data[j]).sqrt();
                    cnt[labels[j]] += 1;
                }
            }
            let own = labels[i];
            if cnt[own] == 0 {
                return 0.0;
            }
            let a = sum[own] / cnt[own] as f64;
            let b = (0..k).filter(|&c| c != own && cnt[c] > 0).map(|c| sum[c] / cnt[c] as f64).fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            (b - a) / a.max(b)
        })
        .collect()
}

/// A cluster's profile in words from its center (z-scores): the indicators clearly above
/// (z > 0.5) and below (z < −0.5) average, strongest first, at most three each.
pub fn profile(center: &[f64], names: &[String]) -> String {
    let mut idx: Vec<usize> = (0..center.len()).collect();
    idx.sort_by(|&a, &b| center[b].abs().total_cmp(&center[a].abs()));
    let high: Vec<&str> = idx.iter().filter(|&&i| center[i] > 0.5).take(3).map(|&i| names[i].as_str()).collect();
    let low: Vec<&str> = idx.iter().filter(|&&i| center[i] < -0.5).take(3).map(|&i| names[i].as_str()).collect();
    let mut parts = Vec::new();
    if !high.is_empty() {
        parts.push(format!("hoch: {}", high.join(", ")));
    }
    if !low.is_empty() {
        parts.push(format!("niedrig: {}", low.join(", ")));
    }
    if parts.is_empty() { "durchschnittlich".to_string() } else { parts.join("; ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f64>> {
        // Three well separated groups of four points.
        let mut v = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for (dx, dy) in [(0.1, 0.0), (-0.1, 0.0), (0.0, 0.2), (0.0, -0.2)] {
                v.push(vec![cx + dx, cy + dy]);
            }
        }
        v
    }

    #[test]
    fn kmeans_and_ward_find_the_blobs() {
        let data = blobs();
        for c in [kmeans(&data, 3, 5, 1).unwrap(), ward(&data, 3).unwrap()] {
            for g in 0..3 {
                let l = c.labels[g * 4];
                assert!(c.labels[g * 4..g * 4 + 4].iter().all(|&x| x == l), "{:?}", c.labels);
            }
            let mut distinct = c.labels.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct, [0, 1, 2]);
            let s = silhouette(&data, &c.labels);
            assert!(s.iter().all(|&x| x > 0.9), "{s:?}");
        }
        assert!(kmeans(&data, 13, 1, 1).is_none());
        assert_eq!(kmeans(&data, 3, 5, 9).unwrap().labels, kmeans(&data, 3, 5, 9).unwrap().labels, "seeded");
    }

    #[test]
    fn ward_merge_heights_by_hand() {
        // 1-D points 0, 1, 10: Ward merges {0,1} first (cost 0.5), then with 10.
        let c = ward(&[vec![0.0], vec![1.0], vec![10.0]], 2).unwrap();
        assert_eq!(c.labels[0], c.labels[1]);
        assert_ne!(c.labels[0], c.labels[2]);
    }

    #[test]
    fn profiles_in_words() {
        let names = vec!["Kinderarmut".to_string(), "Wohndauer".to_string(), "Alter".to_string()];
        assert_eq!(profile(&[1.2, -0.8, 0.1], &names), "hoch: Kinderarmut; niedrig: Wohndauer");
        assert_eq!(profile(&[0.1, 0.0, -0.2], &names), "durchschnittlich");
    }
}
