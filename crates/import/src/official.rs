//! Official statistics as the offices deliver them, recognised by content:
//!
//! - **GENESIS table CSV** ("Werte-Abruf" export of GENESIS-Online, the Regionaldatenbank
//!   Deutschland, the Landesdatenbanken and the Zensus 2022 database): a title block
//!   (`GENESIS-Tabelle: <code>`, title, Stichtag, regional depth, value variable with unit),
//!   a header block of 1–4 rows, rows with key and (indented) name mixing levels, a footer
//!   after a line of underscores (notes, ©, `Stand:`). Quality flag columns next to values
//!   (Zensus 2022) are read as flags.
//! - **GENESIS flat file (ffcsv)**: `statistics_code;…;time;N_variable_code;…;value;
//!   value_unit;value_variable_code;value_variable_label;value_q`, also zipped; and the older
//!   flat layout with `Zeit`, `N_Auspraegung_Code` and value columns `CODE__Label__Unit` with
//!   `CODE__Label__q` quality columns.
//!
//! Format descriptions: Destatis, "Das neue Flatfile CSV-Format (ffcsv) der Datenbank
//! GENESIS-Online" (2024); the Regionaldatenbank's CSV export as in
//! `data/official/12411-01-01-4.csv`; the symbol list of the Statistische Ämter
//! ("Zeichenerklärung").
//!
//! Readers here produce plain [`Table`]s of values with key, name, variable and reference
//! date; which rows belong to which stored level is decided in [`crate::data`].

use crate::{ImportError, Interner, Result, identifier};
use quartier_core::cell::{NumberShape, number_shape, parse_number};
use quartier_core::date::{ReferenceDate, parse_reference_date};
use quartier_core::keys::OfficialKey;
use quartier_core::names::strip_footnote;
use quartier_core::{Cell, NumberFormat, Symbol};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What kind of official file was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GENESIS table CSV with title block, header block and footer.
    GenesisTable,
    /// GENESIS flat file (ffcsv, English column names).
    Flat,
    /// The older GENESIS flat layout (statistic-specific value columns).
    FlatLegacy,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::GenesisTable => "GENESIS-Tabelle (CSV)",
            Format::Flat => "GENESIS-Flatfile (ffcsv)",
            Format::FlatLegacy => "GENESIS-Flatfile (älteres Format)",
        }
    }
}

/// One variable of a table: stable machine id, the combined name, the unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub id: String,
    pub label: String,
    pub unit: Option<String>,
}

impl Variable {
    /// Counts are summed up the hierarchy; shares, averages, amounts per head and indices are not.
    pub fn is_count(&self) -> bool {
        let u = self.unit.as_deref().unwrap_or("").to_lowercase();
        let l = self.label.to_lowercase();
        let rate_words = ["%", "prozent", "je ", "pro ", "durchschnitt", "eur", "jahre", "index", "=100", "quote", "anteil", "dichte"];
        !rate_words.iter().any(|w| u.contains(w))
            && !["durchschnitt", "anteil", "quote", "je einwohner", "je 1000"].iter().any(|w| l.contains(w))
    }
}

/// One value as delivered.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line in the file.
    pub line: u32,
    /// Index into [`Table::columns`].
    pub column: u32,
    pub key: Arc<str>,
    pub name: Option<Arc<str>>,
    /// Index into [`Table::variables`].
    pub variable: u32,
    /// Index into [`Table::dates`].
    pub date: u32,
    pub cell: Cell,
    pub quality: Option<Arc<str>>,
}

/// A recognised official table.
#[derive(Debug)]
pub struct Table {
    pub format: Format,
    /// Table code (`12411-01-01-4`, `1000A-1001`).
    pub code: Option<String>,
    pub title: Option<String>,
    /// "regionale Tiefe: …".
    pub depth: Option<String>,
    /// Date of the export (`Stand:` in the footer).
    pub stand: Option<String>,
    /// Publisher from the © line.
    pub publisher: Option<String>,
    pub header_rows: usize,
    /// The encoding the file was read with ("" when not known).
    pub encoding: &'static str,
    pub variables: Vec<Variable>,
    pub dates: Vec<ReferenceDate>,
    pub columns: Vec<Arc<str>>,
    pub records: Vec<Record>,
    /// Cells holding an official symbol instead of a number.
    pub symbols: usize,
    /// Footnote markers removed from values and names.
    pub footnotes: usize,
    /// Quality flags and how often each occurs.
    pub quality: BTreeMap<String, usize>,
    pub empty_cells: usize,
    /// Section rows, group dates and other non-data lines inside the table.
    pub notes: Vec<String>,
}

impl Table {
    /// Source text for the variables: table code, title, publisher and export date.
    pub fn source(&self) -> Option<String> {
        let mut s = String::new();
        if let Some(p) = &self.publisher {
            s.push_str(p);
        }
        if let Some(c) = &self.code {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("Tabelle {c}"));
        }
        if let Some(t) = &self.title {
            s.push_str(&format!(" „{t}“"));
        }
        if let Some(d) = &self.stand {
            s.push_str(&format!(", Stand {d}"));
        }
        (!s.trim().is_empty()).then(|| s.trim().to_string())
    }
}

/// Recognises an official format from the decoded text.
pub fn detect(text: &str) -> Option<Format> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next()?.trim_start_matches('\u{feff}');
    let lower = first.to_ascii_lowercase();
    if lower.contains("statistics_code") && lower.contains("value_variable_code") {
        return Some(Format::Flat);
    }
    if lower.contains("statistik_code") || (first.contains("_Auspraegung_Code") && first.contains("__")) {
        return Some(Format::FlatLegacy);
    }
    let head: Vec<&str> = std::iter::once(first).chain(lines.take(6)).collect();
    if head.iter().any(|l| {
        let l = l.trim_start_matches('"');
        l.starts_with("GENESIS-Tabelle") || l.starts_with("Tabelle:") || l.starts_with("Zensus 2022") || l.contains("GENESIS-Online")
    }) {
        return Some(Format::GenesisTable);
    }
    // Without the marker: a title line, then rows with official keys in the first column (or
    // the second, after a date) of several lengths (a table mixing levels), or a footer after
    // a line of underscores.
    let underscores = text.lines().any(|l| l.trim().starts_with("_____"));
    let single_title = first.split([';', '\t']).filter(|c| !c.trim().is_empty()).count() == 1;
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut cells = l.split(';').map(|c| c.trim().trim_matches('"'));
            let a = cells.next()?;
            let key = if parse_reference_date(a).is_some() && a.len() > 4 { cells.next()? } else { a };
            matches!(OfficialKey::classify(key, ""), Some(k) if k != OfficialKey::Other).then_some(key)
        })
        .take(50)
        .collect();
    let lengths: std::collections::HashSet<usize> = keys.iter().map(|k| k.len()).collect();
    (single_title && keys.len() >= 3 && (underscores || lengths.len() >= 2)).then_some(Format::GenesisTable)
}

