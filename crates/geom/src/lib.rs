//! Pure geometry for Quartier. No I/O: functions take coordinates and return coordinates.
//!
//! - [`crs`]: the coordinate reference systems German planners receive (EPSG 25832, 25833,
//!   31466–31469, 3035, 3857, 4326, 4258), recognised from EPSG codes, URNs and `.prj` WKT,
//!   reprojection to WGS84 and a plausibility check against Germany's extent.
//! - [`ops`]: area in m², a point guaranteed on the surface, dissolve (union) of children.
//! - [`overlay`]: shared areas and shared weighted points of two boundary sets (crosswalks).
//! - [`wkb`]: the well-known-binary encoding used to store geometries and read GeoPackages.

pub mod crs;
pub mod locate;
pub mod ops;
pub mod overlay;
pub mod tiles;
pub mod weights;
pub mod wkb;

pub use geo::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};

/// Errors of geometric operations.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeomError {
    /// The CRS is not one Quartier knows.
    #[error("unbekanntes oder ungültiges Koordinatenreferenzsystem {0}; angeben als {forms}", forms = crs::FORMS)]
    UnknownCrs(String),
    /// Reprojection failed for a coordinate.
    #[error("Umprojektion von ({x}, {y}) aus EPSG:{epsg} fehlgeschlagen: {reason}")]
    Reprojection { epsg: u32, x: f64, y: f64, reason: String },
    /// Coordinates that cannot lie in Germany for the declared CRS.
    #[error(
        "Koordinate ({x}, {y}) passt nicht zu {crs}: sie läge bei Länge {lon:.3}°, Breite {lat:.3}°, außerhalb Deutschlands. Ist das Koordinatensystem richtig angegeben? Mit --crs angeben als {forms}.{hint}",
        forms = crate::crs::FORMS
    )]
    Implausible { crs: String, x: f64, y: f64, lon: f64, lat: f64, hint: String },
    /// Malformed WKB.
    #[error("ungültige WKB-Geometrie: {0}")]
    Wkb(String),
}
