//! GeoJSON FeatureCollections (RFC 7946, plus the legacy 2008 `crs` member that GDAL and
//! QGIS still write for projected data).

use super::{RawAreas, RawFeature, RawGeom};
use crate::table::{Sniffed, read_bytes, sniff, sniffed_name};
use crate::{ImportError, Result};
use quartier_geom::crs::Crs;
use quartier_geom::{Coord, LineString, MultiPolygon, Polygon};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Pseudo field holding a feature's top-level `id` member.
pub const FEATURE_ID: &str = "(Feature-id)";

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    ty: Option<String>,
    crs: Option<Value>,
    #[serde(borrow)]
    features: Option<Vec<Feature<'a>>>,
}

#[derive(Deserialize)]
struct Feature<'a> {
    id: Option<Value>,
    properties: Option<Map<String, Value>>,
    #[serde(borrow)]
    geometry: Option<Geometry<'a>>,
}

#[derive(Deserialize)]
struct Geometry<'a> {
    #[serde(rename = "type")]
    ty: String,
    #[serde(borrow)]
    coordinates: Option<&'a RawValue>,
}

/// A position: x and y, further ordinates ignored.
struct Pos(f64, f64);

impl<'de> Deserialize<'de> for Pos {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Pos, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pos;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("eine Position [x, y]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Pos, A::Error> {
                let x: f64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let y: f64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Pos(x, y))
            }
        }
        d.deserialize_seq(V)
    }
}

fn ring(r: Vec<Pos>) -> LineString {
    LineString(r.into_iter().map(|Pos(x, y)| Coord { x, y }).collect())
}

fn polygon(rings: Vec<Vec<Pos>>) -> Polygon {
    let mut it = rings.into_iter().map(ring);
    let ext = it.next().unwrap_or_else(|| LineString(vec![]));
    Polygon::new(ext, it.collect())
}

fn geometry(g: &Geometry) -> std::result::Result<RawGeom, String> {
    let Some(raw) = g.coordinates else { return Ok(RawGeom::Null) };
    let mp = match g.ty.as_str() {
        "Polygon" => MultiPolygon(vec![polygon(serde_json::from_str(raw.get()).map_err(|e| format!("Koordinaten des Polygons: {e}"))?)]),
        "MultiPolygon" => {
            let polys: Vec<Vec<Vec<Pos>>> = serde_json::from_str(raw.get()).map_err(|e| format!("Koordinaten des MultiPolygons: {e}"))?;
            MultiPolygon(polys.into_iter().map(polygon).collect())
        }
        other => return Ok(RawGeom::Other(other.to_string())),
    };
    if mp.0.iter().all(|p| p.exterior().0.is_empty()) {
        return Ok(RawGeom::Null);
    }
    Ok(RawGeom::Areal(mp))
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => i.to_string(),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                _ => n.to_string(),
            },
        }),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

pub fn read(path: &Path, file: &str) -> Result<RawAreas> {
    let bytes = read_bytes(path)?;
    let kind = sniff(&bytes);
    if kind != Sniffed::Json {
        return Err(ImportError::file(file, format!("als GeoJSON erwartet, aber der Inhalt ist {}", sniffed_name(kind))));
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
        .map_err(|e| ImportError::file(file, format!("GeoJSON muss UTF-8 sein; ungültiges Byte an Position {}", e.valid_up_to())))?;
    let fc: Collection = serde_json::from_str(text)
        .map_err(|e| ImportError::file(file, format!("Zeile {}, Spalte {}: kein gültiges GeoJSON: {e}", e.line(), e.column())))?;
    if fc.ty.as_deref() != Some("FeatureCollection") {
        return Err(ImportError::file(file, format!("erwartet eine FeatureCollection, gefunden type = {:?}", fc.ty.unwrap_or_default())));
    }
    let crs = match &fc.crs {
        None | Some(Value::Null) => None,
        Some(c) => {
            let name = c
                .pointer("/properties/name")
                .and_then(Value::as_str)
                .or_else(|| c.pointer("/properties/code").and_then(Value::as_str))
                .unwrap_or("");
            let crs = Crs::parse(name).map_err(|e| ImportError::file(file, format!("crs-Angabe „{name}“: {e}")))?;
            Some((crs, format!("crs-Angabe „{name}“")))
        }
    };
    let features = fc.features.unwrap_or_default();
    let mut fields: Vec<String> = Vec::new();
    let mut known: HashMap<String, ()> = HashMap::new();
    let mut out = Vec::with_capacity(features.len());
    let mut problems = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let origin = format!("Feature {}", i + 1);
        let mut map: HashMap<String, String> = HashMap::new();
        if let Some(id) = f.id.as_ref().and_then(value_text) {
            map.insert(FEATURE_ID.to_string(), id);
        }
        for (k, v) in f.properties.iter().flatten() {
            if let Some(t) = value_text(v) {
                map.insert(k.clone(), t);
            }
            if known.insert(k.clone(), ()).is_none() {
                fields.push(k.clone());
            }
        }
        let geometry = match &f.geometry {
            None => RawGeom::Null,
            Some(g) => match geometry(g) {
                Ok(g) => g,
                Err(e) => {
                    problems.push(format!("{origin}: {e}"));
                    continue;
                }
            },
        };
        out.push(RawFeature { origin, fields: map, geometry });
    }
    if features.iter().any(|f| f.id.is_some()) {
        fields.push(FEATURE_ID.to_string());
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems });
    }
    Ok(RawAreas { file: file.to_string(), format: "GeoJSON", crs, fields, features: out })
}