/// Reads a recognised official table from its decoded text.
pub fn read(format: Format, text: &str, file: &str, opts: &Options) -> Result<Table> {
    match format {
        Format::GenesisTable => read_table(text, file, opts),
        Format::Flat | Format::FlatLegacy => read_flat_any(format, text, file, opts),
    }
}

/// Reading options from the profile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub delimiter: Option<u8>,
    /// Header rows (count) when detection should be overridden.
    pub header_rows: Option<usize>,
    pub decimal: Option<NumberFormat>,
    /// Codes meaning "no value" in this delivery.
    pub missing: Vec<String>,
    /// The encoding the text was read with, named in messages ("" when unknown).
    pub encoding: &'static str,
}

/// A cell of a value column: a number, an official symbol, a number in parentheses (limited
/// reliability, flag `()`), a number followed by a flag letter (`123 p`), with footnote
/// markers removed. `Ok(None)` for an empty cell.
pub(crate) fn value_cell(raw: &str, fmt: NumberFormat) -> std::result::Result<Option<ParsedCell>, ()> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    // Most cells are whole counts.
    if t.len() <= 15 && t.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(ParsedCell { cell: Cell::Number(t.parse::<u64>().unwrap_or(0) as f64), quality: None, footnote: false }));
    }
    let (body, mark) = if Symbol::parse(t).is_some() { (t, None) } else { strip_footnote(t) };
    let footnote = mark.is_some();
    if let Some(s) = Symbol::parse(body) {
        return Ok(Some(ParsedCell { cell: Cell::Symbol(s), quality: None, footnote }));
    }
    if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')'))
        && let Some(v) = parse_number(inner.trim(), fmt)
    {
        return Ok(Some(ParsedCell { cell: Cell::Number(v), quality: Some("()"), footnote }));
    }
    if let Some(v) = parse_number(body, fmt) {
        return Ok(Some(ParsedCell { cell: Cell::Number(v), quality: None, footnote }));
    }
    // "123 p", "123p": a number with a flag letter.
    if let Some((num, flag)) = body.rsplit_once(' ').or_else(|| body.char_indices().last().map(|(i, _)| body.split_at(i)))
        && flag.len() == 1
        && flag.bytes().all(|b| b.is_ascii_lowercase())
        && let Some(v) = parse_number(num.trim(), fmt)
    {
        let q: &'static str = match flag {
            "p" => "p",
            "r" => "r",
            "s" => "s",
            "e" => "e",
            "v" => "v",
            "g" => "g",
            _ => return Err(()),
        };
        return Ok(Some(ParsedCell { cell: Cell::Number(v), quality: Some(q), footnote }));
    }
    Err(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ParsedCell {
    pub cell: Cell,
    pub quality: Option<&'static str>,
    pub footnote: bool,
}

/// The decimal separator of a set of number texts: the first one that can only be read one
/// way decides; a file that has both is an error naming both.
fn decimal_of<'a>(texts: impl Iterator<Item = (&'a str, u32)>, given: Option<NumberFormat>, file: &str) -> Result<NumberFormat> {
    if let Some(f) = given {
        return Ok(f);
    }
    let mut seen: HashMap<NumberFormat, (u32, String)> = HashMap::new();
    for (t, line) in texts {
        let t = strip_footnote(t.trim()).0;
        let t = t.trim_start_matches('(').trim_end_matches(')');
        if let NumberShape::Only(Some(f)) = number_shape(t) {
            seen.entry(f).or_insert_with(|| (line, t.to_string()));
            if seen.len() == 2 {
                break;
            }
        }
    }
    match (seen.get(&NumberFormat::Comma), seen.get(&NumberFormat::Point)) {
        (Some(c), Some(p)) => Err(ImportError::file(
            file,
            format!(
                "gemischte Zahlenformate: Zeile {} „{}“ hat ein Dezimalkomma, Zeile {} „{}“ einen Dezimalpunkt; bitte mit --decimal comma|point festlegen",
                c.0, c.1, p.0, p.1
            ),
        )),
        (None, Some(_)) => Ok(NumberFormat::Point),
        _ => Ok(NumberFormat::Comma),
    }
}

/// Index of `d` in `dates`, added when new.
fn date_index(dates: &mut Vec<ReferenceDate>, d: &ReferenceDate) -> u32 {
    match dates.iter().position(|x| x == d) {
        Some(i) => i as u32,
        None => {
            dates.push(d.clone());
            (dates.len() - 1) as u32
        }
    }
}

// ---------------------------------------------------------------------------------------
// Header blocks

/// Combines a header block (rows × columns of labels) into the parts naming each column.
///
/// Spanning labels are filled to the right while the row above stays the same (a merged or
/// repeated label covers the columns below it, never past its parent's span); the lowest
/// row is never filled. Consecutive repeats are merged, so a label repeated down the rows
/// appears once.
pub fn combine_header(rows: &[Vec<String>], width: usize) -> Vec<Vec<String>> {
    let mut filled: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let mut out: Vec<String> = (0..width).map(|c| row.get(c).map(|s| s.trim().to_string()).unwrap_or_default()).collect();
        if r + 1 < rows.len() {
            for c in 1..width {
                let same_parent = r == 0 || filled[r - 1][c] == filled[r - 1][c - 1];
                if out[c].is_empty() && same_parent && !out[c - 1].is_empty() {
                    out[c] = out[c - 1].clone();
                }
            }
        }
        filled.push(out);
    }
    (0..width)
        .map(|c| {
            let mut parts: Vec<String> = Vec::new();
            for row in &filled {
                let p = &row[c];
                if !p.is_empty() && parts.last() != Some(p) {
                    parts.push(p.clone());
                }
            }
            parts
        })
        .collect()
}

