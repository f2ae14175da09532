//! Cell values as delivered: numbers, and the official symbols of German statistics.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Official symbols ("Zeichenerklärung") used by the Statistische Ämter des Bundes und der
/// Länder and the Bundesagentur für Arbeit in tables instead of numbers.
///
/// # References
/// Statistisches Bundesamt, "Zeichenerklärung" in every Fachserie; DIN 55301.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbol {
    /// `.` — unknown or secret (Zahlenwert unbekannt oder geheim zu halten).
    Unknown,
    /// `-` — exactly zero (nichts vorhanden, genau null).
    Zero,
    /// `x` — not meaningful (Tabellenfach gesperrt, weil Aussage nicht sinnvoll).
    NotMeaningful,
    /// `…` or `...` — not yet available (Angabe fällt später an).
    NotYetAvailable,
    /// `/` — too uncertain (keine Angabe, da Zahlenwert nicht sicher genug).
    Uncertain,
    /// `*` or `<3` — suppressed for confidentiality (Statistik der BA: Werte 1 und 2).
    Suppressed,
}

impl Symbol {
    /// All symbols, for listings.
    pub const ALL: [Symbol; 6] =
        [Symbol::Unknown, Symbol::Zero, Symbol::NotMeaningful, Symbol::NotYetAvailable, Symbol::Uncertain, Symbol::Suppressed];

    /// Reads an official symbol from a trimmed cell text.
    pub fn parse(s: &str) -> Option<Symbol> {
        Some(match s {
            "." => Symbol::Unknown,
            "-" | "–" => Symbol::Zero,
            "x" | "X" => Symbol::NotMeaningful,
            "…" | "..." => Symbol::NotYetAvailable,
            "/" => Symbol::Uncertain,
            // "•": "Zahlenwert unbekannt oder geheim zu halten" (Destatis, Zensus tables).
            "*" | "•" | "<3" | "< 3" => Symbol::Suppressed,
            _ => return None,
        })
    }

