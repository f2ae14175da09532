//! Tables from CSV and spreadsheets (XLSX, XLS, ODS) as one grid type.
//!
//! The format is decided by the file's content, not only its extension, so a CSV saved as
//! `.xlsx` gets a clear message instead of a zip error.

use crate::text;
use crate::{ImportError, Result, display};
use calamine::{Data, Reader};
use std::path::Path;

/// A borrowed cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
}

/// An owned spreadsheet cell.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCell {
    Empty,
    Text(String),
    Number(f64),
}

/// CSV rows packed into one text buffer (one allocation instead of two per row): a million
/// rows of a long-format delivery take about the size of the file.
#[derive(Debug, Default)]
struct Packed {
    buf: String,
    /// End offset in `buf` of every field, row after row (fields trimmed).
    ends: Vec<u32>,
    /// Per row: index of its first field in `ends`, and its 1-based line in the file.
    rows: Vec<(u32, u32)>,
}

impl Packed {
    fn push(&mut self, record: &csv::StringRecord, line: usize, file: &str) -> Result<()> {
        self.rows.push((self.ends.len() as u32, line as u32));
        for f in record.iter() {
            self.buf.push_str(f.trim());
            let end = u32::try_from(self.buf.len()).map_err(|_| ImportError::file(file, "CSV-Datei größer als 4 GB: bitte aufteilen"))?;
            self.ends.push(end);
        }
        Ok(())
    }

    fn field(&self, row: usize, col: usize) -> Option<&str> {
        let first = self.rows[row].0 as usize;
        let last = self.rows.get(row + 1).map(|r| r.0 as usize).unwrap_or(self.ends.len());
        let f = first + col;
        if f >= last {
            return None;
        }
        let start = if f == 0 { 0 } else { self.ends[f - 1] as usize };
        Some(&self.buf[start..self.ends[f] as usize])
    }
}

#[derive(Debug)]
enum Rows {
    Csv(Packed),
    Grid(Vec<(usize, Vec<RawCell>)>),
}

/// One sheet (or the CSV file) with a header row.
#[derive(Debug)]
pub struct Sheet {
    /// Sheet name; `None` for CSV.
    pub name: Option<String>,
    pub headers: Vec<String>,
    rows: Rows,
}

impl Sheet {
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Csv(r) => r.rows.len(),
            Rows::Grid(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// 1-based line (CSV) or row number (spreadsheet) of data row `i`.
    pub fn line(&self, i: usize) -> usize {
        match &self.rows {
            Rows::Csv(r) => r.rows[i].1 as usize,
            Rows::Grid(r) => r[i].0,
        }
    }

    pub fn cell(&self, i: usize, col: usize) -> CellRef<'_> {
        match &self.rows {
            Rows::Csv(r) => match r.field(i, col) {
                None | Some("") => CellRef::Empty,
                Some(s) => CellRef::Text(s),
            },
            Rows::Grid(r) => match r[i].1.get(col) {
                None | Some(RawCell::Empty) => CellRef::Empty,
                Some(RawCell::Text(s)) if s.trim().is_empty() => CellRef::Empty,
                Some(RawCell::Text(s)) => CellRef::Text(s.trim()),
                Some(RawCell::Number(v)) => CellRef::Number(*v),
            },
        }
    }

    /// Index of a header, compared case-insensitively and ignoring surrounding space.
    pub fn column(&self, name: &str) -> Option<usize> {
        let n = name.trim();
        self.headers.iter().position(|h| h.trim() == n).or_else(|| self.headers.iter().position(|h| h.trim().eq_ignore_ascii_case(n)))
    }

    /// A cell as text (numbers formatted without a trailing `.0`).
    pub fn text(&self, i: usize, col: usize) -> Option<String> {
        match self.cell(i, col) {
            CellRef::Empty => None,
            CellRef::Text(s) => Some(s.to_string()),
            CellRef::Number(v) => Some(number_text(v)),
        }
    }

    /// "Blatt „X“, " prefix for messages, or "".
    pub fn at(&self) -> String {
        self.name.as_ref().map(|n| format!("Blatt „{n}“, ")).unwrap_or_default()
    }
}

