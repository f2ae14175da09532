//! The funding application sheet for one area: the data-based description of the starting
//! situation that funding programmes ask for (key indicators against the average and their
//! trend, index class, offers, gaps, conference findings), with sources — text a Träger can
//! paste into an application. HTML here; [`crate::pdf::render_funding`] for PDF.

use crate::format::fmt_de;
use crate::model::Report;
use crate::text::with_unit;
use maud::{DOCTYPE, PreEscaped, html};

/// What the sheet adds to the report model.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Offers in the area: (service, organisation, location, target groups).
    pub offers: Vec<(String, String, String, String)>,
    /// Gap analysis for the area: (need label, quadrant in words).
    pub gap: Option<(String, String)>,
    pub conference: Option<quartier_app::store::action::Conference>,
}

/// What a gap analysis on the sheet needs: the indicator of need, the offers' target group and
/// the variable with the group's size.
#[derive(Debug, Clone, Default)]
pub struct GapSpec {
    pub need: String,
    pub target_group: Option<String>,
    pub group_variable: String,
}

impl Extras {
    /// Gathers the extras of `area` on `level` from the store: the offers located in it, its
    /// latest conference and, when asked for, where it stands in need against supply. The same
    /// for `quartier funding-sheet` and the profile page.
    pub fn gather(store: &dyn quartier_app::store::Store, level: &str, area: &str, gap: Option<&GapSpec>) -> Result<Extras, String> {
        let mut extras = Extras::default();
        let geoms = quartier_app::spatial::level_geometries(store, level)?;
        if let Some((_, g)) = geoms.iter().find(|(k, _)| k == area) {
            extras.offers = store.offers().map_err(|e| e.to_string())?.located_in(g);
        }
        extras.conference = store.conferences(Some((level, area))).map_err(|e| e.to_string())?.into_iter().next();
        if let Some(spec) = gap {
            let s = quartier_app::supply::SupplySpec {
                level: level.to_string(),
                target_group: spec.target_group.clone(),
                group_variable: spec.group_variable.clone(),
                year: None,
                distances: vec![],
                date: None,
                points: None,
            };
            let g = quartier_app::supply::gaps(store, &s, &spec.need)?;
            extras.gap = g.rows.iter().find(|r| r.area_id == area).and_then(|r| r.quadrant).map(|q| (g.need_label.clone(), q.to_string()));
        }
        Ok(extras)
    }
}

