//! Coordinate reference systems and reprojection to WGS84 (via `proj4rs`, pure Rust).
//!
//! The registry holds the CRS in which German geodata is delivered. Datum shifts for DHDN
//! (Gauss–Krüger) use the 7-parameter Helmert transformation published for Germany as a whole
//! (EPSG:1777 parameters as in PROJ's `+towgs84`), accurate to a few metres — enough for maps
//! and for assigning areas, not for surveying.

use crate::GeomError;
use geo::{Coord, MultiPolygon};
use proj4rs::Proj;

/// A CRS Quartier can read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crs {
    pub epsg: u32,
    pub name: &'static str,
    proj: &'static str,
    /// True for projected CRS in metres (areas can be computed in them directly).
    pub metric: bool,
}

/// Every CRS Quartier reads, by EPSG code.
pub const REGISTRY: &[Crs] = &[
    Crs { epsg: 4326, name: "WGS 84", proj: "+proj=longlat +datum=WGS84 +no_defs", metric: false },
    Crs { epsg: 4258, name: "ETRS89", proj: "+proj=longlat +ellps=GRS80 +towgs84=0,0,0 +no_defs", metric: false },
    Crs {
        epsg: 25832,
        name: "ETRS89 / UTM zone 32N",
        proj: "+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 25833,
        name: "ETRS89 / UTM zone 33N",
        proj: "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 31466,
        name: "DHDN / 3-degree Gauss-Kruger zone 2",
        proj: "+proj=tmerc +lat_0=0 +lon_0=6 +k=1 +x_0=2500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 31467,
        name: "DHDN / 3-degree Gauss-Kruger zone 3",
        proj: "+proj=tmerc +lat_0=0 +lon_0=9 +k=1 +x_0=3500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 31468,
        name: "DHDN / 3-degree Gauss-Kruger zone 4",
        proj: "+proj=tmerc +lat_0=0 +lon_0=12 +k=1 +x_0=4500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 31469,
        name: "DHDN / 3-degree Gauss-Kruger zone 5",
        proj: "+proj=tmerc +lat_0=0 +lon_0=15 +k=1 +x_0=5500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 3035,
        name: "ETRS89-extended / LAEA Europe",
        proj: "+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
        metric: true,
    },
    Crs {
        epsg: 3857,
        name: "WGS 84 / Pseudo-Mercator",
        proj: "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs",
        metric: false,
    },
];

/// Comma-separated list of the supported codes, for error messages.
pub fn supported_list() -> String {
    REGISTRY.iter().map(|c| format!("EPSG:{}", c.epsg)).collect::<Vec<_>>().join(", ")
}

impl Crs {
    /// Looks up a CRS by EPSG code.
    pub fn from_epsg(epsg: u32) -> Result<Crs, GeomError> {
        REGISTRY.iter().find(|c| c.epsg == epsg).copied().ok_or_else(|| GeomError::UnknownCrs(format!("EPSG:{epsg}")))
    }

    /// WGS 84 (longitude, latitude in degrees).
    pub fn wgs84() -> Crs {
        REGISTRY[0]
    }

    /// Parses `EPSG:25832`, `epsg:25832`, `25832`, `urn:ogc:def:crs:EPSG::25832`,
    /// `urn:ogc:def:crs:OGC:1.3:CRS84` or `CRS84`.
    pub fn parse(s: &str) -> Result<Crs, GeomError> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if upper.ends_with("CRS84") {
            return Ok(Crs::wgs84());
        }
        let code = upper.rsplit([':', '/']).next().unwrap_or("");
        match code.parse::<u32>() {
            Ok(c) => Crs::from_epsg(c),
            Err(_) => Err(GeomError::UnknownCrs(t.to_string())),
        }
    }

    /// Recognises a CRS from the WKT of an ESRI `.prj` file or an OGC WKT string.
    ///
    /// Uses the top-level `AUTHORITY["EPSG",…]` where present, else the CRS name
    /// (ESRI and OGC spellings), else the datum and projection parameters.
    pub fn from_wkt(wkt: &str) -> Result<Crs, GeomError> {
        let w = wkt.trim();
        // WKT1: the outermost AUTHORITY is the last one in the string. WKT2: ID["EPSG",code].
        for marker in ["AUTHORITY[\"EPSG\",\"", "ID[\"EPSG\","] {
            if let Some(pos) = w.rfind(marker) {
                let rest = &w[pos + marker.len()..];
                let digits: String = rest.chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
                if let Ok(code) = digits.parse::<u32>() {
                    // Only trust it when it describes the whole CRS (the last AUTHORITY of WKT1).
                    if let Ok(crs) = Crs::from_epsg(code) {
                        return Ok(crs);
                    }
                }
            }
        }
        let norm: String = w.to_ascii_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let projected =
            w.trim_start().to_ascii_uppercase().starts_with("PROJCS") || w.trim_start().to_ascii_uppercase().starts_with("PROJCRS");
        let has = |s: &str| norm.contains(s);
        if projected {
            let etrs = has("ETRS") || has("GRS1980") || has("GRS80");
            if etrs && (has("UTMZONE32N") || has("UTM32N") || has("ZONE32N")) {
                return Crs::from_epsg(25832);
            }
            if etrs && (has("UTMZONE33N") || has("UTM33N") || has("ZONE33N")) {
                return Crs::from_epsg(25833);
            }
            if has("LAEA") || has("LAMBERTAZIMUTHALEQUALAREA") {
                return Crs::from_epsg(3035);
            }
            if has("PSEUDOMERCATOR") || has("WEBMERCATOR") || has("AUXILIARYSPHERE") {
                return Crs::from_epsg(3857);
            }
            if has("DHDN") || has("GAUSS") || has("BESSEL") {
                for (zone, code) in [("2", 31466), ("3", 31467), ("4", 31468), ("5", 31469)] {
                    if has(&format!("ZONE{zone}")) || has(&format!("GK{zone}")) {
                        return Crs::from_epsg(code);
                    }
                }
            }
        } else if has("WGS1984") || has("WGS84") {
            return Ok(Crs::wgs84());
        } else if has("ETRS1989") || has("ETRS89") {
            return Crs::from_epsg(4258);
        }
        let short: String = w.chars().take(80).collect();
        Err(GeomError::UnknownCrs(format!("WKT {short}…")))
    }

    fn proj(&self) -> Proj {
        Proj::from_proj_string(self.proj).expect("registry proj strings are valid")
    }
}

