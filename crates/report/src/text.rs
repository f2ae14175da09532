//! Short, neutral German sentences generated from the numbers, for the planner to keep,
//! shorten or comment on. No judgement words ("dramatisch", "erfreulich"): the numbers
//! speak, the council decides. Articles are avoided where the indicator or level name would
//! need one (their gender is unknown).

use crate::format::fmt_de;

/// A number with its unit as printed ("41,3 %", "12 Plätze").
pub fn with_unit(v: f64, unit: &str, dec: usize) -> String {
    let n = fmt_de(v, dec);
    if unit.is_empty() { n } else { format!("{n} {unit}") }
}

/// The unit of a difference: percentage points for percentages.
fn difference_unit(unit: &str) -> &str {
    if unit.trim() == "%" { "Prozentpunkte" } else { unit }
}

/// How a value compares with the reference, as a phrase ("mehr als doppelt so hoch wie").
pub fn comparison(value: f64, reference: f64) -> &'static str {
    if reference <= 0.0 || value < 0.0 {
        return if value > reference {
            "höher als"
        } else if value < reference {
            "niedriger als"
        } else {
            "so hoch wie"
        };
    }
    let r = value / reference;
    match r {
        r if r >= 3.0 => "mehr als dreimal so hoch wie",
        r if r >= 2.0 => "mehr als doppelt so hoch wie",
        r if r >= 1.5 => "um mehr als die Hälfte höher als",
        r if r > 1.1 => "höher als",
        r if r >= 0.9 => "etwa so hoch wie",
        r if r > 0.5 => "niedriger als",
        _ => "weniger als halb so hoch wie",
    }
}

/// What the text needs about one indicator in the report year.
pub struct Facts<'a> {
    pub unit: &'a str,
    pub decimals: usize,
    pub municipality: &'a str,
    pub year: i32,
    pub reference: Option<f64>,
    /// The reference in the comparison year.
    pub since: Option<(i32, f64)>,
    /// (area name, value) of the highest and lowest area.
    pub highest: Option<(&'a str, f64)>,
    pub lowest: Option<(&'a str, f64)>,
    /// Lower and upper quartile over the areas with a value, and their number.
    pub quartiles: Option<(f64, f64)>,
    pub areas: usize,
}

/// The paragraph for an indicator.
pub fn indicator_paragraph(f: &Facts) -> String {
    let u = |v: f64| with_unit(v, f.unit, f.decimals);
    let mut s = Vec::new();
    if let Some(r) = f.reference {
        let mut t = format!("Im Durchschnitt von {} beträgt der Wert {} {}", f.municipality, f.year, u(r));
        if let Some((y0, r0)) = f.since
            && y0 < f.year
        {
            let d = r - r0;
            let shown = fmt_de(d.abs(), f.decimals);
            if shown.chars().all(|c| c == '0' || c == ',') {
                t.push_str(&format!("; seit {y0} ist er gleich geblieben"));
            } else {
                let du = difference_unit(f.unit);
                let unit = if du.is_empty() { String::new() } else { format!(" {du}") };
                t.push_str(&format!(
                    "; seit {y0} ist er um {shown}{unit} {} (von {})",
                    if d > 0.0 { "gestiegen" } else { "gesunken" },
                    u(r0)
                ));
            }
        }
        t.push('.');
        s.push(t);
    }
    if let Some((name, v)) = f.highest {
        let mut t = format!("Am höchsten ist der Wert in {name} mit {}", u(v));
        if let Some(r) = f.reference {
            t.push_str(&format!(", {} im Durchschnitt ({})", comparison(v, r), u(r)));
        }
        if let Some((low, lv)) = f.lowest {
            t.push_str(&format!("; am niedrigsten in {low} mit {}", u(lv)));
        }
        t.push('.');
        s.push(t);
    }
    if let Some((q1, q3)) = f.quartiles
        && f.areas >= 4
    {
        s.push(format!("Die Hälfte der {} Gebiete mit Wert liegt zwischen {} und {}.", f.areas, u(q1), u(q3)));
    }
    s.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example() {
        let f = Facts {
            unit: "%",
            decimals: 1,
            municipality: "Berlin",
            year: 2019,
            reference: Some(16.2),
            since: Some((2015, 19.3)),
            highest: Some(("Wedding Zentrum", 41.3)),
            lowest: Some(("Zehlendorf Süd", 0.4)),
            quartiles: Some((6.26, 24.0)),
            areas: 436,
        };
        assert_eq!(
            indicator_paragraph(&f),
            "Im Durchschnitt von Berlin beträgt der Wert 2019 16,2 %; seit 2015 ist er um 3,1 Prozentpunkte gesunken (von 19,3 %). \
             Am höchsten ist der Wert in Wedding Zentrum mit 41,3 %, mehr als doppelt so hoch wie im Durchschnitt (16,2 %); \
             am niedrigsten in Zehlendorf Süd mit 0,4 %. Die Hälfte der 436 Gebiete mit Wert liegt zwischen 6,3 % und 24,0 %."
        );
    }

    #[test]
    fn comparisons_and_units() {
        assert_eq!(comparison(50.0, 16.0), "mehr als dreimal so hoch wie");
        assert_eq!(comparison(10.0, 10.5), "etwa so hoch wie");
        assert_eq!(comparison(2.0, 10.0), "weniger als halb so hoch wie");
        assert_eq!(comparison(-1.0, 2.0), "niedriger als");
        assert_eq!(with_unit(1234.0, "Plätze", 0), "1.234 Plätze");
        let f = Facts {
            unit: "je 1.000",
            decimals: 0,
            municipality: "Musterstadt",
            year: 2024,
            reference: Some(12.0),
            since: Some((2020, 12.2)),
            highest: None,
            lowest: None,
            quartiles: None,
            areas: 0,
        };
        assert_eq!(
            indicator_paragraph(&f),
            "Im Durchschnitt von Musterstadt beträgt der Wert 2024 12 je 1.000; seit 2020 ist er gleich geblieben."
        );
    }
}