/// Formats a spreadsheet number as a key would be typed (`1011101`, not `1011101.0`).
pub fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// How to read a table.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<u8>,
    /// Sheet name, or `all`; default: the first sheet.
    pub sheet: Option<String>,
    /// 1-based header row; default: detected (first row that looks like a header).
    pub header_row: Option<usize>,
    /// Rows in the header block (merged multi-row headers), from `header_row` on; default:
    /// detected in spreadsheets, 1 in CSV.
    pub header_rows: Option<usize>,
}

/// The kind of file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Zip,
    Ole,
    Sqlite,
    Json,
    Text,
    Binary,
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if b.starts_with(b"PK\x03\x04") {
        Sniffed::Zip
    } else if b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Sniffed::Ole
    } else if b.starts_with(b"SQLite format 3\0") {
        Sniffed::Sqlite
    } else if b.iter().find(|c| !c.is_ascii_whitespace()).is_some_and(|&c| c == b'{' || c == b'[') {
        Sniffed::Json
    } else if b.iter().take(4096).any(|&c| c == 0) {
        Sniffed::Binary
    } else {
        Sniffed::Text
    }
}

pub fn sniffed_name(s: Sniffed) -> &'static str {
    match s {
        Sniffed::Zip => "ZIP/Excel (xlsx)",
        Sniffed::Ole => "altes Excel (xls)",
        Sniffed::Sqlite => "SQLite/GeoPackage",
        Sniffed::Json => "JSON",
        Sniffed::Text => "Text/CSV",
        Sniffed::Binary => "Binärdatei",
    }
}

pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "Datei nicht gefunden".to_string(),
            std::io::ErrorKind::PermissionDenied => "keine Leseberechtigung".to_string(),
            _ => e.to_string(),
        };
        ImportError::file(&display(path), format!("kann nicht gelesen werden: {why}"))
    })
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// Reads the sheets of a CSV or spreadsheet file.
pub fn read(path: &Path, opts: &TableOptions) -> Result<Vec<Sheet>> {
    let file = display(path);
    let bytes = read_bytes(path)?;
    let ext = extension(path);
    let kind = sniff(&bytes);
    let spreadsheet = matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods");
    match (spreadsheet, kind) {
        (true, Sniffed::Zip | Sniffed::Ole) => read_spreadsheet(path, &file, opts),
        (true, k) => Err(ImportError::file(
            &file,
            format!("Endung .{ext}, aber der Inhalt ist keine Tabellenkalkulation (erkannt: {})", sniffed_name(k)),
        )),
        (false, Sniffed::Text) => read_csv(bytes, &file, opts).map(|s| vec![s]),
        (false, Sniffed::Zip | Sniffed::Ole) if ext.is_empty() => read_spreadsheet(path, &file, opts),
        (false, k) => {
            Err(ImportError::file(&file, format!("als CSV/Text erwartet (Endung .{ext}), aber der Inhalt ist {}", sniffed_name(k))))
        }
    }
}

fn read_csv(bytes: Vec<u8>, file: &str, opts: &TableOptions) -> Result<Sheet> {
    let text = text::decode_owned(bytes, opts.encoding.as_deref(), file)?;
    if text.trim().is_empty() {
        return Err(ImportError::file(file, "die Datei ist leer"));
    }
    let delim = opts.delimiter.unwrap_or_else(|| text::sniff_delimiter(&text));
    let mut rdr = csv::ReaderBuilder::new().delimiter(delim).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let header_line = opts.header_row.unwrap_or(0);
    // Title lines (one filled field) above a table of several columns are not its header.
    let widest = text.lines().filter(|l| !l.trim().is_empty()).take(30).map(|l| text::filled_fields(l, delim)).max().unwrap_or(0);
    let mut headers: Option<csv::StringRecord> = None;
    let extra_header_rows = opts.header_rows.unwrap_or(1).saturating_sub(1);
    let mut block: Vec<Vec<String>> = Vec::new();
    let mut rows = Packed { buf: String::with_capacity(text.len()), ..Default::default() };
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(ImportError::file(file, format!("Zeile {line}: CSV nicht lesbar: {e}")));
            }
        }
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        match &headers {
            None => {
                let filled = record.iter().filter(|f| !f.trim().is_empty()).count();
                let skip =
                    if header_line > 0 { line < header_line } else { filled == 0 || (filled == 1 && widest >= 2 && block.is_empty()) };
                if !skip {
                    block.push(record.iter().map(str::to_string).collect());
                    if block.len() > extra_header_rows {
                        let width = block.iter().map(Vec::len).max().unwrap_or(0);
                        let names: Vec<String> =
                            crate::official::combine_header(&block, width).into_iter().map(|p| p.join(" – ")).collect();
                        headers = Some(csv::StringRecord::from(names));
                    }
                }
            }
            Some(h) => {
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if record.len() > h.len() && record.iter().skip(h.len()).any(|f| !f.trim().is_empty()) {
                    return Err(ImportError::file(
                        file,
                        format!(
                            "Zeile {line}: {} Felder, die Kopfzeile hat nur {} (Trennzeichen „{}“ richtig? Dezimalkomma ohne Anführungszeichen?)",
                            record.len(),
                            h.len(),
                            delim as char
                        ),
                    ));
                }
                rows.push(&record, line, file)?;
            }
        }
    }
    let headers = headers.ok_or_else(|| ImportError::file(file, "keine Kopfzeile gefunden"))?;
    Ok(Sheet { name: None, headers: headers.iter().map(|h| h.trim().to_string()).collect(), rows: Rows::Csv(rows) })
}

