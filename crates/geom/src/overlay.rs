//! The raw material of crosswalks between two boundary sets (see `core::crosswalk`): the
//! area each old area shares with each new one (an overlay), or the weight of the points each
//! pair holds (population from Zensus grid cells or address points).
//!
//! Candidates are found with a uniform grid over the new areas' bounding boxes, so only
//! pairs whose boxes meet are intersected; the pairs are split over the available threads.
//! Areas are in the polygons' own units: pass a metric, equal-area CRS (EPSG:3035) for shares
//! of area on the ground.

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon, Rect};

/// (old, new, shared area) for every pair of an old and a new area that overlap with a
/// positive area, ordered by (old, new).
pub fn shared_areas(old: &[MultiPolygon], new: &[MultiPolygon]) -> Vec<(usize, usize, f64)> {
    let grid = Grid::new(new);
    let old_boxes: Vec<Option<Rect>> = old.iter().map(|p| p.bounding_rect()).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = old.len().div_ceil(threads).max(1);
    let mut out: Vec<(usize, usize, f64)> = std::thread::scope(|s| {
        let parts: Vec<_> = (0..old.len())
            .step_by(chunk)
            .map(|start| {
                let (grid, old_boxes) = (&grid, &old_boxes);
                s.spawn(move || {
                    let mut found = Vec::new();
                    let mut seen = Vec::new();
                    for i in start..(start + chunk).min(old.len()) {
                        let Some(b) = old_boxes[i] else { continue };
                        grid.candidates(&b, &mut seen);
                        for &j in &seen {
                            let a = old[i].intersection(&new[j]).unsigned_area();
                            if a > 0.0 {
                                found.push((i, j, a));
                            }
                        }
                    }
                    found
                })
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().expect("overlay thread")).collect()
    });
    out.sort_by_key(|a| (a.0, a.1));
    out
}

/// (old, new, weight) for weighted points located in both boundary sets: each point's weight
/// goes to the pair of areas it lies in; points outside either set are counted apart (the
/// second value). Border points follow `locate::PointIndex`'s rule, the same in both sets.
pub fn shared_points(old: &[MultiPolygon], new: &[MultiPolygon], points: &[(f64, f64, f64)]) -> (Vec<(usize, usize, f64)>, usize) {
    let (a, b) = (crate::locate::PointIndex::new(old.to_vec()), crate::locate::PointIndex::new(new.to_vec()));
    let mut pairs: std::collections::HashMap<(usize, usize), f64> = std::collections::HashMap::new();
    let mut outside = 0;
    for &(x, y, w) in points {
        match (a.locate(x, y), b.locate(x, y)) {
            (Some(i), Some(j)) => *pairs.entry((i, j)).or_default() += w,
            _ => outside += 1,
        }
    }
    let mut out: Vec<(usize, usize, f64)> = pairs.into_iter().map(|((i, j), w)| (i, j, w)).collect();
    out.sort_by_key(|a| (a.0, a.1));
    (out, outside)
}

/// A uniform grid over bounding boxes: which boxes reach into each cell.
struct Grid {
    boxes: Vec<Option<Rect>>,
    min: (f64, f64),
    cell: f64,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
}

impl Grid {
    fn new(shapes: &[MultiPolygon]) -> Grid {
        let boxes: Vec<Option<Rect>> = shapes.iter().map(|p| p.bounding_rect()).collect();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for b in boxes.iter().flatten() {
            (x0, y0, x1, y1) = (x0.min(b.min().x), y0.min(b.min().y), x1.max(b.max().x), y1.max(b.max().y));
        }
        let n = boxes.iter().flatten().count().max(1);
        // About one box per cell.
        let cell = if x0.is_finite() { (((x1 - x0) * (y1 - y0)) / n as f64).sqrt().max(f64::MIN_POSITIVE) } else { 1.0 };
        let cols = if x0.is_finite() { (((x1 - x0) / cell).ceil() as usize).clamp(1, 4096) } else { 1 };
        let rows = if x0.is_finite() { (((y1 - y0) / cell).ceil() as usize).clamp(1, 4096) } else { 1 };
        let cell = if x0.is_finite() { ((x1 - x0) / cols as f64).max((y1 - y0) / rows as f64).max(f64::MIN_POSITIVE) } else { 1.0 };
        let mut g = Grid { boxes, min: (x0, y0), cell, cols, rows, cells: vec![Vec::new(); cols * rows] };
        for (i, b) in g.boxes.clone().iter().enumerate() {
            if let Some(b) = b {
                let (c0, r0, c1, r1) = g.span(b);
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        g.cells[r * g.cols + c].push(i as u32);
                    }
                }
            }
        }
        g
    }

    fn span(&self, b: &Rect) -> (usize, usize, usize, usize) {
        let at = |v: f64, o: f64, n: usize| (((v - o) / self.cell).floor().max(0.0) as usize).min(n - 1);
        (
            at(b.min().x, self.min.0, self.cols),
            at(b.min().y, self.min.1, self.rows),
            at(b.max().x, self.min.0, self.cols),
            at(b.max().y, self.min.1, self.rows),
        )
    }

    /// The boxes meeting `b`, each once, ascending.
    fn candidates(&self, b: &Rect, out: &mut Vec<usize>) {
        out.clear();
        if !self.min.0.is_finite() {
            return;
        }
        let (c0, r0, c1, r1) = self.span(b);
        for r in r0..=r1 {
            for c in c0..=c1 {
                for &j in &self.cells[r * self.cols + c] {
                    let o = self.boxes[j as usize].expect("indexed boxes exist");
                    if o.min().x <= b.max().x && o.max().x >= b.min().x && o.min().y <= b.max().y && o.max().y >= b.min().y {
                        out.push(j as usize);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon {
        MultiPolygon(vec![Polygon::new(LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]), vec![])])
    }

    #[test]
    fn a_shifted_boundary_shares_area_by_the_overlap() {
        // Old: two 10×10 squares side by side; new: the border moved 2 to the right.
        let old = [rect(0.0, 0.0, 10.0, 10.0), rect(10.0, 0.0, 20.0, 10.0)];
        let new = [rect(0.0, 0.0, 12.0, 10.0), rect(12.0, 0.0, 20.0, 10.0)];
        let s = shared_areas(&old, &new);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!((s[0].0, s[0].1), (0, 0));
        assert!((s[0].2 - 100.0).abs() < 1e-9);
        assert!((s[1].2 - 20.0).abs() < 1e-9 && (s[2].2 - 80.0).abs() < 1e-9, "{s:?}");
        // Each old area's shares add up to its area: nothing lost, nothing twice.
        let sum1: f64 = s.iter().filter(|p| p.0 == 1).map(|p| p.2).sum();
        assert!((sum1 - 100.0).abs() < 1e-9);
    }

    #[test]
    fn points_go_to_the_pair_of_areas_they_lie_in() {
        let old = [rect(0.0, 0.0, 10.0, 10.0), rect(10.0, 0.0, 20.0, 10.0)];
        let new = [rect(0.0, 0.0, 12.0, 10.0), rect(12.0, 0.0, 20.0, 10.0)];
        let pts = [(5.0, 5.0, 100.0), (11.0, 5.0, 30.0), (15.0, 5.0, 70.0), (50.0, 50.0, 1.0)];
        let (s, outside) = shared_points(&old, &new, &pts);
        assert_eq!(s, vec![(0, 0, 100.0), (1, 0, 30.0), (1, 1, 70.0)]);
        assert_eq!(outside, 1);
    }
}
