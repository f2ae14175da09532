//! The report as one self-contained HTML file: inline CSS and SVG, no external requests,
//! headings and table headers for screen readers, a text alternative for every chart and
//! map, a print stylesheet (A4, page breaks before chapters and profiles).

use crate::charts;
use crate::format::fmt_de;
use crate::map::palette;
use crate::markdown;
use crate::model::{IndexData, IndicatorData, Report};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const CSS: &str = r#"
:root { --ink: #1d1d1f; --muted: #4a4a4f; --accent: #8c2d04; --line: #c8c8cc; --panel: #f6f6f7; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; font: 16px/1.5 system-ui, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); }
h1 { font-size: 2rem; color: var(--accent); margin-bottom: .25rem; }
h2 { font-size: 1.5rem; border-bottom: 2px solid var(--accent); padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.2rem; margin-top: 2rem; }
h4 { font-size: 1rem; }
.titlepage { min-height: 60vh; display: flex; flex-direction: column; justify-content: center; }
.subtitle { font-size: 1.3rem; color: var(--muted); }
.meta, .note, figcaption { color: var(--muted); font-size: .9rem; }
nav.toc ol { padding-left: 1.2rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
svg.map path.area { stroke: #6b6b70; stroke-width: .4; }
svg.map path.parent { fill: none; stroke: #1d1d1f; stroke-width: 1.2; pointer-events: none; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .85rem; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.legend svg { width: 18px; height: 14px; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.findings li { margin-bottom: .3rem; }
.profile { border-top: 1px solid var(--line); margin-top: 2rem; }
figure.locator { float: right; margin: 0 0 1rem 1rem; }
table.development { clear: both; }
pre { background: var(--panel); padding: .75rem; overflow: auto; font-size: .85rem; white-space: pre-wrap; }
.disclosure { border-left: 4px solid var(--accent); padding: .4rem .8rem; background: var(--panel); }
a { color: #1a5fb4; }
@media print {
  @page { size: A4; margin: 18mm 16mm 20mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .titlepage { min-height: 240mm; break-after: page; }
  nav.toc { break-after: page; }
  section.chapter, section.profile-section, section.appendix { break-before: page; }
  .profile { break-before: page; border: 0; }
  table.development { break-before: page; }
  figure, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// Renders the whole report.
pub fn render(r: &Report) -> String {
    let def = &r.def;
    let page = html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="Quartier";
                title { (def.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                @if !r.profiles.is_empty() { (base_map(r)) }
                header.titlepage {
                    h1 { (def.title) }
                    @if !def.subtitle.is_empty() { p.subtitle { (def.subtitle) } }
                    p { (def.municipality) " · Ausgabe " (def.edition) }
                    @if !def.reference_date.is_empty() { p.meta { "Datenstand: " (def.reference_date) } }
                    @if !def.publisher.is_empty() { p.meta { "Herausgegeben von " (def.publisher) } }
                    p.meta { "Gebiete: " (r.areas.len()) " × " (r.level) " · Berichtsjahr " (r.year)
                        @if let Some(s) = r.since { " · Veränderungen seit " (s) } }
                }
                nav.toc aria-labelledby="inhalt" {
                    h2 #inhalt { "Inhalt" }
                    ol {
                        @if !def.introduction.is_empty() { li { a href="#einleitung" { "Einleitung" } } }
                        @if !r.findings.is_empty() { li { a href="#auffaelligkeiten" { "Auffälligkeiten" } } }
                        @for (c, ch) in r.chapters.iter().enumerate() {
                            li { a href=(format!("#kapitel-{}", c + 1)) { (ch.title) }
                                ol { @for &i in &ch.indicators { li { a href=(format!("#indikator-{}", r.indicators[i].id)) { (r.indicators[i].name) } } } } }
                        }
                        @if let Some(ix) = &r.index { li { a href="#index" { (ix.title) } } }
                        @if !r.profiles.is_empty() { li { a href="#steckbriefe" { "Gebietsprofile" } } }
                        li { a href="#methoden" { "Methoden und Definitionen" } }
                        li { a href="#quellen" { "Quellen" } }
                    }
                }
                main {
                    @if let Some(t) = r.threshold {
                        p.disclosure { "Geheimhaltung: Anzahlen unter " (fmt_de(t, 0)) " und Werte, aus denen sie sich zurückrechnen ließen, sind nicht ausgewiesen („geheim“); Quoten mit geheimem Zähler oder Nenner ebenso." }
                    }
                    @if !def.introduction.is_empty() {
                        section #einleitung { h2 { "Einleitung" } (PreEscaped(markdown::to_html(&def.introduction, 2))) }
                    }
                    @if !r.findings.is_empty() {
                        section #auffaelligkeiten {
                            h2 { "Auffälligkeiten" }
                            p.note { "Automatisch aus den Daten ermittelt – zur Einordnung und Kommentierung durch die Sozialplanung." }
                            ul.findings { @for f in &r.findings { li { (f) } } }
                        }
                    }
                    @for (c, ch) in r.chapters.iter().enumerate() {
                        section.chapter id=(format!("kapitel-{}", c + 1)) {
                            h2 { (c + 1) ". " (ch.title) }
                            @if !ch.text.is_empty() { (PreEscaped(markdown::to_html(&ch.text, 2))) }
                            @for &i in &ch.indicators { (indicator_section(r, &r.indicators[i])) }
                        }
                    }
                    @if let Some(ix) = &r.index { (index_section(r, ix)) }
                    @if !r.profiles.is_empty() {
                        section.profile-section #steckbriefe {
                            h2 { "Gebietsprofile" }
                            @for &a in &r.profiles { (profile(r, a)) }
                        }
                    }
                    (appendix(r))
                }
                footer.meta {
                    p { "Erstellt mit Quartier aus den gespeicherten Daten. Jede Zahl lässt sich über die Indikatordefinition im Anhang und die Quellen nachvollziehen." }
                }
            }
        }
    };
    page.into_string()
}

/// Colour of a value under `bins` (mapclassify upper bounds).
fn colour(bins: &[f64], colours: &[&'static str], v: Option<f64>) -> &'static str {
    match v {
        Some(v) if !bins.is_empty() => colours[quartier_core::classify::class_of(bins, v).min(colours.len() - 1)],
        _ => "#f2f2f2",
    }
}

/// A choropleth of the report's level: one fill per area, the level above as outlines.
fn choropleth(r: &Report, fills: &[&str], titles: &[String], label: &str) -> Markup {
    html! {
        svg.map xmlns="http://www.w3.org/2000/svg" viewBox=(r.map.view_box) role="img" aria-label=(label) {
            @for (i, a) in r.areas.iter().enumerate() {
                @if let Some(d) = r.map.paths.get(&a.key) {
                    path.area d=(d) fill=(fills[i]) { title { (titles[i]) } }
                }
            }
            @for d in &r.map.parents { path.parent d=(d) {} }
        }
    }
}

fn legend(items: &[(&str, String, usize)]) -> Markup {
    html! {
        ul.legend {
            @for (c, label, n) in items {
                li { svg viewBox="0 0 18 14" aria-hidden="true" { rect width="18" height="14" fill=(c) stroke="#6b6b70" {} } (label) " (" (n) ")" }
            }
        }
    }
}

fn indicator_section(r: &Report, d: &IndicatorData) -> Markup {
    let y = r.year;
    let dec = d.decimals;
    let unit = if d.unit.is_empty() { String::new() } else { format!(" {}", d.unit) };
    let values: Vec<Option<f64>> = (0..r.areas.len()).map(|i| d.value(i, y)).collect();
    let colours = palette(d.bins.len().max(1));
    let fills: Vec<&str> = values.iter().map(|v| colour(&d.bins, &colours, *v)).collect();
    let titles: Vec<String> = r
        .areas
        .iter()
        .enumerate()
        .map(|(i, a)| match values[i] {
            Some(v) => format!("{}: {}{unit}", a.name, fmt_de(v, dec)),
            None => format!("{}: {}", a.name, d.notes[i].get(&y).copied().unwrap_or("kein Wert")),
        })
        .collect();
    let items = crate::map::class_legend(&d.bins, &values, dec);
    let reference = d.reference.get(&y).copied().flatten();
    let mut ranked: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| Some((i, (*v)?))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let link = |i: usize| if r.profiles.contains(&i) { format!("#profil-{}", r.areas[i].key) } else { format!("#indikator-{}", d.id) };
    let bars: Vec<(String, f64, String)> = ranked.iter().take(15).map(|(i, v)| (r.areas[*i].name.clone(), *v, link(*i))).collect();
    let series = &d.trend;
    html! {
        article id=(format!("indikator-{}", d.id)) {
            h3 { (d.name) }
            @if !d.description.is_empty() { p.note { (d.description) } }
            p { (d.text) }
            figure {
                (choropleth(r, &fills, &titles, &format!("Karte: {} {y} je {} in {} Klassen ({}); die Werte stehen in den Tabellen und Gebietsprofilen", d.name, r.level, d.bins.len(), r.def.classes.method)))
                (legend(&items))
                figcaption { "Abbildung: " (d.name) " " (y) (unit) " je " (r.level) @if d.frozen { " (feste Klassengrenzen, vergleichbar mit früheren Ausgaben)" } "." }
            }
            @if !bars.is_empty() {
                figure {
                    (charts::ranking_bars(&bars, reference, dec, &format!("Die 15 höchsten Werte: {}", d.name)))
                    figcaption { "Die höchsten Werte " (y) @if let Some(rf) = reference { "; gestrichelt: Durchschnitt " (fmt_de(rf, dec)) (unit) } "." }
                }
            }
            @if series.len() > 1 {
                figure {
                    (charts::time_series(&[], series, &d.trend_label, &d.unit, dec, &format!("Zeitreihe {}: {}", d.name, d.trend_label)))
                    figcaption { "Verlauf, " (d.trend_label) ": " (series.iter().map(|(y, v)| format!("{y}: {}", fmt_de(*v, dec))).collect::<Vec<_>>().join(" · ")) }
                }
            }
            (value_table(r, d, &ranked))
        }
    }
}

/// The highest and lowest areas with deviation from the reference and change.
fn value_table(r: &Report, d: &IndicatorData, ranked: &[(usize, f64)]) -> Markup {
    let y = r.year;
    let dec = d.decimals;
    let reference = d.reference.get(&y).copied().flatten();
    let mut shown: Vec<usize> = (0..ranked.len().min(10)).collect();
    if ranked.len() > 15 {
        shown.extend(ranked.len() - 5..ranked.len());
    } else {
        shown = (0..ranked.len()).collect();
    }
    html! {
        table {
            caption { (d.name) " " (y) ": " @if ranked.len() > 15 { "die zehn höchsten und fünf niedrigsten Werte" } @else { "alle Gebiete" } }
            thead { tr {
                th scope="col" .num { "Rang" } th scope="col" { (r.level) } th scope="col" .num { "Wert" }
                th scope="col" .num { "Abweichung vom Durchschnitt" }
                @if let Some(s) = r.since { th scope="col" .num { "Veränderung seit " (s) } }
            } }
            tbody {
                @for &k in &shown {
                    @let (i, v) = ranked[k];
                    tr {
                        td.num { (k + 1) }
                        th scope="row" { (r.area_name(i)) }
                        td.num { (fmt_de(v, dec)) }
                        td.num { @if let Some(rf) = reference { (signed(v - rf, dec)) } }
                        @if let Some(s) = r.since { td.num { @if let Some(old) = d.value(i, s) { (signed(v - old, dec)) } @else { "–" } } }
                    }
                }
                @if let Some(rf) = reference {
                    tr { td {} th scope="row" { "Durchschnitt " (r.def.municipality) } td.num { (fmt_de(rf, dec)) } td {}
                        @if let Some(s) = r.since { td.num { @if let Some(Some(old)) = d.reference.get(&s) { (signed(rf - old, dec)) } } } }
                }
            }
        }
    }
}

fn signed(v: f64, dec: usize) -> String {
    let s = fmt_de(v, dec);
    if v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("+{s}") } else { s }
}

fn index_section(r: &Report, ix: &IndexData) -> Markup {
    let fills = ix.fills();
    let titles: Vec<String> = r
        .areas
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}: {}", a.name, ix.label[i].clone().unwrap_or_else(|| "nicht bewertet".into())))
        .collect();
    let items = ix.class_legend();
    html! {
        section.chapter #index {
            h2 { (ix.title) }
            @if !ix.text.is_empty() { (PreEscaped(markdown::to_html(&ix.text, 2))) }
            p { (ix.rated) " Gebiete bewertet, Datenjahr " (ix.year) "." }
            figure {
                (choropleth(r, &fills, &titles, &format!("Karte: {} je {}; die Klassen stehen auch in der Tabelle der Gebiete mit Aufmerksamkeitsbedarf und in den Gebietsprofilen", ix.title, r.level)))
                (legend(&items))
                figcaption { "Abbildung: " (ix.title) " " (ix.year) "." }
            }
            @if let Some(m) = &ix.matrix {
                table {
                    caption { "Gebiete nach Status und Dynamik" }
                    thead { tr { th scope="col" { "Status" } th scope="col" .num { "Dynamik positiv (+)" } th scope="col" .num { "stabil (+/-)" } th scope="col" .num { "negativ (-)" } th scope="col" .num { "zusammen" } } }
                    tbody {
                        @for (s, row) in m.iter().enumerate() {
                            tr { th scope="row" { (ix.class_names[s]) } @for n in row { td.num { (n) } } td.num { (row.iter().sum::<usize>()) } }
                        }
                    }
                }
            }
            @if !ix.attention.is_empty() {
                table {
                    caption { "Gebiete mit besonderem Aufmerksamkeitsbedarf (" (ix.attention.len()) ")" }
                    thead { tr { th scope="col" { (r.level) } th scope="col" { "Klasse" } th scope="col" { "Grund" } } }
                    tbody { @for (i, reason) in &ix.attention { tr { th scope="row" { (r.area_name(*i)) } td { (ix.label[*i].clone().unwrap_or_default()) } td { (reason) } } } }
                }
            }
            @if let Some((y, ch)) = &ix.changed {
                @if ch.is_empty() { p { "Seit " (y) " hat kein bewertetes Gebiet die Klasse gewechselt." } } @else {
                    table {
                        caption { "Gebiete mit Klassenwechsel seit " (y) " (" (ch.len()) ")" }
                        thead { tr { th scope="col" { (r.level) } th scope="col" { (y) } th scope="col" { (ix.year) } } }
                        tbody { @for (i, before, now) in ch { tr { th scope="row" { (r.area_name(*i)) } td { (before) } td { (now) } } } }
                    }
                }
            }
            @if let Some(f) = &ix.fragile {
                p { "Robustheit: " (f.len()) " von " (ix.rated) " bewerteten Gebieten ändern ihre Klasse, wenn ein einzelner Indikator wegfällt oder die Bewertungsgrundgesamtheit sich ändert (200 Läufe mit zufälligen Gewichten ±50 %, Startwert 1)."
                    @if !f.is_empty() { " Betroffen u. a.: " (f.iter().take(12).map(|&i| r.areas[i].name.clone()).collect::<Vec<_>>().join(", ")) @if f.len() > 12 { " …" } "." } }
            }
        }
    }
}

/// The level's outlines once, as a symbol every locator map uses: a profile adds only its
/// own area, not the whole map again.
fn base_map(r: &Report) -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" aria-hidden="true" style="position:absolute" {
            symbol #grundkarte viewBox=(r.map.view_box) {
                @for a in &r.areas { @if let Some(d) = r.map.paths.get(&a.key) { path d=(d) fill="#eeeeee" stroke="#9a9a9e" stroke-width=".4" {} } }
            }
        }
    }
}

