//! Coordinate reference systems and reprojection to WGS84 (via `proj4rs`, pure Rust).
//!
//! A CRS is given as an EPSG code (any code of the EPSG registry, from the maintained
//! `crs-definitions` crate; the CRS German geodata come in are kept here with their exact
//! datum shifts), a PROJ string, or WKT (WKT1 in OGC and ESRI flavours, WKT2, as in a `.prj`
//! file, converted by `proj4wkt`). A WKT is read by its parameters, not its name: a `.prj`
//! named "UTM zone 32N" with a false easting of 32,500,000 (zone-prefixed eastings) is that
//! CRS, not EPSG:25832.
//!
//! Datum shifts for DHDN (Gauss–Krüger) use the 7-parameter Helmert transformation published
//! for Germany as a whole (EPSG:1777 parameters as in PROJ's `+towgs84`; the EPSG registry
//! states an accuracy of about 3 m) — enough for maps and for assigning areas, not for
//! surveying. With an NTv2 grid file (BeTA2007 of the AdV, [`Crs::with_grid`]) the shift
//! follows the grid instead (decimetres).

use crate::GeomError;
use geo::{Coord, MultiPolygon};
use proj4rs::Proj;
use std::collections::BTreeMap;

/// A CRS Quartier can read.
#[derive(Debug, Clone, PartialEq)]
pub struct Crs {
    /// EPSG code; 0 for a CRS given only as PROJ string or WKT without an EPSG equivalent.
    pub epsg: u32,
    pub name: String,
    proj: String,
    /// True for projected CRS in metres (areas can be computed in them directly).
    pub metric: bool,
    /// The datum shift to ETRS89/WGS84 and its expected accuracy, where one is needed.
    pub shift: Option<String>,
}

/// DHDN → WGS84: the Helmert parameters of EPSG:1777 (PROJ's `+towgs84`).
const DHDN_HELMERT: &str = "+towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7";
const HELMERT_NOTE: &str = "DHDN → ETRS89 mit den Helmert-Parametern EPSG:1777 (Genauigkeit laut EPSG-Register etwa 3 m)";

/// The CRS German geodata are usually delivered in, with names and exact datum shifts.
const GERMAN: &[(u32, &str, &str)] = &[
    (4326, "WGS 84", "+proj=longlat +datum=WGS84 +no_defs"),
    (4258, "ETRS89", "+proj=longlat +ellps=GRS80 +towgs84=0,0,0 +no_defs"),
    (25832, "ETRS89 / UTM zone 32N", "+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs"),
    (25833, "ETRS89 / UTM zone 33N", "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs"),
    (
        4647,
        "ETRS89 / UTM zone 32N (zE-N)",
        "+proj=tmerc +lat_0=0 +lon_0=9 +k=0.9996 +x_0=32500000 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
    ),
    (
        5650,
        "ETRS89 / UTM zone 33N (zE-N)",
        "+proj=tmerc +lat_0=0 +lon_0=15 +k=0.9996 +x_0=33500000 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
    ),
    (
        31466,
        "DHDN / 3-degree Gauss-Kruger zone 2",
        "+proj=tmerc +lat_0=0 +lon_0=6 +k=1 +x_0=2500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
    ),
    (
        31467,
        "DHDN / 3-degree Gauss-Kruger zone 3",
        "+proj=tmerc +lat_0=0 +lon_0=9 +k=1 +x_0=3500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
    ),
    (
        31468,
        "DHDN / 3-degree Gauss-Kruger zone 4",
        "+proj=tmerc +lat_0=0 +lon_0=12 +k=1 +x_0=4500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
    ),
    (
        31469,
        "DHDN / 3-degree Gauss-Kruger zone 5",
        "+proj=tmerc +lat_0=0 +lon_0=15 +k=1 +x_0=5500000 +y_0=0 +ellps=bessel +towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7 +units=m +no_defs",
    ),
    (
        3035,
        "ETRS89-extended / LAEA Europe",
        "+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
    ),
    (
        3857,
        "WGS 84 / Pseudo-Mercator",
        "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs",
    ),
];

