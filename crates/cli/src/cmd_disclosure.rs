//! `quartier disclosure check`: proves a table that is to leave the system safe — no count
//! below the threshold, and no withheld cell recoverable from the published cells, the area
//! hierarchy (from the database) and the column sums found in the file.

use crate::output::{Format, emit};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use quartier_core::disclosure::{self, Finding, Relation};
use quartier_core::{Cell, NumberFormat, Symbol, cell};
use quartier_import::table::{self, CellRef, Sheet, TableOptions};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use quartier_core::disclosure::DEFAULT_THRESHOLD;

#[derive(Subcommand)]
pub enum DisclosureCmd {
    /// Prüft, ob eine Tabelle veröffentlicht werden darf (Geheimhaltung)
    #[command(after_help = "Geprüft werden Anzahlen (ganze Zahlen ≥ 0): keine veröffentlichte Zahl unter der Schwelle, und \
keine gesperrte Zelle (*, ., <3 oder leer) lässt sich aus veröffentlichten Summen zurückrechnen — über die
Gebietshierarchie (Gebiete aus der Datenbank --db, falls vorhanden; eine Zeile ohne Schlüssel gilt als
Gesamtsumme), über Spaltensummen (z. B. n = sgb2_0 + sgb2_1, aus der Datei erkannt) und über die
Nichtnegativität. Im Langformat von `quartier indicators compute` (Spalten indicator, year, numerator,
denominator, value) je Indikator und Jahr; eine Quote darf nicht neben einem gesperrten Zähler oder Nenner
stehen. Jahres- und Schlüsselspalten (jahr, year, uebergeordnet, Werte mit führender Null wie 0101)
gelten nicht als Anzahlen. Exit-Code 1, wenn etwas nicht sicher ist.

Beispiel:
  quartier aggregate personen.csv --x x --y y --crs EPSG:25832 --level Sozialraum --by sgb2 --public --out z.csv
  quartier disclosure check z.csv")]
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// CSV- oder Excel-Datei
    file: PathBuf,
    /// Kleinste Anzahl, die veröffentlicht werden darf
    #[arg(long, visible_alias = "disclosure-threshold", default_value_t = DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Spalte mit dem Gebietsschlüssel (Standard: area_id, sonst die erste Spalte)
    #[arg(long)]
    id_col: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(db: &Path, cmd: DisclosureCmd) -> Result<()> {
    match cmd {
        DisclosureCmd::Check(a) => check(db, a),
    }
}

/// One finding, located in the file.
#[derive(Serialize)]
struct Located {
    line: usize,
    area_id: String,
    column: String,
    #[serde(flatten)]
    finding: Kind,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Kind {
    BelowThreshold {
        value: f64,
    },
    Recoverable {
        value: f64,
    },
    /// A rate published while its numerator or denominator is withheld.
    RateReveals {
        withheld: String,
    },
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::BelowThreshold { value } => format!("Anzahl {value} unter der Schwelle veröffentlicht"),
            Kind::Recoverable { value } => format!("gesperrt, aber aus den Summen berechenbar: {value}"),
            Kind::RateReveals { withheld } => format!("Quote veröffentlicht, obwohl {withheld} gesperrt ist"),
        }
    }
}

/// A count table read from the file: rows × columns, cells as published.
struct CountTable {
    /// Data-row index in the sheet of each table row.
    sheet_rows: Vec<usize>,
    cols: Vec<usize>,
    cells: Vec<Option<f64>>,
    /// Column sums `(total, parts)` as column positions.
    groups: Vec<(usize, Vec<usize>)>,
}