/// Reprojects coordinates between two CRS of the registry.
pub struct Transformer {
    src: Proj,
    dst: Proj,
    src_crs: Crs,
    src_geographic: bool,
    dst_geographic: bool,
}

impl Transformer {
    pub fn new(src: Crs, dst: Crs) -> Transformer {
        Transformer {
            src: src.proj(),
            dst: dst.proj(),
            src_crs: src,
            src_geographic: !src.metric && src.epsg != 3857,
            dst_geographic: !dst.metric && dst.epsg != 3857,
        }
    }

    /// Transforms one coordinate; geographic coordinates are in degrees (x = longitude).
    pub fn coord(&self, c: Coord) -> Result<Coord, GeomError> {
        let (mut x, mut y) = (c.x, c.y);
        if self.src_geographic {
            x = x.to_radians();
            y = y.to_radians();
        }
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).map_err(|e| GeomError::Reprojection {
            epsg: self.src_crs.epsg,
            x: c.x,
            y: c.y,
            reason: e.to_string(),
        })?;
        let (mut ox, mut oy) = (p.0, p.1);
        if self.dst_geographic {
            ox = ox.to_degrees();
            oy = oy.to_degrees();
        }
        if !ox.is_finite() || !oy.is_finite() {
            return Err(GeomError::Reprojection { epsg: self.src_crs.epsg, x: c.x, y: c.y, reason: "Ergebnis nicht endlich".into() });
        }
        Ok(Coord { x: ox, y: oy })
    }

    /// Transforms every coordinate of a multipolygon in place.
    pub fn multipolygon(&self, mp: &mut MultiPolygon) -> Result<(), GeomError> {
        for poly in &mut mp.0 {
            let mut result = Ok(());
            poly.exterior_mut(|ring| result = self.ring(ring));
            std::mem::replace(&mut result, Ok(()))?;
            poly.interiors_mut(|rings| result = rings.iter_mut().try_for_each(|r| self.ring(r)));
            result?;
        }
        Ok(())
    }

    fn ring(&self, ring: &mut geo::LineString) -> Result<(), GeomError> {
        for c in &mut ring.0 {
            *c = self.coord(*c)?;
        }
        Ok(())
    }
}

/// Generous bounding box of Germany in WGS84 (lon/lat degrees), with a margin for
/// cross-border areas: (min_lon, min_lat, max_lon, max_lat).
pub const GERMANY_WGS84: (f64, f64, f64, f64) = (4.5, 46.5, 16.5, 56.0);

/// Checks that a coordinate, declared in `crs` and already transformed to WGS84 as `wgs`,
/// can lie in Germany. Catches lon/lat values declared as UTM and vice versa.
pub fn check_plausible(crs: Crs, original: Coord, wgs: Coord) -> Result<(), GeomError> {
    let (a, b, c, d) = GERMANY_WGS84;
    if wgs.x >= a && wgs.x <= c && wgs.y >= b && wgs.y <= d {
        return Ok(());
    }
    let hint = guess_crs(original)
        .filter(|g| g.epsg != crs.epsg)
        .map(|g| format!(" Die Werte sähen nach EPSG:{} ({}) aus.", g.epsg, g.name))
        .unwrap_or_default();
    Err(GeomError::Implausible { epsg: crs.epsg, crs_name: crs.name, x: original.x, y: original.y, lon: wgs.x, lat: wgs.y, hint })
}

