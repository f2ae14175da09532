//! Monitoring of measures (Maßnahmen): the indicators a measure names, in its areas against
//! the reference, before and after its start.

use crate::views::{IndicatorQuery, compute_indicators};
use quartier_store::Store;
use quartier_store::action::Measure;
use serde::Serialize;

/// One indicator of a measure, before and after its start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitoring {
    pub indicator: String,
    pub name: String,
    /// Per year: the mean over the measure's areas, and the reference.
    pub series: Vec<(i32, Option<f64>, Option<f64>)>,
    /// Trend (least-squares slope per year) of the areas' distance to the reference, before
    /// the start and from the start on; None with fewer than two years.
    pub gap_trend_before: Option<f64>,
    pub gap_trend_after: Option<f64>,
    /// The result in words.
    pub text: String,
}

/// Follows the measure's indicators: the areas' mean against the reference, before the
/// start and from the start on.
pub fn monitor(store: &dyn Store, m: &Measure) -> Result<Vec<Monitoring>, String> {
    if m.indicators.is_empty() {
        return Err(format!("Maßnahme {} nennt keine Indikatoren zum Beobachten (indicators = [...])", m.id));
    }
    let res = compute_indicators(
        store,
        &IndicatorQuery { indicators: m.indicators.clone(), years: None, level: Some(m.level.clone()), public: None },
    )?;
    let mut out = Vec::new();
    for id in &m.indicators {
        let name = res.catalogue.get(id).map(|i| i.name.clone()).unwrap_or_else(|| id.clone());
        let dec = res.catalogue.get(id).map(|i| i.decimals as usize).unwrap_or(1);
        let mut years: Vec<i32> = res.rows.iter().filter(|r| &r.indicator == id).map(|r| r.year).collect();
        years.sort_unstable();
        years.dedup();
        let series: Vec<(i32, Option<f64>, Option<f64>)> = years
            .iter()
            .map(|&y| {
                let vals: Vec<f64> = res
                    .rows
                    .iter()
                    .filter(|r| &r.indicator == id && r.year == y && m.areas.contains(&r.area_id) && r.status.has_value())
                    .filter_map(|r| r.value)
                    .collect();
                let mean = (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64);
                let reference =
                    res.references.iter().find(|r| &r.indicator == id && r.year == y && r.status.has_value()).and_then(|r| r.value);
                (y, mean, reference)
            })
            .collect();
        // Distance to the reference where there is one, else the areas' value itself.
        let gap = |after: bool| -> Vec<(i32, f64)> {
            series
                .iter()
                .filter(|(y, _, _)| (*y >= m.start) == after)
                .filter_map(|(y, v, r)| Some((*y, v.map(|v| v - r.unwrap_or(0.0))?)))
                .collect()
        };
        let (before, after) = (quartier_core::stats::trend_slope(&gap(false)), quartier_core::stats::trend_slope(&gap(true)));
        let has_ref = series.iter().any(|s| s.2.is_some());
        let what = if has_ref { "der Abstand zum Durchschnitt" } else { "der Wert in den Gebieten" };
        let fmt = |v: f64| {
            let s = format!("{:.*}", dec, v.abs()).replace('.', ",");
            format!("{s} Punkte pro Jahr")
        };
        let describe = |t: f64| {
            if t > 0.0 {
                format!("wuchs um {}", fmt(t))
            } else if t < 0.0 {
                format!("sank um {}", fmt(t))
            } else {
                "blieb gleich".into()
            }
        };
        let text = match (before, after) {
            (Some(b), Some(a)) => format!("{name}: vor dem Start ({}) {} {}, seitdem {}.", m.start, what, describe(b), describe(a)),
            (Some(b), None) => format!(
                "{name}: vor dem Start ({}) {} {}; seit dem Start noch zu wenige Jahre für einen Trend.",
                m.start,
                what,
                describe(b)
            ),
            (None, Some(a)) => {
                format!("{name}: seit dem Start ({}) {} {}; davor zu wenige Jahre für einen Vergleich.", m.start, what, describe(a))
            }
            (None, None) => format!("{name}: zu wenige Jahre für einen Trend vor und nach dem Start ({}).", m.start),
        };
        out.push(Monitoring { indicator: id.clone(), name, series, gap_trend_before: before, gap_trend_after: after, text });
    }
    Ok(out)
}
