//! Checks of a statistical delivery before anything is stored.
//!
//! Every problem carries the location in the source file, so that the message can name
//! file, line and column; all problems are collected, not only the first.

use crate::cell::Cell;
use crate::keys::{self, KeyHint};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Where a value came from in its file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// Sheet name for spreadsheets.
    pub sheet: Option<Arc<str>>,
    /// 1-based line (CSV) or row (spreadsheet).
    pub line: usize,
    /// Column header.
    pub column: Arc<str>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.sheet {
            write!(f, "Blatt „{s}“, ")?;
        }
        write!(f, "Zeile {}, Spalte „{}“", self.line, self.column)
    }
}

/// One delivered value with its coordinates. Strings are shared (`Arc<str>`): a delivery
/// repeats each area key, variable and column name many times.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRow {
    pub area: Arc<str>,
    pub year: i32,
    pub variable: Arc<str>,
    pub cell: Cell,
    pub at: Location,
    /// The exact reference date when the delivery gives one (`2023-12-31`, `2023-06`).
    pub reference_date: Option<Arc<str>>,
    /// The statistics office's quality flag (GENESIS `_q`: `e` final, `p` provisional,
    /// `r` revised, `s` estimated; `()` limited reliability).
    pub quality: Option<Arc<str>>,
}

/// Whether a variable holds counts (summed up the hierarchy, never negative) or rates
/// delivered as such (published shares, changes; may be negative, never summed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    Count,
    Rate,
}

impl VariableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VariableKind::Count => "count",
            VariableKind::Rate => "rate",
        }
    }
}

/// A problem found in a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Duplicate {
        area: Arc<str>,
        year: i32,
        variable: Arc<str>,
        at: Location,
        first: Location,
    },
    NegativeCount {
        value: f64,
        variable: Arc<str>,
        at: Location,
    },
    UnknownArea {
        area: Arc<str>,
        at: Location,
        hint: Option<KeyHint>,
    },
    /// The area's key exists, but no version of it is valid at the value's reference date
    /// (`date`; None: on the current boundaries, where the area is retired). `spans` says
    /// when its versions are valid.
    AreaNotValid {
        area: Arc<str>,
        at: Location,
        date: Option<String>,
        spans: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Duplicate { area, year, variable, at, first } => {
                write!(f, "{at}: doppelter Wert für Gebiet „{area}“, Jahr {year}, Merkmal „{variable}“ (schon in Zeile {})", first.line)
            }
            Problem::NegativeCount { value, variable, at } => write!(
                f,
                "{at}: negative Anzahl {value} für „{variable}“; erwartet wird eine Zahl ≥ 0 (ist „{variable}“ eine Quote? dann --rate {variable})"
            ),
            Problem::UnknownArea { area, at, hint } => {
                // The location names the row; its column is the value's, not the key's.
                if let Some(sh) = &at.sheet {
                    write!(f, "Blatt „{sh}“, ")?;
                }
                write!(f, "Zeile {}: unbekannter Gebietsschlüssel „{area}“", at.line)?;
                match hint {
                    Some(KeyHint::LeadingZeros { known }) => {
                        write!(f, " — führende Null verloren? Gemeint ist wohl „{known}“ (Schlüssel als Text speichern, nicht als Zahl)")
                    }
                    Some(KeyHint::Whitespace { known }) => write!(f, " — Leerzeichen? Gemeint ist wohl „{known}“"),
                    None => Ok(()),
                }
            }
            Problem::AreaNotValid { area, at, date: Some(date), spans } => write!(
                f,
                "{at}: Gebiet „{area}“ gilt am {date} nicht (Gebietsstand {spans}); ist der Wert schon auf den heutigen Gebietsstand umgerechnet, mit --current-boundaries importieren"
            ),
            Problem::AreaNotValid { area, at, date: None, spans } => {
                write!(f, "{at}: Gebiet „{area}“ gehört nicht zum heutigen Gebietsstand (gültig {spans})")
            }
        }
    }
}

