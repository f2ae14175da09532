//! Official key tables for boundary changes (Umsteigeschlüssel): one row per pair of an old
//! and a new area with the share of the old area that goes to the new one, as statistics
//! offices and the BBSR deliver them for municipal reforms — CSV (any delimiter, German or
//! English number format) or a spreadsheet. The share may be a fraction (0.6), a percentage
//! (60, or "60 %"; a bare number above 1 is read as percent, 1 as the whole area) or missing
//! where an old area goes whole to one new area. Not yet reachable from the CLI: the
//! `crosswalk import` command that stores it comes with area versions. Read into
//! `core::crosswalk::Crosswalk::from_table`, whose checks name the rows.

use crate::table::{self, CellRef, TableOptions};
use crate::{ImportError, Result};
use quartier_core::crosswalk::Crosswalk;
use std::path::Path;

const OLD: &[&str] = &["alt", "alter schlüssel", "schlüssel alt", "schluessel_alt", "ags_alt", "old", "old_key", "from", "von"];
const NEW: &[&str] = &["neu", "neuer schlüssel", "schlüssel neu", "schluessel_neu", "ags_neu", "new", "new_key", "to", "nach"];
const SHARE: &[&str] = &["anteil", "gewicht", "faktor", "umsteigefaktor", "share", "weight", "anteil_prozent", "prozent"];

/// The columns of the key table: given by name, else recognised among the usual names.
#[derive(Debug, Clone, Default)]
pub struct KeyTableOptions {
    pub old_field: Option<String>,
    pub new_field: Option<String>,
    pub share_field: Option<String>,
}

fn find(sheet: &table::Sheet, given: Option<&str>, known: &[&str], what: &str, flag: &str, file: &str) -> Result<Option<usize>> {
    if let Some(name) = given {
        return sheet.column(name).map(Some).ok_or_else(|| {
            ImportError::file(file, format!("{flag} „{name}“: keine solche Spalte; vorhanden: {}", sheet.headers.join(", ")))
        });
    }
    let found = sheet.headers.iter().position(|h| known.iter().any(|k| h.trim().eq_ignore_ascii_case(k)));
    if found.is_none() && what != "Anteil" {
        return Err(ImportError::file(
            file,
            format!("keine Spalte für den {what} gefunden ({flag} angeben); vorhanden: {}", sheet.headers.join(", ")),
        ));
    }
    Ok(found)
}

/// A share as written: `0,6`, `0.6`, `60 %`, `60` (above 1: percent).
fn share(text: &str) -> Option<f64> {
    let t = text.trim();
    let (t, percent) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), true),
        None => (t, false),
    };
    let v: f64 = t.replace(['\u{a0}', ' '], "").replace(',', ".").parse().ok()?;
    Some(if percent || v > 1.0 { v / 100.0 } else { v })
}

/// Reads a key table; every problem names the file, the line and the column.
pub fn read_key_table(path: &Path, opts: &KeyTableOptions) -> Result<Crosswalk> {
    let file = path.display().to_string();
    let sheets = table::read(path, &TableOptions::default())?;
    let sheet = sheets.into_iter().next().ok_or_else(|| ImportError::file(&file, "die Datei enthält keine Tabelle"))?;
    let old = find(&sheet, opts.old_field.as_deref(), OLD, "alten Schlüssel", "--old-field", &file)?.expect("required");
    let new = find(&sheet, opts.new_field.as_deref(), NEW, "neuen Schlüssel", "--new-field", &file)?.expect("required");
    let share_col = find(&sheet, opts.share_field.as_deref(), SHARE, "Anteil", "--share-field", &file)?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for i in 0..sheet.len() {
        let line = sheet.line(i);
        let (Some(o), Some(n)) = (sheet.text(i, old), sheet.text(i, new)) else {
            if sheet.text(i, old).is_some() || sheet.text(i, new).is_some() {
                problems.push(format!("{}Zeile {line}: alter und neuer Schlüssel werden gebraucht", sheet.at()));
            }
            continue;
        };
        let w = match share_col.map(|c| sheet.cell(i, c)) {
            None | Some(CellRef::Empty) => Some(1.0),
            Some(CellRef::Number(v)) => Some(if v > 1.0 { v / 100.0 } else { v }),
            Some(CellRef::Text(t)) => share(t),
        };
        match w {
            Some(w) => {
                rows.push((o, n, w));
                lines.push(line);
            }
            None => problems.push(format!(
                "{}Zeile {line}, Spalte „{}“: „{}“ ist kein Anteil",
                sheet.at(),
                sheet.headers[share_col.expect("read from it")],
                share_col.and_then(|c| sheet.text(i, c)).unwrap_or_default()
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file, problems });
    }
    if rows.is_empty() {
        return Err(ImportError::file(&file, "keine Zeilen mit altem und neuem Schlüssel"));
    }
    // The core names rows by their position among the pairs read: give the file's lines.
    let at = sheet.at();
    Crosswalk::from_table(&rows).map_err(|errs| ImportError::Problems {
        file: file.clone(),
        problems: errs.into_iter().map(|e| format!("{at}{}", file_lines(&e, &lines))).collect(),
    })
}

/// Every "Zeile N" of a message (N: position among the pairs read) as the file's line.
fn file_lines(message: &str, lines: &[usize]) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("Zeile ") {
        out.push_str(&rest[..at + 6]);
        rest = &rest[at + 6..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        match rest[..digits].parse::<usize>().ok().and_then(|n| lines.get(n.wrapping_sub(1))) {
            Some(line) => out.push_str(&line.to_string()),
            None => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn a_key_table_in_german_with_percentages_and_whole_areas() {
        let (_d, p) =
            write("umstieg.csv", "Schlüssel alt;Schlüssel neu;Anteil\n0101;0101;\n0201;0201a;60 %\n0201;0201b;40 %\n0102;0101;1,0\n");
        let c = read_key_table(&p, &KeyTableOptions::default()).unwrap();
        assert!(c.check(1e-9).is_ok(), "{:?}", c.check(1e-9));
        let carried = c.carry_counts(&c.old.iter().map(|k| Some(if k == "0201" { 100.0 } else { 10.0 })).collect::<Vec<_>>());
        let at = |k: &str| carried.values[c.new.iter().position(|x| x == k).unwrap()].unwrap();
        assert_eq!((at("0101"), at("0201a"), at("0201b")), (20.0, 60.0, 40.0));
    }

    #[test]
    fn problems_name_the_file_line_and_column() {
        let (_d, p) = write("umstieg.csv", "alt,neu,anteil\nA,A1,0.6\nA,A2,viel\nB,,1\nA,A1,0.4\n");
        let err = read_key_table(&p, &KeyTableOptions::default()).unwrap_err().to_string();
        assert!(err.contains("umstieg.csv") && err.contains("Zeile 3, Spalte „anteil“: „viel“ ist kein Anteil"), "{err}");
        assert!(err.contains("Zeile 4: alter und neuer Schlüssel werden gebraucht"), "{err}");
        let (_d, p) = write("umstieg.csv", "alt,neu,anteil\nA,A1,0.6\nA,A1,0.4\n");
        let err = read_key_table(&p, &KeyTableOptions::default()).unwrap_err().to_string();
        assert!(err.contains("Zeile 3") && err.contains("schon in Zeile 2"), "{err}");
        let (_d, p) = write("umstieg.csv", "von_key,bis\nA,B\n");
        let err = read_key_table(&p, &KeyTableOptions::default()).unwrap_err().to_string();
        assert!(err.contains("alten Schlüssel") && err.contains("--old-field"), "{err}");
    }
}
