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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for d in ["1970-01-01", "2000-02-29", "2026-11-26", "2024-12-31"] {
            assert_eq!(iso_from_days(days_from_iso(d).unwrap()), d);
        }
        assert_eq!(days_from_iso("2026-11-26").unwrap() - days_from_iso("2025-11-26").unwrap(), 365);
        assert_eq!(iso_from_days(20_418), "2025-11-26");
    }
}