/// Checks rows for duplicates, negative counts and unknown areas.
///
/// `kinds` gives each variable's kind (unlisted variables count as [`VariableKind::Count`]);
/// `known_areas` is the set of keys the rows may use.
pub fn check_rows(rows: &[DataRow], kinds: &HashMap<String, VariableKind>, known_areas: &HashSet<String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Areas and variables as small numbers: rows share their strings, so most lookups go by
    // address, and the duplicate check hashes three integers instead of two strings.
    let mut areas = Ids::default();
    let mut variables = Ids::default();
    let mut known: Vec<bool> = Vec::new();
    let mut reported: Vec<bool> = Vec::new();
    let mut counts: Vec<bool> = Vec::new();
    let mut seen: HashMap<(u32, i32, u32), u32, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(rows.len(), Default::default());
    for (i, r) in rows.iter().enumerate() {
        let a = areas.id(&r.area, |k| {
            known.push(known_areas.contains(k));
            reported.push(false);
        });
        let v = variables.id(&r.variable, |k| counts.push(kinds.get(k).copied().unwrap_or(VariableKind::Count) == VariableKind::Count));
        if let Some(first) = seen.insert((a, r.year, v), i as u32) {
            problems.push(Problem::Duplicate {
                area: r.area.clone(),
                year: r.year,
                variable: r.variable.clone(),
                at: r.at.clone(),
                first: rows[first as usize].at.clone(),
            });
        }
        if counts[v as usize]
            && let Cell::Number(x) = r.cell
            && x < 0.0
        {
            problems.push(Problem::NegativeCount { value: x, variable: r.variable.clone(), at: r.at.clone() });
        }
        if !known[a as usize] && !reported[a as usize] {
            reported[a as usize] = true;
            problems.push(Problem::UnknownArea { area: r.area.clone(), at: r.at.clone(), hint: keys::suggest(&r.area, known_areas) });
        }
    }
    problems
}

/// Numbers for strings: by the address of a shared string first, by its text second.
#[derive(Default)]
struct Ids<'a> {
    by_addr: HashMap<usize, u32, foldhash::fast::RandomState>,
    by_text: HashMap<&'a str, u32, foldhash::fast::RandomState>,
}

impl<'a> Ids<'a> {
    /// The number of `s`; `new` runs once for each new text.
    fn id(&mut self, s: &'a Arc<str>, new: impl FnOnce(&str)) -> u32 {
        let addr = Arc::as_ptr(s) as *const u8 as usize;
        if let Some(&i) = self.by_addr.get(&addr) {
            return i;
        }
        let n = self.by_text.len() as u32;
        let i = *self.by_text.entry(s).or_insert_with(|| {
            new(s);
            n
        });
        self.by_addr.insert(addr, i);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(area: &str, year: i32, var: &str, v: f64, line: usize) -> DataRow {
        DataRow {
            reference_date: None,
            quality: None,
            area: area.into(),
            year,
            variable: var.into(),
            cell: Cell::Number(v),
            at: Location { sheet: None, line, column: "wert".into() },
        }
    }

    fn check(rows: &[DataRow], expected: &[&str]) {
        let known: HashSet<String> = ["01011101".to_string(), "01011102".to_string()].into();
        let kinds: HashMap<String, VariableKind> = [("d1".to_string(), VariableKind::Rate)].into();
        let got: Vec<String> = check_rows(rows, &kinds, &known).iter().map(|p| p.to_string()).collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert!(g.contains(e), "{g:?} should contain {e:?}");
        }
    }

    #[test]
    fn clean_rows_pass() {
        check(&[row("01011101", 2019, "pop", 10.0, 2), row("01011102", 2019, "pop", 0.0, 3), row("01011101", 2019, "d1", -2.0, 4)], &[]);
    }

    #[test]
    fn finds_each_problem() {
        check(
            &[row("01011101", 2019, "pop", 10.0, 2), row("01011101", 2019, "pop", 11.0, 3)],
            &["Zeile 3, Spalte „wert“: doppelter Wert für Gebiet „01011101“, Jahr 2019, Merkmal „pop“ (schon in Zeile 2)"],
        );
        check(&[row("01011101", 2019, "pop", -1.0, 2)], &["negative Anzahl -1"]);
        check(&[row("1011101", 2019, "pop", 1.0, 2), row("1011101", 2018, "pop", 1.0, 3)], &["„01011101“"]);
    }
}