fn read_spreadsheet(path: &Path, file: &str, opts: &TableOptions) -> Result<Vec<Sheet>> {
    let mut wb =
        calamine::open_workbook_auto(path).map_err(|e| ImportError::file(file, format!("Tabellenkalkulation nicht lesbar: {e}")))?;
    let names = wb.sheet_names();
    let chosen: Vec<String> = match opts.sheet.as_deref() {
        None => names.first().cloned().into_iter().collect(),
        Some("all") | Some("alle") => names.clone(),
        Some(s) => {
            if !names.iter().any(|n| n == s) {
                return Err(ImportError::file(file, format!("kein Blatt „{s}“; vorhanden: {}", names.join(", "))));
            }
            vec![s.to_string()]
        }
    };
    // Merged cells of xlsx and xls (calamine reads them there; ods has none to read).
    let merged: Vec<(String, calamine::Dimensions)> = match &mut wb {
        calamine::Sheets::Xlsx(x) => {
            chosen.iter().flat_map(|s| x.merge_cells_by_sheet_name(s).unwrap_or_default().into_iter().map(|d| (s.clone(), d))).collect()
        }
        calamine::Sheets::Xls(x) => {
            chosen.iter().flat_map(|s| x.merge_cells_by_sheet_name(s).unwrap_or_default().into_iter().map(|d| (s.clone(), d))).collect()
        }
        _ => vec![],
    };
    let mut sheets = Vec::new();
    for name in chosen {
        let range = wb.worksheet_range(&name).map_err(|e| ImportError::file(file, format!("Blatt „{name}“ nicht lesbar: {e}")))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let grid: Vec<(usize, Vec<RawCell>)> = range
            .rows()
            .enumerate()
            .map(|(i, row)| {
                let mut cells: Vec<RawCell> = vec![RawCell::Empty; c0 as usize];
                cells.extend(row.iter().map(|d| match d {
                    Data::Empty => RawCell::Empty,
                    Data::String(s) => RawCell::Text(s.clone()),
                    Data::Float(f) => RawCell::Number(*f),
                    Data::Int(i) => RawCell::Number(*i as f64),
                    Data::Bool(b) => RawCell::Text(b.to_string()),
                    Data::DateTime(d) => RawCell::Number(d.as_f64()),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.clone()),
                    Data::Error(e) => RawCell::Text(format!("#{e:?}")),
                }));
                (r0 as usize + i + 1, cells)
            })
            .collect::<Vec<_>>();
        // Merged cells: every cell of a range shows the range's value (a spanning label in
        // a multi-row header, a name over several rows).
        let mut grid = grid;
        for (_, d) in merged.iter().filter(|(s, _)| *s == name) {
            let (top, left) = (d.start.0 as usize + 1, d.start.1 as usize);
            let Some(ti) = grid.iter().position(|(l, _)| *l == top) else { continue };
            let value = grid[ti].1.get(left).cloned().unwrap_or(RawCell::Empty);
            for (line, cells) in grid.iter_mut() {
                if *line >= top && *line <= d.end.0 as usize + 1 {
                    for c in left..=d.end.1 as usize {
                        if cells.len() <= c {
                            cells.resize(c + 1, RawCell::Empty);
                        }
                        cells[c] = value.clone();
                    }
                }
            }
        }
        let filled = |c: &Vec<RawCell>| c.iter().filter(|x| !matches!(x, RawCell::Empty)).count();
        let widest = grid.iter().map(|(_, c)| filled(c)).max().unwrap_or(0);
        if widest == 0 {
            if opts.sheet.as_deref() == Some("all") {
                continue;
            }
            return Err(ImportError::file(file, format!("Blatt „{name}“ ist leer")));
        }
        let header_idx = match opts.header_row {
            Some(h) => grid
                .iter()
                .position(|(line, _)| *line == h)
                .ok_or_else(|| ImportError::file(file, format!("Blatt „{name}“ hat keine Zeile {h}")))?,
            // The first row filled at least half as wide as the widest row (skips title lines).
            None => grid.iter().position(|(_, c)| filled(c) * 2 >= widest).unwrap_or(0),
        };
        let text = |c: &RawCell| match c {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => s.trim().to_string(),
            RawCell::Number(v) => number_text(*v),
        };
        // The header block: the header row and the rows below it that hold labels, not
        // data (no numbers right of the first two columns); at most four.
        let year = |v: f64| v.fract() == 0.0 && (1900.0..=2100.0).contains(&v);
        let years_row = |cells: &Vec<RawCell>| {
            cells.iter().take(1).all(|c| matches!(c, RawCell::Empty))
                && cells.iter().all(|c| match c {
                    RawCell::Number(v) => year(*v),
                    _ => true,
                })
        };
        let labels_only = |cells: &Vec<RawCell>| {
            years_row(cells)
                || cells.iter().skip(2).all(|c| match c {
                    RawCell::Number(_) => false,
                    RawCell::Text(t) => {
                        quartier_core::cell::parse_number(t.trim(), quartier_core::NumberFormat::Comma).is_none()
                            && quartier_core::Symbol::parse(t.trim()).is_none()
                    }
                    RawCell::Empty => true,
                })
        };
        let block_len = match opts.header_rows {
            Some(n) => n.max(1),
            None => {
                let mut n = 1;
                while n < 4 && grid.get(header_idx + n).is_some_and(|(_, c)| filled(c) > 0 && labels_only(c)) {
                    n += 1;
                }
                // Stop before a row that starts the data (its first cell a key or name with
                // numbers further right is caught above; a label row under a merged header
                // has empty first cells).
                n
            }
        };
        if header_idx + block_len > grid.len() {
            return Err(ImportError::file(file, format!("Blatt „{name}“: --header-rows {block_len} reicht über das Tabellenende")));
        }
        let block: Vec<Vec<String>> = grid[header_idx..header_idx + block_len].iter().map(|(_, c)| c.iter().map(text).collect()).collect();
        let width = block.iter().map(Vec::len).max().unwrap_or(0);
        let headers: Vec<String> = crate::official::combine_header(&block, width).into_iter().map(|p| p.join(" – ")).collect();
        let header_idx = header_idx + block_len - 1;
        // Notes below the table (footnotes, source lines): rows after the last row with at
        // least two filled cells.
        let last_data = grid.iter().rposition(|(_, c)| filled(c) >= 2).unwrap_or(grid.len().saturating_sub(1));
        grid.truncate(last_data + 1);
        let rows: Vec<(usize, Vec<RawCell>)> = grid.into_iter().skip(header_idx + 1).filter(|(_, c)| filled(c) > 0).collect();
        sheets.push(Sheet { name: Some(name), headers, rows: Rows::Grid(rows) });
    }
    if sheets.is_empty() {
        return Err(ImportError::file(file, "keine Tabellenblätter mit Daten"));
    }
    Ok(sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_content() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Sniffed::Zip);
        assert_eq!(sniff(b"  {\"type\":1}"), Sniffed::Json);
        assert_eq!(sniff(b"id;name\n"), Sniffed::Text);
    }
}
