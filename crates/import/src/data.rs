//! Statistics deliveries: CSV and spreadsheets in long and wide layouts.
//!
//! Layouts:
//! - `long`: one row per area, year, variable and value.
//! - `wide`: one row per area (and year), one column per variable.
//! - `years`: one row per area, one column per year, for a single variable.
//!
//! Sheets named by year (`2018`, `Daten 2019`) give the year when no column or flag does.
//! Cells hold numbers in German or English notation (detected per file; mixed notations are
//! an error), official symbols (kept apart from numbers), declared missing-value codes or
//! nothing.

use crate::placement::{self, StoredAreas};
use crate::table::{self, CellRef, Sheet, TableOptions};
use crate::{ImportError, Interner, Result, display, identifier, official};
use quartier_core::cell::{NumberShape, number_shape, parse_number};
use quartier_core::keys;
use quartier_core::validate::{DataRow, Location, VariableKind};
use quartier_core::{Cell, NumberFormat, Symbol};
use quartier_store::{DataBatch, VariableMeta};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Table layout of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    Long,
    Wide,
    Years,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Long => "long",
            Layout::Wide => "wide",
            Layout::Years => "years",
        }
    }
}

/// Metadata for one variable in a profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VariableProfile {
    pub label: Option<String>,
    pub unit: Option<String>,
    pub kind: Option<VariableKind>,
    pub source: Option<String>,
    pub reference_date: Option<String>,
    pub description: Option<String>,
}

/// How to read a delivery. Saved as TOML (an import profile) and reused next year;
/// command-line flags override a loaded profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataProfile {
    pub layout: Option<Layout>,
    pub area_field: Option<String>,
    pub year_field: Option<String>,
    pub variable_field: Option<String>,
    pub value_field: Option<String>,
    /// Year of all rows (wide layout without a year column).
    pub year: Option<i32>,
    /// Variable of a `years` layout.
    pub variable: Option<String>,
    /// Level of the area keys (needed when keys repeat across levels).
    pub level: Option<String>,
    /// Sheet name or `all`.
    pub sheet: Option<String>,
    pub header_row: Option<usize>,
    pub encoding: Option<String>,
    /// `;`, `,`, `tab` or `|`.
    pub delimiter: Option<String>,
    /// `comma` (1.234,5) or `point` (1,234.5); detected when absent.
    pub decimal: Option<NumberFormat>,
    /// Codes meaning "no value" in this delivery, e.g. `-9999`.
    pub missing: Vec<String>,
    /// Columns not to import.
    pub ignore: Vec<String>,
    /// Kind of variables not listed otherwise (default: count).
    pub kind: Option<VariableKind>,
    /// Variables that are rates delivered as such.
    pub rates: Vec<String>,
    pub source: Option<String>,
    pub reference_date: Option<String>,
    pub unit: Option<String>,
    /// Per-variable metadata, keyed by variable identifier.
    pub variables: BTreeMap<String, VariableProfile>,
    /// Number of header rows (a merged multi-row header); default: detected.
    pub header_rows: Option<usize>,
    /// How rows find their area: by key or by name; default: keys, names when no column
    /// holds keys.
    pub match_by: Option<MatchBy>,
    /// Delivered area names → keys, decided once and reused (`--save-profile`).
    pub names: BTreeMap<String, String>,
    /// Which reference date counts when a year has several (`12`, `Dezember`, `31.12.`).
    pub period: Option<String>,
    /// The values are on today's boundaries whatever their year (a series the statistics
    /// office recalculated after a boundary change); otherwise each value goes to the
    /// boundary set valid at its reference date.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub current_boundaries: bool,
}

/// How delivered rows are matched to stored areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    Key,
    Name,
}

impl DataProfile {
    /// Reads a profile from TOML text.
    pub fn from_toml(text: &str, file: &str) -> Result<DataProfile> {
        toml::from_str(text).map_err(|e| ImportError::file(file, format!("Importprofil ungültig: {e}")))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("profile serialises")
    }

