//! Matching area names of a delivery to stored areas, for city tables without a key column.
//!
//! Names are compared in a normal form that ignores what differs between offices and
//! years: case, ß/ss, umlauts and their transcriptions, hyphens, spaces and punctuation,
//! "St."/"Sankt", bracketed suffixes ("Mitte (Stadtteil)") and footnote markers ("Nord 1)").

use std::collections::HashMap;

/// Strips footnote markers a statistics office appends to names or values: ` 1)`, `(1)`,
/// `1)`, superscript digits, trailing `*` after text, `[2]`. Returns the text and the
/// markers removed.
pub fn strip_footnote(text: &str) -> (&str, Option<&str>) {
    let t = text.trim_end();
    let cut = |i: usize| (t[..i].trim_end(), Some(t[i..].trim()));
    // Superscript digits and signs.
    let sup = t.trim_end_matches(['¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹', '⁰', '⁾', '⁽', '*']);
    if sup.len() < t.len() && !sup.trim_end().is_empty() && sup.chars().last().is_some_and(|c| c.is_alphanumeric() || c == ')') {
        return cut(sup.len());
    }
    // "… 1)", "… a)", "…(1)", "… [2]".
    if let Some(body) = t.strip_suffix(')').or_else(|| t.strip_suffix(']')) {
        let open = body.rfind(['(', '[', ' ']).map(|i| i + usize::from(body.as_bytes()[i] == b' '));
        let start = open.unwrap_or(0);
        let marker = &body[start..].trim_start_matches(['(', '[']);
        let short = !marker.is_empty() && marker.len() <= 3 && marker.chars().all(|c| c.is_ascii_alphanumeric());
        let numeric_or_letter = marker.chars().all(|c| c.is_ascii_digit()) || (marker.len() == 1);
        if short && numeric_or_letter && start > 0 {
            let head = t[..start].trim_end();
            if !head.is_empty() {
                return (head, Some(t[start..].trim()));
            }
        }
    }
    (t, None)
}

/// The normal form of a name: lower case ASCII letters and digits only, umlauts as `ae`,
/// `oe`, `ue`, `ß` as `ss`, "St."/"St " as "sankt", bracketed parts and footnotes removed.
pub fn normalise(name: &str) -> String {
    let (name, _) = strip_footnote(name);
    // Bracketed suffixes: "Mitte (Stadtteil)", "Altstadt [alt]".
    let mut plain = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let mut out = String::with_capacity(plain.len());
    for (i, word) in plain.split(|c: char| c.is_whitespace() || c == '-' || c == '/' || c == ',').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_lowercase();
        let mut w = String::with_capacity(lower.len());
        for c in lower.chars() {
            match c {
                'ä' => w.push_str("ae"),
                'ö' => w.push_str("oe"),
                'ü' => w.push_str("ue"),
                'ß' => w.push_str("ss"),
                'é' | 'è' | 'ê' => w.push('e'),
                c if c.is_ascii_alphanumeric() => w.push(c),
                _ => {}
            }
        }
        // "St." and "St" as a word ("St:" too: compared without punctuation), "St.Georg" at
        // the start.
        if w == "st" || (i == 0 && lower.starts_with("st.")) {
            out.push_str("sankt");
            out.push_str(&w[2..]);
        } else {
            out.push_str(&w);
        }
    }
    // A name that reduces to "st" alone ("S t") is read as "Sankt" too, so that a normal
    // form is its own normal form.
    if out == "st" {
        out = "sankt".into();
    }
    out
}

/// How a delivered name relates to the stored areas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// One stored area.
    Unique(String),
    /// Several stored areas share the name: their keys.
    Ambiguous(Vec<String>),
    /// The row combines stored areas ("A und B", "A/B", "A + B"): their keys.
    Combined(Vec<String>),
    /// No stored area; the nearest stored names.
    Unmatched(Vec<String>),
}

/// Stored names of one level, ready for lookups.
#[derive(Debug, Default)]
pub struct NameIndex {
    by_norm: HashMap<String, Vec<String>>,
    names: Vec<(String, String)>,
}

