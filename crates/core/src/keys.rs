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

/// The kind of an official regional key (Amtlicher Gemeindeschlüssel AGS, Regionalschlüssel
/// ARS) as GENESIS tables mix them in one column. The structure is fixed by the Statistische
/// Ämter: Land 2 digits, Regierungsbezirk 3, Kreis 5, Gemeindeverband 9 (Kreis + 4),
/// Gemeinde 8 (AGS: Kreis + 3) or 12 (ARS: Kreis + Verband 4 + 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OfficialKey {
    /// `DG` (Deutschland gesamt) or `0`/`00`.
    Germany,
    Land,
    Regierungsbezirk,
    Kreis,
    /// 9-digit Gemeindeverband (Amt, Verbandsgemeinde, Samtgemeinde, Verwaltungsgemeinschaft).
    Gemeindeverband,
    /// 8-digit AGS or 12-digit ARS.
    Gemeinde,
    /// Keys of other lengths real tables carry (7, 10, 11 digits: Verbandsgemeinden and their
    /// members in some Länder' databases).
    Other,
}

impl OfficialKey {
    /// Classifies a key by its structure. `name` helps where the length is not enough: an
    /// 8-digit key named "Samtgemeinde …" or "Verbandsgemeinde …" is a Gemeindeverband.
    pub fn classify(key: &str, name: &str) -> Option<OfficialKey> {
        let k = key.trim();
        if k.eq_ignore_ascii_case("DG") || k == "0" || k == "00" {
            return Some(OfficialKey::Germany);
        }
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = name.trim_start().to_lowercase();
        let verband = ["samtgemeinde", "verbandsgemeinde", "verwaltungsgemeinschaft", "vg ", "sg ", "amt ", "gemeindeverwaltungsverband"]
            .iter()
            .any(|p| n.starts_with(p))
            || n.contains(", samtgemeinde")
            || n.contains(", verbandsgemeinde");
        Some(match k.len() {
            2 => OfficialKey::Land,
            3 => OfficialKey::Regierungsbezirk,
            5 => OfficialKey::Kreis,
            8 if verband => OfficialKey::Gemeindeverband,
            8 | 12 => OfficialKey::Gemeinde,
            9 => OfficialKey::Gemeindeverband,
            _ => OfficialKey::Other,
        })
    }

    /// German name of the kind, for summaries.
    pub fn label(self) -> &'static str {
        match self {
            OfficialKey::Germany => "Deutschland",
            OfficialKey::Land => "Land",
            OfficialKey::Regierungsbezirk => "Regierungsbezirk/Statistische Region",
            OfficialKey::Kreis => "Kreis/kreisfreie Stadt",
            OfficialKey::Gemeindeverband => "Gemeindeverband",
            OfficialKey::Gemeinde => "Gemeinde",
            OfficialKey::Other => "sonstige Gebietseinheit",
        }
    }

    /// The parent's key by the key structure (Gemeinde → Gemeindeverband (ARS) or Kreis,
    /// Gemeindeverband → Kreis, Kreis → Regierungsbezirk, Regierungsbezirk → Land), given the
    /// set of keys that exist: a Kreis without a Regierungsbezirk hangs on its Land.
    pub fn parent_key(key: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
        let k = key.trim();
        let candidates: &[usize] = match k.len() {
            12 => &[9, 5, 3, 2],
            8 | 9 => &[5, 3, 2],
            5 => &[3, 2],
            3 => &[2],
            _ => &[],
        };
        candidates.iter().map(|&n| &k[..n]).find(|p| exists(p)).map(str::to_string)
    }
}

/// The 8-digit AGS of a 12-digit ARS (Kreis + the last three digits), and of a 5-digit
/// kreisfreie Stadt (Kreis + `000`). `None` for other keys.
pub fn ags_of(key: &str) -> Option<String> {
    let k = key.trim();
    if !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match k.len() {
        12 => Some(format!("{}{}", &k[..5], &k[9..])),
        8 => Some(k.to_string()),
        5 => Some(format!("{k}000")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_official_keys() {
        use OfficialKey::*;
        let c = |k: &str, n: &str| OfficialKey::classify(k, n);
        assert_eq!(c("DG", "Deutschland"), Some(Germany));
        assert_eq!(c("01", "Schleswig-Holstein"), Some(Land));
        assert_eq!(c("031", "Braunschweig, Stat. Region"), Some(Regierungsbezirk));
        assert_eq!(c("01001", "Flensburg"), Some(Kreis));
        assert_eq!(c("03241001", "Hannover"), Some(Gemeinde));
        assert_eq!(c("03252401", "Samtgemeinde Bevern"), Some(Gemeindeverband));
        assert_eq!(c("010515163", "Amt Burg-St. Michaelisdonn"), Some(Gemeindeverband));
        assert_eq!(c("010515163003", "Brickeln"), Some(Gemeinde));
        assert_eq!(c("0713150", "VG Adenau"), Some(Other));
        assert_eq!(c("Insgesamt", ""), None);
        let known = ["01", "01051", "010515163"];
        assert_eq!(OfficialKey::parent_key("010515163003", |k| known.contains(&k)).as_deref(), Some("010515163"));
        assert_eq!(OfficialKey::parent_key("01051001", |k| known.contains(&k)).as_deref(), Some("01051"));
        assert_eq!(OfficialKey::parent_key("01051", |k| known.contains(&k)).as_deref(), Some("01"));
        assert_eq!(ags_of("010515163003").as_deref(), Some("01051003"));
        assert_eq!(ags_of("01001").as_deref(), Some("01001000"));
    }

    #[test]
    fn finds_lost_leading_zero() {
        let known: HashSet<String> = ["01011101".to_string(), "05378004".to_string()].into();
        assert_eq!(suggest("1011101", &known), Some(KeyHint::LeadingZeros { known: "01011101".into() }));
        assert_eq!(suggest("5378004.0", &known), Some(KeyHint::LeadingZeros { known: "05378004".into() }));
        assert_eq!(suggest(" 01011101", &known), Some(KeyHint::Whitespace { known: "01011101".into() }));
        assert_eq!(suggest("99999999", &known), None);
    }
}