/// The forms `--crs` and every CRS error accept, for messages.
pub const FORMS: &str = "EPSG:25832 (jeder EPSG-Code), ein PROJ-String (+proj=utm +zone=32 +ellps=GRS80 +units=m), WKT-Text (OGC, ESRI oder WKT2) oder eine .prj-Datei";

/// The codes of the German registry, for messages.
pub fn supported_list() -> String {
    FORMS.to_string()
}

/// Parameters of a PROJ string that decide where a coordinate lands, normalised so that
/// `+proj=utm +zone=32` equals `+proj=tmerc +lon_0=9 +k=0.9996 +x_0=500000` and
/// `+ellps=GRS80` equals `+a=6378137 +rf=298.257222101`.
fn signature(proj: &str) -> BTreeMap<&'static str, String> {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for tok in proj.split_whitespace() {
        let t = tok.trim_start_matches('+');
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        p.insert(k.to_ascii_lowercase(), v.to_string());
    }
    let num = |v: &str| v.parse::<f64>().map(|x| format!("{:.6}", x)).unwrap_or_else(|_| v.to_string());
    let mut out: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut proj_name = p.get("proj").cloned().unwrap_or_default();
    if proj_name == "utm" {
        let zone: f64 = p.get("zone").and_then(|z| z.parse().ok()).unwrap_or(0.0);
        proj_name = "tmerc".into();
        p.insert("lon_0".into(), format!("{}", zone * 6.0 - 183.0));
        p.insert("k".into(), "0.9996".into());
        p.entry("x_0".into()).or_insert_with(|| "500000".into());
        if p.contains_key("south") {
            p.insert("y_0".into(), "10000000".into());
        }
    }
    if proj_name == "latlong" || proj_name == "lonlat" || proj_name == "latlon" {
        proj_name = "longlat".into();
    }
    out.insert("proj", proj_name);
    if let Some(k0) = p.get("k_0").cloned() {
        p.insert("k".into(), k0);
    }
    for (key, default) in
        [("lat_0", "0"), ("lon_0", "0"), ("k", "1"), ("x_0", "0"), ("y_0", "0"), ("lat_1", ""), ("lat_2", ""), ("lat_ts", "")]
    {
        let v = p.get(key).map(String::as_str).unwrap_or(default);
        if !v.is_empty() {
            out.insert(key, num(v));
        }
    }
    let (a, rf) = match (p.get("ellps").map(|e| e.to_ascii_lowercase()), p.get("datum").map(|d| d.to_ascii_lowercase())) {
        (Some(e), _) if e == "grs80" => ("6378137".to_string(), "298.257222101".to_string()),
        (Some(e), _) if e == "wgs84" => ("6378137".to_string(), "298.257223563".to_string()),
        (Some(e), _) if e == "bessel" => ("6377397.155".to_string(), "299.1528128".to_string()),
        (_, Some(d)) if d == "wgs84" => ("6378137".to_string(), "298.257223563".to_string()),
        (_, Some(d)) if d == "potsdam" => ("6377397.155".to_string(), "299.1528128".to_string()),
        _ => (p.get("a").cloned().unwrap_or_default(), p.get("rf").cloned().unwrap_or_default()),
    };
    // GRS80 and WGS84 differ by 0.1 mm at the poles: the same for locating areas.
    let geocentric = a == "6378137" || a == "6378137.0";
    let rf = if rf.starts_with("298.25722") { "298.2572".to_string() } else { rf };
    out.insert("a", num(&a));
    out.insert("rf", num(&rf));
    // The datum shift: a geocentric datum needs none; Helmert parameters or a grid otherwise.
    let shift = match (p.get("towgs84"), p.get("nadgrids")) {
        (_, Some(g)) if g != "@null" => format!("grid:{g}"),
        (Some(t), _) => {
            let mut v: Vec<String> = t.split(',').map(num).collect();
            v.resize(7, num("0"));
            if v.iter().all(|x| x.parse::<f64>().is_ok_and(|f| f == 0.0)) { "none".into() } else { v.join(",") }
        }
        _ if geocentric || p.get("datum").is_some_and(|d| d.eq_ignore_ascii_case("wgs84")) => "none".into(),
        _ => "unknown".into(),
    };
    out.insert("shift", shift);
    out
}

