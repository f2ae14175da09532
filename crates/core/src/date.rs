//! Calendar dates as the stored ISO text (YYYY-MM-DD) and as days since 1970-01-01, for
//! validity periods and "last confirmed" ages (Howard Hinnant's civil-from-days algorithms;
//! proleptic Gregorian calendar).

/// Days since 1970-01-01 → ISO date.
pub fn iso_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

/// ISO date → days since 1970-01-01; None when it is not YYYY-MM-DD.
pub fn days_from_iso(iso: &str) -> Option<i64> {
    let mut p = iso.split('-');
    let (y, m, d): (i64, i64, i64) = (p.next()?.parse().ok()?, p.next()?.parse().ok()?, p.next()?.parse().ok()?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A reference date (Stichtag or period) as delivered: the year it counts for, and the date
/// as precisely as it was given (`2023-12-31`, `2023-12` or `2023`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferenceDate {
    pub year: i32,
    pub iso: String,
}

impl ReferenceDate {
    /// The month, when the date names one.
    pub fn month(&self) -> Option<u32> {
        self.iso.get(5..7).and_then(|m| m.parse().ok())
    }
}

const MONTHS: [&str; 12] =
    ["januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"];

/// A German month name or its usual abbreviation (`Dez.`, `Sept`, `Maerz`, `Jän`) → 1–12.
pub fn month_of(name: &str) -> Option<u32> {
    let n = name.trim().trim_end_matches('.').to_lowercase().replace("ae", "ä");
    if n.len() < 3 {
        return None;
    }
    if n == "jän" || n == "jänner" {
        return Some(1);
    }
    MONTHS.iter().position(|m| m.starts_with(&n) || n.starts_with(*m)).map(|i| i as u32 + 1)
}

fn plausible_year(y: i64) -> Option<i32> {
    (1900..=2100).contains(&y).then_some(y as i32)
}

fn valid_day(y: i32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && {
        let iso = format!("{y:04}-{m:02}-{d:02}");
        days_from_iso(&iso).is_some_and(|days| iso_from_days(days) == iso)
    }
}

/// Reads a reference date in the forms German deliveries use: `31.12.2023`, `31.12.23`,
/// `2023-12-31`, `2023-12-31T00:00:00`, `12/2023`, `2023-12`, `Dezember 2023`, `Dez. 2023`,
/// `Stichtag 31.12.2023`, `Stand: 31.12.2023`, `am 31.12.2023`, `Jahr 2023`, `2023`.
/// `None` when no date can be read; a date that names an impossible day is `None` too.
pub fn parse_reference_date(text: &str) -> Option<ReferenceDate> {
    let mut t = text.trim();
    for prefix in ["stichtag", "stand", "zum", "am", "jahr", "berichtsjahr", "zeitraum", "zeit"] {
        if t.len() > prefix.len() && t.get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix)) {
            t = t[prefix.len()..].trim_start_matches([':', ' ']).trim();
        }
    }
    let t = t.strip_suffix("T00:00:00").or_else(|| t.strip_suffix(" 00:00:00")).unwrap_or(t).trim();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let day = |y: i32, m: u32, d: u32| valid_day(y, m, d).then(|| ReferenceDate { year: y, iso: format!("{y:04}-{m:02}-{d:02}") });
    let month = |y: i32, m: u32| (1..=12).contains(&m).then(|| ReferenceDate { year: y, iso: format!("{y:04}-{m:02}") });
    // German dotted dates, with two- or four-digit years.
    let dotted: Vec<&str> = t.split('.').map(str::trim).collect();
    if let [d, m, y] = dotted.as_slice() {
        let (d, m, y) = (num(d)?, num(m)?, num(y)?);
        let y = if y < 100 { if y < 70 { 2000 + y } else { 1900 + y } } else { y };
        return day(plausible_year(y)?, m as u32, d as u32);
    }
    let dashed: Vec<&str> = t.split('-').map(str::trim).collect();
    match dashed.as_slice() {
        [y, m, d] if y.len() == 4 => return day(plausible_year(num(y)?)?, num(m)? as u32, num(d)? as u32),
        [y, m] if y.len() == 4 && m.len() <= 2 => return month(plausible_year(num(y)?)?, num(m)? as u32),
        _ => {}
    }
    if let Some((m, y)) = t.split_once('/')
        && y.trim().len() == 4
    {
        return month(plausible_year(num(y.trim())?)?, num(m.trim())? as u32);
    }
    if let Some(y) = num(t) {
        return (t.len() == 4).then(|| plausible_year(y)).flatten().map(|year| ReferenceDate { year, iso: format!("{year:04}") });
    }
    // "Dezember 2023", "Dez. 2023", "31. Dezember 2023".
    let words: Vec<&str> = t.split_whitespace().collect();
    match words.as_slice() {
        [m, y] => month(plausible_year(num(y)?)?, month_of(m)?),
        [d, m, y] => day(plausible_year(num(y)?)?, month_of(m)?, num(d.trim_end_matches('.'))? as u32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reference_dates() {
        let d = |s: &str| parse_reference_date(s).map(|r| (r.year, r.iso));
        assert_eq!(d("31.12.2023"), Some((2023, "2023-12-31".into())));
        assert_eq!(d("Stichtag 31.12.2023"), Some((2023, "2023-12-31".into())));
        assert_eq!(d("Stand: 14.12.2017"), Some((2017, "2017-12-14".into())));
        assert_eq!(d("2022-05-15"), Some((2022, "2022-05-15".into())));
        assert_eq!(d("2022-05-15T00:00:00"), Some((2022, "2022-05-15".into())));
        assert_eq!(d("Dezember 2023"), Some((2023, "2023-12".into())));
        assert_eq!(d("Dez. 2023"), Some((2023, "2023-12".into())));
        assert_eq!(d("31. Dezember 2023"), Some((2023, "2023-12-31".into())));
        assert_eq!(d("06/2024"), Some((2024, "2024-06".into())));
        assert_eq!(d("2024-06"), Some((2024, "2024-06".into())));
        assert_eq!(d("31.12.15"), Some((2015, "2015-12-31".into())));
        assert_eq!(d("2019"), Some((2019, "2019".into())));
        assert_eq!(d("Jahr 2019"), Some((2019, "2019".into())));
        assert_eq!(d("30.02.2023"), None);
        assert_eq!(d("Insgesamt"), None);
        assert_eq!(d("12345"), None);
        assert_eq!(d("1.5"), None);
    }

    #[test]
    fn dates_round_trip() {
        for d in ["1970-01-01", "2000-02-29", "2026-11-26", "2024-12-31"] {
            assert_eq!(iso_from_days(days_from_iso(d).unwrap()), d);
        }
        assert_eq!(days_from_iso("2026-11-26").unwrap() - days_from_iso("2025-11-26").unwrap(), 365);
        assert_eq!(iso_from_days(20_418), "2025-11-26");
    }

    proptest::proptest! {
        /// Any text: no panic; whatever is read is a real day, month or year.
        #[test]
        fn any_text_reads_safely(s in "\\PC{0,30}") {
            if let Some(d) = parse_reference_date(&s) {
                proptest::prop_assert!((1900..=2100).contains(&d.year));
                if d.iso.len() == 10 {
                    proptest::prop_assert_eq!(iso_from_days(days_from_iso(&d.iso).unwrap()), d.iso.clone());
                }
            }
        }

        /// Every valid day reads the same in its German and ISO spellings.
        #[test]
        fn german_and_iso_agree(days in -25_567i64..47_482) {
            let iso = iso_from_days(days);
            let german = format!("{}.{}.{}", &iso[8..10], &iso[5..7], &iso[..4]);
            let a = parse_reference_date(&iso).unwrap();
            let b = parse_reference_date(&german).unwrap();
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(a.iso, iso);
            let stichtag = format!("Stichtag {german}");
            proptest::prop_assert_eq!(parse_reference_date(&stichtag).unwrap(), b);
        }
    }
}