/// Splits combined header parts into the reference date they name (a part that is a date
/// or a year) and the remaining name parts.
pub fn split_date(parts: &[String]) -> (Option<ReferenceDate>, Vec<String>) {
    let mut date = None;
    let mut rest = Vec::new();
    for p in parts {
        match parse_reference_date(p) {
            Some(d) if date.is_none() => date = Some(d),
            _ => rest.push(p.clone()),
        }
    }
    (date, rest)
}

// ---------------------------------------------------------------------------------------
// GENESIS table CSV

fn is_key(s: &str) -> bool {
    OfficialKey::classify(s, "").is_some()
}

/// Rows of cells with their 1-based line.
type Grid = Vec<(u32, Vec<String>)>;

fn read_grid(text: &str, delim: u8, file: &str) -> Result<Grid> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delim).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(ImportError::file(file, format!("Zeile {line}: CSV nicht lesbar: {e}")));
            }
        }
        let line = rec.position().map(|p| p.line() as u32).unwrap_or(0);
        let mut cells: Vec<String> = rec.iter().map(|c| c.trim_end().to_string()).collect();
        while cells.last().is_some_and(|c| c.trim().is_empty()) {
            cells.pop();
        }
        out.push((line, cells));
    }
    Ok(out)
}

fn filled(row: &[String]) -> usize {
    row.iter().filter(|c| !c.trim().is_empty()).count()
}

/// `Bevölkerungsstand (Anzahl)` → (`Bevölkerungsstand`, `Anzahl`).
fn variable_with_unit(line: &str) -> Option<(String, String)> {
    let t = line.trim();
    let body = t.strip_suffix(')')?;
    let open = body.rfind('(')?;
    let (name, unit) = (body[..open].trim(), body[open + 1..].trim());
    (!name.is_empty() && !unit.is_empty() && unit.len() <= 40).then(|| (name.to_string(), unit.to_string()))
}