fn is_metric(proj: &str) -> bool {
    let lower = proj.to_ascii_lowercase();
    !(lower.contains("+proj=longlat") || lower.contains("+proj=latlong") || lower.contains("+proj=lonlat") || lower.contains("+proj=merc"))
        && (lower.contains("+units=m") || !lower.contains("+units="))
}

impl Crs {
    /// Looks up a CRS by EPSG code: the German registry first (exact datum shifts), then the
    /// whole EPSG registry.
    pub fn from_epsg(epsg: u32) -> Result<Crs, GeomError> {
        if let Some((code, name, proj)) = GERMAN.iter().find(|c| c.0 == epsg) {
            let shift = proj.contains(DHDN_HELMERT).then(|| HELMERT_NOTE.to_string());
            return Ok(Crs {
                epsg: *code,
                name: name.to_string(),
                proj: proj.to_string(),
                metric: is_metric(proj) && *code != 3857,
                shift,
            });
        }
        let def =
            u16::try_from(epsg).ok().and_then(crs_definitions::from_code).ok_or_else(|| GeomError::UnknownCrs(format!("EPSG:{epsg}")))?;
        let proj = def.proj4.replace("+datum=potsdam", &format!("+ellps=bessel {DHDN_HELMERT}"));
        Proj::from_proj_string(&proj).map_err(|e| GeomError::UnknownCrs(format!("EPSG:{epsg} ({proj}: {e})")))?;
        let shift = proj.contains(DHDN_HELMERT).then(|| HELMERT_NOTE.to_string());
        Ok(Crs { epsg, name: format!("EPSG:{epsg}"), metric: is_metric(&proj), proj, shift })
    }

    /// WGS 84 (longitude, latitude in degrees).
    pub fn wgs84() -> Crs {
        Crs::from_epsg(4326).expect("registry")
    }

    /// `EPSG:N`, a PROJ string or a WKT text.
    pub fn label(&self) -> String {
        match self.epsg {
            0 => self.name.clone(),
            code if self.name == format!("EPSG:{code}") => self.name.clone(),
            code => format!("EPSG:{code} ({})", self.name),
        }
    }