impl NameIndex {
    /// `areas`: (key, name) of the stored areas.
    pub fn new<'a>(areas: impl IntoIterator<Item = (&'a str, &'a str)>) -> NameIndex {
        let mut ix = NameIndex::default();
        for (key, name) in areas {
            ix.by_norm.entry(normalise(name)).or_default().push(key.to_string());
            ix.names.push((normalise(name), name.to_string()));
        }
        ix
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Looks a delivered name up.
    pub fn lookup(&self, name: &str) -> NameMatch {
        let n = normalise(name);
        if let Some(keys) = self.by_norm.get(&n) {
            return if keys.len() == 1 { NameMatch::Unique(keys[0].clone()) } else { NameMatch::Ambiguous(keys.clone()) };
        }
        // Combined rows: every part is a stored area.
        let (plain, _) = strip_footnote(name);
        let lower = plain.to_lowercase();
        for sep in [" und ", " u. ", " + ", " & ", "/", ", "] {
            if lower.contains(sep) {
                let parts: Vec<&str> = lower.split(sep).map(str::trim).filter(|p| !p.is_empty()).collect();
                let keys: Option<Vec<String>> =
                    parts.iter().map(|p| self.by_norm.get(&normalise(p)).filter(|k| k.len() == 1).map(|k| k[0].clone())).collect();
                if let Some(keys) = keys.filter(|k| k.len() > 1) {
                    return NameMatch::Combined(keys);
                }
            }
        }
        let mut near: Vec<(usize, &str)> = self.names.iter().map(|(norm, shown)| (distance(&n, norm), shown.as_str())).collect();
        near.sort();
        near.dedup_by(|a, b| a.1 == b.1);
        let limit = (n.len() / 2).max(3);
        NameMatch::Unmatched(near.into_iter().filter(|(d, _)| *d <= limit).take(3).map(|(_, s)| s.to_string()).collect())
    }
}

/// Levenshtein distance over characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalise("Groß-Umstadt"), normalise("Gross Umstadt"));
        assert_eq!(normalise("Mühlheim"), normalise("Muehlheim"));
        assert_eq!(normalise("St. Georg"), normalise("Sankt Georg"));
        assert_eq!(normalise("St.Georg"), normalise("Sankt-Georg"));
        assert_eq!(normalise("Mitte (Stadtteil)"), "mitte");
        assert_eq!(normalise("Nord 1)"), "nord");
        assert_eq!(normalise("Nord²"), "nord");
        assert_eq!(normalise("Nordstadt"), "nordstadt");
        assert_ne!(normalise("Stadtmitte"), normalise("Sankt Mitte"));
        // Found by the property below: punctuation after "St", and letters that only join to "st".
        assert_eq!(normalise("sT:"), "sankt");
        assert_eq!(normalise("St: Georg"), normalise("Sankt Georg"));
        assert_eq!(normalise("S t"), "sankt");
    }

    #[test]
    fn footnotes() {
        assert_eq!(strip_footnote("12345 1)"), ("12345", Some("1)")));
        assert_eq!(strip_footnote("Hamburg (2)"), ("Hamburg", Some("(2)")));
        assert_eq!(strip_footnote("Nord¹"), ("Nord", Some("¹")));
        assert_eq!(strip_footnote("Mitte (Stadtteil)"), ("Mitte (Stadtteil)", None));
        assert_eq!(strip_footnote("(123)"), ("(123)", None));
        assert_eq!(strip_footnote("12,5"), ("12,5", None));
    }

    #[test]
    fn lookups() {
        let ix = NameIndex::new([("1", "Altstadt"), ("2", "Neustadt"), ("3", "St. Georg"), ("4", "Mitte"), ("5", "Mitte")]);
        assert_eq!(ix.lookup("ALTSTADT"), NameMatch::Unique("1".into()));
        assert_eq!(ix.lookup("Sankt Georg 2)"), NameMatch::Unique("3".into()));
        assert_eq!(ix.lookup("Mitte"), NameMatch::Ambiguous(vec!["4".into(), "5".into()]));
        assert_eq!(ix.lookup("Altstadt und Neustadt"), NameMatch::Combined(vec!["1".into(), "2".into()]));
        assert_eq!(ix.lookup("Altstadt/Neustadt"), NameMatch::Combined(vec!["1".into(), "2".into()]));
        match ix.lookup("Neustatt") {
            NameMatch::Unmatched(near) => assert_eq!(near.first().map(String::as_str), Some("Neustadt")),
            other => panic!("{other:?}"),
        }
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    proptest::proptest! {
        /// Any text: no panic, and the normal form is stable and plain ASCII.
        #[test]
        fn normal_form_is_idempotent(s in "\\PC{0,40}") {
            let n = normalise(&s);
            proptest::prop_assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            proptest::prop_assert_eq!(normalise(&n), n);
            let _ = strip_footnote(&s);
        }

        /// A stored name is always found again in any case and with a footnote marker.
        #[test]
        fn stored_names_are_found(name in "[A-Za-zÄÖÜäöüß][a-zäöüß]{2,12}( [A-Z][a-z]{2,8})?", mark in 1u8..9) {
            let ix = NameIndex::new([("k", name.as_str())]);
            proptest::prop_assert_eq!(ix.lookup(&name.to_uppercase()), NameMatch::Unique("k".into()));
            let marked = format!("{name} {mark})");
            proptest::prop_assert_eq!(ix.lookup(&marked), NameMatch::Unique("k".into()));
        }
    }
}
