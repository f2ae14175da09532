//! Area files: GeoJSON, ESRI Shapefile, GeoPackage and plain CSV/XLSX tables.
//!
//! Reading ([`read`]) gives [`RawAreas`]: features with their fields and geometry in the
//! source CRS. Preparing ([`prepare`]) checks keys and geometries, reprojects to WGS84,
//! computes areas in m² and finds parents, and returns a batch for the store.

mod geojson;
mod gpkg;
mod shp;

use crate::table::{self, TableOptions};
use crate::{ImportError, Result, display};
use quartier_geom::crs::{self, Crs, Transformer};
use quartier_geom::{MultiPolygon, Rect, ops, wkb};
use quartier_store::{AreaBatch, NewArea};
use std::collections::HashMap;
use std::path::Path;

/// The geometry of one feature as read.
#[derive(Debug, Clone, PartialEq)]
pub enum RawGeom {
    /// The format has no geometry (plain table).
    Absent,
    /// `null` or empty geometry.
    Null,
    Areal(MultiPolygon),
    /// A geometry type other than (Multi)Polygon.
    Other(String),
}

/// One feature or table row.
#[derive(Debug, Clone)]
pub struct RawFeature {
    /// "Feature 3" or "Zeile 5", for messages.
    pub origin: String,
    pub fields: HashMap<String, String>,
    pub geometry: RawGeom,
}

/// The content of an area file.
#[derive(Debug, Clone)]
pub struct RawAreas {
    pub file: String,
    pub format: &'static str,
    /// CRS declared by the file, with where it was declared.
    pub crs: Option<(Crs, String)>,
    /// Field names in file order.
    pub fields: Vec<String>,
    pub features: Vec<RawFeature>,
}

/// Options of `quartier import areas`.
#[derive(Debug, Clone, Default)]
pub struct AreaOptions {
    pub level: String,
    pub id_field: Option<String>,
    pub name_field: Option<String>,
    pub parent_field: Option<String>,
    /// Parent key = first N characters of the key.
    pub parent_prefix: Option<usize>,
    /// Table imports: only rows whose level field equals the level.
    pub level_field: Option<String>,
    /// `EPSG:N`, a PROJ string, WKT text or (with `crs_files`) the path of a `.prj` file.
    pub crs: Option<String>,
    /// `crs` may name a `.prj` file (the CLI); never for text from the web, which must not
    /// make the server read its own files.
    pub crs_files: bool,
    /// An NTv2 grid file (e.g. BeTA2007.gsb) for the DHDN datum shift instead of Helmert.
    pub grid: Option<String>,
    pub layer: Option<String>,
    pub encoding: Option<String>,
    pub sheet: Option<String>,
    /// A new boundary set valid from this ISO date: changed and missing areas are retired
    /// with their values instead of being overwritten (areas whose territory stays, by
    /// overlay, continue).
    pub valid_from: Option<String>,
}

/// A `--crs` argument: a `.prj` file (read here, the geometry crate does no I/O) or any
/// form [`Crs::parse`] takes.
pub fn crs_arg(arg: &str) -> std::result::Result<Crs, String> {
    let path = Path::new(arg.trim());
    if arg.trim().to_ascii_lowercase().ends_with(".prj") || (path.is_file() && !arg.contains('[')) {
        let bytes = std::fs::read(path).map_err(|e| format!("{arg}: .prj-Datei nicht lesbar: {e}"))?;
        let text = crate::text::decode(&bytes, None, arg).map_err(|e| e.to_string())?;
        return Crs::parse(&text).map_err(|e| format!("{arg}: {e}"));
    }
    Crs::parse(arg).map_err(|e| e.to_string())
}

/// Reads an area file by its content and extension.
pub fn read(path: &Path, opts: &AreaOptions) -> Result<RawAreas> {
    let file = display(path);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "geojson" | "json" => geojson::read(path, &file),
        "shp" | "shx" | "dbf" => shp::read(&path.with_extension("shp"), &file, opts.encoding.as_deref()),
        "gpkg" => gpkg::read(path, &file, opts.layer.as_deref()),
        "csv" | "txt" | "tsv" | "xlsx" | "xls" | "ods" => read_table(path, &file, opts),
        "zip" => Err(ImportError::file(&file, "ZIP-Archive bitte zuerst entpacken und die .shp-Datei angeben")),
        _ => Err(ImportError::file(&file, format!("unbekanntes Format „.{ext}“: erwartet .geojson, .shp, .gpkg, .csv oder .xlsx"))),
    }
}

