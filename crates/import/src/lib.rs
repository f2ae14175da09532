//! Readers for the files social planners receive, turning them into plain batches for the
//! store. Nothing here writes except [`load`], through the store's transactions: a reader either returns a complete, validated batch or an
//! error that names the file, the line or feature, the field and what was expected.
//!
//! - [`areas`]: GeoJSON (with the legacy `crs` member), ESRI Shapefile, GeoPackage, and
//!   plain CSV/XLSX area tables; CRS detection, reprojection to WGS84, areas in m², parents
//!   from a field, from key prefixes or spatially.
//! - [`data`]: statistics in CSV/XLSX, long and wide layouts, official symbols, German
//!   number formats, import profiles.
//! - [`offers`]: the offer directory in HSDS style (CSV folder or JSON), and its export.
//! - [`table`]: the shared CSV/XLSX grid reader (encodings, delimiters, sheets).
//! - [`load`]: read and store through the `Store` trait, one transaction per file (the one
//!   import path of the CLI, the demo and the web app).

pub mod areas;
pub mod crosswalk;
pub mod data;
pub mod load;
pub mod offers;
pub mod official;
pub mod placement;
pub mod points;
pub mod table;
pub(crate) mod text;

/// An import failed; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// One problem with the file as a whole or at one place in it.
    #[error("{file}: {message}")]
    File { file: String, message: String },
    /// Several problems at places in the file.
    #[error("{file}: {} Problem(e), nichts wurde gespeichert:\n{}", problems.len(), list(problems))]
    Problems { file: String, problems: Vec<String> },
}

fn list(p: &[String]) -> String {
    const SHOWN: usize = 30;
    let mut s: Vec<String> = p.iter().take(SHOWN).map(|p| format!("  - {p}")).collect();
    if p.len() > SHOWN {
        s.push(format!("  … und {} weitere", p.len() - SHOWN));
    }
    s.join("\n")
}

impl ImportError {
    pub(crate) fn file(file: &str, message: impl Into<String>) -> ImportError {
        ImportError::File { file: file.to_string(), message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, ImportError>;

/// Shared strings: each key, name, variable and flag of a delivery is stored once (a million
/// rows repeat a few thousand texts; foldhash because std's SipHash dominated profiles).
#[derive(Default)]
pub(crate) struct Interner(std::collections::HashMap<std::sync::Arc<str>, (), foldhash::fast::RandomState>);

impl Interner {
    pub(crate) fn new() -> Interner {
        Interner::default()
    }

    pub(crate) fn get(&mut self, s: &str) -> std::sync::Arc<str> {
        if let Some((k, _)) = self.0.get_key_value(s) {
            return std::sync::Arc::clone(k);
        }
        let a: std::sync::Arc<str> = std::sync::Arc::from(s);
        self.0.insert(std::sync::Arc::clone(&a), ());
        a
    }
}

/// Display name of a path for messages.
pub(crate) fn display(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// Turns a column header or variable name into an identifier usable in formulas:
/// lower case, umlauts transliterated, other characters as `_`.
pub fn identifier(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {
                if !out.ends_with('_') {
                    out.push('_')
                }
            }
        }
    }
    let t = out.trim_matches('_').to_string();
    if t.starts_with(|c: char| c.is_ascii_digit()) { format!("v_{t}") } else { t }
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers() {
        assert_eq!(super::identifier("Einwohner gesamt"), "einwohner_gesamt");
        assert_eq!(super::identifier("SGB II-Empfänger < 15 J."), "sgb_ii_empfaenger_15_j");
        assert_eq!(super::identifier("s1_percentage_unemployed"), "s1_percentage_unemployed");
        assert_eq!(super::identifier("2019"), "v_2019");
    }
}