    /// Parses every form: `EPSG:25832`, `epsg:25832`, `25832`, `urn:ogc:def:crs:EPSG::25832`,
    /// `http://www.opengis.net/def/crs/EPSG/0/25832`, `CRS84`, a PROJ string (`+proj=…`) or
    /// WKT text (WKT1 OGC/ESRI, WKT2).
    pub fn parse(s: &str) -> Result<Crs, GeomError> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if upper.starts_with("+PROJ") || upper.starts_with("PROJ=") {
            return Crs::from_proj(t);
        }
        if ["PROJCS", "GEOGCS", "PROJCRS", "GEOGCRS", "GEODCRS", "BOUNDCRS", "COMPD_CS", "COMPOUNDCRS", "PROJECTEDCRS", "GEODETICCRS"]
            .iter()
            .any(|k| upper.starts_with(k))
        {
            return Crs::from_wkt(t);
        }
        if upper.ends_with("CRS84") {
            return Ok(Crs::wgs84());
        }
        let code = upper.rsplit([':', '/']).next().unwrap_or("");
        match code.parse::<u32>() {
            Ok(c) => Crs::from_epsg(c),
            Err(_) => Err(GeomError::UnknownCrs(t.chars().take(80).collect())),
        }
    }

    /// A CRS from a PROJ string; named by its EPSG equivalent when it has one among the
    /// German CRS.
    pub fn from_proj(proj: &str) -> Result<Crs, GeomError> {
        let p = proj.trim();
        let p = if p.starts_with('+') { p.to_string() } else { format!("+{p}") };
        let p = p.replace("+datum=potsdam", &format!("+ellps=bessel {DHDN_HELMERT}"));
        Proj::from_proj_string(&p).map_err(|e| GeomError::UnknownCrs(format!("PROJ-String „{p}“: {e}")))?;
        Ok(Crs::identified(p, None))
    }

    /// Names a CRS given by parameters after the German CRS it equals, if any.
    fn identified(proj: String, datum_note: Option<String>) -> Crs {
        let sig = signature(&proj);
        for (code, _, p) in GERMAN {
            if signature(p) == sig {
                let mut c = Crs::from_epsg(*code).expect("registry");
                // Keep an explicit grid or shift of the given definition.
                if proj.contains("+nadgrids=") && !proj.contains("@null") {
                    c.proj = proj;
                }
                return c;
            }
        }
        let metric = is_metric(&proj);
        let shift = datum_note.or_else(|| proj.contains(DHDN_HELMERT).then(|| HELMERT_NOTE.to_string()));
        Crs { epsg: 0, name: proj.clone(), proj, metric, shift }
    }

    /// Reads WKT (an ESRI `.prj`, OGC WKT1, WKT2) by its parameters: projection, central
    /// meridian, false easting and northing, scale, ellipsoid, units. A top-level EPSG
    /// authority is used only when its parameters agree. DHDN (Bessel) without a datum shift
    /// gets the Helmert parameters of EPSG:1777.
    pub fn from_wkt(wkt: &str) -> Result<Crs, GeomError> {
        let w = wkt.trim().trim_start_matches('\u{feff}');
        let short: String = w.chars().take(80).collect();
        let proj = match proj4wkt::wkt_to_projstring(w) {
            Ok(p) => p,
            // A WKT without its parameters (some tools write only names and codes).
            Err(e) => return Crs::from_wkt_names(w).map_err(|_| GeomError::UnknownCrs(format!("WKT „{short}…“ nicht lesbar: {e}"))),
        };
        let upper = w.to_ascii_uppercase();
        let mut proj = proj.trim().to_string();
        let mut note = None;
        let bessel = proj.contains("+a=6377397.155") || proj.contains("+ellps=bessel");
        if bessel && !proj.contains("+towgs84") && !proj.contains("+nadgrids") {
            let named = upper.contains("DHDN") || upper.contains("DEUTSCHES") || upper.contains("POTSDAM");
            proj.push(' ');
            proj.push_str(DHDN_HELMERT);
            note = Some(if named {
                HELMERT_NOTE.to_string()
            } else {
                format!("{HELMERT_NOTE}; Datum nicht benannt, Bessel-Ellipsoid als DHDN angenommen")
            });
        }
        let geographic = proj.contains("+proj=longlat") || proj.contains("+proj=latlong");
        if geographic && !proj.contains("+towgs84") && !bessel {
            proj.push_str(" +towgs84=0,0,0");
        }
        Proj::from_proj_string(&proj).map_err(|e| GeomError::UnknownCrs(format!("WKT „{short}…“ ergibt „{proj}“: {e}")))?;
        let mut crs = Crs::identified(proj.clone(), note);
        if crs.epsg == 0 {
            // Not one of the German CRS: the WKT's own EPSG authority names it when its
            // parameters agree.
            for marker in ["AUTHORITY[\"EPSG\",\"", "ID[\"EPSG\","] {
                if let Some(pos) = w.rfind(marker) {
                    let digits: String =
                        w[pos + marker.len()..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
                    if let Ok(code) = digits.parse::<u32>()
                        && let Ok(known) = Crs::from_epsg(code)
                        && signature(&known.proj) == signature(&proj)
                    {
                        return Ok(known);
                    }
                }
            }
            let name: String = w.split('"').nth(1).unwrap_or("").to_string();
            if !name.is_empty() {
                crs.name = format!("{name} ({proj})");
            }
        }
        Ok(crs)
    }

    /// The fallback for WKT without parameters: the top-level EPSG authority, else the CRS
    /// name (ESRI and OGC spellings).
    fn from_wkt_names(w: &str) -> Result<Crs, GeomError> {
        for marker in ["AUTHORITY[\"EPSG\",\"", "ID[\"EPSG\","] {
            if let Some(pos) = w.rfind(marker) {
                let digits: String =
                    w[pos + marker.len()..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
                if let Ok(crs) = digits.parse::<u32>().map_err(|_| ()).and_then(|c| Crs::from_epsg(c).map_err(|_| ())) {
                    return Ok(crs);
                }
            }
        }
        let norm: String = w.to_ascii_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let projected = norm.starts_with("PROJCS") || norm.starts_with("PROJCRS");
        let has = |s: &str| norm.contains(s);
        let code = if projected {
            let etrs = has("ETRS") || has("GRS1980") || has("GRS80");
            if etrs && (has("UTMZONE32N") || has("UTM32N") || has("ZONE32N")) {
                Some(25832)
            } else if etrs && (has("UTMZONE33N") || has("UTM33N") || has("ZONE33N")) {
                Some(25833)
            } else if has("LAEA") || has("LAMBERTAZIMUTHALEQUALAREA") {
                Some(3035)
            } else if has("PSEUDOMERCATOR") || has("WEBMERCATOR") || has("AUXILIARYSPHERE") {
                Some(3857)
            } else if has("DHDN") || has("GAUSS") || has("BESSEL") {
                [("2", 31466), ("3", 31467), ("4", 31468), ("5", 31469)]
                    .iter()
                    .find(|(z, _)| has(&format!("ZONE{z}")) || has(&format!("GK{z}")))
                    .map(|(_, c)| *c)
            } else {
                None
            }
        } else if has("WGS1984") || has("WGS84") {
            Some(4326)
        } else if has("ETRS1989") || has("ETRS89") {
            Some(4258)
        } else {
            None
        };
        let short: String = w.chars().take(80).collect();
        code.map(Crs::from_epsg).unwrap_or_else(|| Err(GeomError::UnknownCrs(format!("WKT {short}…"))))
    }

    /// The same CRS with its datum shift from an NTv2 grid file (e.g. BeTA2007.gsb) instead
    /// of the Helmert parameters. Only for CRS with a datum shift (DHDN). This crate reads no
    /// file: the caller lets `proj4rs` find grid files first ([`allow_grid_files`], called at
    /// the edge), else building a [`Transformer`] fails naming the grid.
    pub fn with_grid(&self, grid: &str) -> Result<Crs, GeomError> {
        if !self.proj.contains("+towgs84=598.1") {
            return Err(GeomError::UnknownCrs(format!(
                "--grid gilt nur für DHDN/Gauß-Krüger (EPSG:31466–31469); {} braucht keinen Gitterdatei-Übergang",
                self.label()
            )));
        }
        let proj = self.proj.replace(DHDN_HELMERT, &format!("+nadgrids={grid}"));
        let file = std::path::Path::new(grid).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Crs {
            proj,
            shift: Some(format!(
                "DHDN → ETRS89 mit dem NTv2-Gitter {file} (Genauigkeit im Dezimeterbereich, BeTA2007 laut AdV etwa 0,1 m)"
            )),
            ..self.clone()
        })
    }

    fn proj(&self) -> Result<Proj, GeomError> {
        Proj::from_proj_string(&self.proj).map_err(|e| GeomError::UnknownCrs(format!("{}: {e}", self.label())))
    }

    /// The PROJ string this CRS is transformed with.
    pub fn proj_string(&self) -> &str {
        &self.proj
    }
}