/// Guesses which registry CRS a coordinate could be in, from where it would land.
pub fn guess_crs(c: Coord) -> Option<Crs> {
    let (a, b, cc, d) = GERMANY_WGS84;
    // Prefer the usual delivery CRS.
    for epsg in [4326, 25832, 25833, 31467, 31466, 31468, 31469, 3035, 3857] {
        let crs = Crs::from_epsg(epsg).ok()?;
        if let Ok(w) = Transformer::new(crs, Crs::wgs84()).coord(c)
            && w.x >= a
            && w.x <= cc
            && w.y >= b
            && w.y <= d
        {
            return Some(crs);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(epsg: u32, x: f64, y: f64, lon: f64, lat: f64, tol_deg: f64) {
        let t = Transformer::new(Crs::from_epsg(epsg).unwrap(), Crs::wgs84());
        let w = t.coord(Coord { x, y }).unwrap();
        assert!(
            (w.x - lon).abs() < tol_deg && (w.y - lat).abs() < tol_deg,
            "EPSG:{epsg} ({x},{y}) -> ({},{}) expected ({lon},{lat})",
            w.x,
            w.y
        );
    }

    #[test]
    fn reprojects_to_wgs84() {
        // Reference: PROJ 9.5 (shared/design/stack.md): 25832 (565000, 5930000) -> (9.980269659495075, 53.51491366627251).
        check(25832, 565000.0, 5930000.0, 9.980269659495075, 53.51491366627251, 1e-9);
        // References: pyproj 3.7.2 / PROJ 9.5.1, Transformer.from_crs(EPSG, 4326, always_xy=True).
        check(25833, 389_930.0, 5_819_640.0, 13.377899730944842, 52.515746018859154, 1e-9);
        check(3857, 1_489_199.0, 6_894_026.0, 13.377702227955071, 52.51631677442798, 1e-9);
        check(3035, 4_552_000.0, 3_272_000.0, 13.403585269490799, 52.50863209067336, 1e-8);
        check(4326, 13.3777, 52.5163, 13.3777, 52.5163, 1e-12);
        // DHDN: PROJ picks the same Helmert parameters (EPSG:1777) when no grid is installed;
        // 1e-5° (about 1 m) leaves room for the ellipsoid arithmetic.
        check(31466, 2_567_470.0, 5_644_710.0, 6.959185916473027, 50.93370436739838, 1e-5);
        check(31467, 3_356_520.0, 5_645_500.0, 6.958127782367485, 50.92691174972397, 1e-5);
    }

    #[test]
    fn parses_crs_names() {
        assert_eq!(Crs::parse("EPSG:25832").unwrap().epsg, 25832);
        assert_eq!(Crs::parse("urn:ogc:def:crs:EPSG::25833").unwrap().epsg, 25833);
        assert_eq!(Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84").unwrap().epsg, 4326);
        assert_eq!(Crs::parse("31467").unwrap().epsg, 31467);
        assert!(matches!(Crs::parse("EPSG:2154"), Err(GeomError::UnknownCrs(_))));
    }

    #[test]
    fn recognises_prj_wkt() {
        let esri = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["Central_Meridian",9.0],UNIT["Meter",1.0]]"#;
        assert_eq!(Crs::from_wkt(esri).unwrap().epsg, 25832);
        let ogc = r#"PROJCS["ETRS89 / UTM zone 33N",GEOGCS["ETRS89",AUTHORITY["EPSG","4258"]],UNIT["metre",1],AUTHORITY["EPSG","25833"]]"#;
        assert_eq!(Crs::from_wkt(ogc).unwrap().epsg, 25833);
        let gk = r#"PROJCS["DHDN_3_Degree_Gauss_Zone_3",GEOGCS["GCS_Deutsches_Hauptdreiecksnetz",DATUM["D_Deutsches_Hauptdreiecksnetz",SPHEROID["Bessel_1841",6377397.155,299.1528128]]]]"#;
        assert_eq!(Crs::from_wkt(gk).unwrap().epsg, 31467);
        let geo = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]"#;
        assert_eq!(Crs::from_wkt(geo).unwrap().epsg, 4326);
        assert!(Crs::from_wkt(r#"PROJCS["RGF93 / Lambert-93"]"#).is_err());
    }

    #[test]
    fn lonlat_declared_as_utm_is_implausible() {
        let crs = Crs::from_epsg(25832).unwrap();
        let c = Coord { x: 7.1, y: 51.4 };
        let w = Transformer::new(crs, Crs::wgs84()).coord(c).unwrap();
        let err = check_plausible(crs, c, w).unwrap_err();
        assert!(err.to_string().contains("EPSG:4326"), "{err}");
    }
}
