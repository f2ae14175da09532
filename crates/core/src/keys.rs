//! Matching delivered area keys against the known ones.

use std::collections::HashSet;

/// A suggested fix for an unknown area key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHint {
    /// The key lost its leading zeros (Excel turned `01011101` into `1011101`).
    LeadingZeros { known: String },
    /// The key is known after trimming whitespace.
    Whitespace { known: String },
}

impl KeyHint {
    pub fn known(&self) -> &str {
        match self {
            KeyHint::LeadingZeros { known } | KeyHint::Whitespace { known } => known,
        }
    }
}

/// Suggests which known key an unknown one was meant to be.
pub fn suggest(unknown: &str, known: &HashSet<String>) -> Option<KeyHint> {
    let t = unknown.trim();
    if t != unknown && known.contains(t) {
        return Some(KeyHint::Whitespace { known: t.to_string() });
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        // A numeric key with fewer digits than known keys: pad with zeros.
        for width in t.len() + 1..=t.len() + 3 {
            let padded = format!("{t:0>width$}");
            if known.contains(&padded) {
                return Some(KeyHint::LeadingZeros { known: padded });
            }
        }
        // Excel also writes "1011101.0".
    }
    if let Some(int) = t.strip_suffix(".0")
        && int.bytes().all(|b| b.is_ascii_digit())
    {
        return suggest(int, known).or_else(|| known.contains(int).then(|| KeyHint::LeadingZeros { known: int.to_string() }));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lost_leading_zero() {
        let known: HashSet<String> = ["01011101".to_string(), "05378004".to_string()].into();
        assert_eq!(suggest("1011101", &known), Some(KeyHint::LeadingZeros { known: "01011101".into() }));
        assert_eq!(suggest("5378004.0", &known), Some(KeyHint::LeadingZeros { known: "05378004".into() }));
        assert_eq!(suggest(" 01011101", &known), Some(KeyHint::Whitespace { known: "01011101".into() }));
        assert_eq!(suggest("99999999", &known), None);
    }
}