/// Lets `proj4rs` read NTv2 grid files named in `+nadgrids=` (once per process). The edge
/// that was given a grid file calls this; the analysis crates never do.
pub fn allow_grid_files() {
    static FILES: std::sync::Once = std::sync::Once::new();
    FILES.call_once(|| {
        proj4rs::nadgrids::catalog::set_builder(proj4rs::nadgrids::files::read_from_file);
    });
}

/// Reprojects coordinates between two CRS of the registry.
pub struct Transformer {
    src: Proj,
    dst: Proj,
    src_epsg: u32,
    src_geographic: bool,
    dst_geographic: bool,
}

fn geographic(c: &Crs) -> bool {
    let p = c.proj.to_ascii_lowercase();
    p.contains("+proj=longlat") || p.contains("+proj=latlong") || p.contains("+proj=lonlat") || p.contains("+proj=latlon")
}

impl Transformer {
    /// A transformer between two CRS. Panics only for a CRS whose PROJ string no longer
    /// parses, which [`Crs`]'s constructors rule out; use [`Transformer::try_new`] otherwise.
    pub fn new(src: Crs, dst: Crs) -> Transformer {
        Transformer::try_new(&src, &dst).expect("CRS constructors check their PROJ strings")
    }

    pub fn try_new(src: &Crs, dst: &Crs) -> Result<Transformer, GeomError> {
        Ok(Transformer {
            src: src.proj()?,
            dst: dst.proj()?,
            src_epsg: src.epsg,
            src_geographic: geographic(src),
            dst_geographic: geographic(dst),
        })
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
            epsg: self.src_epsg,
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
            return Err(GeomError::Reprojection { epsg: self.src_epsg, x: c.x, y: c.y, reason: "Ergebnis nicht endlich".into() });
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
pub fn check_plausible(crs: &Crs, original: Coord, wgs: Coord) -> Result<(), GeomError> {
    let (a, b, c, d) = GERMANY_WGS84;
    if wgs.x >= a && wgs.x <= c && wgs.y >= b && wgs.y <= d {
        return Ok(());
    }
    let hint = guess_crs(original)
        .filter(|g| g.epsg != crs.epsg)
        .map(|g| format!(" Die Werte sähen nach EPSG:{} ({}) aus.", g.epsg, g.name))
        .unwrap_or_default();
    Err(GeomError::Implausible { crs: crs.label(), x: original.x, y: original.y, lon: wgs.x, lat: wgs.y, hint })
}

/// Guesses which registry CRS a coordinate could be in, from where it would land.
pub fn guess_crs(c: Coord) -> Option<Crs> {
    let (a, b, cc, d) = GERMANY_WGS84;
    // Prefer the usual delivery CRS.
    for epsg in [4326, 25832, 25833, 31467, 31466, 31468, 31469, 3035, 3857] {
        let crs = Crs::from_epsg(epsg).ok()?;
        if let Ok(w) = Transformer::new(crs.clone(), Crs::wgs84()).coord(c)
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
        check_crs(&format!("EPSG:{epsg}"), Crs::from_epsg(epsg).unwrap(), x, y, lon, lat, tol_deg);
        let _ = w;
    }

    fn check_crs(what: &str, crs: Crs, x: f64, y: f64, lon: f64, lat: f64, tol_deg: f64) {
        let t = Transformer::new(crs, Crs::wgs84());
        let w = t.coord(Coord { x, y }).unwrap();
        let epsg = what;
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
        assert_eq!(Crs::parse("http://www.opengis.net/def/crs/EPSG/0/25832").unwrap().epsg, 25832);
        // Any EPSG code of the registry: Lambert-93 (France). Reference pyproj 3.7.2 / PROJ 9.5.1,
        // Transformer.from_crs(2154, 4326, always_xy=True).
        check(2154, 652_470.0, 6_862_035.0, 2.3522133479107232, 48.856597739161856, 1e-9);
        assert!(matches!(Crs::parse("EPSG:99999"), Err(GeomError::UnknownCrs(_))));
        let err = Crs::parse("EPSG:99999").unwrap_err().to_string();
        assert!(err.contains("PROJ-String") && err.contains("WKT") && err.contains(".prj"), "{err}");
        // A PROJ string equal to a German CRS is named by it.
        assert_eq!(Crs::parse("+proj=utm +zone=32 +ellps=GRS80 +units=m +no_defs").unwrap().epsg, 25832);
        assert_eq!(Crs::parse("+proj=tmerc +lon_0=9 +k=0.9996 +x_0=500000 +ellps=GRS80 +units=m").unwrap().epsg, 25832);
        let custom = Crs::parse("+proj=tmerc +lon_0=9 +k=0.9996 +x_0=2500000 +ellps=GRS80 +units=m").unwrap();
        assert_eq!((custom.epsg, custom.metric), (0, true));
        assert!(Crs::parse("+proj=nonsense").is_err());
    }

    #[test]
    fn prj_by_parameters_not_name() {
        // A city's .prj: ESRI WKT named UTM zone 32N, with a false easting of 2,500,000.
        let prj = r#"PROJCS["ETRS_1989_UTM_Zone_N32",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",2500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let crs = Crs::from_wkt(prj).unwrap();
        assert_eq!(crs.epsg, 0, "{crs:?}");
        // Hamburg: EPSG:25832 (565000, 5930000) → (9.980269659495075, 53.51491366627251) (PROJ 9.5); the
        // same point with 2,000,000 more easting.
        check_crs("prj 2.5e6", crs, 2_565_000.0, 5_930_000.0, 9.980269659495075, 53.51491366627251, 1e-9);
        // Zone-prefixed eastings (32,500,000) are EPSG:4647.
        let zen = prj.replace("2500000.0", "32500000.0");
        assert_eq!(Crs::from_wkt(&zen).unwrap().epsg, 4647);
        check(4647, 32_565_000.0, 5_930_000.0, 9.980269659495075, 53.51491366627251, 1e-9);
        // WKT2 with its ID.
        let wkt2 = r#"PROJCRS["ETRS89 / UTM zone 33N",BASEGEOGCRS["ETRS89",DATUM["European Terrestrial Reference System 1989",ELLIPSOID["GRS 1980",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]]],CONVERSION["UTM zone 33N",METHOD["Transverse Mercator",ID["EPSG",9807]],PARAMETER["Latitude of natural origin",0,ANGLEUNIT["degree",0.0174532925199433]],PARAMETER["Longitude of natural origin",15,ANGLEUNIT["degree",0.0174532925199433]],PARAMETER["Scale factor at natural origin",0.9996,SCALEUNIT["unity",1]],PARAMETER["False easting",500000,LENGTHUNIT["metre",1]],PARAMETER["False northing",0,LENGTHUNIT["metre",1]]],CS[Cartesian,2],AXIS["easting",east,ORDER[1],LENGTHUNIT["metre",1]],AXIS["northing",north,ORDER[2],LENGTHUNIT["metre",1]],ID["EPSG",25833]]"#;
        assert_eq!(Crs::parse(wkt2).unwrap().epsg, 25833);
        // A name that claims 25832 but parameters of zone 33: the parameters count.
        let lying = r#"PROJCS["ETRS89 / UTM zone 32N",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_System_1989",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","25832"]]"#;
        assert_eq!(Crs::from_wkt(lying).unwrap().epsg, 25833);
    }

    #[test]
    fn dhdn_helmert_by_default_and_ntv2_grid_on_request() {
        // ESRI .prj of Gauss-Krüger zone 3 has no TOWGS84: the EPSG:1777 Helmert shift is added.
        let gk = r#"PROJCS["DHDN_3_Degree_Gauss_Zone_3",GEOGCS["GCS_Deutsches_Hauptdreiecksnetz",DATUM["D_Deutsches_Hauptdreiecksnetz",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",3500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let crs = Crs::from_wkt(gk).unwrap();
        assert_eq!(crs.epsg, 31467);
        assert!(crs.shift.as_deref().unwrap().contains("EPSG:1777"));
        check(31467, 3_356_520.0, 5_645_500.0, 6.958127782367485, 50.92691174972397, 1e-5);
        assert!(Crs::from_epsg(25832).unwrap().with_grid("BETA2007.gsb").is_err());
        let g = crs.with_grid("/nicht/da/BETA2007.gsb").unwrap();
        assert!(g.shift.as_deref().unwrap().contains("BETA2007.gsb") && g.proj_string().contains("+nadgrids=/nicht/da/BETA2007.gsb"));
        let err = Transformer::try_new(&g, &Crs::wgs84()).err().unwrap().to_string();
        assert!(err.contains("grid"), "{err}");

        // An NTv2 grid over Germany (47–55°N, 5–16°E, 1° cells) shifting every latitude by
        // exactly 1″ north: the grid result is the unshifted Bessel position plus 1″.
        allow_grid_files();
        let path = std::env::temp_dir().join(format!("quartier-ntv2-{}.gsb", std::process::id()));
        std::fs::write(&path, ntv2_constant(1.0)).unwrap();
        let g = crs.with_grid(path.to_str().unwrap()).unwrap();
        let p = Coord { x: 3_356_520.0, y: 5_645_500.0 };
        let on_grid = Transformer::new(g, Crs::wgs84()).coord(p).unwrap();
        // The same point as Bessel longitude/latitude, without any datum change.
        let plain = Crs::parse("+proj=tmerc +lat_0=0 +lon_0=9 +k=1 +x_0=3500000 +y_0=0 +ellps=bessel +towgs84=0,0,0 +units=m").unwrap();
        let bessel = Crs::parse("+proj=longlat +ellps=bessel +towgs84=0,0,0").unwrap();
        let unshifted = Transformer::new(plain, bessel).coord(p).unwrap();
        std::fs::remove_file(&path).ok();
        assert!((on_grid.y - unshifted.y - 1.0 / 3600.0).abs() < 1e-7, "{on_grid:?} vs {unshifted:?}");
        assert!((on_grid.x - unshifted.x).abs() < 1e-7, "{on_grid:?} vs {unshifted:?}");
    }

    /// A little-endian NTv2 file (the layout of the NRCan format description) with one
    /// subgrid and a constant latitude shift in arc seconds.
    fn ntv2_constant(dlat: f32) -> Vec<u8> {
        let mut b = Vec::new();
        let rec = |b: &mut Vec<u8>, key: &str, val: &[u8]| {
            let mut k = key.as_bytes().to_vec();
            k.resize(8, b' ');
            b.extend(k);
            let mut v = val.to_vec();
            v.resize(8, 0);
            b.extend(v);
        };
        let text = |s: &str| {
            let mut v = s.as_bytes().to_vec();
            v.resize(8, b' ');
            v
        };
        rec(&mut b, "NUM_OREC", &11i32.to_le_bytes());
        rec(&mut b, "NUM_SREC", &11i32.to_le_bytes());
        rec(&mut b, "NUM_FILE", &1i32.to_le_bytes());
        rec(&mut b, "GS_TYPE", &text("SECONDS"));
        rec(&mut b, "VERSION", &text("NTv2.0"));
        rec(&mut b, "SYSTEM_F", &text("DHDN"));
        rec(&mut b, "SYSTEM_T", &text("ETRS89"));
        rec(&mut b, "MAJOR_F", &6377397.155f64.to_le_bytes());
        rec(&mut b, "MINOR_F", &6356078.963f64.to_le_bytes());
        rec(&mut b, "MAJOR_T", &6378137.0f64.to_le_bytes());
        rec(&mut b, "MINOR_T", &6356752.314f64.to_le_bytes());
        let (s_lat, n_lat, e_long, w_long, inc) = (47.0 * 3600.0, 55.0 * 3600.0, -16.0 * 3600.0, -5.0 * 3600.0, 3600.0f64);
        let rows = ((n_lat - s_lat) / inc) as usize + 1;
        let cols = ((w_long - e_long) / inc) as usize + 1;
        rec(&mut b, "SUB_NAME", &text("TEST"));
        rec(&mut b, "PARENT", &text("NONE"));
        rec(&mut b, "CREATED", &text("20261205"));
        rec(&mut b, "UPDATED", &text("20261205"));
        rec(&mut b, "S_LAT", &s_lat.to_le_bytes());
        rec(&mut b, "N_LAT", &n_lat.to_le_bytes());
        rec(&mut b, "E_LONG", &e_long.to_le_bytes());
        rec(&mut b, "W_LONG", &w_long.to_le_bytes());
        rec(&mut b, "LAT_INC", &inc.to_le_bytes());
        rec(&mut b, "LONG_INC", &inc.to_le_bytes());
        rec(&mut b, "GS_COUNT", &((rows * cols) as i32).to_le_bytes());
        for _ in 0..rows * cols {
            for v in [dlat, 0.0f32, 0.0, 0.0] {
                b.extend(v.to_le_bytes());
            }
        }
        rec(&mut b, "END", &[]);
        b
    }

    #[test]
    fn recognises_prj_wkt() {
        let esri = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
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
        let w = Transformer::new(crs.clone(), Crs::wgs84()).coord(c).unwrap();
        let err = check_plausible(&crs, c, w).unwrap_err();
        assert!(err.to_string().contains("EPSG:4326"), "{err}");
    }
}
