//! GeoPackage (OGC 12-128r18) feature tables, read with SQLite directly.

use super::{RawAreas, RawFeature, RawGeom};
use crate::{ImportError, Result};
use quartier_geom::crs::Crs;
use quartier_geom::wkb::{self, Decoded};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

/// Strips the GeoPackage binary header (magic, flags, srs id, envelope) from a geometry blob.
fn gpkg_wkb(blob: &[u8]) -> std::result::Result<Option<&[u8]>, String> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return Err("kein GeoPackage-Geometrieblob (Kennung GP fehlt)".into());
    }
    let flags = blob[3];
    if flags & 0b0001_0000 != 0 {
        return Ok(None);
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(format!("ungültiger Envelope-Typ {e}")),
    };
    Ok(blob.get(8 + envelope..))
}

pub fn read(path: &Path, file: &str, layer: Option<&str>) -> Result<RawAreas> {
    let bytes_head = crate::table::read_bytes(path)?;
    if !bytes_head.starts_with(b"SQLite format 3\0") {
        return Err(ImportError::file(file, "keine GeoPackage-Datei (keine SQLite-Datenbank)"));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| ImportError::file(file, format!("nicht lesbar: {e}")))?;
    let err = |e: rusqlite::Error| ImportError::file(file, format!("GeoPackage nicht lesbar: {e}"));
    let layers: Vec<(String, String, i64)> = conn
        .prepare("SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name WHERE c.data_type = 'features' ORDER BY c.table_name")
        .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
        .map_err(err)?;
    let names = || layers.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(", ");
    let (table, geom_col, srs_id) = match layer {
        Some(l) => layers
            .iter()
            .find(|x| x.0 == l)
            .cloned()
            .ok_or_else(|| ImportError::file(file, format!("keine Ebene (Layer) „{l}“; vorhanden: {}", names())))?,
        None if layers.len() == 1 => layers[0].clone(),
        None if layers.is_empty() => return Err(ImportError::file(file, "das GeoPackage enthält keine Feature-Layer")),
        None => {
            return Err(ImportError::file(file, format!("mehrere Layer, bitte mit --layer wählen: {}", names())));
        }
    };
    let (org, code, def): (String, i64, String) = conn
        .query_row("SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1", [srs_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(err)?;
    let crs =
        if org.eq_ignore_ascii_case("epsg") { Crs::from_epsg(code as u32).or_else(|_| Crs::from_wkt(&def)) } else { Crs::from_wkt(&def) }
            .map_err(|e| ImportError::file(file, format!("Koordinatensystem des Layers „{table}“: {e}")))?;
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut st = conn.prepare(&format!("SELECT * FROM {}", quoted(&table))).map_err(err)?;
    let fields: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let geom_idx =
        fields.iter().position(|f| *f == geom_col).ok_or_else(|| ImportError::file(file, format!("Geometriespalte „{geom_col}“ fehlt")))?;
    let mut rows = st.query([]).map_err(err)?;
    let mut features = Vec::new();
    let mut i = 0;
    while let Some(row) = rows.next().map_err(err)? {
        i += 1;
        let origin = format!("Feature {i}");
        let mut map = HashMap::new();
        let mut geometry = RawGeom::Null;
        for (c, name) in fields.iter().enumerate() {
            let v = row.get_ref(c).map_err(err)?;
            if c == geom_idx {
                if let ValueRef::Blob(b) = v {
                    geometry = match gpkg_wkb(b).map_err(|e| ImportError::file(file, format!("{origin}: {e}")))? {
                        None => RawGeom::Null,
                        Some(w) => match wkb::decode(w).map_err(|e| ImportError::file(file, format!("{origin}: {e}")))? {
                            Decoded::Areal(mp) => RawGeom::Areal(mp),
                            Decoded::Empty => RawGeom::Null,
                            Decoded::Other(t) => RawGeom::Other(t.to_string()),
                        },
                    };
                }
                continue;
            }
            let text = match v {
                ValueRef::Null => None,
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(f) => Some(crate::table::number_text(f)),
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => None,
            };
            if let Some(t) = text {
                map.insert(name.clone(), t);
            }
        }
        features.push(RawFeature { origin, fields: map, geometry });
    }
    let fields = fields.into_iter().filter(|f| *f != geom_col).collect();
    Ok(RawAreas { file: file.to_string(), format: "GeoPackage", crs: Some((crs, format!("Layer „{table}“"))), fields, features })
}