    /// Overlays the options set in `other` (command-line flags) onto this profile.
    pub fn overlay(&mut self, other: DataProfile) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            layout,
            area_field,
            year_field,
            variable_field,
            value_field,
            year,
            variable,
            level,
            sheet,
            header_row,
            encoding,
            delimiter,
            decimal,
            kind,
            source,
            reference_date,
            unit,
            header_rows,
            match_by,
            period
        );
        self.names.extend(other.names);
        self.missing.extend(other.missing);
        self.ignore.extend(other.ignore);
        self.rates.extend(other.rates);
        self.variables.extend(other.variables);
        self.current_boundaries |= other.current_boundaries;
    }
}

/// A read delivery with what was detected, for the summary.
#[derive(Debug)]
pub struct PreparedData {
    pub batch: DataBatch,
    /// The profile with every detected choice filled in (what `--save-profile` writes).
    pub resolved: DataProfile,
    pub notes: Vec<String>,
    /// What was recognised (format, title and source, header rows and combined names, levels
    /// with row counts, reference dates, symbols, quality flags, name matches): shown by
    /// `--dry-run` and the upload preview.
    pub detected: Vec<String>,
    pub empty_cells: usize,
    pub missing_cells: usize,
}

const AREA_FIELDS: &[&str] = &[
    "area_id",
    "area",
    "gebiet",
    "gebiets_id",
    "gebietsschluessel",
    "schluessel",
    "schlüssel",
    "id",
    "key",
    "plr",
    "plr_id",
    "ags",
    "raumid",
    "nr",
];
const YEAR_FIELDS: &[&str] = &["jahr", "year", "berichtsjahr", "zeit", "time"];
const VARIABLE_FIELDS: &[&str] = &["variable", "merkmal", "indikator", "indicator", "kennzahl", "merkmalsname", "variable_id"];
const VALUE_FIELDS: &[&str] = &["value", "wert", "anzahl", "werte", "count"];

fn find(sheet: &Sheet, given: Option<&str>, candidates: &[&str], file: &str, what: &str) -> Result<Option<usize>> {
    if let Some(g) = given {
        return sheet.column(g).map(Some).ok_or_else(|| {
            ImportError::file(file, format!("{}Spalte „{g}“ ({what}) fehlt; vorhandene Spalten: {}", sheet.at(), sheet.headers.join(", ")))
        });
    }
    Ok(candidates.iter().find_map(|c| sheet.column(c)))
}

/// A year from a cell or a name: a whole number 1900–2100, also inside text ("Jahr 2019").
fn year_of(s: &str) -> Option<i32> {
    let digits: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|d| d.len() == 4).collect();
    match digits.as_slice() {
        [d] => d.parse().ok().filter(|y| (1900..=2100).contains(y)),
        _ => None,
    }
}

fn header_year(h: &str) -> Option<i32> {
    let t = h.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    (t.len() == 4).then(|| t.parse().ok()).flatten().filter(|y| (1900..=2100).contains(y))
}

fn cell_year(c: CellRef) -> Option<i32> {
    match c {
        CellRef::Number(v) if v.fract() == 0.0 && (1900.0..=2100.0).contains(&v) => Some(v as i32),
        CellRef::Text(t) => {
            let t = t.strip_suffix(".0").unwrap_or(t);
            t.parse().ok().filter(|y| (1900..=2100).contains(y))
        }
        _ => None,
    }
}

fn delimiter_byte(d: &str, file: &str) -> Result<u8> {
    match d {
        ";" => Ok(b';'),
        "," => Ok(b','),
        "tab" | "\t" | "\\t" => Ok(b'\t'),
        "|" => Ok(b'|'),
        other => Err(ImportError::file(file, format!("Trennzeichen „{other}“ unbekannt: erlaubt sind ; , tab |"))),
    }
}

/// Classifies a cell without knowing the number format yet.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Empty,
    Missing,
    Symbol,
    Number(NumberShape),
    Text,
}

struct Cells<'a> {
    missing: &'a [String],
    missing_numbers: Vec<f64>,
}

impl Cells<'_> {
    fn shape(&self, c: CellRef) -> Shape {
        match c {
            CellRef::Empty => Shape::Empty,
            CellRef::Number(v) if self.missing_numbers.contains(&v) => Shape::Missing,
            CellRef::Number(_) => Shape::Number(NumberShape::Only(None)),
            CellRef::Text(t) if self.missing.iter().any(|m| m == t) => Shape::Missing,
            CellRef::Text(t) if Symbol::parse(t).is_some() => Shape::Symbol,
            CellRef::Text(t) => match number_shape(t) {
                NumberShape::NotNumber => Shape::Text,
                s => Shape::Number(s),
            },
        }
    }
}

