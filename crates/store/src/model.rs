//! Plain records passed in and out of the store.

use quartier_core::Cell;
use quartier_core::validate::{DataRow, VariableKind};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    pub name: String,
    /// 0 = top.
    pub rank: usize,
    pub areas: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaRecord {
    pub key: String,
    pub name: String,
    pub level: String,
    pub level_rank: usize,
    pub parent: Option<String>,
    pub area_m2: Option<f64>,
    pub has_geometry: bool,
}

/// One area to insert or update.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArea {
    pub key: String,
    pub name: String,
    pub parent: Option<String>,
    /// WKB in WGS84; `None` keeps a stored geometry (table imports).
    pub geometry: Option<Vec<u8>>,
    /// WKB in the source CRS (`AreaBatch::source_crs`), kept for exact work in that CRS
    /// (assigning points on borders); `None` when there is none.
    pub source_geometry: Option<Vec<u8>>,
    pub area_m2: Option<f64>,
    /// Where the area came from (e.g. "Feature 12"), for messages.
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AreaBatch {
    pub file: String,
    pub level: String,
    pub areas: Vec<NewArea>,
    /// EPSG code of the source geometries, for the import log.
    pub source_crs: Option<u32>,
    /// A new boundary set of the level: areas that change or are missing are retired with
    /// their values, not overwritten. `None` updates the areas in place.
    pub version: Option<BoundaryVersion>,
}

/// A boundary set valid from a date.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoundaryVersion {
    /// ISO date from which the set is valid.
    pub valid_from: String,
    /// Keys whose territory is that of the stored area with the same key (e.g. from an
    /// overlay within tolerance): these areas continue, with their values. Without the key
    /// here only an identical geometry continues.
    pub same_territory: std::collections::BTreeSet<String>,
}

/// One boundary set of a level: valid from `valid_from` (None: from the start) until
/// `valid_to` (None: still valid).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaVersion {
    pub level: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub areas: usize,
    /// Areas new in this set (against the set before).
    pub new: usize,
    /// Areas of the set before that this one retired.
    pub retired: usize,
    /// Values stored on this set's areas.
    pub values: usize,
}

/// A value on an area of one boundary set: (area key, variable, year, cell, carried over a
/// crosswalk).
pub type VersionValue = (String, String, i32, Cell, bool);

/// An area of one boundary set, with what a crosswalk needs.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionArea {
    pub id: i64,
    pub key: String,
    pub name: String,
    /// WKB in WGS84.
    pub geometry: Option<Vec<u8>>,
}

/// A stored crosswalk between two boundary sets of a level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrosswalkRecord {
    pub name: String,
    pub level: String,
    /// The old set (its valid-from date; None: the first set).
    pub from: Option<String>,
    /// The new set.
    pub to: String,
    /// `key-table`, `area-overlay`, `points` or `chained`.
    pub method: String,
    /// Where the weights came from (file, points, crosswalks chained), for the record.
    pub source: String,
    pub created: String,
    pub who: String,
    /// (old key, new key, weight), sorted.
    pub links: Vec<(String, String, f64)>,
}

/// Values carried to a new boundary set, to be stored as estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedValues {
    pub crosswalk: String,
    /// How they were carried, said with every value (e.g. "Flächenanteile (Verschneidung), Umstieg „plr2021“").
    pub method: String,
    /// (new area key, variable, year, value).
    pub values: Vec<(String, String, i32, f64)>,
    /// Replace carried values already stored for these; delivered values are never replaced.
    pub replace: bool,
}

/// What storing carried values did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CarryReport {
    pub import_id: i64,
    pub inserted: usize,
    pub replaced: usize,
    /// Values left alone because a delivered value exists for the new area and year.
    pub kept_delivered: usize,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AreaReport {
    pub level: String,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Stored areas of the level that the file did not contain (kept).
    pub not_in_file: Vec<String>,
    /// With a new boundary set: areas no longer valid (missing from the file, or another
    /// territory under the same key), kept with their values.
    pub retired: Vec<String>,
    pub dry_run: bool,
}

/// Metadata of a variable as given with a delivery; `None` leaves stored metadata unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariableMeta {
    pub key: String,
    pub label: Option<String>,
    pub unit: Option<String>,
    pub kind: Option<VariableKind>,
    pub source: Option<String>,
    pub reference_date: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataBatch {
    pub file: String,
    /// Restricts area keys to one level (needed when keys repeat across levels).
    pub level: Option<String>,
    pub rows: Vec<DataRow>,
    pub variables: Vec<VariableMeta>,
    /// Keys that exist on several levels, placed on one by the reader (official tables mix
    /// levels in one column; their key structure tells the level).
    pub area_levels: std::collections::HashMap<String, String>,
    /// The values are on the current boundary set whatever their year (a series recalculated
    /// to today's areas); otherwise each goes to the version valid at its reference date.
    pub current_boundaries: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueChange {
    pub area: String,
    pub year: i32,
    pub variable: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataReport {
    pub rows: usize,
    pub inserted: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// The first changes, for the summary.
    pub changes: Vec<ValueChange>,
    pub variables_new: Vec<String>,
    pub years: Vec<i32>,
    /// Delivered totals of higher levels that differ from the sum of their children.
    pub total_mismatches: Vec<TotalMismatchRecord>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalMismatchRecord {
    pub area: String,
    pub level: String,
    pub variable: String,
    pub year: i32,
    pub delivered: f64,
    pub summed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariableRecord {
    pub key: String,
    pub label: String,
    pub unit: String,
    pub kind: VariableKind,
    pub source: String,
    pub reference_date: String,
    pub description: String,
    pub years: Vec<i32>,
    pub values: usize,
    pub symbols: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueFilter {
    pub variable: Option<String>,
    pub year: Option<i32>,
    pub level: Option<String>,
    pub area: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueRecord {
    pub area: String,
    pub level: String,
    pub year: i32,
    pub variable: String,
    pub cell: Cell,
    /// Exact reference date when delivered (`2023-12-31`).
    pub reference_date: Option<String>,
    /// Quality flag of the statistics office (`e`, `p`, `r`, `s`, `()`); `s` (estimated)
    /// also for values carried across a boundary change.
    pub quality: Option<String>,
    /// How a value carried across a boundary change was estimated (crosswalk and method).
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub kind: String,
    pub file: String,
    pub at: String,
    pub summary: String,
    /// Who imported (account or system user; empty before schema version 5).
    pub who: String,
    /// Whether the values it replaced were kept, so it can be undone.
    pub undoable: bool,
    pub undone_at: Option<String>,
    pub undone_by: Option<String>,
}

/// What undoing a data import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UndoReport {
    pub id: i64,
    pub file: String,
    /// Values the import had added, now removed.
    pub removed: usize,
    /// Values it had replaced, now back.
    pub restored: usize,
}

/// What storing a catalogue changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatalogueReport {
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
    pub dry_run: bool,
}

/// Delivered cells by (variable, year), then by hierarchy node key.
pub type CellTable = std::collections::HashMap<(String, i32), std::collections::HashMap<String, Cell>>;

/// The key of an area in the hierarchy: level rank and area key, because area keys need only
/// be unique within a level (Stadtbezirk „1“ and Stadtteil „1“ may both exist).
pub fn node_key(rank: usize, key: &str) -> String {
    format!("{rank}/{key}")
}