fn read_table(path: &Path, file: &str, opts: &AreaOptions) -> Result<RawAreas> {
    let sheets = table::read(path, &TableOptions { encoding: opts.encoding.clone(), sheet: opts.sheet.clone(), ..Default::default() })?;
    let mut features = Vec::new();
    let fields = sheets[0].headers.clone();
    for s in &sheets {
        for i in 0..s.len() {
            let fields: HashMap<String, String> =
                s.headers.iter().enumerate().filter_map(|(c, h)| s.text(i, c).map(|v| (h.clone(), v))).collect();
            features.push(RawFeature { origin: format!("{}Zeile {}", s.at(), s.line(i)), fields, geometry: RawGeom::Absent });
        }
    }
    Ok(RawAreas { file: file.to_string(), format: "Tabelle", crs: None, fields, features })
}

const ID_FIELDS: &[&str] =
    &["id", "key", "schluessel", "schlüssel", "gebietsschluessel", "area_id", "code", "ags", "plr_id", "bzr_id", "nr", "nummer"];
const NAME_FIELDS: &[&str] = &["name", "bezeichnung", "gebiet", "gebietsname", "area_name", "plr_name", "bzr_name", "gen", "namen"];

fn find_field(raw: &RawAreas, given: Option<&str>, candidates: &[&str], what: &str, flag: &str) -> Result<Option<String>> {
    if let Some(g) = given {
        return match raw.fields.iter().find(|f| f.as_str() == g).or_else(|| raw.fields.iter().find(|f| f.eq_ignore_ascii_case(g))) {
            Some(f) => Ok(Some(f.clone())),
            None => Err(ImportError::file(
                &raw.file,
                format!("Feld „{g}“ ({what}) gibt es nicht; vorhandene Felder: {}", raw.fields.join(", ")),
            )),
        };
    }
    let _ = flag;
    Ok(candidates.iter().find_map(|c| raw.fields.iter().find(|f| f.eq_ignore_ascii_case(c))).cloned())
}

/// What parents were found with, for the report.
#[derive(Debug, Clone, PartialEq)]
pub enum ParentMethod {
    None,
    Field(String),
    Prefix(usize),
    Spatial { level: String },
}

/// A prepared import: the batch and what the planner should know about it.
#[derive(Debug)]
pub struct PreparedAreas {
    pub batch: AreaBatch,
    pub crs: Option<Crs>,
    pub parent_method: ParentMethod,
    /// Children for which no parent polygon contains a point of their surface.
    pub orphans: Vec<String>,
    pub warnings: Vec<String>,
    /// What the file changes against the level's stored boundaries (when both have
    /// geometries): set by `load::areas` before anything is written.
    pub changes: Option<BoundaryChanges>,
}

/// A new boundary set against the stored one: per area of the file its kind of change and
/// the stored areas it takes territory from, and the stored areas no area of the file covers.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BoundaryChanges {
    pub areas: Vec<AreaChange>,
    pub uncovered: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AreaChange {
    pub key: String,
    pub change: &'static str,
    pub from: Vec<String>,
}

impl BoundaryChanges {
    /// (kind, count) in the order unchanged, renamed, split, merged, shifted, new.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        use quartier_core::crosswalk::Change;
        [Change::Unchanged, Change::Renamed, Change::Split, Change::Merged, Change::Reshaped, Change::New]
            .iter()
            .map(|c| (c.label_de(), self.areas.iter().filter(|a| a.change == c.label_de()).count()))
            .collect()
    }

    /// Whether the file only confirms the stored boundaries.
    pub fn unchanged(&self) -> bool {
        self.uncovered.is_empty() && self.areas.iter().all(|a| a.change == quartier_core::crosswalk::Change::Unchanged.label_de())
    }
}