fn check(db: &Path, a: CheckArgs) -> Result<()> {
    if a.threshold.is_nan() || a.threshold < 1.0 {
        bail!("--threshold muss mindestens 1 sein");
    }
    let file = a.file.display().to_string();
    let sheets = table::read(&a.file, &TableOptions::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sheet = sheets.into_iter().next().with_context(|| format!("{file}: keine Tabelle"))?;
    if sheet.is_empty() {
        bail!("{file}: keine Datenzeilen");
    }
    let id_col = match &a.id_col {
        Some(c) => sheet.column(c).with_context(|| format!("{file}: Spalte „{c}“ fehlt; vorhanden: {}", sheet.headers.join(", ")))?,
        None => sheet.column("area_id").unwrap_or(0),
    };
    let level_col = sheet.column("level");
    let fmt = number_format(&sheet);
    let hierarchy = stored_hierarchy(db)?;
    let keys: Vec<(String, Option<String>)> =
        (0..sheet.len()).map(|i| (sheet.text(i, id_col).unwrap_or_default(), level_col.and_then(|c| sheet.text(i, c)))).collect();

    let long = ["indicator", "year", "numerator", "denominator"].iter().all(|c| sheet.column(c).is_some());
    let mut findings: Vec<Located> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut checked_cells = 0usize;
    let mut withheld_cells = 0usize;
    let mut relation_count = 0usize;
    let mut tables: Vec<CountTable> = Vec::new();
    if long {
        let (ic, yc) = (sheet.column("indicator").expect("checked"), sheet.column("year").expect("checked"));
        let count_cols = vec![sheet.column("numerator").expect("checked"), sheet.column("denominator").expect("checked")];
        let mut by_table: std::collections::BTreeMap<(String, String), Vec<usize>> = Default::default();
        for i in 0..sheet.len() {
            by_table.entry((sheet.text(i, ic).unwrap_or_default(), sheet.text(i, yc).unwrap_or_default())).or_default().push(i);
        }
        for rows in by_table.into_values() {
            tables.push(count_table(&sheet, &file, rows, &count_cols, fmt)?);
        }
        // Rates beside withheld counts.
        if let Some(vc) = sheet.column("value") {
            for (i, (area, _)) in keys.iter().enumerate() {
                if read_cell(&sheet, i, vc, fmt).is_none_or(|c| c.number().is_none()) {
                    continue;
                }
                for (col, what) in [(count_cols[0], "der Zähler"), (count_cols[1], "der Nenner")] {
                    if read_cell(&sheet, i, col, fmt).is_none_or(|c| c.number().is_none()) {
                        findings.push(Located {
                            line: sheet.line(i),
                            area_id: area.clone(),
                            column: sheet.headers[vc].clone(),
                            finding: Kind::RateReveals { withheld: what.into() },
                        });
                    }
                }
            }
        }
    } else {
        let candidates: Vec<usize> = (0..sheet.headers.len()).filter(|&c| c != id_col && Some(c) != level_col).collect();
        let mut count_cols = Vec::new();
        for c in candidates {
            match column_kind(&sheet, c, fmt) {
                ColumnKind::Counts => count_cols.push(c),
                ColumnKind::Rates => notes.push(format!("Spalte „{}“ nicht geprüft: keine Anzahlen (Dezimalzahlen)", sheet.headers[c])),
                ColumnKind::Text => {}
            }
        }
        if count_cols.is_empty() {
            bail!("{file}: keine Spalte mit Anzahlen gefunden (ganze Zahlen ≥ 0, gesperrte Zellen als *, . oder leer)");
        }
        let mut t = count_table(&sheet, &file, (0..sheet.len()).collect(), &count_cols, fmt)?;
        t.groups = column_groups(&sheet, &t);
        for (total, parts) in &t.groups {
            notes.push(format!(
                "Spaltensumme erkannt: {} = {}",
                sheet.headers[t.cols[*total]],
                parts.iter().map(|&p| sheet.headers[t.cols[p]].as_str()).collect::<Vec<_>>().join(" + ")
            ));
        }
        tables.push(t);
    }
    let mut hierarchy_used = false;
    for t in &tables {
        let parents = row_parents(&t.sheet_rows.iter().map(|&i| keys[i].clone()).collect::<Vec<_>>(), hierarchy.as_ref());
        hierarchy_used |= parents.iter().any(Option::is_some);
        let relations: Vec<Relation> =
            disclosure::holding(&t.cells, disclosure::wide_relations(t.sheet_rows.len(), t.cols.len(), &parents, &t.groups));
        relation_count += relations.len();
        checked_cells += t.cells.len();
        withheld_cells += t.cells.iter().filter(|c| c.is_none()).count();
        for f in disclosure::audit(&t.cells, &relations, a.threshold) {
            let c = f.cell();
            let (r, col) = (c / t.cols.len(), t.cols[c % t.cols.len()]);
            let i = t.sheet_rows[r];
            findings.push(Located {
                line: sheet.line(i),
                area_id: keys[i].0.clone(),
                column: sheet.headers[col].clone(),
                finding: match f {
                    Finding::BelowThreshold { value, .. } => Kind::BelowThreshold { value },
                    Finding::Recoverable { value, .. } => Kind::Recoverable { value },
                },
            });
        }
    }
    findings.sort_by(|x, y| (x.line, &x.column).cmp(&(y.line, &y.column)));
    if hierarchy.is_none() {
        notes.push(format!("Gebietshierarchie nicht geprüft: Datenbank {} nicht vorhanden (--db)", db.display()));
    } else if !hierarchy_used {
        notes.push("Gebietshierarchie: keine Zeilen mit übergeordnetem Gebiet in der Datei".into());
    }
    let summary = format!(
        "{file}: {} Zellen geprüft, {} gesperrt, {} Summenbeziehungen, Schwelle {}",
        crate::output::n(checked_cells),
        crate::output::n(withheld_cells),
        crate::output::n(relation_count),
        a.threshold
    );
    if a.format == Format::Table {
        eprintln!("{summary}");
        for n in &notes {
            eprintln!("Hinweis: {n}");
        }
    }
    if a.format == Format::Table && findings.is_empty() {
        println!("Sicher: keine Anzahl unter {} und keine gesperrte Zelle berechenbar.", a.threshold);
    } else {
        let rows = findings.iter().map(|f| vec![f.line.to_string(), f.area_id.clone(), f.column.clone(), f.finding.describe()]).collect();
        emit(a.format, &["line", "area_id", "column", "finding"], rows, &findings)?;
    }
    if !findings.is_empty() {
        bail!("{file}: nicht sicher: {} Befunde", findings.len());
    }
    Ok(())
}

/// The stored hierarchy (key, level → parent key, level), if the database exists.
type Hierarchy = HashMap<String, Vec<(String, Option<String>, usize)>>;

fn stored_hierarchy(db: &Path) -> Result<Option<Hierarchy>> {
    if crate::missing(db) {
        return Ok(None);
    }
    // Read-only: a check changes nothing, not even by migrating an older database.
    let store = crate::open_read_only(db)?;
    let mut h: Hierarchy = HashMap::new();
    for a in quartier_app::store::Store::areas(&store, None)? {
        h.entry(a.key).or_default().push((a.level, a.parent, a.level_rank));
    }
    Ok(Some(h))
}

/// Parent row of each row: the row of its stored parent area when the file has that row and
/// all of its children (else the sum is not published and gives nothing away); a single row
/// without a key is the total of the rows without a parent.
fn row_parents(keys: &[(String, Option<String>)], h: Option<&Hierarchy>) -> Vec<Option<usize>> {
    let mut parents = vec![None; keys.len()];
    let Some(h) = h else { return parents };
    let resolve = |key: &str, level: Option<&String>| -> Option<&(String, Option<String>, usize)> {
        let all = h.get(key)?;
        match level {
            Some(l) => all.iter().find(|e| &e.0 == l),
            None if all.len() == 1 => all.first(),
            None => None,
        }
    };
    let mut row_of: HashMap<(String, usize), usize> = HashMap::new();
    let mut info = Vec::with_capacity(keys.len());
    for (r, (k, l)) in keys.iter().enumerate() {
        let e = resolve(k, l.as_ref());
        if let Some(e) = e {
            row_of.insert((k.clone(), e.2), r);
        }
        info.push(e);
    }
    // Children per parent in the store, to see whether the file has all of them.
    let mut stored_children: HashMap<(String, usize), usize> = HashMap::new();
    for entries in h.values() {
        for (_, parent, rank) in entries {
            if let (Some(p), Some(pr)) = (parent, rank.checked_sub(1)) {
                *stored_children.entry((p.clone(), pr)).or_default() += 1;
            }
        }
    }
    let mut present: HashMap<usize, usize> = HashMap::new();
    for (r, e) in info.iter().enumerate() {
        if let Some((_, Some(p), rank)) = e
            && let Some(&pr) = rank.checked_sub(1).and_then(|pr| row_of.get(&(p.clone(), pr)))
        {
            parents[r] = Some(pr);
            *present.entry(pr).or_default() += 1;
        }
    }
    for p in parents.iter_mut() {
        if let Some(pr) = *p {
            let (k, _) = &keys[pr];
            let rank = info[pr].map(|e| e.2).unwrap_or(0);
            if stored_children.get(&(k.clone(), rank)).copied().unwrap_or(0) != present[&pr] {
                *p = None;
            }
        }
    }
    // A total row (empty key) over the top rows of the file.
    let blanks: Vec<usize> = (0..keys.len()).filter(|&r| keys[r].0.is_empty()).collect();
    if let [total] = blanks[..] {
        let top = (0..keys.len()).filter_map(|r| info[r].map(|e| e.2)).min();
        for r in 0..keys.len() {
            if info[r].is_some_and(|e| Some(e.2) == top) {
                parents[r] = Some(total);
            }
        }
    }
    parents
}

fn number_format(sheet: &Sheet) -> NumberFormat {
    let mut comma = 0;
    let mut point = 0;
    for i in 0..sheet.len().min(2000) {
        for c in 0..sheet.headers.len() {
            if let CellRef::Text(t) = sheet.cell(i, c) {
                match cell::number_shape(t) {
                    cell::NumberShape::Only(Some(NumberFormat::Comma)) => comma += 1,
                    cell::NumberShape::Only(Some(NumberFormat::Point)) => point += 1,
                    _ => {}
                }
            }
        }
    }
    if comma > point { NumberFormat::Comma } else { NumberFormat::Point }
}

/// A cell as number or symbol; `None` for text that is neither. Empty cells count as
/// withheld (`.`): what is not published cannot be read.
fn read_cell(sheet: &Sheet, i: usize, c: usize, fmt: NumberFormat) -> Option<Cell> {
    match sheet.cell(i, c) {
        CellRef::Empty => Some(Cell::Symbol(Symbol::Unknown)),
        CellRef::Number(v) => Some(Cell::Number(v)),
        CellRef::Text(t) => match Symbol::parse(t) {
            Some(Symbol::Zero) => Some(Cell::Number(0.0)),
            Some(s) => Some(Cell::Symbol(s)),
            None => cell::parse_number(t, fmt).map(Cell::Number),
        },
    }
}

enum ColumnKind {
    Counts,
    Rates,
    Text,
}

/// Columns that hold no counts however numeric they look: years and keys.
const NOT_COUNTS: &[&str] = &["year", "jahr", "parent", "uebergeordnet", "übergeordnet", "parent_id", "schluessel", "key"];

fn column_kind(sheet: &Sheet, c: usize, fmt: NumberFormat) -> ColumnKind {
    if NOT_COUNTS.contains(&sheet.headers[c].trim().to_lowercase().as_str()) {
        return ColumnKind::Text;
    }
    let mut numbers = 0;
    for i in 0..sheet.len() {
        // A leading zero ("01", "0101") marks a key, not a count.
        if let CellRef::Text(t) = sheet.cell(i, c)
            && t.len() > 1
            && t.starts_with('0')
            && t.bytes().all(|b| b.is_ascii_digit())
        {
            return ColumnKind::Text;
        }
        match read_cell(sheet, i, c, fmt) {
            None => return ColumnKind::Text,
            Some(Cell::Number(v)) if v < 0.0 || v.fract() != 0.0 => return ColumnKind::Rates,
            Some(Cell::Number(_)) => numbers += 1,
            Some(Cell::Symbol(_)) => {}
        }
    }
    if numbers == 0 { ColumnKind::Text } else { ColumnKind::Counts }
}

fn count_table(sheet: &Sheet, file: &str, rows: Vec<usize>, cols: &[usize], fmt: NumberFormat) -> Result<CountTable> {
    let mut cells = Vec::with_capacity(rows.len() * cols.len());
    for &i in &rows {
        for &c in cols {
            cells.push(match read_cell(sheet, i, c, fmt) {
                Some(Cell::Number(v)) if v >= 0.0 => Some(v),
                Some(Cell::Number(v)) => {
                    bail!("{file}, Zeile {}, Spalte „{}“: negative Anzahl {v}", sheet.line(i), sheet.headers[c])
                }
                Some(Cell::Symbol(_)) => None,
                None => bail!("{file}, Zeile {}, Spalte „{}“: keine Zahl", sheet.line(i), sheet.headers[c]),
            });
        }
    }
    Ok(CountTable { sheet_rows: rows, cols: cols.to_vec(), cells, groups: Vec::new() })
}

/// Column sums in the file: columns `<prefix>_<value>` whose sum equals another count column
/// (`n` first) in every row where all are published (and at least one such row).
fn column_groups(sheet: &Sheet, t: &CountTable) -> Vec<(usize, Vec<usize>)> {
    let k = t.cols.len();
    let rows = t.sheet_rows.len();
    let names: Vec<&str> = t.cols.iter().map(|&c| sheet.headers[c].as_str()).collect();
    let mut by_prefix: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (j, n) in names.iter().enumerate() {
        if let Some((p, _)) = n.rsplit_once('_') {
            by_prefix.entry(p).or_default().push(j);
        }
    }
    let mut out = Vec::new();
    for parts in by_prefix.into_values().filter(|p| p.len() >= 2) {
        let mut totals: Vec<usize> = (0..k).filter(|j| !parts.contains(j)).collect();
        totals.sort_by_key(|&j| names[j] != "n");
        for total in totals {
            // Rows where the sum does not hold (e.g. records without an age) are dropped
            // later, row by row; a group must hold in nearly all complete rows to count.
            let (mut complete, mut holds) = (0usize, 0usize);
            for r in 0..rows {
                let v = |j: usize| t.cells[r * k + j];
                if let (Some(a), Some(b)) = (v(total), parts.iter().map(|&p| v(p)).sum::<Option<f64>>()) {
                    complete += 1;
                    holds += usize::from((a - b).abs() < 1e-9);
                }
            }
            if holds > 0 && holds * 10 >= complete * 9 {
                out.push((total, parts.clone()));
                break;
            }
        }
    }
    out
}
