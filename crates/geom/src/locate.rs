//! Assigning points to areas: a uniform grid over the areas' bounding boxes, then exact
//! point-in-polygon tests.
//!
//! Rule for points on a border: a point inside an area's interior belongs to it; a point
//! exactly on a boundary shared by several areas belongs to the one that comes first in the
//! given order (callers sort by area key, so "the lowest key"); a point on the outer edge of
//! the whole territory belongs to its single adjacent area.

use geo::{BoundingRect, Contains, Coord, Intersects, MultiPolygon, Point};

pub struct PointIndex {
    areas: Vec<MultiPolygon>,
    min: Coord,
    cell: f64,
    cols: usize,
    rows: usize,
    /// Areas whose bounding box touches each cell.
    cells: Vec<Vec<u32>>,
}

impl PointIndex {
    /// Builds the index; `areas` in the order that decides border points.
    pub fn new(areas: Vec<MultiPolygon>) -> PointIndex {
        let boxes: Vec<Option<geo::Rect>> = areas.iter().map(|a| a.bounding_rect()).collect();
        let (mut min, mut max) = (Coord { x: f64::INFINITY, y: f64::INFINITY }, Coord { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY });
        for b in boxes.iter().flatten() {
            min = Coord { x: min.x.min(b.min().x), y: min.y.min(b.min().y) };
            max = Coord { x: max.x.max(b.max().x), y: max.y.max(b.max().y) };
        }
        // About four areas per cell on average.
        let n = areas.len().max(1) as f64;
        let (w, h) = ((max.x - min.x).max(1e-9), (max.y - min.y).max(1e-9));
        let cell = ((w * h) / (n / 4.0)).sqrt().max(1e-9);
        let cols = ((w / cell).ceil() as usize).clamp(1, 4096);
        let rows = ((h / cell).ceil() as usize).clamp(1, 4096);
        let cell = (w / cols as f64).max(h / rows as f64);
        let mut cells = vec![Vec::new(); cols * rows];
        for (i, b) in boxes.iter().enumerate() {
            let Some(b) = b else { continue };
            let c0 = (((b.min().x - min.x) / cell).floor() as usize).min(cols - 1);
            let c1 = (((b.max().x - min.x) / cell).floor() as usize).min(cols - 1);
            let r0 = (((b.min().y - min.y) / cell).floor() as usize).min(rows - 1);
            let r1 = (((b.max().y - min.y) / cell).floor() as usize).min(rows - 1);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    cells[r * cols + c].push(i as u32);
                }
            }
        }
        PointIndex { areas, min, cell, cols, rows, cells }
    }

    /// The area containing the point (see the border rule above), if any.
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let c = (x - self.min.x) / self.cell;
        let r = (y - self.min.y) / self.cell;
        if c < 0.0 || r < 0.0 {
            return None;
        }
        let (c, r) = (c.floor() as usize, r.floor() as usize);
        // Points exactly on the upper edge of the grid fall into the last cell.
        let (c, r) = (if c == self.cols { c - 1 } else { c }, if r == self.rows { r - 1 } else { r });
        if c >= self.cols || r >= self.rows {
            return None;
        }
        let p = Point::new(x, y);
        let cand = &self.cells[r * self.cols + c];
        let mut on_border: Option<usize> = None;
        for &i in cand {
            let a = &self.areas[i as usize];
            if a.contains(&p) {
                return Some(i as usize);
            }
            if a.intersects(&p) {
                on_border = Some(on_border.map_or(i as usize, |b: usize| b.min(i as usize)));
            }
        }
        on_border
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn sq(x: f64, y: f64) -> MultiPolygon {
        MultiPolygon(vec![polygon![(x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0), (x: x, y: y)]])
    }

    #[test]
    fn interior_border_and_outside() {
        let idx = PointIndex::new(vec![sq(0.0, 0.0), sq(1.0, 0.0)]);
        assert_eq!(idx.locate(0.5, 0.5), Some(0));
        assert_eq!(idx.locate(1.5, 0.5), Some(1));
        assert_eq!(idx.locate(1.0, 0.5), Some(0), "shared border: first area");
        assert_eq!(idx.locate(2.0, 0.5), Some(1), "outer edge: its only area");
        assert_eq!(idx.locate(2.5, 0.5), None);
        assert_eq!(idx.locate(f64::NAN, 0.5), None);
    }

    #[test]
    fn grid_agrees_with_brute_force() {
        let areas: Vec<MultiPolygon> = (0..10).flat_map(|i| (0..10).map(move |j| sq(i as f64, j as f64))).collect();
        let idx = PointIndex::new(areas.clone());
        let mut s = 7u64;
        for _ in 0..2000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = (s >> 11) as f64 / (1u64 << 53) as f64 * 11.0 - 0.5;
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let y = (s >> 11) as f64 / (1u64 << 53) as f64 * 11.0 - 0.5;
            let brute = areas
                .iter()
                .position(|a| a.contains(&Point::new(x, y)))
                .or_else(|| areas.iter().position(|a| a.intersects(&Point::new(x, y))));
            assert_eq!(idx.locate(x, y), brute, "({x}, {y})");
        }
    }
}
