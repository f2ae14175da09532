//! Neighbourhoods of areas from their geometries, for spatial weights.
//!
//! - Queen contiguity: areas sharing at least one vertex; rook: sharing at least one edge
//!   (two consecutive vertices), as libpysal builds them from coordinates. With a positive
//!   tolerance, vertices are snapped to a grid of that size (in the units of the
//!   coordinates), so tiny gaps and overlaps between digitised borders do not break
//!   neighbourhoods.
//! - k nearest neighbours and distance bands on representative points.

use geo::{Centroid, MultiPolygon};
use std::collections::{BTreeSet, HashMap};

/// A vertex as an exact or snapped integer pair.
type Vertex = (i64, i64);

fn key(x: f64, y: f64, tol: f64) -> Vertex {
    if tol > 0.0 { ((x / tol).round() as i64, (y / tol).round() as i64) } else { (x.to_bits() as i64, y.to_bits() as i64) }
}

/// Queen (`rook = false`) or rook contiguity; neighbour lists sorted by index.
pub fn contiguity(areas: &[MultiPolygon], rook: bool, tolerance: f64) -> Vec<Vec<usize>> {
    let mut owners: HashMap<(Vertex, Vertex), Vec<usize>> = HashMap::new();
    for (a, mp) in areas.iter().enumerate() {
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let pts: Vec<Vertex> = ring.0.iter().map(|c| key(c.x, c.y, tolerance)).collect();
                if rook {
                    for w in pts.windows(2) {
                        if w[0] != w[1] {
                            let e = if w[0] < w[1] { (w[0], w[1]) } else { (w[1], w[0]) };
                            owners.entry(e).or_default().push(a);
                        }
                    }
                } else {
                    for p in pts {
                        owners.entry((p, p)).or_default().push(a);
                    }
                }
            }
        }
    }
    let mut sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); areas.len()];
    for list in owners.values_mut() {
        list.sort_unstable();
        list.dedup();
        for &a in list.iter() {
            for &b in list.iter() {
                if a != b {
                    sets[a].insert(b);
                }
            }
        }
    }
    sets.into_iter().map(|s| s.into_iter().collect()).collect()
}

/// Centroids (falling back to the first vertex for degenerate shapes).
pub fn centroids(areas: &[MultiPolygon]) -> Vec<(f64, f64)> {
    areas
        .iter()
        .map(|mp| {
            mp.centroid()
                .map(|p| (p.x(), p.y()))
                .or_else(|| mp.0.first().and_then(|p| p.exterior().0.first()).map(|c| (c.x, c.y)))
                .unwrap_or((0.0, 0.0))
        })
        .collect()
}

/// The k nearest other points of each point (ties by index).
pub fn knn(points: &[(f64, f64)], k: usize) -> Vec<Vec<usize>> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut d: Vec<(f64, usize)> =
                points.iter().enumerate().filter(|(j, _)| *j != i).map(|(j, q)| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2), j)).collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut n: Vec<usize> = d.into_iter().take(k).map(|(_, j)| j).collect();
            n.sort_unstable();
            n
        })
        .collect()
}

/// All other points within `distance` of each point.
pub fn distance_band(points: &[(f64, f64)], distance: f64) -> Vec<Vec<usize>> {
    let d2 = distance * distance;
    points
        .iter()
        .enumerate()
        .map(|(i, p)| (0..points.len()).filter(|&j| j != i && (p.0 - points[j].0).powi(2) + (p.1 - points[j].1).powi(2) <= d2).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn sq(x: f64, y: f64) -> MultiPolygon {
        MultiPolygon(vec![polygon![(x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0), (x: x, y: y)]])
    }

    #[test]
    fn queen_and_rook_on_a_grid() {
        // 2 × 2 grid: 0 1 / 2 3 — diagonal pairs share only a corner.
        let g = [sq(0.0, 1.0), sq(1.0, 1.0), sq(0.0, 0.0), sq(1.0, 0.0)];
        assert_eq!(contiguity(&g, false, 0.0), [vec![1, 2, 3], vec![0, 2, 3], vec![0, 1, 3], vec![0, 1, 2]]);
        assert_eq!(contiguity(&g, true, 0.0), [vec![1, 2], vec![0, 3], vec![0, 3], vec![1, 2]]);
        // A sliver gap of 1e-7 breaks exact matching, not snapped matching.
        let gap = [sq(0.0, 0.0), sq(1.0 + 1e-7, 0.0)];
        assert_eq!(contiguity(&gap, true, 0.0), [Vec::<usize>::new(), vec![]]);
        assert_eq!(contiguity(&gap, true, 1e-3), [vec![1], vec![0]]);
    }

    #[test]
    fn knn_and_distance() {
        let p = [(0.0, 0.0), (1.0, 0.0), (3.0, 0.0), (10.0, 0.0)];
        assert_eq!(knn(&p, 1), [vec![1], vec![0], vec![1], vec![2]]);
        assert_eq!(distance_band(&p, 2.0), [vec![1], vec![0, 2], vec![1], vec![]]);
    }
}
