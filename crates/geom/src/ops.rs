//! Measurements and set operations on area geometries.

use crate::GeomError;
use crate::crs::{Crs, Transformer};
use geo::{Area, BooleanOps, BoundingRect, Contains, InteriorPoint, MultiPolygon, Point, Rect};

/// Area in m² of a multipolygon given in `crs`.
///
/// Metric projected CRS are measured planar in that CRS (as the planners' GIS does);
/// geographic ones are projected to ETRS89-LAEA (EPSG:3035), an equal-area projection.
///
/// # Units
/// Square metres.
pub fn area_m2(mp: &MultiPolygon, crs: Crs) -> Result<f64, GeomError> {
    if crs.metric {
        return Ok(mp.unsigned_area());
    }
    let mut m = mp.clone();
    Transformer::new(crs, Crs::from_epsg(3035)?).multipolygon(&mut m)?;
    Ok(m.unsigned_area())
}

/// A point that lies on the surface of the geometry (not merely its centroid, which can
/// fall outside a crescent-shaped area). Used to find parents spatially.
pub fn point_on_surface(mp: &MultiPolygon) -> Option<Point> {
    // The interior point of the largest part is the most robust choice for parent lookup.
    mp.0.iter().max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area())).and_then(|p| p.interior_point())
}

/// True if the point lies inside (not on the boundary of) the multipolygon.
pub fn contains(mp: &MultiPolygon, p: &Point) -> bool {
    mp.contains(p)
}

/// Bounding box, if the geometry has coordinates.
pub fn bbox(mp: &MultiPolygon) -> Option<Rect> {
    mp.bounding_rect()
}

/// The union of several multipolygons: a parent's geometry dissolved from its children.
pub fn dissolve<'a>(parts: impl IntoIterator<Item = &'a MultiPolygon>) -> MultiPolygon {
    let polys: Vec<geo::Polygon> = parts.into_iter().flat_map(|mp| mp.0.iter().cloned()).collect();
    if polys.is_empty() {
        return MultiPolygon(vec![]);
    }
    geo::unary_union(&polys)
}

/// Unions two multipolygons.
pub fn union(a: &MultiPolygon, b: &MultiPolygon) -> MultiPolygon {
    a.union(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x0: f64, y0: f64, s: f64) -> MultiPolygon {
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s), (x: x0, y: y0)]])
    }

    #[test]
    fn area_in_metric_crs_is_planar() {
        let a = area_m2(&square(500_000.0, 5_700_000.0, 100.0), Crs::from_epsg(25832).unwrap()).unwrap();
        assert!((a - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn area_of_lonlat_square_is_equal_area() {
        // 0.01° x 0.01° at 52.5°N: 0.01*111_320*cos(52.5°) * 0.01*111_200 ≈ 753 km²/10_000 ≈ 75.4 ha
        let a = area_m2(&square(13.4, 52.5, 0.01), Crs::wgs84()).unwrap();
        assert!((a - 754_600.0).abs() / 754_600.0 < 0.01, "{a}");
    }

    #[test]
    fn dissolve_merges_neighbours() {
        let d = dissolve([&square(0.0, 0.0, 1.0), &square(1.0, 0.0, 1.0)]);
        assert_eq!(d.0.len(), 1);
        assert!((d.unsigned_area() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn point_on_surface_is_inside() {
        let s = square(10.0, 10.0, 2.0);
        let p = point_on_surface(&s).unwrap();
        assert!(contains(&s, &p));
    }
}