fn read_table(text: &str, file: &str, opts: &Options) -> Result<Table> {
    // GENESIS exports separate with `;`; title lines have none, so sniffing the first lines
    // would mislead.
    let delim = opts.delimiter.unwrap_or_else(|| {
        let sample: String = text.lines().skip_while(|l| !l.contains([';', '\t'])).take(40).collect::<Vec<_>>().join("\n");
        if sample.is_empty() { b';' } else { crate::text::sniff_delimiter(&sample) }
    });
    let grid = read_grid(text, delim, file)?;
    // Footer: after a line of underscores.
    let footer_at = grid.iter().position(|(_, r)| r.first().is_some_and(|c| c.trim().starts_with("___"))).unwrap_or(grid.len());
    let (body, footer) = grid.split_at(footer_at);
    let mut table = Table {
        format: Format::GenesisTable,
        code: None,
        title: None,
        depth: None,
        stand: None,
        publisher: None,
        header_rows: 0,
        encoding: opts.encoding,
        variables: vec![],
        dates: vec![],
        columns: vec![],
        records: vec![],
        symbols: 0,
        footnotes: 0,
        quality: BTreeMap::new(),
        empty_cells: 0,
        notes: vec![],
    };
    for (_, row) in footer {
        for cell in row {
            for l in cell.lines() {
                let l = l.trim();
                if let Some(rest) = l.strip_prefix("Stand:") {
                    let d = rest.split('/').next().unwrap_or("").trim();
                    table.stand = Some(parse_reference_date(d).map(|r| r.iso).unwrap_or_else(|| d.to_string()));
                } else if let Some(rest) = l.strip_prefix('©').or_else(|| l.strip_prefix("(C)")) {
                    let p = rest.trim().trim_end_matches('.');
                    // "Statistische Ämter des Bundes und der Länder, Deutschland, 2017".
                    let p = p.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == ',');
                    table.publisher = Some(p.to_string());
                }
            }
        }
    }
    // Data start: the first row with an official key in one of its first columns, followed
    // by more cells.
    // A key cell: an official key (irregular keys only from 7 digits on, so that a year is
    // not taken for one) with only dates before it.
    let key_at = |r: &[String], c: usize| {
        r.get(c)
            .is_some_and(|k| matches!(OfficialKey::classify(k.trim(), ""), Some(kind) if kind != OfficialKey::Other || k.trim().len() >= 7))
            && r.len() > c + 1
            && (c == 0 || r[..c].iter().all(|x| parse_reference_date(x).is_some() || x.trim().is_empty()))
    };
    let start = body.iter().position(|(_, r)| (0..3).any(|c| key_at(r, c)));
    let Some(start) = start else {
        let first: Vec<String> = body.iter().take(12).map(|(l, r)| format!("  {l}: {}", r.join(&(delim as char).to_string()))).collect();
        return Err(ImportError::file(
            file,
            format!(
                "Tabelle mit Titelblock erkannt, aber keine Zeile mit amtlichem Gebietsschlüssel (DG, 2/3/5/8/9/12 Stellen) gefunden. Gelesen (Trennzeichen „{}“){}:\n{}\nHilfreich: --delimiter, --encoding, --header-rows N, --area-field SPALTE",
                delim as char,
                if opts.encoding.is_empty() { String::new() } else { format!(", Kodierung {}", opts.encoding) },
                first.join("\n")
            ),
        ));
    };
    let (_, first_row) = &body[start];
    let key_col = (0..3).find(|&c| key_at(first_row, c)).unwrap_or(0);
    let time_col = (key_col > 0 && parse_reference_date(&first_row[key_col - 1]).is_some()).then(|| key_col - 1);
    // A name column follows the key when its cells are text.
    let data_rows: Vec<&(u32, Vec<String>)> =
        body[start..].iter().filter(|(_, r)| r.get(key_col).is_some_and(|k| is_key(k.trim()))).collect();
    let name_col = {
        let c = key_col + 1;
        let texty =
            data_rows.iter().take(50).filter(|(_, r)| r.get(c).is_some_and(|s| value_cell(s, NumberFormat::Comma).is_err())).count();
        (texty * 2 > data_rows.len().min(50)).then_some(c)
    };
    let first_value = name_col.map(|c| c + 1).unwrap_or(key_col + 1);
    let width = body[start..].iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    // Header block: the rows right above the data with labels over the value columns.
    let mut header_start = start;
    let limit = opts.header_rows.unwrap_or(4);
    while header_start > 0 && start - header_start < limit {
        let (_, r) = &body[header_start - 1];
        let over_values = r.iter().skip(first_value).any(|c| !c.trim().is_empty());
        if !over_values && opts.header_rows.is_none() {
            break;
        }
        header_start -= 1;
    }
    if let Some(n) = opts.header_rows
        && start - header_start < n
    {
        return Err(ImportError::file(
            file,
            format!("--header-rows {n}: über der ersten Datenzeile stehen nur {} Zeilen", start - header_start),
        ));
    }
    table.header_rows = start - header_start;
    let header: Vec<Vec<String>> = body[header_start..start].iter().map(|(_, r)| r.clone()).collect();
    let parts = combine_header(&header, width);
    // Title block.
    let title_lines: Vec<String> =
        body[..header_start].iter().filter_map(|(_, r)| r.iter().find(|c| !c.trim().is_empty()).map(|c| c.trim().to_string())).collect();
    let mut title_date: Option<ReferenceDate> = None;
    let mut value_variable: Option<(String, String)> = None;
    let mut titles = Vec::new();
    for l in &title_lines {
        if let Some(code) = l.strip_prefix("GENESIS-Tabelle:").or_else(|| l.strip_prefix("Tabelle:")) {
            table.code = Some(code.trim().to_string());
        } else if let Some(d) = l.strip_prefix("regionale Tiefe:") {
            table.depth = Some(d.trim().to_string());
        } else if let Some(d) = parse_reference_date(l.trim_matches(['-', ' '])) {
            title_date = Some(d);
        } else if l.to_lowercase().contains("stichtag") || l.starts_with("- ") {
            // "- Stichtag 31.12. -": the year comes from the header.
            if let Some(d) = l.split_whitespace().find_map(parse_reference_date) {
                title_date = Some(d);
            }
        } else if let Some(vu) = variable_with_unit(l) {
            value_variable = Some(vu);
        } else {
            titles.push(l.clone());
        }
    }
    table.title = titles.first().cloned();
    // Value and quality columns.
    struct Col {
        index: usize,
        date: Option<ReferenceDate>,
        name: Vec<String>,
        quality: Option<usize>,
    }
    let mut cols: Vec<Col> = Vec::new();
    for (c, col_parts) in parts.iter().enumerate().take(width).skip(first_value) {
        if Some(c) == time_col {
            continue;
        }
        let (date, name) = split_date(col_parts);
        // A flag column: short lowercase letters (not the symbol `x`) or empty, right of a
        // value column.
        let flags = data_rows.iter().all(|(_, r)| {
            r.get(c).is_none_or(|s| {
                let s = s.trim();
                s.is_empty() || (s.len() <= 2 && s != "x" && s.chars().all(|ch| ch.is_ascii_lowercase()))
            })
        });
        let some_flag = data_rows.iter().any(|(_, r)| r.get(c).is_some_and(|s| !s.trim().is_empty()));
        if flags
            && some_flag
            && let Some(prev) = cols.last_mut().filter(|p| p.index + 1 == c && p.quality.is_none())
        {
            prev.quality = Some(c);
            continue;
        }
        cols.push(Col { index: c, date, name, quality: None });
    }
    cols.retain(|c| data_rows.iter().any(|(_, r)| r.get(c.index).is_some_and(|s| !s.trim().is_empty())));
    if cols.is_empty() {
        return Err(ImportError::file(file, "keine Wertspalten rechts von Schlüssel und Name gefunden"));
    }
    let decimal = decimal_of(
        data_rows.iter().flat_map(|(l, r)| cols.iter().filter_map(move |c| r.get(c.index).map(|s| (s.as_str(), *l)))),
        opts.decimal,
        file,
    )?;
    // Names per column; sections (rows with a single label between data rows) prefix them.
    let base = |section: Option<&str>, col: &Col| -> Vec<String> {
        let mut p: Vec<String> = Vec::new();
        if let Some((v, _)) = &value_variable
            && !col.name.iter().any(|n| n == v)
        {
            p.push(v.clone());
        }
        if let Some(s) = section {
            p.push(s.to_string());
        }
        p.extend(col.name.iter().cloned());
        if p.is_empty() {
            p.push("Wert".into());
        }
        p
    };
    let unit = value_variable.as_ref().map(|(_, u)| u.clone());
    let mut var_index: HashMap<String, u32> = HashMap::new();
    let mut var_of: HashMap<(Option<usize>, usize), u32, foldhash::fast::RandomState> = HashMap::default();
    let mut col_dates: HashMap<usize, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut sections: Vec<String> = Vec::new();
    let mut section_ix: Option<usize> = None;
    let mut column_index: HashMap<usize, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut names = Interner::new();
    let mut group_date: Option<ReferenceDate> = None;
    let mut section: Option<String> = None;
    let mut problems = Vec::new();
    let mut skipped_lines = 0usize;
    // Duplicate combined names among the columns (same name and date) are an error.
    {
        let mut seen: HashMap<(String, Option<ReferenceDate>), usize> = HashMap::new();
        for col in &cols {
            let label = base(None, col).join(" – ");
            if let Some(prev) = seen.insert((label.clone(), col.date.clone()), col.index) {
                return Err(ImportError::file(
                    file,
                    format!(
                        "der Tabellenkopf ergibt zweimal den Merkmalsnamen „{label}“ (Spalten {} und {}); bitte --header-rows angeben",
                        prev + 1,
                        col.index + 1
                    ),
                ));
            }
        }
    }
    for (line, row) in &body[start..] {
        let n = filled(row);
        if n == 0 {
            continue;
        }
        let key = row.get(key_col).map(|k| k.trim()).unwrap_or("");
        if !is_key(key) {
            if n == 1 {
                let label = row.iter().find(|c| !c.trim().is_empty()).map(|c| c.trim()).unwrap_or("");
                match parse_reference_date(label) {
                    Some(d) => group_date = Some(d),
                    None => {
                        section = Some(label.to_string());
                        section_ix = Some(sections.iter().position(|s| s == label).unwrap_or_else(|| {
                            sections.push(label.to_string());
                            sections.len() - 1
                        }));
                        table.notes.push(format!("Zeile {line}: Abschnitt „{label}“"));
                    }
                }
            } else {
                skipped_lines += 1;
            }
            continue;
        }
        let name = name_col.and_then(|c| row.get(c)).map(|s| {
            let (n, mark) = strip_footnote(s.trim());
            if mark.is_some() {
                table.footnotes += 1;
            }
            names.get(n)
        });
        let row_date = match time_col {
            Some(tc) => match parse_reference_date(row.get(tc).map(|s| s.as_str()).unwrap_or("")) {
                Some(d) => Some(d),
                None => {
                    problems.push(format!(
                        "Zeile {line}, Spalte {}: „{}“ ist kein Datum (erwartet z. B. 31.12.2023, 2023-12-31 oder 2023)",
                        tc + 1,
                        row.get(tc).map(|s| s.as_str()).unwrap_or("")
                    ));
                    continue;
                }
            },
            None => None,
        };
        let key: Arc<str> = names.get(key);
        for col in &cols {
            let raw = row.get(col.index).map(|s| s.as_str()).unwrap_or("");
            if opts.missing.iter().any(|m| m == raw.trim()) {
                table.empty_cells += 1;
                continue;
            }
            let parsed = match value_cell(raw, decimal) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    table.empty_cells += 1;
                    continue;
                }
                Err(()) => {
                    problems.push(format!(
                        "Zeile {line}, Spalte {} („{}“): „{}“ ist weder Zahl noch amtliches Zeichen (. - x … / ())",
                        col.index + 1,
                        base(section.as_deref(), col).join(" – "),
                        raw.trim()
                    ));
                    continue;
                }
            };
            // The date and variable of a cell depend on its column, the row's date and the
            // section: looked up once per combination, not built per cell.
            let row_date_ix = match &row_date {
                Some(d) => Some(date_index(&mut table.dates, d)),
                None => group_date.as_ref().map(|d| date_index(&mut table.dates, d)),
            };
            let di = match row_date_ix {
                Some(i) => i,
                None => match col.date.as_ref().or(title_date.as_ref()) {
                    Some(d) => *col_dates.entry(col.index).or_insert_with(|| {
                        // "31.12." in the title and only the year in the header: the exact day counts.
                        let d = match (&title_date, d.iso.len()) {
                            (Some(t), 4) if t.year == d.year => t.clone(),
                            _ => d.clone(),
                        };
                        date_index(&mut table.dates, &d)
                    }),
                    None => {
                        return Err(ImportError::file(
                            file,
                            format!(
                                "Zeile {line}: Stichtag oder Jahr nicht erkannt (weder im Tabellenkopf noch in einer Zeitspalte noch im Titel); bitte --year JAHR oder --reference-date angeben"
                            ),
                        ));
                    }
                },
            };
            let vi = match var_of.get(&(section_ix, col.index)) {
                Some(&i) => i,
                None => {
                    let label = base(section.as_deref(), col).join(" – ");
                    let i = match var_index.get(&label) {
                        Some(&i) => i,
                        None => {
                            table.variables.push(Variable { id: identifier(&label), label: label.clone(), unit: unit.clone() });
                            let i = (table.variables.len() - 1) as u32;
                            var_index.insert(label, i);
                            i
                        }
                    };
                    var_of.insert((section_ix, col.index), i);
                    i
                }
            };
            let ci = *column_index.entry(col.index).or_insert_with(|| {
                table.columns.push(Arc::from(format!("{} ({})", col.index + 1, base(None, col).join(" – "))));
                (table.columns.len() - 1) as u32
            });
            if matches!(parsed.cell, Cell::Symbol(_)) {
                table.symbols += 1;
            }
            if parsed.footnote {
                table.footnotes += 1;
            }
            let flag = col.quality.and_then(|q| row.get(q)).map(|s| s.trim()).filter(|s| !s.is_empty()).or(parsed.quality);
            if let Some(f) = flag {
                match table.quality.get_mut(f) {
                    Some(n) => *n += 1,
                    None => {
                        table.quality.insert(f.to_string(), 1);
                    }
                }
            }
            table.records.push(Record {
                line: *line,
                column: ci,
                key: Arc::clone(&key),
                name: name.clone(),
                variable: vi,
                date: di,
                cell: parsed.cell,
                quality: flag.map(|f| names.get(f)),
            });
        }
        if problems.len() > 1000 {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems });
    }
    if skipped_lines > 0 {
        table.notes.push(format!("{skipped_lines} Zeilen im Tabellenteil ohne Gebietsschlüssel übergangen"));
    }
    // Ids stay unique even when two labels give the same identifier.
    dedupe_ids(&mut table.variables);
    Ok(table)
}