/// Where a value column's cells are in a sheet.
struct ValueColumn {
    col: usize,
    variable: Arc<str>,
    label: String,
    /// Fixed year (wide with --year or year from sheet, or `years` layout column).
    year: Option<i32>,
}

/// Reads a delivery and validates its cells (not yet against the stored areas: that
/// happens in the store's transaction). `known_areas` helps detect the area column.
pub fn read(path: &Path, profile: &DataProfile, stored: &StoredAreas) -> Result<PreparedData> {
    let file = display(path);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let spreadsheet = matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods");
    let delimiter = profile.delimiter.as_deref().map(|d| delimiter_byte(d, &file)).transpose()?;
    if !spreadsheet
        && profile.match_by != Some(MatchBy::Name)
        && let Some(official) = official_text(path, &file, profile)?
    {
        let opts = official::Options {
            delimiter,
            header_rows: profile.header_rows,
            decimal: profile.decimal,
            missing: profile.missing.clone(),
            encoding: official.encoding,
        };
        let table = official::read(official.format, &official.text, &file, &opts)?;
        return placement::from_official(table, profile, stored, &file);
    }
    let known_set = stored.keys(profile.level.as_deref());
    let known_areas = &known_set;
    let sheet_opt = profile.sheet.clone().or_else(|| spreadsheet.then(|| "all".to_string()));
    let mut sheets = table::read(
        path,
        &TableOptions {
            encoding: profile.encoding.clone(),
            delimiter,
            sheet: sheet_opt,
            header_row: profile.header_row,
            header_rows: profile.header_rows,
        },
    )?;
    let mut notes = Vec::new();
    let mut resolved = profile.clone();
    if spreadsheet && profile.sheet.is_none() {
        // All sheets only when they are one per year; else the first.
        let by_year = sheets.len() > 1 && sheets.iter().all(|s| s.name.as_deref().and_then(year_of).is_some());
        if by_year {
            notes.push(format!("{} Blätter, je eines pro Jahr", sheets.len()));
            resolved.sheet = Some("all".into());
        } else {
            sheets.truncate(1);
            if let Some(n) = &sheets[0].name {
                resolved.sheet = Some(n.clone());
            }
        }
    }
    let cells =
        Cells { missing: &profile.missing, missing_numbers: profile.missing.iter().filter_map(|m| m.parse::<f64>().ok()).collect() };
    let ignore: HashSet<String> = profile.ignore.iter().map(|s| s.trim().to_lowercase()).collect();

    // 1. Per sheet: columns and layout.
    struct Plan {
        area: usize,
        year_col: Option<usize>,
        long: Option<(usize, usize)>,
        values: Vec<ValueColumn>,
        /// Areas found by name: per row the key and, for totals, the higher level.
        names: Option<Vec<placement::RowArea>>,
    }
    let mut plans = Vec::with_capacity(sheets.len());
    let mut detected: Vec<String> = Vec::new();
    let mut area_levels: HashMap<String, String> = HashMap::new();
    for sheet in &sheets {
        let by_key = match profile.match_by {
            Some(MatchBy::Name) => None,
            _ => match find(sheet, profile.area_field.as_deref(), &[], &file, "Gebietsschlüssel")? {
                Some(c) => Some(c),
                None => detect_area_column(sheet, known_areas).or_else(|| AREA_FIELDS.iter().find_map(|c| sheet.column(c))),
            },
        };
        // Without a key column: the column whose cells name stored areas.
        let by_name = match by_key {
            Some(_) => None,
            None if profile.match_by == Some(MatchBy::Key) => None,
            None => name_column(sheet, stored, profile.level.as_deref(), profile.area_field.as_deref()),
        };
        let area = match (by_key, &by_name) {
            (Some(c), _) => c,
            (None, Some((c, _))) => *c,
            (None, None) => {
                return Err(ImportError::file(
                    &file,
                    format!(
                        "{}keine Spalte mit Gebietsschlüsseln und keine mit Namen gespeicherter Gebiete erkannt: bitte --area-field angeben (Spalten: {}); für Namen --match-by name --level EBENE",
                        sheet.at(),
                        sheet.headers.join(", ")
                    ),
                ));
            }
        };
        let names = match &by_name {
            None => None,
            Some((col, level)) => {
                let lvl = stored.level(level).expect("chosen from the stored levels");
                let above: Vec<&placement::StoredLevel> = stored.levels.iter().filter(|l| l.rank < lvl.rank).collect();
                let rows: Vec<(usize, String, f64)> = (0..sheet.len())
                    .map(|i| {
                        let sum: f64 = (0..sheet.headers.len())
                            .filter(|c| c != col)
                            .map(|c| match sheet.cell(i, c) {
                                CellRef::Number(v) => v,
                                CellRef::Text(t) => parse_number(t, NumberFormat::Comma).unwrap_or(0.0),
                                CellRef::Empty => 0.0,
                            })
                            .sum();
                        (sheet.line(i), sheet.text(i, *col).unwrap_or_default(), sum)
                    })
                    .collect();
                let m = placement::match_names(&rows, lvl, &above, &profile.names, &sheet.headers[*col], &file)?;
                detected.extend(m.detected);
                resolved.names.extend(m.decisions);
                resolved.match_by = Some(MatchBy::Name);
                resolved.level.get_or_insert_with(|| lvl.name.clone());
                for (k, l) in m.keys.iter().flatten() {
                    area_levels.insert(k.to_string(), l.clone().unwrap_or_else(|| lvl.name.clone()));
                }
                Some(m.keys)
            }
        };
        resolved.area_field.get_or_insert_with(|| sheet.headers[area].clone());
        let var_col = find(sheet, profile.variable_field.as_deref(), VARIABLE_FIELDS, &file, "Merkmal")?;
        let val_col = find(sheet, profile.value_field.as_deref(), VALUE_FIELDS, &file, "Wert")?;
        let year_headers: Vec<(usize, i32)> =
            sheet.headers.iter().enumerate().filter(|(c, _)| *c != area).filter_map(|(c, h)| header_year(h).map(|y| (c, y))).collect();
        let layout = profile.layout.unwrap_or(if var_col.is_some() && val_col.is_some() {
            Layout::Long
        } else if year_headers.len() >= 2 || (!year_headers.is_empty() && profile.variable.is_some()) {
            Layout::Years
        } else {
            Layout::Wide
        });
        resolved.layout = Some(layout);
        let year_col = find(sheet, profile.year_field.as_deref(), if profile.year.is_some() { &[] } else { YEAR_FIELDS }, &file, "Jahr")?;
        let sheet_year = sheet.name.as_deref().and_then(year_of);
        let fixed_year = profile.year.or(if year_col.is_none() { sheet_year } else { None });
        let plan = match layout {
            Layout::Long => {
                let v = var_col.ok_or_else(|| {
                    ImportError::file(
                        &file,
                        format!(
                            "{}Langformat: keine Merkmalsspalte; bitte --variable-field angeben (Spalten: {})",
                            sheet.at(),
                            sheet.headers.join(", ")
                        ),
                    )
                })?;
                let w = val_col.ok_or_else(|| {
                    ImportError::file(
                        &file,
                        format!(
                            "{}Langformat: keine Wertspalte; bitte --value-field angeben (Spalten: {})",
                            sheet.at(),
                            sheet.headers.join(", ")
                        ),
                    )
                })?;
                if year_col.is_none() && fixed_year.is_none() {
                    return Err(ImportError::file(
                        &file,
                        format!(
                            "{}keine Jahresspalte: bitte --year-field oder --year angeben (Spalten: {})",
                            sheet.at(),
                            sheet.headers.join(", ")
                        ),
                    ));
                }
                resolved.variable_field.get_or_insert_with(|| sheet.headers[v].clone());
                resolved.value_field.get_or_insert_with(|| sheet.headers[w].clone());
                Plan {
                    area,
                    year_col,
                    names: names.clone(),
                    long: Some((v, w)),
                    values: vec![ValueColumn { col: w, variable: Arc::from(""), label: String::new(), year: fixed_year }],
                }
            }
            Layout::Years => {
                let var = profile.variable.clone().ok_or_else(|| {
                    ImportError::file(
                        &file,
                        format!(
                            "{}eine Spalte pro Jahr ({}): bitte mit --variable NAME angeben, welches Merkmal die Werte sind",
                            sheet.at(),
                            year_headers.iter().map(|y| y.1.to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                let key = identifier(&var);
                Plan {
                    area,
                    year_col: None,
                    names: names.clone(),
                    long: None,
                    values: year_headers
                        .iter()
                        .map(|&(c, y)| ValueColumn { col: c, variable: Arc::from(key.as_str()), label: var.clone(), year: Some(y) })
                        .collect(),
                }
            }
            Layout::Wide => {
                if year_col.is_none() && fixed_year.is_none() {
                    return Err(ImportError::file(
                        &file,
                        format!(
                            "{}Jahr unbekannt: bitte --year JAHR oder --year-field SPALTE angeben (Spalten: {})",
                            sheet.at(),
                            sheet.headers.join(", ")
                        ),
                    ));
                }
                let mut values = Vec::new();
                let mut text_cols = Vec::new();
                for (c, h) in sheet.headers.iter().enumerate() {
                    if c == area
                        || Some(c) == year_col
                        || h.is_empty()
                        || ignore.contains(&h.trim().to_lowercase())
                        || ignore.contains(&identifier(h))
                    {
                        continue;
                    }
                    // A column is a variable when most of its filled cells read as numbers or symbols.
                    let (mut numeric, mut text) = (0usize, 0usize);
                    for i in 0..sheet.len() {
                        match cells.shape(sheet.cell(i, c)) {
                            Shape::Text => text += 1,
                            Shape::Empty => {}
                            _ => numeric += 1,
                        }
                    }
                    if numeric > text {
                        values.push(ValueColumn { col: c, variable: Arc::from(identifier(h)), label: h.clone(), year: fixed_year });
                    } else {
                        text_cols.push(h.clone());
                    }
                }
                if !text_cols.is_empty() {
                    notes.push(format!("{}Textspalten nicht als Merkmale übernommen: {}", sheet.at(), text_cols.join(", ")));
                }
                if values.is_empty() {
                    return Err(ImportError::file(&file, format!("{}keine Spalten mit Zahlen gefunden", sheet.at())));
                }
                Plan { area, year_col, long: None, values, names: names.clone() }
            }
        };
        if let Some(y) = plan.year_col {
            resolved.year_field.get_or_insert_with(|| sheet.headers[y].clone());
        }
        plans.push(plan);
    }

    // 2. Number format: one per file.
    let format = match profile.decimal {
        Some(f) => f,
        None => {
            let mut first: HashMap<NumberFormat, (String, String)> = HashMap::new();
            for (sheet, plan) in sheets.iter().zip(&plans) {
                for vc in &plan.values {
                    for i in 0..sheet.len() {
                        if let CellRef::Text(t) = sheet.cell(i, vc.col)
                            && let Shape::Number(NumberShape::Only(Some(f))) = cells.shape(CellRef::Text(t))
                        {
                            first.entry(f).or_insert_with(|| {
                                (format!("{}Zeile {}, Spalte „{}“", sheet.at(), sheet.line(i), sheet.headers[vc.col]), t.to_string())
                            });
                        }
                    }
                    if first.len() == 2 {
                        break;
                    }
                }
            }
            match (first.get(&NumberFormat::Comma), first.get(&NumberFormat::Point)) {
                (Some(c), Some(p)) => {
                    return Err(ImportError::file(
                        &file,
                        format!(
                            "gemischte Zahlenformate: {} „{}“ hat ein Dezimalkomma, {} „{}“ einen Dezimalpunkt. Bitte einheitlich liefern oder mit --decimal comma|point festlegen.",
                            c.0, c.1, p.0, p.1
                        ),
                    ));
                }
                (Some(_), None) => NumberFormat::Comma,
                (None, Some(_)) => NumberFormat::Point,
                (None, None) => {
                    if delimiter.unwrap_or(b',') == b',' && !spreadsheet {
                        NumberFormat::Point
                    } else {
                        NumberFormat::Comma
                    }
                }
            }
        }
    };
    resolved.decimal = Some(format);

    // 3. Rows.
    let mut rows: Vec<DataRow> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut labels: BTreeMap<Arc<str>, String> = BTreeMap::new();
    let (mut empty_cells, mut missing_cells) = (0usize, 0usize);
    // Shared strings: each area key, variable and column name is stored once.
    let mut var_cache: HashMap<String, (Arc<str>, String)> = HashMap::new();
    let mut area_pool = Interner::new();
    for (sheet, plan) in sheets.iter().zip(&plans) {
        rows.reserve(sheet.len() * plan.values.len());
        let sheet_name: Option<Arc<str>> = sheet.name.as_deref().map(Arc::from);
        let headers: Vec<Arc<str>> = sheet.headers.iter().map(|h| Arc::from(h.as_str())).collect();
        for i in 0..sheet.len() {
            let line = sheet.line(i);
            let loc = |col: usize| Location {
                sheet: sheet_name.clone(),
                line,
                column: headers.get(col).cloned().unwrap_or_else(|| Arc::from("")),
            };
            let area = match (&plan.names, sheet.cell(i, plan.area)) {
                (Some(names), _) => match &names[i] {
                    Some((k, _)) => area_pool.get(k),
                    None => continue,
                },
                (None, CellRef::Empty) => {
                    problems.push(format!("{}: Gebietsschlüssel fehlt", loc(plan.area)));
                    continue;
                }
                (None, CellRef::Text(t)) => area_pool.get(t),
                (None, CellRef::Number(v)) => area_pool.get(&table::number_text(v)),
            };
            // A year or a date (`2022-05-15`, `31.12.2023`): the date is kept as the
            // reference date.
            let (row_year, row_date): (Option<i32>, Option<Arc<str>>) = match plan.year_col {
                Some(yc) => match cell_year(sheet.cell(i, yc)) {
                    Some(y) => (Some(y), None),
                    None => match sheet.text(i, yc).as_deref().and_then(quartier_core::date::parse_reference_date) {
                        Some(d) => {
                            let iso = (d.iso.len() > 4).then(|| area_pool.get(&d.iso));
                            (Some(d.year), iso)
                        }
                        None => {
                            problems.push(format!(
                                "{}: „{}“ ist kein Jahr und kein Datum (erwartet z. B. 2019, 31.12.2019 oder 2019-12-31)",
                                loc(yc),
                                sheet.text(i, yc).unwrap_or_default()
                            ));
                            continue;
                        }
                    },
                },
                None => (None, None),
            };
            for vc in &plan.values {
                let (variable, label) = match plan.long {
                    Some((v, _)) => match sheet.text(i, v) {
                        Some(name) => match var_cache.get(&name) {
                            Some(hit) => hit.clone(),
                            None => var_cache.entry(name.clone()).or_insert_with(|| (Arc::from(identifier(&name)), name)).clone(),
                        },
                        None => {
                            problems.push(format!("{}: Merkmal fehlt", loc(v)));
                            continue;
                        }
                    },
                    None => (vc.variable.clone(), vc.label.clone()),
                };
                if variable.is_empty() {
                    problems.push(format!("{}: Merkmalsname „{label}“ ergibt keinen gültigen Bezeichner", loc(vc.col)));
                    continue;
                }
                let Some(year) = row_year.or(vc.year) else { continue };
                let c = sheet.cell(i, vc.col);
                let cell = match cells.shape(c) {
                    Shape::Empty => {
                        empty_cells += 1;
                        continue;
                    }
                    Shape::Missing => {
                        missing_cells += 1;
                        continue;
                    }
                    Shape::Symbol => match c {
                        CellRef::Text(t) => Cell::Symbol(Symbol::parse(t).expect("shape said symbol")),
                        _ => unreachable!(),
                    },
                    Shape::Number(_) => match c {
                        CellRef::Number(v) => Cell::Number(v),
                        CellRef::Text(t) => match parse_number(t, format) {
                            Some(v) => Cell::Number(v),
                            None => {
                                let other = if format == NumberFormat::Comma { "Dezimalpunkt" } else { "Dezimalkomma" };
                                problems.push(format!(
                                    "{}: „{t}“ passt nicht zum Zahlenformat der Datei (gemischte Formate? {other} gefunden)",
                                    loc(vc.col)
                                ));
                                continue;
                            }
                        },
                        CellRef::Empty => unreachable!(),
                    },
                    Shape::Text => {
                        let t = sheet.text(i, vc.col).unwrap_or_default();
                        problems.push(format!(
                            "{}: Text „{t}“ in einer Zahlenspalte; erwartet eine Zahl, ein amtliches Zeichen (. - x … / * <3) oder einen mit --missing erklärten Code",
                            loc(vc.col)
                        ));
                        continue;
                    }
                };
                labels.entry(variable.clone()).or_insert(label);
                rows.push(DataRow {
                    area: Arc::clone(&area),
                    year,
                    variable,
                    cell,
                    at: loc(vc.col),
                    reference_date: row_date.clone(),
                    quality: None,
                });
            }
            if problems.len() > 1000 {
                break;
            }
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file, problems });
    }
    if rows.is_empty() {
        return Err(ImportError::file(&file, "keine Werte in der Datei"));
    }
    // Keys that lost leading zeros are common enough to say so once, up front.
    let lost: Vec<String> = {
        let mut seen = HashSet::new();
        rows.iter()
            .filter(|r| !known_areas.contains(&*r.area) && seen.insert(Arc::clone(&r.area)))
            .filter_map(|r| keys::suggest(&r.area, known_areas).map(|h| format!("{} → {}", r.area, h.known())))
            .take(5)
            .collect()
    };
    if !lost.is_empty() {
        notes.push(format!("Schlüssel ohne führende Null, z. B. {}", lost.join(", ")));
    }
    let rates: HashSet<String> = profile.rates.iter().map(|r| identifier(r)).collect();
    let variables = labels
        .into_iter()
        .map(|(key, label)| {
            let key = key.to_string();
            let vp = profile.variables.get(&key).cloned().unwrap_or_default();
            let kind = vp.kind.or_else(|| rates.contains(&key).then_some(VariableKind::Rate)).or(profile.kind);
            VariableMeta {
                label: vp.label.or(Some(label)),
                unit: vp.unit.or_else(|| profile.unit.clone()),
                kind,
                source: vp.source.or_else(|| profile.source.clone()),
                reference_date: vp.reference_date.or_else(|| profile.reference_date.clone()),
                description: vp.description,
                key,
            }
        })
        .collect();
    Ok(PreparedData {
        batch: DataBatch {
            file,
            // Name matches place totals on higher levels themselves.
            level: if area_levels.is_empty() { profile.level.clone() } else { None },
            rows,
            variables,
            area_levels,
            current_boundaries: false,
        },
        resolved,
        notes,
        detected,
        empty_cells,
        missing_cells,
    })
}

/// The column whose values best match known area keys (at least half of them, allowing
/// for lost leading zeros). Exact matches count before repaired ones, and a column named like
/// an area key ("Gebiet", "Schlüssel", …) before others: small counts such as 1 and 2 in a
/// value column would otherwise pass for keys "01" and "02" that lost their zero.
fn detect_area_column(sheet: &Sheet, known: &HashSet<String>) -> Option<usize> {
    if known.is_empty() {
        return None;
    }
    let n = sheet.len().min(200);
    let named = |c: usize| AREA_FIELDS.iter().any(|f| sheet.headers[c].trim().eq_ignore_ascii_case(f));
    (0..sheet.headers.len())
        .map(|c| {
            let (mut exact, mut repaired) = (0, 0);
            for t in (0..n).filter_map(|i| sheet.text(i, c)) {
                if known.contains(&t) {
                    exact += 1;
                } else if keys::suggest(&t, known).is_some() {
                    repaired += 1;
                }
            }
            (c, exact, exact + repaired)
        })
        .filter(|&(_, _, h)| h * 2 >= n && h > 0)
        .max_by_key(|&(c, exact, h)| (named(c), exact, h, std::cmp::Reverse(c)))
        .map(|(c, _, _)| c)
}

/// An official delivery's text, its format and the encoding it was read with.
pub(crate) struct OfficialText {
    pub format: official::Format,
    pub text: String,
    pub encoding: &'static str,
}

/// The text of an official delivery (GENESIS table, flat file; a ZIP holding one such CSV),
/// or `None` for other files. Only the file's first 64 KiB are read to decide.
pub(crate) fn official_text(path: &Path, file: &str, profile: &DataProfile) -> Result<Option<OfficialText>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(65536);
    // A file that cannot be opened is named by the table reader.
    let Ok(f) = std::fs::File::open(path) else { return Ok(None) };
    f.take(65536).read_to_end(&mut head).map_err(|e| ImportError::file(file, format!("kann nicht gelesen werden: {e}")))?;
    match table::sniff(&head) {
        table::Sniffed::Zip => {
            let bytes = table::read_bytes(path)?;
            let is_zip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
            let mut zip = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
                Ok(z) => z,
                Err(e) if is_zip => return Err(ImportError::file(file, format!("ZIP-Archiv nicht lesbar: {e}"))),
                // Not a readable archive behind another extension: the table reader names it.
                Err(_) => return Ok(None),
            };
            let names: Vec<String> = zip.file_names().filter_map(|n| n.ok().map(|n| n.to_string())).collect();
            let csvs: Vec<&String> = names.iter().filter(|n| n.to_lowercase().ends_with(".csv")).collect();
            if names.iter().any(|n| n == "[Content_Types].xml") {
                return Ok(None);
            }
            let [one] = csvs.as_slice() else {
                return Err(ImportError::file(
                    file,
                    format!("ZIP-Archiv: erwartet genau eine CSV-Datei (wie GENESIS-Online sie liefert), enthalten: {}", names.join(", ")),
                ));
            };
            let mut inner = Vec::new();
            zip.by_name(one)
                .and_then(|mut e| e.read_to_end(&mut inner).map_err(Into::into))
                .map_err(|e| ImportError::file(file, format!("ZIP-Archiv: {one} nicht lesbar: {e}")))?;
            let shown = format!("{file}!{one}");
            let (text, encoding) = crate::text::decode_owned_named(inner, profile.encoding.as_deref(), &shown)?;
            match official::detect(&text) {
                Some(format) => Ok(Some(OfficialText { format, text, encoding })),
                None => Err(ImportError::file(
                    file,
                    format!("ZIP-Archiv: {one} ist weder GENESIS-Tabelle noch Flatfile (ffcsv); bitte entpacken und als CSV importieren"),
                )),
            }
        }
        table::Sniffed::Text => {
            let prefix = crate::text::decode(&head[..utf8_boundary(&head)], profile.encoding.as_deref(), file)?;
            match official::detect(&prefix) {
                Some(format) => {
                    let (text, encoding) = crate::text::decode_owned_named(table::read_bytes(path)?, profile.encoding.as_deref(), file)?;
                    Ok(Some(OfficialText { format, text, encoding }))
                }
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// A prefix of `b` that does not end inside a UTF-8 sequence.
fn utf8_boundary(b: &[u8]) -> usize {
    let mut end = b.len();
    while end > 0 && end > b.len().saturating_sub(4) && (b[end - 1] & 0xC0) == 0x80 {
        end -= 1;
    }
    if end > 0 && end < b.len() + 1 && b[end.saturating_sub(1)] >= 0xC0 {
        end -= 1;
    }
    end
}

/// The column of area names and the stored level they belong to: the text column with the
/// most names of one stored level (`level` when given), at least half of its filled cells.
fn name_column(sheet: &Sheet, stored: &StoredAreas, level: Option<&str>, given: Option<&str>) -> Option<(usize, String)> {
    let levels: Vec<&placement::StoredLevel> = stored.levels.iter().filter(|l| level.is_none_or(|n| n == l.name)).collect();
    let n = sheet.len().min(300);
    let mut best: Option<(usize, usize, String)> = None;
    for c in 0..sheet.headers.len() {
        if given.is_some_and(|g| !sheet.headers[c].trim().eq_ignore_ascii_case(g.trim())) {
            continue;
        }
        let cells: Vec<String> = (0..n)
            .filter_map(|i| match sheet.cell(i, c) {
                CellRef::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        for l in &levels {
            let ix = quartier_core::names::NameIndex::new(l.areas.iter().map(|(k, n)| (k.as_str(), n.as_str())));
            let hits = cells.iter().filter(|t| !matches!(ix.lookup(t), quartier_core::names::NameMatch::Unmatched(_))).count();
            if (hits * 2 >= cells.len() && hits > 0 || given.is_some())
                && best.as_ref().is_none_or(|b| hits > b.1 || (hits == b.1 && l.rank > stored.level(&b.2).map(|x| x.rank).unwrap_or(0)))
            {
                best = Some((c, hits, l.name.clone()));
            }
        }
    }
    best.map(|(c, _, l)| (c, l))
}