/// Compares the file's areas with the stored ones of the level by overlay in ETRS89-LAEA
/// (EPSG:3035, equal-area): unchanged, renamed, split, merged, shifted, new; stored areas
/// left uncovered. Both sides are (key, name, WGS84 geometry).
pub fn compare_boundaries(
    file: &str,
    stored: &[(String, String, MultiPolygon)],
    incoming: &[(String, String, MultiPolygon)],
) -> Result<BoundaryChanges> {
    use geo::Area;
    let geom = |e: quartier_geom::GeomError| ImportError::file(file, e.to_string());
    let to_laea = quartier_geom::crs::Transformer::new(Crs::wgs84(), Crs::from_epsg(3035).map_err(geom)?);
    let project = |v: &[(String, String, MultiPolygon)]| -> Result<Vec<MultiPolygon>> {
        v.iter()
            .map(|(_, _, g)| {
                let mut m = g.clone();
                to_laea.multipolygon(&mut m).map_err(geom)?;
                Ok(m)
            })
            .collect()
    };
    let (old, new) = (project(stored)?, project(incoming)?);
    let shared = quartier_geom::overlay::shared_areas(&old, &new);
    let names =
        |v: &[(String, String, MultiPolygon)]| -> Vec<(String, String)> { v.iter().map(|(k, n, _)| (k.clone(), n.clone())).collect() };
    let (old_area, new_area): (Vec<f64>, Vec<f64>) =
        (old.iter().map(|m| m.unsigned_area()).collect(), new.iter().map(|m| m.unsigned_area()).collect());
    let (per_new, uncovered) = quartier_core::crosswalk::changes(&names(stored), &names(incoming), &shared, &old_area, &new_area);
    Ok(BoundaryChanges {
        areas: per_new
            .into_iter()
            .zip(incoming)
            .map(|((c, from), (key, _, _))| AreaChange { key: key.clone(), change: c.label_de(), from })
            .collect(),
        uncovered,
    })
}

/// Possible parents for a spatial lookup: key and WGS84 geometry.
pub struct ParentCandidates {
    pub level: String,
    pub areas: Vec<(String, MultiPolygon)>,
}

