//! Small server-side SVG charts: sparklines, time series, strip plots, ranking bars. Each has
//! a text alternative (`role="img"` with an `aria-label`); the numbers are also in a table
//! on every page that shows a chart.

use crate::format::fmt_de;
use maud::{Markup, html};

/// Colours with at least 3:1 contrast on white (WCAG 1.4.11 for graphics).
pub const AREA_COLOUR: &str = "#8c2d04";
pub const REFERENCE_COLOUR: &str = "#4a4a4f";
const SERIES: [&str; 6] = ["#8c2d04", "#1a5fb4", "#26734d", "#6a3d9a", "#b15928", "#3b3b3b"];

fn scale(v: f64, lo: f64, hi: f64, out_lo: f64, out_hi: f64) -> f64 {
    if hi > lo { out_lo + (v - lo) / (hi - lo) * (out_hi - out_lo) } else { (out_lo + out_hi) / 2.0 }
}

fn extent<'a>(series: impl Iterator<Item = &'a [(i32, f64)]>) -> Option<(i32, i32, f64, f64)> {
    let mut e: Option<(i32, i32, f64, f64)> = None;
    for s in series {
        for &(y, v) in s {
            e = Some(match e {
                None => (y, y, v, v),
                Some((y0, y1, v0, v1)) => (y0.min(y), y1.max(y), v0.min(v), v1.max(v)),
            });
        }
    }
    e
}