/// The area profiles alone (Steckbriefe), each starting on a new printed page.
pub fn render_profiles(r: &Report) -> String {
    let def = &r.def;
    let page = html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="Quartier";
                title { "Gebietsprofile – " (def.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (base_map(r))
                header {
                    h1 { "Gebietsprofile" }
                    p.subtitle { (def.title) " · " (def.municipality) " · Berichtsjahr " (r.year) }
                    @if let Some(t) = r.threshold { p.disclosure { "Geheimhaltung: Anzahlen unter " (fmt_de(t, 0)) " und rückrechenbare Werte sind nicht ausgewiesen („geheim“)." } }
                }
                main {
                    @for &a in &r.profiles { (profile(r, a)) (development(r, a)) }
                }
                footer.meta { p { "Erstellt mit Quartier aus den gespeicherten Daten. Quellen: " (r.sources.iter().map(|s| s.source.clone()).collect::<Vec<_>>().join("; ")) } }
            }
        }
    };
    page.into_string()
}

/// The second page of a profile: every indicator in every year, against the average.
fn development(r: &Report, a: usize) -> Markup {
    let area = &r.areas[a];
    html! {
        table.development {
            caption { "Entwicklung in " (area.name) " (in Klammern: Durchschnitt von " (r.def.municipality) ")" }
            thead { tr { th scope="col" { "Indikator" } @for y in &r.years { th scope="col" .num { (y) } } } }
            tbody {
                @for d in &r.indicators {
                    tr {
                        th scope="row" { (d.name) @if !d.unit.is_empty() { " (" (d.unit) ")" } }
                        @for y in &r.years {
                            td.num {
                                (d.cell_text(a, *y))
                                @if let Some(Some(rf)) = d.reference.get(y) { " (" (fmt_de(*rf, d.decimals)) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn profile(r: &Report, a: usize) -> Markup {
    let area = &r.areas[a];
    let y = r.year;
    html! {
        article.profile id=(format!("profil-{}", area.key)) {
            h3 { (area.name) " (" (area.key) ")" }
            @if let Some(p) = &area.parent { p.meta { (r.level) " in " (p) } }
            @if let Some(d) = r.map.paths.get(&area.key) {
                figure.locator {
                    svg.map xmlns="http://www.w3.org/2000/svg" viewBox=(r.map.view_box) width="260" role="img" aria-label=(format!("Lage von {} in {}", area.name, r.def.municipality)) {
                        use href="#grundkarte" {}
                        path d=(d) fill="#8c2d04" stroke="#1d1d1f" stroke-width="1" {}
                    }
                }
            }
            @if let Some(ix) = &r.index { p { (ix.title) ": " strong { (ix.label[a].clone().unwrap_or_else(|| "nicht bewertet".into())) }
                @if let Some((_, reason)) = ix.attention.iter().find(|(i, _)| *i == a) { " – besonderer Aufmerksamkeitsbedarf: " (reason) } } }
            table {
                caption { "Indikatoren " (y) " gegen den Durchschnitt von " (r.def.municipality) }
                thead { tr { th scope="col" { "Indikator" } th scope="col" .num { "Wert" } th scope="col" .num { "Durchschnitt" } th scope="col" { "Verlauf" } } }
                tbody {
                    @for d in &r.indicators {
                        @let series: Vec<(i32, f64)> = d.values[a].iter().filter_map(|(y, v)| Some((*y, (*v)?))).collect();
                        @let reference: Vec<(i32, f64)> = d.reference.iter().filter_map(|(y, v)| Some((*y, (*v)?))).collect();
                        tr {
                            th scope="row" { (d.name) @if !d.unit.is_empty() { " (" (d.unit) ")" } }
                            td.num { (d.cell_text(a, y)) }
                            td.num { @if let Some(Some(rf)) = d.reference.get(&y) { (fmt_de(*rf, d.decimals)) } }
                            td { (charts::sparkline(&series, &reference, &format!("Verlauf {} in {}: {}", d.name, area.name, series.iter().map(|(y, v)| format!("{y}: {}", fmt_de(*v, d.decimals))).collect::<Vec<_>>().join(", ")))) }
                        }
                    }
                }
            }
        }
    }
}

fn appendix(r: &Report) -> Markup {
    html! {
        section.appendix #methoden {
            h2 { "Methoden und Definitionen" }
            @if !r.def.methods.is_empty() { (PreEscaped(markdown::to_html(&r.def.methods, 2))) }
            p { "Indikatoren werden aus den über die Gebietsebenen summierten Anzahlen berechnet, nie als Mittel von Quoten. Kartenklassen: "
                (r.def.classes.method) " mit " (r.def.classes.k) " Klassen" @if r.def.classes.frozen { ", wo festgelegt mit festen Grenzen" } ". Räumliche Häufungen: lokales Moran's I (LISA), Nachbarschaft über gemeinsame Grenzen oder Ecken (Queen), 999 Permutationen, p ≤ 0,05." }
            table {
                caption { "Indikatordefinitionen" }
                thead { tr { th scope="col" { "Indikator" } th scope="col" { "Formel" } th scope="col" { "Einheit" } th scope="col" { "Richtung" } th scope="col" { "Lebensbereich" } th scope="col" { "Quelle" } } }
                tbody {
                    @for d in &r.indicators {
                        tr { th scope="row" { (d.name) " (" code { (d.id) } ")" } td { code { (d.formula) } } td { (d.unit) }
                            td { @if d.direction == quartier_core::indicator::Direction::HigherIsBetter { "höher = besser" } @else { "höher = mehr Bedarf" } }
                            td { (d.domain) } td { (d.source) } }
                    }
                }
            }
            @if let Some(ix) = &r.index {
                h3 { "Definition: " (ix.title) }
                pre { (ix.definition) }
            }
        }
        section #quellen {
            h2 { "Quellen" }
            ul { @for s in &r.sources { li { (s.source) @if !s.reference_date.is_empty() { ", Stichtag " (s.reference_date) } @if !s.variables.is_empty() { ": " (s.variables.join(", ")) } } } }
            @if !r.def.licence.is_empty() { p { "Lizenz: " (r.def.licence) } }
        }
    }
}
