//! Numbers as German readers expect them.

/// German number format with `dec` decimals: 12.345,6 (a true minus sign for negatives).
pub fn fmt_de(v: f64, dec: usize) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn german_numbers() {
        assert_eq!(super::fmt_de(12345.678, 1), "12.345,7");
        assert_eq!(super::fmt_de(-0.04, 1), "0,0");
        assert_eq!(super::fmt_de(-3.0, 0), "−3");
        assert_eq!(super::fmt_de(999.0, 2), "999,00");
    }
}
