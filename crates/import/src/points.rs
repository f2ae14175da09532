//! Weighted points from a CSV: Zensus grid cells, address points, anything with coordinates
//! and a count — the population weights of reachability (`supply --points`) and of
//! crosswalks (`crosswalk compute --points`).

use crate::{ImportError, Result};
use quartier_geom::crs::{Crs, Transformer};
use std::path::Path;

/// Points in WGS84 with their weight, and where they came from (for the method text).
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub source: String,
    /// (longitude, latitude, weight).
    pub points: Vec<(f64, f64, f64)>,
}

/// Which columns hold what.
#[derive(Debug, Clone, Default)]
pub struct PointOptions {
    pub x: String,
    pub y: String,
    /// EPSG:N, a PROJ string or WKT (with `crs_files`: also a `.prj` file's path).
    pub crs: String,
    /// The column with the number of persons per point; None: every point counts 1.
    pub weight: Option<String>,
    /// `crs` may name a file (the command line; never text from the web).
    pub crs_files: bool,
}

/// Reads weighted points (`,` or `;`, decimal comma accepted) and transforms them to WGS84.
/// Official symbols in the weight column (the Zensus grid withholds small cells): `-` is 0,
/// the others leave the point out and are counted. Errors name the file, the line and the
/// column.
pub fn read_points(path: &Path, shown: &str, o: &PointOptions) -> Result<Points> {
    let fail = |m: String| ImportError::file(shown, m);
    let crs = if o.crs_files { crate::areas::crs_arg(&o.crs) } else { Crs::parse(&o.crs).map_err(|e| e.to_string()) }
        .map_err(|e| fail(format!("Koordinatensystem: {e}")))?;
    let to_wgs84 = Transformer::new(crs, Crs::wgs84());
    let head = std::fs::read(path).map_err(|e| fail(format!("nicht lesbar: {e}")))?;
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first.iter().filter(|b| **b == b';').count() > first.iter().filter(|b| **b == b',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head));
    let headers = reader.headers().map_err(|_| fail("keine Kopfzeile".into()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| fail(format!("Spalte „{name}“ fehlt (vorhanden: {})", headers.iter().collect::<Vec<_>>().join(", "))))
    };
    let (xi, yi) = (column(&o.x)?, column(&o.y)?);
    let wi = o.weight.as_deref().map(column).transpose()?;
    let number = |s: &str| s.trim().parse::<f64>().ok().or_else(|| s.trim().replace(',', ".").parse().ok()).filter(|v: &f64| v.is_finite());
    let mut points = Vec::new();
    let mut withheld = 0usize;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| fail(format!("Zeile {line}: CSV nicht lesbar ({e})")))?;
        let field = |c: usize, name: &str| {
            let v = record.get(c).unwrap_or_default();
            number(v).ok_or_else(|| fail(format!("Zeile {line}, Spalte „{name}“: „{v}“ ist keine Zahl")))
        };
        let (x, y) = (field(xi, &o.x)?, field(yi, &o.y)?);
        let w = match (wi, o.weight.as_deref()) {
            (Some(c), Some(_)) if quartier_core::Symbol::parse(record.get(c).unwrap_or_default().trim()).is_some() => {
                match quartier_core::Symbol::parse(record.get(c).unwrap_or_default().trim()).and_then(|s| s.numeric()) {
                    Some(v) => v,
                    None => {
                        withheld += 1;
                        continue;
                    }
                }
            }
            (Some(c), Some(name)) => {
                let w = field(c, name)?;
                if w < 0.0 {
                    return Err(fail(format!("Zeile {line}, Spalte „{name}“: negative Anzahl {w}")));
                }
                w
            }
            _ => 1.0,
        };
        let c = to_wgs84
            .coord(quartier_geom::Coord { x, y })
            .map_err(|e| fail(format!("Zeile {line}: Koordinaten {x}, {y} nicht umrechenbar ({e})")))?;
        if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
            return Err(fail(format!("Zeile {line}: Koordinaten {x}, {y} passen nicht zu {} (falsches Koordinatensystem?)", o.crs)));
        }
        points.push((c.x, c.y, w));
    }
    if points.is_empty() {
        return Err(fail(format!(
            "keine Punkte{}",
            if withheld > 0 { format!(" mit Anzahl ({withheld} nur mit amtlichem Zeichen)") } else { String::new() }
        )));
    }
    let name = Path::new(shown).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let source = if withheld > 0 { format!("{name}; {withheld} Punkte ohne Anzahl (amtliches Zeichen) ausgelassen") } else { name };
    Ok(Points { source, points })
}