/// Checks keys and geometries, reprojects, measures and finds parents.
///
/// `parents` are the areas of the level above, used when neither a parent field nor a key
/// prefix is given and the file has geometries.
pub fn prepare(raw: &RawAreas, opts: &AreaOptions, parents: Option<&ParentCandidates>) -> Result<PreparedAreas> {
    let file = &raw.file;
    let id_field = find_field(raw, opts.id_field.as_deref(), ID_FIELDS, "Gebietsschlüssel", "--id-field")?;
    let name_field = find_field(raw, opts.name_field.as_deref(), NAME_FIELDS, "Name", "--name-field")?;
    let parent_field = find_field(raw, opts.parent_field.as_deref(), &[], "übergeordnetes Gebiet", "--parent-field")?;
    let level_field = find_field(raw, opts.level_field.as_deref(), &[], "Ebene", "--level-field")?;
    let has_geometry = raw.features.iter().any(|f| f.geometry != RawGeom::Absent);
    let id_field = match id_field {
        Some(f) => f,
        None if raw.fields.iter().any(|f| f == geojson::FEATURE_ID) => geojson::FEATURE_ID.to_string(),
        None => {
            return Err(ImportError::file(
                file,
                format!(
                    "kein Feld für den Gebietsschlüssel gefunden: bitte --id-field angeben (vorhandene Felder: {})",
                    raw.fields.join(", ")
                ),
            ));
        }
    };
    let crs = if has_geometry {
        Some(match (&opts.crs, &raw.crs) {
            (Some(c), _) if opts.crs_files => crs_arg(c).map_err(|e| ImportError::file(file, format!("--crs: {e}")))?,
            (Some(c), _) => Crs::parse(c).map_err(|e| ImportError::file(file, format!("--crs: {e}")))?,
            (None, Some((c, _))) => c.clone(),
            (None, None) if raw.format == "Shapefile" => {
                return Err(ImportError::file(
                    file,
                    "keine .prj-Datei neben der .shp und kein --crs angegeben: das Koordinatensystem ist unbekannt. Bitte --crs angeben, z. B. --crs EPSG:25832 (ETRS89/UTM 32N) oder EPSG:25833 (UTM 33N).",
                ));
            }
            (None, None) => Crs::wgs84(),
        })
    } else {
        None
    };
    let crs = match (crs, &opts.grid) {
        (Some(c), Some(g)) => {
            if !Path::new(g).is_file() {
                return Err(ImportError::file(file, format!("--grid {g}: Gitterdatei nicht gefunden")));
            }
            crs::allow_grid_files();
            Some(c.with_grid(g).map_err(|e| ImportError::file(file, e.to_string()))?)
        }
        (c, _) => c,
    };
    let to_wgs = match &crs {
        Some(c) => Some(Transformer::try_new(c, &Crs::wgs84()).map_err(|e| ImportError::file(file, e.to_string()))?),
        None => None,
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(shift) = crs.as_ref().and_then(|c| c.shift.clone()) {
        warnings.push(format!("Datumsübergang: {shift}"));
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut areas = Vec::with_capacity(raw.features.len());
    let mut wgs_geoms: Vec<Option<MultiPolygon>> = Vec::with_capacity(raw.features.len());
    for f in &raw.features {
        if let Some(lf) = &level_field
            && f.fields.get(lf).map(|s| s.trim()) != Some(opts.level.as_str())
        {
            continue;
        }
        let key = match f.fields.get(&id_field).map(|s| s.trim()) {
            Some(k) if !k.is_empty() => k.to_string(),
            _ => {
                problems.push(format!("{}: Feld „{id_field}“ (Gebietsschlüssel) fehlt oder ist leer", f.origin));
                continue;
            }
        };
        if let Some(first) = seen.insert(key.clone(), &f.origin) {
            problems.push(format!("{}: Gebietsschlüssel „{key}“ doppelt (schon bei {first})", f.origin));
            continue;
        }
        let name = name_field
            .as_ref()
            .and_then(|n| f.fields.get(n))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| key.clone());
        let parent = match (&parent_field, opts.parent_prefix) {
            (Some(pf), _) => f.fields.get(pf).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            (None, Some(n)) => match quartier_core::hierarchy::prefix_parent(&key, n) {
                Some(p) => Some(p.to_string()),
                None => {
                    problems.push(format!("{}: Schlüssel „{key}“ ist nicht länger als das Präfix ({n} Zeichen)", f.origin));
                    continue;
                }
            },
            _ => None,
        };
        let (geometry, area_m2, wgs) = match (&f.geometry, crs.as_ref(), &to_wgs) {
            (RawGeom::Absent, _, _) => (None, None, None),
            (RawGeom::Null, _, _) => {
                problems.push(format!("{}: Gebiet „{key}“ hat keine Geometrie (null oder leer)", f.origin));
                continue;
            }
            (RawGeom::Other(t), _, _) => {
                problems.push(format!("{}: Gebiet „{key}“ hat eine Geometrie vom Typ {t}; erwartet Polygon oder MultiPolygon", f.origin));
                continue;
            }
            (RawGeom::Areal(mp), Some(c), Some(t)) => {
                let mut w = mp.clone();
                if let Err(e) = t.multipolygon(&mut w) {
                    problems.push(format!("{}: {e}", f.origin));
                    continue;
                }
                if let Some(bad) = implausible(c, mp, &w) {
                    problems.push(format!("{}: {bad}", f.origin));
                    if problems.len() > 5 {
                        break;
                    }
                    continue;
                }
                let a = match ops::area_m2(mp, c.clone()) {
                    Ok(a) => a,
                    Err(e) => {
                        problems.push(format!("{}: {e}", f.origin));
                        continue;
                    }
                };
                if a <= 0.0 {
                    problems.push(format!("{}: Gebiet „{key}“ hat die Fläche 0 (entartete Geometrie)", f.origin));
                    continue;
                }
                (Some((wkb::encode(&w), wkb::encode(mp))), Some(a), Some(w))
            }
            (RawGeom::Areal(_), _, _) => unreachable!("crs is set when the file has geometries"),
        };
        wgs_geoms.push(wgs);
        let (geometry, source_geometry) = match geometry {
            Some((g, src)) => (Some(g), Some(src)),
            None => (None, None),
        };
        areas.push(NewArea { key, name, parent, geometry, source_geometry, area_m2, origin: f.origin.clone() });
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file: file.clone(), problems });
    }
    if areas.is_empty() {
        let why = if level_field.is_some() { format!(" mit Ebene „{}“", opts.level) } else { String::new() };
        return Err(ImportError::file(file, format!("keine Gebiete{why} in der Datei")));
    }
    let mut orphans = Vec::new();
    let parent_method = match (&parent_field, opts.parent_prefix, parents) {
        (Some(pf), _, _) => ParentMethod::Field(pf.clone()),
        (None, Some(n), _) => ParentMethod::Prefix(n),
        (None, None, Some(cands)) if has_geometry && !cands.areas.is_empty() => {
            let found = spatial_parents(&wgs_geoms, cands);
            for (a, p) in areas.iter_mut().zip(found) {
                match p {
                    Some(p) => a.parent = Some(p),
                    None => orphans.push(a.key.clone()),
                }
            }
            if !orphans.is_empty() {
                warnings.push(format!(
                    "{} Gebiet(e) liegen in keinem Gebiet der Ebene „{}“ und bleiben ohne übergeordnetes Gebiet: {}",
                    orphans.len(),
                    cands.level,
                    orphans.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            ParentMethod::Spatial { level: cands.level.clone() }
        }
        _ => ParentMethod::None,
    };
    Ok(PreparedAreas {
        batch: AreaBatch {
            file: file.clone(),
            level: opts.level.clone(),
            areas,
            source_crs: crs.as_ref().map(|c| c.epsg).filter(|e| *e > 0),
            version: None,
        },
        crs,
        parent_method,
        orphans,
        warnings,
        changes: None,
    })
}

/// The first coordinate that cannot lie in Germany, as a message.
fn implausible(c: &Crs, src: &MultiPolygon, wgs: &MultiPolygon) -> Option<String> {
    use quartier_geom::Coord;
    let src_coords = src.0.iter().flat_map(|p| p.exterior().0.iter());
    let wgs_coords = wgs.0.iter().flat_map(|p| p.exterior().0.iter());
    for (s, w) in src_coords.zip(wgs_coords) {
        if let Err(e) = crs::check_plausible(c, Coord { x: s.x, y: s.y }, Coord { x: w.x, y: w.y }) {
            return Some(e.to_string());
        }
    }
    None
}

/// For each child, the parent whose polygon contains a point on the child's surface.
pub fn spatial_parents(children: &[Option<MultiPolygon>], parents: &ParentCandidates) -> Vec<Option<String>> {
    let boxes: Vec<Option<Rect>> = parents.areas.iter().map(|(_, g)| ops::bbox(g)).collect();
    children
        .iter()
        .map(|c| {
            let p = ops::point_on_surface(c.as_ref()?)?;
            parents
                .areas
                .iter()
                .zip(&boxes)
                .find(|((_, g), b)| {
                    b.is_some_and(|b| b.min().x <= p.x() && p.x() <= b.max().x && b.min().y <= p.y() && p.y() <= b.max().y)
                        && ops::contains(g, &p)
                })
                .map(|((k, _), _)| k.clone())
        })
        .collect()
}

/// Dissolves children into their parents' geometries: `(parent key, WGS84 geometry, m²)`.
pub fn dissolve(children: &[(String, MultiPolygon)]) -> Result<Vec<(String, MultiPolygon, f64)>> {
    let mut groups: HashMap<&str, Vec<&MultiPolygon>> = HashMap::new();
    for (p, g) in children {
        groups.entry(p.as_str()).or_default().push(g);
    }
    let mut keys: Vec<&str> = groups.keys().copied().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let g = ops::dissolve(groups[k].iter().copied());
            let a = ops::area_m2(&g, Crs::wgs84()).map_err(|e| ImportError::file("dissolve", e.to_string()))?;
            Ok((k.to_string(), g, a))
        })
        .collect()
}