/// The paragraphs of the sheet, in order: (heading, text).
pub fn paragraphs(r: &Report, a: usize, x: &Extras) -> Vec<(String, String)> {
    let area = &r.areas[a];
    let y = r.year;
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for d in &r.indicators {
        let Some(v) = d.value(a, y) else { continue };
        let mut t = format!("{} beträgt {y} in {} {}", d.name, area.name, with_unit(v, &d.unit, d.decimals));
        if let Some(rf) = d.reference.get(&y).copied().flatten() {
            t.push_str(&format!(
                " ({} im Durchschnitt von {}: {})",
                crate::text::comparison(v, rf),
                r.def.municipality,
                with_unit(rf, &d.unit, d.decimals)
            ));
        }
        if let Some(s) = r.since
            && let Some(old) = d.value(a, s)
        {
            let ch = v - old;
            let du = if d.unit.trim() == "%" { "Prozentpunkte".to_string() } else { d.unit.clone() };
            if ch.abs() >= 0.5 * 10f64.powi(-(d.decimals as i32)) {
                t.push_str(&format!(
                    "; seit {s} {} um {} {du}",
                    if ch > 0.0 { "gestiegen" } else { "gesunken" },
                    fmt_de(ch.abs(), d.decimals)
                ));
            } else {
                t.push_str(&format!("; seit {s} unverändert"));
            }
        }
        t.push('.');
        lines.push(t);
    }
    out.push(("Soziale Lage".into(), lines.join(" ")));
    if let Some(ix) = &r.index {
        let mut t = format!(
            "Im {} ({}) ist {} {}",
            ix.title,
            ix.year,
            area.name,
            ix.label[a].clone().map(|l| format!("in der Klasse {l}")).unwrap_or_else(|| "nicht bewertet".into())
        );
        if let Some((_, reason)) = ix.attention.iter().find(|(i, _)| *i == a) {
            t.push_str(&format!("; das Gebiet hat besonderen Aufmerksamkeitsbedarf ({reason})"));
        }
        t.push('.');
        out.push(("Sozialindex".into(), t));
    }
    let offers = if x.offers.is_empty() {
        format!("Im Angebotsverzeichnis ist für {} kein Angebot mit Standort im Gebiet erfasst.", area.name)
    } else {
        let list: Vec<String> = x
            .offers
            .iter()
            .map(|(s, o, _, t)| format!("{s} ({o}{})", if t.is_empty() { String::new() } else { format!("; {t}") }))
            .collect();
        format!("Im Gebiet bestehen {} Angebote: {}.", x.offers.len(), list.join(", "))
    };
    out.push(("Bestehende Angebote".into(), offers));
    if let Some((need, quadrant)) = &x.gap {
        out.push(("Bedarf und Versorgung".into(), format!("Bedarf („{need}“) gegenüber der Versorgung mit passenden Angeboten: {} liegt im Feld „{quadrant}“ (verglichen mit dem Median aller Gebiete).", area.name)));
    }
    if let Some(c) = &x.conference {
        let mut t = format!(
            "Die {} vom {} bestätigt die Datenlage {}",
            c.kind,
            c.date,
            match c.matches {
                quartier_app::store::action::Agreement::Agree => "",
                quartier_app::store::action::Agreement::Partly => "teilweise",
                quartier_app::store::action::Agreement::No => "nicht",
            }
        );
        if !c.matches_note.is_empty() {
            t.push_str(&format!(" ({})", c.matches_note));
        }
        t.push('.');
        if !c.target_groups.is_empty() {
            t.push_str(&format!(" Zielgruppen: {}.", c.target_groups.join(", ")));
        }
        if !c.missing.is_empty() {
            t.push_str(&format!(" Es fehlt: {}.", c.missing));
        }
        if !c.contributions.is_empty() {
            let k: Vec<String> = c.contributions.iter().map(|k| format!("{} ({})", k.organization, k.commitment)).collect();
            t.push_str(&format!(" Beitragen können: {}.", k.join(", ")));
        }
        if !c.potentials.is_empty() {
            t.push_str(&format!(" Potenziale des Gebiets: {}.", c.potentials));
        }
        out.push(("Einschätzung vor Ort".into(), t.replace("  ", " ").replace(" .", ".")));
    }
    let sources: Vec<String> = r
        .sources
        .iter()
        .map(|s| if s.reference_date.is_empty() { s.source.clone() } else { format!("{} (Stichtag {})", s.source, s.reference_date) })
        .collect();
    out.push(("Quellen".into(), format!("{}; Auswertung mit Quartier, {} {}.", sources.join("; "), r.def.title, r.def.edition)));
    out
}

/// The sheet as one HTML file.
pub fn render_html(r: &Report, a: usize, x: &Extras) -> String {
    let area = &r.areas[a];
    let css = "body{max-width:48rem;margin:1rem auto;padding:0 1rem;font:16px/1.5 system-ui,Arial,sans-serif;color:#1d1d1f}h1{color:#8c2d04;font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.5rem}table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #c8c8cc;padding:.2rem .5rem;text-align:left}td.num{text-align:right}.note{color:#4a4a4f;font-size:.9rem}";
    let page = html! {
        (DOCTYPE)
        html lang="de" {
            head { meta charset="utf-8"; title { "Ausgangslage " (area.name) } style { (PreEscaped(css)) } }
            body {
                main {
                    h1 { "Ausgangslage: " (area.name) " (" (area.key) ")" }
                    p.note { (r.level) " in " (r.def.municipality) @if let Some(p) = &area.parent { ", " (p) } " · Daten " (r.year) @if !r.def.reference_date.is_empty() { ", Stichtag " (r.def.reference_date) } }
                    @for (h, t) in paragraphs(r, a, x) { h2 { (h) } p { (t) } }
                    table {
                        caption { "Kennzahlen " (r.year) }
                        thead { tr { th scope="col" { "Indikator" } th scope="col" { "Gebiet" } th scope="col" { "Durchschnitt" } @if let Some(s) = r.since { th scope="col" { "Veränderung seit " (s) } } } }
                        tbody {
                            @for d in &r.indicators {
                                tr {
                                    th scope="row" { (d.name) @if !d.unit.is_empty() { " (" (d.unit) ")" } }
                                    td.num { (d.cell_text(a, r.year)) }
                                    td.num { @if let Some(Some(rf)) = d.reference.get(&r.year) { (fmt_de(*rf, d.decimals)) } }
                                    @if let Some(s) = r.since { td.num { @if let (Some(v), Some(o)) = (d.value(a, r.year), d.value(a, s)) { (fmt_de(v - o, d.decimals)) } } }
                                }
                            }
                        }
                    }
                    @if let Some(t) = r.threshold { p.note { "Geheimhaltung: Anzahlen unter " (fmt_de(t, 0)) " sind nicht ausgewiesen." } }
                }
            }
        }
    };
    page.into_string()
}