    /// The canonical symbol as printed in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Symbol::Unknown => ".",
            Symbol::Zero => "-",
            Symbol::NotMeaningful => "x",
            Symbol::NotYetAvailable => "…",
            Symbol::Uncertain => "/",
            Symbol::Suppressed => "*",
        }
    }

    /// Stable identifier used in storage and machine-readable output.
    pub fn code(self) -> &'static str {
        match self {
            Symbol::Unknown => "unknown",
            Symbol::Zero => "zero",
            Symbol::NotMeaningful => "not_meaningful",
            Symbol::NotYetAvailable => "not_yet_available",
            Symbol::Uncertain => "uncertain",
            Symbol::Suppressed => "suppressed",
        }
    }

    /// Inverse of [`Symbol::code`].
    pub fn from_code(code: &str) -> Option<Symbol> {
        Symbol::ALL.into_iter().find(|s| s.code() == code)
    }

    /// German meaning, for the UI.
    pub fn label_de(self) -> &'static str {
        match self {
            Symbol::Unknown => "unbekannt oder geheim",
            Symbol::Zero => "genau null",
            Symbol::NotMeaningful => "Aussage nicht sinnvoll",
            Symbol::NotYetAvailable => "noch nicht verfügbar",
            Symbol::Uncertain => "zu unsicher",
            Symbol::Suppressed => "geheimgehalten (kleine Fallzahl)",
        }
    }

    /// The number a symbol stands for, where it stands for one: only `-` (exactly zero).
    pub fn numeric(self) -> Option<f64> {
        (self == Symbol::Zero).then_some(0.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number as German readers write it, with `dec` decimals: 12.345,6 (a true minus sign for
/// negatives) — for reports, messages and the plain-language allocation formula alike.
pub fn format_de(v: f64, dec: usize) -> String {
    let s = format!("{:.*}", dec, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    if v < 0.0 && s.chars().any(|c| c != '0' && c != '.') { format!("−{out}") } else { out }
}

/// One delivered value: a number, or an official symbol kept apart from numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Number(f64),
    Symbol(Symbol),
}

impl Cell {
    /// The numeric value, if the cell stands for a number (`-` stands for 0).
    pub fn number(self) -> Option<f64> {
        match self {
            Cell::Number(v) => Some(v),
            Cell::Symbol(s) => s.numeric(),
        }
    }

    /// The symbol, if any.
    pub fn symbol(self) -> Option<Symbol> {
        match self {
            Cell::Number(_) => None,
            Cell::Symbol(s) => Some(s),
        }
    }
}

/// How numbers are written in a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// `1.234,5` — German: comma decimal, point (or space) thousands.
    Comma,
    /// `1,234.5` — English: point decimal, comma thousands.
    Point,
}

/// What a text looks like as a number, before the file's format is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberShape {
    /// Could only be read one way (`3,5`, `1.234,5`, `3.25`, `1,234.5`, `12`).
    Only(Option<NumberFormat>),
    /// Could be read both ways (`1.234`, `1,234`).
    Ambiguous,
    /// Not a number.
    NotNumber,
}

/// Classifies a trimmed text as a number shape, to detect a file's number format.
pub fn number_shape(s: &str) -> NumberShape {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') || !t.as_bytes()[0].is_ascii_digit() && t.len() == 1
    {
        return if parse_plain(s).is_some() { NumberShape::Only(None) } else { NumberShape::NotNumber };
    }
    let commas = t.matches(',').count();
    let points = t.matches('.').count();
    match (commas, points) {
        (0, 0) => NumberShape::Only(None),
        (0, _) | (_, 0) => {
            let sep = if commas > 0 { ',' } else { '.' };
            let groups: Vec<&str> = t.split(sep).collect();
            let thousands_ok =
                groups.len() >= 2 && !groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
            let decimal_ok = groups.len() == 2 && !groups[1].is_empty();
            let as_decimal = if sep == ',' { NumberFormat::Comma } else { NumberFormat::Point };
            let other = if sep == ',' { NumberFormat::Point } else { NumberFormat::Comma };
            match (decimal_ok, thousands_ok) {
                (true, true) => NumberShape::Ambiguous,
                (true, false) => NumberShape::Only(Some(as_decimal)),
                (false, true) => NumberShape::Only(Some(other)),
                (false, false) => NumberShape::NotNumber,
            }
        }
        _ => {
            let last_comma = t.rfind(',').unwrap_or(0);
            let last_point = t.rfind('.').unwrap_or(0);
            let fmt = if last_comma > last_point { NumberFormat::Comma } else { NumberFormat::Point };
            if parse_number(s, fmt).is_some() { NumberShape::Only(Some(fmt)) } else { NumberShape::NotNumber }
        }
    }
}

fn parse_plain(s: &str) -> Option<f64> {
    // Scientific notation and plain integers/decimals with a point, as machines write them.
    if s.contains(['e', 'E']) {
        return s.parse::<f64>().ok().filter(|v| v.is_finite());
    }
    None
}

/// Parses a trimmed number text in the given format. Thousands separators must be in
/// groups of three; anything else is not a number.
pub fn parse_number(s: &str, fmt: NumberFormat) -> Option<f64> {
    if let Some(v) = parse_plain(s) {
        return Some(v);
    }
    let (dec, thou) = match fmt {
        NumberFormat::Comma => (',', '.'),
        NumberFormat::Point => ('.', ','),
    };
    let (neg, t) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = match t.split_once(dec) {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    if int.is_empty() && frac.is_none() {
        return None;
    }
    let mut digits = String::with_capacity(t.len());
    if int.contains(thou) || int.contains('\u{a0}') || int.contains(' ') {
        let groups: Vec<&str> = int.split([thou, '\u{a0}', ' ']).collect();
        if groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
        groups.iter().for_each(|g| digits.push_str(g));
    } else {
        digits.push_str(int);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push('.');
        digits.push_str(f);
    }
    if digits.is_empty() || digits == "." {
        return None;
    }
    let v: f64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_roundtrip() {
        for s in Symbol::ALL {
            assert_eq!(Symbol::parse(s.as_str()), Some(s));
            assert_eq!(Symbol::from_code(s.code()), Some(s));
        }
        assert_eq!(Symbol::parse("<3"), Some(Symbol::Suppressed));
        assert_eq!(Symbol::parse("..."), Some(Symbol::NotYetAvailable));
        assert_eq!(Symbol::parse("0"), None);
        assert_eq!(Cell::Symbol(Symbol::Zero).number(), Some(0.0));
        assert_eq!(Cell::Symbol(Symbol::Suppressed).number(), None);
    }

    fn check(s: &str, shape: NumberShape, comma: Option<f64>, point: Option<f64>) {
        assert_eq!(number_shape(s), shape, "shape of {s:?}");
        assert_eq!(parse_number(s, NumberFormat::Comma), comma, "{s:?} as comma");
        assert_eq!(parse_number(s, NumberFormat::Point), point, "{s:?} as point");
    }

    #[test]
    fn number_formats() {
        use NumberFormat::*;
        check("12", NumberShape::Only(None), Some(12.0), Some(12.0));
        check("-3,5", NumberShape::Only(Some(Comma)), Some(-3.5), None);
        check("3.25", NumberShape::Only(Some(Point)), None, Some(3.25));
        check("1.234,5", NumberShape::Only(Some(Comma)), Some(1234.5), None);
        check("1,234.5", NumberShape::Only(Some(Point)), None, Some(1234.5));
        check("1.234", NumberShape::Ambiguous, Some(1234.0), Some(1.234));
        check("1.234.567", NumberShape::Only(Some(Comma)), Some(1234567.0), None);
        check("abc", NumberShape::NotNumber, None, None);
        check("1.2.3", NumberShape::NotNumber, None, None);
        check("1e3", NumberShape::Only(None), Some(1000.0), Some(1000.0));
        assert_eq!(parse_number("1 234,5", Comma), Some(1234.5));
        assert_eq!(parse_number("12abc", Comma), None);
    }
}
