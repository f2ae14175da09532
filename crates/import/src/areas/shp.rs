//! ESRI Shapefiles: .shp/.shx geometry, .dbf attributes (code page from `--encoding`, the
//! .cpg file, the .dbf language driver byte, or detected), .prj for the CRS.

use super::{RawAreas, RawFeature, RawGeom};
use crate::table::read_bytes;
use crate::{ImportError, Result};
use quartier_geom::crs::Crs;
use quartier_geom::{Coord, LineString, MultiPolygon, Polygon};
use shapefile::dbase::{self, FieldValue};
use shapefile::{PolygonRing, Shape};
use std::collections::HashMap;
use std::path::Path;

/// The .dbf code page: explicit, .cpg, language driver id (byte 29), else UTF-8 when the
/// bytes are valid UTF-8, else Windows-1252.
fn dbf_encoding(shp: &Path, file: &str, given: Option<&str>) -> Result<&'static encoding_rs::Encoding> {
    let label = |l: &str| {
        let l = l.trim();
        let l = l.strip_prefix("ANSI ").unwrap_or(l);
        let l = match l {
            "1252" => "windows-1252",
            "1250" => "windows-1250",
            "65001" | "UTF8" => "utf-8",
            "88591" | "8859_1" => "iso-8859-1",
            other => other,
        };
        encoding_rs::Encoding::for_label(l.as_bytes())
    };
    if let Some(g) = given {
        return label(g).ok_or_else(|| ImportError::file(file, format!("unbekannte Zeichenkodierung „{g}“ (z. B. utf-8, windows-1252)")));
    }
    if let Ok(cpg) = std::fs::read_to_string(shp.with_extension("cpg"))
        && let Some(e) = label(&cpg)
    {
        return Ok(e);
    }
    let dbf = read_bytes(&shp.with_extension("dbf"))?;
    match dbf.get(29) {
        Some(0x57) | Some(0x03) => return Ok(encoding_rs::WINDOWS_1252),
        Some(0xC8) => return Ok(encoding_rs::WINDOWS_1250),
        _ => {}
    }
    let header_len = dbf.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize).unwrap_or(0);
    let body = dbf.get(header_len..).unwrap_or(&[]);
    Ok(if std::str::from_utf8(body).is_ok() { encoding_rs::UTF_8 } else { encoding_rs::WINDOWS_1252 })
}

fn field_text(v: &FieldValue) -> Option<String> {
    match v {
        FieldValue::Character(s) => s.clone(),
        FieldValue::Memo(s) => Some(s.clone()),
        FieldValue::Numeric(n) => n.map(crate::table::number_text),
        FieldValue::Float(f) => f.map(|f| crate::table::number_text(f as f64)),
        FieldValue::Integer(i) => Some(i.to_string()),
        FieldValue::Double(d) | FieldValue::Currency(d) => Some(crate::table::number_text(*d)),
        FieldValue::Logical(b) => b.map(|b| b.to_string()),
        FieldValue::Date(d) => d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        FieldValue::DateTime(d) => Some(format!("{:?}", d)),
    }
}

fn to_multipolygon(rings: &[PolygonRing<Coord>]) -> MultiPolygon {
    // Outer rings start polygons; holes go into the outer ring that contains them.
    use geo::Contains;
    let mut polys: Vec<Polygon> = Vec::new();
    let mut holes: Vec<LineString> = Vec::new();
    for r in rings {
        match r {
            PolygonRing::Outer(pts) => polys.push(Polygon::new(LineString(pts.clone()), vec![])),
            PolygonRing::Inner(pts) => holes.push(LineString(pts.clone())),
        }
    }
    for h in holes {
        let first = h.0.first().copied();
        let idx = first.and_then(|p| polys.iter().position(|poly| poly.contains(&geo::Point(p)))).or(polys.len().checked_sub(1));
        if let Some(i) = idx {
            polys[i].interiors_push(h);
        }
    }
    MultiPolygon(polys)
}

fn rings_of<P: Copy>(rings: &[PolygonRing<P>], xy: impl Fn(P) -> Coord) -> Vec<PolygonRing<Coord>> {
    rings
        .iter()
        .map(|r| match r {
            PolygonRing::Outer(p) => PolygonRing::Outer(p.iter().map(|p| xy(*p)).collect()),
            PolygonRing::Inner(p) => PolygonRing::Inner(p.iter().map(|p| xy(*p)).collect()),
        })
        .collect()
}

pub fn read(shp: &Path, file: &str, encoding: Option<&str>) -> Result<RawAreas> {
    for (ext, what) in [("shp", "Geometrien"), ("shx", "Index"), ("dbf", "Attribute")] {
        let p = shp.with_extension(ext);
        if !p.exists() {
            return Err(ImportError::file(file, format!("zum Shapefile gehört {} ({what}), die Datei fehlt", p.display())));
        }
    }
    let head = read_bytes(shp)?;
    if head.len() < 100 || head[0..4] != [0, 0, 0x27, 0x0a] {
        return Err(ImportError::file(file, "keine gültige .shp-Datei (Dateikennung 9994 fehlt)"));
    }
    let crs = match std::fs::read_to_string(shp.with_extension("prj")) {
        Ok(wkt) => Some((
            Crs::from_wkt(&wkt).map_err(|e| ImportError::file(file, format!(".prj: {e}; mit --crs EPSG:CODE angeben")))?,
            ".prj-Datei".to_string(),
        )),
        Err(_) => None,
    };
    let enc = dbf_encoding(shp, file, encoding)?;
    let shapes = shapefile::ShapeReader::from_path(shp).map_err(|e| ImportError::file(file, format!(".shp/.shx nicht lesbar: {e}")))?;
    let dbf = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(enc))
        .open(shp.with_extension("dbf"))
        .map_err(|e| ImportError::file(file, format!(".dbf nicht lesbar: {e}")))?;
    let fields: Vec<String> = dbf.fields().iter().map(|f| f.name().to_string()).collect();
    let mut reader = shapefile::Reader::new(shapes, dbf);
    let mut features = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let origin = format!("Feature {}", i + 1);
        let (shape, record) = item.map_err(|e| ImportError::file(file, format!("{origin}: nicht lesbar: {e}")))?;
        let geometry = match shape {
            Shape::NullShape => RawGeom::Null,
            Shape::Polygon(p) => RawGeom::Areal(to_multipolygon(&rings_of(p.rings(), |p| Coord { x: p.x, y: p.y }))),
            Shape::PolygonZ(p) => RawGeom::Areal(to_multipolygon(&rings_of(p.rings(), |p| Coord { x: p.x, y: p.y }))),
            Shape::PolygonM(p) => RawGeom::Areal(to_multipolygon(&rings_of(p.rings(), |p| Coord { x: p.x, y: p.y }))),
            other => RawGeom::Other(other.shapetype().to_string()),
        };
        let map: HashMap<String, String> = record.into_iter().filter_map(|(k, v)| field_text(&v).map(|t| (k, t))).collect();
        features.push(RawFeature { origin, fields: map, geometry });
    }
    Ok(RawAreas { file: file.to_string(), format: "Shapefile", crs, fields, features })
}