fn points(s: &[(i32, f64)], e: (i32, i32, f64, f64), w: f64, h: f64, pad: f64) -> String {
    s.iter()
        .map(|&(y, v)| format!("{:.1},{:.1}", scale(y as f64, e.0 as f64, e.1 as f64, pad, w - pad), scale(v, e.2, e.3, h - pad, pad)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sparkline of an area's series against the reference (dashed).
pub fn sparkline(area: &[(i32, f64)], reference: &[(i32, f64)], label: &str) -> Markup {
    let (w, h) = (120.0, 32.0);
    let Some(e) = extent([area, reference].into_iter()) else { return html! {} };
    html! {
        svg.spark width=(w) height=(h) viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(label) {
            @if reference.len() > 1 {
                polyline points=(points(reference, e, w, h, 3.0)) fill="none" stroke=(REFERENCE_COLOUR) stroke-width="1.2" stroke-dasharray="3 2" {}
            }
            @if area.len() > 1 {
                polyline points=(points(area, e, w, h, 3.0)) fill="none" stroke=(AREA_COLOUR) stroke-width="2" {}
            }
            @if let Some(&(y, v)) = area.last() {
                circle cx=(format!("{:.1}", scale(y as f64, e.0 as f64, e.1 as f64, 3.0, w - 3.0))) cy=(format!("{:.1}", scale(v, e.2, e.3, h - 3.0, 3.0))) r="2.5" fill=(AREA_COLOUR) {}
            }
        }
    }
}

/// A time-series chart with axes: the reference (dashed, named `reference_name`) and up to
/// six named series.
pub fn time_series(
    series: &[(String, Vec<(i32, f64)>)],
    reference: &[(i32, f64)],
    reference_name: &str,
    unit: &str,
    decimals: usize,
    label: &str,
) -> Markup {
    let (w, h, left, bottom) = (640.0, 260.0, 56.0, 28.0);
    let all = series.iter().map(|(_, s)| s.as_slice()).chain(std::iter::once(reference));
    let Some(e) = extent(all) else { return html! { p.note { "Keine Zeitreihe vorhanden." } } };
    let x = |y: i32| scale(y as f64, e.0 as f64, e.1 as f64, left, w - 12.0);
    let y = |v: f64| scale(v, e.2, e.3, h - bottom, 12.0);
    let path = |s: &[(i32, f64)]| s.iter().map(|&(yr, v)| format!("{:.1},{:.1}", x(yr), y(v))).collect::<Vec<_>>().join(" ");
    let years: Vec<i32> = (e.0..=e.1).collect();
    let step = years.len().div_ceil(10).max(1);
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(label) {
            line x1=(left) y1=(h - bottom) x2=(w - 12.0) y2=(h - bottom) stroke="#6b6b70" {}
            line x1=(left) y1="12" x2=(left) y2=(h - bottom) stroke="#6b6b70" {}
            @for v in [e.2, (e.2 + e.3) / 2.0, e.3] {
                text x=(left - 6.0) y=(format!("{:.1}", y(v) + 4.0)) text-anchor="end" font-size="11" { (fmt_de(v, decimals)) }
            }
            text x="4" y="10" font-size="11" { (unit) }
            @for (i, yr) in years.iter().enumerate() {
                @if i % step == 0 {
                    text x=(format!("{:.1}", x(*yr))) y=(h - 8.0) text-anchor="middle" font-size="11" { (yr) }
                }
            }
            @if !reference.is_empty() {
                polyline points=(path(reference)) fill="none" stroke=(REFERENCE_COLOUR) stroke-width="2" stroke-dasharray="6 4" {}
            }
            @for (i, (_, s)) in series.iter().enumerate() {
                polyline points=(path(s)) fill="none" stroke=(SERIES[i % SERIES.len()]) stroke-width="2.5" {}
                @for &(yr, v) in s {
                    circle cx=(format!("{:.1}", x(yr))) cy=(format!("{:.1}", y(v))) r="3" fill=(SERIES[i % SERIES.len()]) {}
                }
            }
        }
        ul.keys {
            @if !reference.is_empty() { li { span.swatch.dashed {} (reference_name) } }
            @for (i, (name, _)) in series.iter().enumerate() {
                li { span.swatch style=(format!("background:{}", SERIES[i % SERIES.len()])) {} (name) }
            }
        }
    }
}

/// A strip plot of all areas' values with the quartile box and the reference line; the
/// highlighted area is drawn larger.
pub fn strip_plot(values: &[f64], reference: Option<f64>, highlight: Option<f64>, decimals: usize, label: &str) -> Markup {
    let (w, h, pad) = (640.0, 90.0, 16.0);
    if values.is_empty() {
        return html! {};
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let lo = sorted[0].min(reference.unwrap_or(sorted[0]));
    let hi = sorted[sorted.len() - 1].max(reference.unwrap_or(sorted[0]));
    let x = |v: f64| scale(v, lo, hi, pad, w - pad);
    let q = |p: f64| quartile(&sorted, p);
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(label) {
            rect x=(format!("{:.1}", x(q(0.25)))) y="22" width=(format!("{:.1}", (x(q(0.75)) - x(q(0.25))).max(1.0))) height="36" fill="#f1e3d8" stroke="#b08a70" {}
            line x1=(format!("{:.1}", x(q(0.5)))) x2=(format!("{:.1}", x(q(0.5)))) y1="22" y2="58" stroke="#6b4a33" stroke-width="2" {}
            // Up to 1,000 points (evenly spaced quantiles beyond that: the same picture).
            @for (i, v) in thin(&sorted, 1000).iter().enumerate() {
                circle cx=(format!("{:.1}", x(*v))) cy=(format!("{:.1}", 30.0 + (i % 5) as f64 * 5.0)) r="2" fill="#8c2d04" fill-opacity="0.55" {}
            }
            @if let Some(r) = reference {
                line x1=(format!("{:.1}", x(r))) x2=(format!("{:.1}", x(r))) y1="12" y2="68" stroke=(REFERENCE_COLOUR) stroke-width="2" stroke-dasharray="5 3" {}
                text x=(format!("{:.1}", x(r))) y="10" text-anchor="middle" font-size="11" { "Gesamt " (fmt_de(r, decimals)) }
            }
            @if let Some(v) = highlight {
                circle cx=(format!("{:.1}", x(v))) cy="40" r="6" fill="none" stroke="#1a5fb4" stroke-width="3" {}
            }
            text x=(pad) y=(h - 6.0) font-size="11" { (fmt_de(lo, decimals)) }
            text x=(w - pad) y=(h - 6.0) font-size="11" text-anchor="end" { (fmt_de(hi, decimals)) }
        }
    }
}

/// At most `max` values of a sorted slice, evenly spaced by rank (first and last kept).
fn thin(sorted: &[f64], max: usize) -> Vec<f64> {
    if sorted.len() <= max {
        return sorted.to_vec();
    }
    (0..max).map(|i| sorted[i * (sorted.len() - 1) / (max - 1)]).collect()
}

/// Quantile by linear interpolation (type 7, as numpy's default).
pub fn quartile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (i, f) = (h.floor() as usize, h.fract());
    if i + 1 < sorted.len() { sorted[i] + f * (sorted[i + 1] - sorted[i]) } else { sorted[i] }
}

/// Horizontal ranking bars (name, value, link), with the reference as a vertical line.
pub fn ranking_bars(rows: &[(String, f64, String)], reference: Option<f64>, decimals: usize, label: &str) -> Markup {
    let bar_h = 16.0;
    let (w, left, right) = (640.0, 200.0, 70.0);
    let h = rows.len() as f64 * bar_h + 8.0;
    let max = rows.iter().map(|r| r.1).chain(reference).fold(0.0f64, f64::max);
    let min = rows.iter().map(|r| r.1).chain(reference).fold(0.0f64, f64::min);
    let x = |v: f64| scale(v, min, max, left, w - right);
    // A group, not an image: the bars are links.
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="group" aria-label=(label) {
            @for (i, (name, v, href)) in rows.iter().enumerate() {
                @let y = 4.0 + i as f64 * bar_h;
                a href=(href) {
                    text x=(left - 6.0) y=(format!("{:.1}", y + 12.0)) text-anchor="end" font-size="11" { (name) }
                    rect x=(format!("{:.1}", x(0.0f64.max(min)).min(x(*v)))) y=(format!("{:.1}", y + 2.0)) width=(format!("{:.1}", (x(*v) - x(0.0f64.max(min))).abs().max(1.0))) height=(bar_h - 4.0) fill=(AREA_COLOUR) {}
                    text x=(format!("{:.1}", x(*v).max(x(0.0f64.max(min))) + 4.0)) y=(format!("{:.1}", y + 12.0)) font-size="11" { (fmt_de(*v, decimals)) }
                }
            }
            @if let Some(r) = reference {
                line x1=(format!("{:.1}", x(r))) x2=(format!("{:.1}", x(r))) y1="0" y2=(h) stroke=(REFERENCE_COLOUR) stroke-width="2" stroke-dasharray="5 3" {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_as_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [25, 50, 75]) = [2, 3, 4]
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!((quartile(&s, 0.25), quartile(&s, 0.5), quartile(&s, 0.75)), (2.0, 3.0, 4.0));
        // numpy.percentile([1, 2, 3, 4], 25) = 1.75
        assert_eq!(quartile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
    }

    #[test]
    fn charts_carry_text_alternatives() {
        let s = sparkline(&[(2015, 1.0), (2017, 2.0)], &[(2015, 1.5), (2017, 1.5)], "Verlauf").into_string();
        assert!(s.contains("role=\"img\"") && s.contains("aria-label=\"Verlauf\""), "{s}");
        assert!(sparkline(&[], &[], "leer").into_string().is_empty());
    }
}