fn dedupe_ids(vars: &mut [Variable]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for v in vars.iter_mut() {
        let n = seen.entry(v.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            v.id = format!("{}_{}", v.id, n);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Flat files

/// One part of a flat-file variable: fixed for the file's column, or read from a column.
#[derive(Debug, Clone)]
enum Part {
    Fixed(String),
    Column(usize),
}

/// Where a flat file's value cells and their variable's code, label and unit are.
#[derive(Debug, Clone)]
struct FlatColumn {
    value: usize,
    quality: Option<usize>,
    code: Part,
    label: Part,
    unit: Option<Part>,
}

/// A flat file's layout: key, name and time columns, the other dimensions (attribute code
/// and label columns), the value columns.
#[derive(Debug)]
struct FlatLayout {
    key: usize,
    name: usize,
    time: usize,
    others: Vec<(usize, usize)>,
    values: Vec<FlatColumn>,
}

/// Finds the regional dimension among (code, attribute code, attribute label) column
/// triples: the one whose attribute codes are official keys in the sample.
fn regional_dimension(sample: &[csv::StringRecord], dims: &[(usize, usize, usize)]) -> Option<usize> {
    dims.iter().position(|&(_, attr, _)| {
        let codes: Vec<&str> = sample.iter().filter_map(|r| r.get(attr).map(str::trim)).collect();
        !codes.is_empty() && codes.iter().all(|k| OfficialKey::classify(k, "").is_some())
    })
}

fn flat_layout(format: Format, header: &[String], sample: &[csv::StringRecord], file: &str) -> Result<FlatLayout> {
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (time_name, code_of, attr_of, label_of) = match format {
        Format::Flat => ("time", "_variable_code", "_variable_attribute_code", "_variable_attribute_label"),
        _ => ("Zeit", "_Merkmal_Code", "_Auspraegung_Code", "_Auspraegung_Label"),
    };
    let time = col(time_name).ok_or_else(|| {
        ImportError::file(file, format!("{}: Spalte „{time_name}“ fehlt (Spalten: {})", format.label(), header.join(", ")))
    })?;
    let mut dims: Vec<(usize, usize, usize)> = Vec::new();
    for n in 1.. {
        match (col(&format!("{n}{code_of}")), col(&format!("{n}{attr_of}"))) {
            (Some(c), Some(a)) => dims.push((c, a, col(&format!("{n}{label_of}")).unwrap_or(a))),
            _ => break,
        }
    }
    let regional = regional_dimension(sample, &dims).ok_or_else(|| {
        ImportError::file(
            file,
            format!("{}: keine Spalte N{attr_of} mit amtlichen Gebietsschlüsseln (DG, 2/3/5/8/9/12 Stellen)", format.label()),
        )
    })?;
    let (_, key, name) = dims[regional];
    let others: Vec<(usize, usize)> = dims.iter().enumerate().filter(|(i, _)| *i != regional).map(|(_, d)| (d.1, d.2)).collect();
    let values = match format {
        Format::Flat => {
            let need = |name: &str| {
                col(name).ok_or_else(|| ImportError::file(file, format!("ffcsv: Spalte „{name}“ fehlt (Spalten: {})", header.join(", "))))
            };
            vec![FlatColumn {
                value: need("value")?,
                quality: col("value_q"),
                code: Part::Column(need("value_variable_code")?),
                label: Part::Column(need("value_variable_label")?),
                unit: col("value_unit").map(Part::Column),
            }]
        }
        _ => {
            // Value columns `CODE__Label__Unit`, each with its `CODE__Label__q`.
            let mut v = Vec::new();
            for (c, h) in header.iter().enumerate() {
                let parts: Vec<&str> = h.split("__").collect();
                if parts.len() < 2 || parts.last() == Some(&"q") {
                    continue;
                }
                let (code, label) = if parts.len() >= 3 { (parts[0], parts[1]) } else { (parts[0], parts[0]) };
                let unit = (parts.len() >= 3).then(|| parts[2..].join(" "));
                let q = header.iter().position(|x| *x == format!("{}__q", parts[..parts.len() - 1].join("__")) || *x == format!("{h}__q"));
                v.push(FlatColumn {
                    value: c,
                    quality: q,
                    code: Part::Fixed(code.to_string()),
                    label: Part::Fixed(label.replace('_', " ")),
                    unit: unit.map(Part::Fixed),
                });
            }
            if v.is_empty() {
                return Err(ImportError::file(file, "Flatfile: keine Wertspalten der Form CODE__Bezeichnung__Einheit"));
            }
            v
        }
    };
    Ok(FlatLayout { key, name, time, others, values })
}

/// A flat-file number: machine-written, without thousands separators, so a single `,` or
/// `.` is the decimal separator (`,` in German exports, `.` in English ones). A file that
/// uses both is an error naming both lines.
struct FlatNumbers {
    given: Option<NumberFormat>,
    seen: Option<(char, u32)>,
}

impl FlatNumbers {
    fn cell(&mut self, raw: &str, line: u32, file: &str) -> Result<std::result::Result<Option<ParsedCell>, ()>> {
        let t = raw.trim();
        // Most cells are whole counts.
        if !t.is_empty() && t.len() <= 15 && t.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Ok(Some(ParsedCell { cell: Cell::Number(t.parse::<u64>().unwrap_or(0) as f64), quality: None, footnote: false })));
        }
        if let Some(f) = self.given {
            return Ok(value_cell(raw, f));
        }
        let sep = if t.contains(',') {
            Some(',')
        } else if t.contains('.') && t.bytes().any(|b| b.is_ascii_digit()) {
            Some('.')
        } else {
            None
        };
        if let Some(c) = sep {
            match self.seen {
                None => self.seen = Some((c, line)),
                Some((other, first)) if other != c => {
                    return Err(ImportError::file(
                        file,
                        format!(
                            "gemischte Dezimaltrennzeichen: Zeile {first} mit „{other}“, Zeile {line} mit „{c}“; bitte mit --decimal comma|point festlegen"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(match sep {
            Some(',') => value_cell(&t.replace(',', "."), NumberFormat::Point),
            _ => value_cell(t, NumberFormat::Point),
        })
    }
}

/// Reads a flat file (new ffcsv or the older layout) in one streaming pass.
fn read_flat_any(format: Format, text: &str, file: &str, opts: &Options) -> Result<Table> {
    let delim = opts.delimiter.unwrap_or(b';');
    let body = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new().delimiter(delim).has_headers(false).flexible(true).from_reader(body.as_bytes());
    let read_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        ImportError::file(file, format!("Zeile {line}: CSV nicht lesbar: {e}"))
    };
    // Byte records: the text is valid UTF-8 and split at ASCII delimiters, so each field is
    // too; only the fields used are checked (`field`).
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(read_err)? {
        return Err(ImportError::file(file, "die Datei ist leer"));
    }
    let header: Vec<String> = rec.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    // A sample decides which dimension is regional.
    let mut sample: Vec<csv::ByteRecord> = Vec::with_capacity(200);
    while sample.len() < 200 && rdr.read_byte_record(&mut rec).map_err(read_err)? {
        if rec.iter().any(|f| !f.trim_ascii().is_empty()) {
            sample.push(rec.clone());
        }
    }
    let sample_text: Vec<csv::StringRecord> = sample.iter().filter_map(|r| csv::StringRecord::from_byte_record(r.clone()).ok()).collect();
    let layout = flat_layout(format, &header, &sample_text, file)?;
    let mut table = Table {
        format,
        code: None,
        title: None,
        depth: None,
        stand: None,
        publisher: Some("Statistisches Bundesamt (Destatis), GENESIS-Online".into()),
        header_rows: 1,
        encoding: opts.encoding,
        variables: vec![],
        dates: vec![],
        columns: header.iter().map(|h| Arc::from(h.as_str())).collect(),
        // About one value per line (ffcsv); the older layout has more per line.
        records: Vec::with_capacity(body.len() / 120 * layout.values.len()),
        symbols: 0,
        footnotes: 0,
        quality: BTreeMap::new(),
        empty_cells: 0,
        notes: vec![],
    };
    let code_col = header.iter().position(|h| h.eq_ignore_ascii_case("statistics_code") || h.eq_ignore_ascii_case("Statistik_Code"));
    let label_col = header.iter().position(|h| h.eq_ignore_ascii_case("statistics_label") || h.eq_ignore_ascii_case("Statistik_Label"));
    if let Some(r) = sample_text.first() {
        table.code = code_col.and_then(|c| r.get(c)).map(|s| s.trim().to_string());
        table.title = label_col.and_then(|c| r.get(c)).map(|s| s.trim().to_string());
    }
    let mut strings = Interner::new();
    let mut quality_strings: HashMap<String, Arc<str>> = HashMap::new();
    let mut var_index: HashMap<String, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut var_key = String::new();
    let mut date_cache: HashMap<String, u32, foldhash::fast::RandomState> = HashMap::default();
    // Key text → (key, name) as shared strings.
    type KeyName = (Arc<str>, Option<Arc<str>>);
    let mut areas: HashMap<String, KeyName, foldhash::fast::RandomState> = HashMap::default();
    let mut numbers = FlatNumbers { given: opts.decimal, seen: None };
    let mut problems: Vec<String> = Vec::new();
    let mut process = |r: &csv::ByteRecord, table: &mut Table, problems: &mut Vec<String>| -> Result<()> {
        if r.len() <= 1 && r.iter().all(|f| f.trim_ascii().is_empty()) {
            return Ok(());
        }
        let line = r.position().map(|p| p.line() as u32).unwrap_or(0);
        let get = |c: usize| r.get(c).map(|f| std::str::from_utf8(f).unwrap_or("").trim()).unwrap_or("");
        let key = get(layout.key);
        if key.is_empty() {
            problems.push(format!("Zeile {line}: Gebietsschlüssel fehlt"));
            return Ok(());
        }
        let time = get(layout.time);
        let di = match date_cache.get(time) {
            Some(&d) => d,
            None => match parse_reference_date(time) {
                Some(d) => {
                    let i = date_index(&mut table.dates, &d);
                    date_cache.insert(time.to_string(), i);
                    i
                }
                None => {
                    problems.push(format!("Zeile {line}: Zeitangabe „{time}“ ist kein Datum und kein Jahr"));
                    return Ok(());
                }
            },
        };
        // Key and name together: one lookup per row.
        let (key, name) = match areas.get(key) {
            Some(a) => a.clone(),
            None => {
                let name = get(layout.name);
                let a = (strings.get(key), (!name.is_empty()).then(|| strings.get(name)));
                areas.insert(key.to_string(), a.clone());
                a
            }
        };
        let part = |p: &Part| match p {
            Part::Fixed(s) => s.clone(),
            Part::Column(c) => get(*c).to_string(),
        };
        for vc in &layout.values {
            let raw = get(vc.value);
            if opts.missing.iter().any(|m| m == raw) {
                table.empty_cells += 1;
                continue;
            }
            let parsed = match numbers.cell(raw, line, file)? {
                Ok(Some(p)) => p,
                Ok(None) => {
                    table.empty_cells += 1;
                    continue;
                }
                Err(()) => {
                    problems.push(format!("Zeile {line}, Spalte „{}“: „{raw}“ ist weder Zahl noch amtliches Zeichen", header[vc.value]));
                    continue;
                }
            };
            // The variable: value variable (and unit) plus the other dimensions' codes.
            var_key.clear();
            for p in [Some(&vc.code), vc.unit.as_ref()].into_iter().flatten() {
                match p {
                    Part::Fixed(s) => var_key.push_str(s),
                    Part::Column(c) => var_key.push_str(get(*c)),
                }
                var_key.push('\u{1f}');
            }
            if let Part::Column(c) = &vc.label {
                var_key.push_str(get(*c));
            }
            for &(a, _) in &layout.others {
                var_key.push('\u{1f}');
                var_key.push_str(get(a));
            }
            let vi = match var_index.get(var_key.as_str()) {
                Some(&i) => i,
                None => {
                    let mut id = part(&vc.code);
                    let mut label = part(&vc.label);
                    for &(a, l) in &layout.others {
                        id.push('_');
                        id.push_str(get(a));
                        label.push_str(" – ");
                        label.push_str(get(l));
                    }
                    let unit = vc.unit.as_ref().map(part).filter(|u| !u.is_empty());
                    table.variables.push(Variable { id: identifier(&id), label, unit });
                    let i = (table.variables.len() - 1) as u32;
                    var_index.insert(var_key.clone(), i);
                    i
                }
            };
            if matches!(parsed.cell, Cell::Symbol(_)) {
                table.symbols += 1;
            }
            let flag = vc.quality.map(get).filter(|s| !s.is_empty()).or(parsed.quality);
            let quality = flag.map(|f| {
                *table.quality.entry(f.to_string()).or_default() += 1;
                match quality_strings.get(f) {
                    Some(a) => Arc::clone(a),
                    None => {
                        let a: Arc<str> = Arc::from(f);
                        quality_strings.insert(f.to_string(), Arc::clone(&a));
                        a
                    }
                }
            });
            table.records.push(Record {
                line,
                column: vc.value as u32,
                key: Arc::clone(&key),
                name: name.clone(),
                variable: vi,
                date: di,
                cell: parsed.cell,
                quality,
            });
        }
        Ok(())
    };
    for r in &sample {
        process(r, &mut table, &mut problems)?;
    }
    while rdr.read_byte_record(&mut rec).map_err(read_err)? {
        process(&rec, &mut table, &mut problems)?;
        if problems.len() > 1000 {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems });
    }
    // One code with several labels or units (a value and its rate of change): the label or
    // unit tells them apart in the id.
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for v in &table.variables {
        *by_id.entry(v.id.clone()).or_default() += 1;
    }
    for v in &mut table.variables {
        if by_id[&v.id] > 1 {
            v.id = format!("{}_{}", v.id, identifier(v.unit.as_deref().unwrap_or(&v.label)));
        }
    }
    dedupe_ids(&mut table.variables);
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blocks_combine() {
        let rows = vec![
            vec!["".into(), "".into(), "männlich".into(), "".into(), "weiblich".into(), "".into()],
            vec!["".into(), "".into(), "unter 3 Jahre".into(), "3 bis 6 Jahre".into(), "unter 3 Jahre".into(), "3 bis 6 Jahre".into()],
        ];
        let parts = combine_header(&rows, 6);
        assert_eq!(parts[2], vec!["männlich", "unter 3 Jahre"]);
        assert_eq!(parts[3], vec!["männlich", "3 bis 6 Jahre"]);
        assert_eq!(parts[5], vec!["weiblich", "3 bis 6 Jahre"]);
        // The lowest row is never filled; a span stops at its parent's end.
        let rows = vec![
            vec!["A".into(), "".into(), "B".into(), "".into()],
            vec!["x".into(), "".into(), "y".into(), "z".into()],
            vec!["1".into(), "2".into(), "".into(), "".into()],
        ];
        let parts = combine_header(&rows, 4);
        assert_eq!(parts[1], vec!["A", "x", "2"]);
        assert_eq!(parts[3], vec!["B", "z"]);
        let (d, rest) = split_date(&["31.12.2015".to_string(), "Insgesamt".to_string()]);
        assert_eq!(d.unwrap().iso, "2015-12-31");
        assert_eq!(rest, vec!["Insgesamt"]);
    }

    #[test]
    fn value_cells() {
        let c = |s: &str| value_cell(s, NumberFormat::Comma);
        assert_eq!(c("1234").unwrap().unwrap().cell, Cell::Number(1234.0));
        assert_eq!(c("12,5").unwrap().unwrap().cell, Cell::Number(12.5));
        assert_eq!(c("-").unwrap().unwrap().cell, Cell::Symbol(Symbol::Zero));
        assert_eq!(c("...").unwrap().unwrap().cell, Cell::Symbol(Symbol::NotYetAvailable));
        let p = c("(123)").unwrap().unwrap();
        assert_eq!((p.cell, p.quality), (Cell::Number(123.0), Some("()")));
        let f = c("4711 1)").unwrap().unwrap();
        assert_eq!((f.cell, f.footnote), (Cell::Number(4711.0), true));
        let q = c("17 p").unwrap().unwrap();
        assert_eq!((q.cell, q.quality), (Cell::Number(17.0), Some("p")));
        assert_eq!(c("").unwrap(), None);
        assert!(c("viele").is_err());
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect("GENESIS-Tabelle: 12411-01-01-4\nBevölkerung;;\n"), Some(Format::GenesisTable));
        assert_eq!(
            detect(
                "statistics_code;statistics_label;time_code;time_label;time;1_variable_code;value;value_unit;value_variable_code;value_variable_label;value_q\n"
            ),
            Some(Format::Flat)
        );
        assert_eq!(detect("Statistik_Code;Statistik_Label;Zeit_Code;Zeit_Label;Zeit;1_Merkmal_Code\n"), Some(Format::FlatLegacy));
        assert_eq!(detect("gebiet;jahr;einwohner\n01;2020;5\n"), None);
        // No marker: a title line and keys of several levels (a Landesdatenbank export).
        assert_eq!(
            detect("Bevölkerung am 31.12.2023;;\n;;Insgesamt\n05;NRW;1\n051;Düsseldorf;1\n05111;Düsseldorf, krfr. Stadt;1\n"),
            Some(Format::GenesisTable)
        );
        // A plain keyed table with a header row is not official.
        assert_eq!(detect("Schlüssel;Name;Einwohner\n05111;A;1\n05112;B;2\n05113;C;3\n"), None);
    }

    proptest::proptest! {
        /// Any cell text: no panic; a plain number reads as itself in both notations.
        #[test]
        fn cells_read_safely(s in "\\PC{0,20}", n in 0u32..10_000_000) {
            let _ = value_cell(&s, NumberFormat::Comma);
            let _ = value_cell(&s, NumberFormat::Point);
            let t = n.to_string();
            proptest::prop_assert_eq!(value_cell(&t, NumberFormat::Comma).unwrap().unwrap().cell, Cell::Number(n as f64));
        }

        /// Any header block combines without panic into one name list per column.
        #[test]
        fn header_blocks_combine_safely(rows in proptest::collection::vec(proptest::collection::vec("[a-c]?", 0..6), 1..4)) {
            let width = rows.iter().map(Vec::len).max().unwrap_or(0);
            let parts = combine_header(&rows, width);
            proptest::prop_assert_eq!(parts.len(), width);
        }
    }
}
