//! The start page (Übersicht), the index page (status × dynamics), the comparison of areas
//! (Vergleich) and the data status (Daten).

use crate::charts;
use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use quartier_app::store::Store;
use quartier_app::views::IndicatorResults;
use quartier_core::index::{IndexDefinition, IndexMethod};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

fn profile_href(key: &str, level: &str) -> String {
    format!("/gebiet/{}?ebene={}", url(key), url(level))
}

/// The rows of an index table this request may show (a tenant: its own areas below the
/// shared levels; the index itself is computed over every area).
pub(crate) fn visible_table(st: &AppState, level: &str, t: &quartier_app::indexing::Table) -> quartier_app::indexing::Table {
    if st.view.is_none() {
        return t.clone();
    }
    let col = t.headers.iter().position(|h| h == "area_id");
    let keep = |k: Option<&str>| k.is_some_and(|k| st.visible(level, k));
    quartier_app::indexing::Table {
        headers: t.headers.clone(),
        rows: t.rows.iter().filter(|r| keep(col.and_then(|c| r.get(c)).map(String::as_str))).cloned().collect(),
        json: t.json.iter().filter(|j| keep(j["area_id"].as_str())).cloned().collect(),
        notes: t.notes.clone(),
    }
}

/// The latest saved MSS-style index (by its year), computed.
fn latest_mss(store: &dyn Store, st: &AppState) -> Result<Option<(String, IndexDefinition, Arc<crate::cache::IndexResult>)>, AppError> {
    let mut best: Option<(i32, String, IndexDefinition, Arc<crate::cache::IndexResult>)> = None;
    for (id, text) in store.index_definitions()? {
        let Ok(def) = IndexDefinition::from_toml(&text) else { continue };
        if def.method != IndexMethod::Mss {
            continue;
        }
        let r = st.cache.index(&st.db, store, &id, &def);
        let year = r.table.as_ref().ok().and_then(|t| t.json.first()).and_then(|row| row["year"].as_i64()).unwrap_or(0) as i32;
        if best.as_ref().is_none_or(|b| year > b.0) {
            best = Some((year, id, def, r));
        }
    }
    Ok(best.map(|(_, id, def, r)| (id, def, r)))
}

/// Per indicator: the reference series, or (rates delivered per area, no reference) the
/// median over the lowest level; with the spread in the latest year.
struct KeyFigure {
    id: String,
    name: String,
    unit: String,
    decimals: usize,
    year: i32,
    centre: f64,
    centre_is_median: bool,
    min: f64,
    max: f64,
    first: Option<(i32, f64)>,
    series: Vec<(i32, f64)>,
}

fn key_figures(res: &IndicatorResults, lowest: &str) -> Vec<KeyFigure> {
    let mut out = Vec::new();
    for ind in &res.catalogue.indicators {
        let mut per_year: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
        for r in res.rows.iter().filter(|r| r.indicator == ind.id && r.level == lowest && r.status.has_value()) {
            if let Some(v) = r.value {
                per_year.entry(r.year).or_default().push(v);
            }
        }
        let mut reference: Vec<(i32, f64)> = res
            .references
            .iter()
            .filter(|r| r.indicator == ind.id && r.status.has_value())
            .filter_map(|r| r.value.map(|v| (r.year, v)))
            .collect();
        reference.sort_by_key(|x| x.0);
        let Some((&year, latest)) = per_year.iter_mut().next_back() else { continue };
        latest.sort_by(f64::total_cmp);
        let (min, max) = (latest[0], latest[latest.len() - 1]);
        let (series, centre_is_median) = if reference.is_empty() {
            let s: Vec<(i32, f64)> = per_year
                .iter_mut()
                .map(|(y, v)| {
                    v.sort_by(f64::total_cmp);
                    (*y, charts::quartile(v, 0.5))
                })
                .collect();
            (s, true)
        } else {
            (reference, false)
        };
        let Some(&(_, centre)) = series.iter().find(|x| x.0 == year).or(series.last()) else { continue };
        out.push(KeyFigure {
            id: ind.id.clone(),
            name: ind.name.clone(),
            unit: ind.unit.clone(),
            decimals: ind.decimals as usize,
            year,
            centre,
            centre_is_median,
            min,
            max,
            first: series.first().copied().filter(|f| f.0 < year),
            series,
        });
    }
    out
}

/// Status × dynamics counts and the areas needing attention, from an MSS table.
pub(crate) struct Matrix {
    counts: [[usize; 3]; 4],
    not_rated: usize,
    attention: Vec<(String, u64, String, String)>,
}

pub(crate) fn matrix(table: &quartier_app::indexing::Table) -> Matrix {
    let mut m = Matrix { counts: [[0; 3]; 4], not_rated: 0, attention: Vec::new() };
    for row in &table.json {
        let (Some(s), Some(d)) = (row["status_class"].as_u64(), row["dynamics_class"].as_str()) else {
            m.not_rated += 1;
            continue;
        };
        let col = match d {
            "+" => 0,
            "+/-" => 1,
            _ => 2,
        };
        m.counts[(s.clamp(1, 4) - 1) as usize][col] += 1;
        if row["attention"] == true {
            m.attention.push((
                row["area_id"].as_str().unwrap_or("").to_string(),
                s,
                d.to_string(),
                row["attention_reason"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    m.attention.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    m
}

pub(crate) fn matrix_table(m: &Matrix, caption: &str) -> Markup {
    const DYN: [&str; 3] = ["+ positiv", "+/- stabil", "- negativ"];
    html! {
        table.matrix {
            caption { (caption) }
            thead { tr { th scope="col" { "Status \\ Dynamik" } @for d in DYN { th scope="col" .num { (d) } } th scope="col" .num { "zusammen" } } }
            tbody {
                @for (i, row) in m.counts.iter().enumerate() {
                    tr {
                        th scope="row" { (i + 1) " " (quartier_core::index::mss::STATUS_LABELS[i]) }
                        @for (j, c) in row.iter().enumerate() {
                            td.num.cell data-s=(i + 1) data-d=(j) { (c) }
                        }
                        td.num { (row.iter().sum::<usize>()) }
                    }
                }
            }
        }
        @if m.not_rated > 0 { p.note { (m.not_rated) " Gebiete nicht bewertet (Einwohnerzahl, Ausschluss)." } }
    }
}

/// `/`: the municipality at a glance.
pub async fn overview_page(State(st): State<AppState>) -> Result<Response, AppError> {
    let page = with_store(&st, |store, st| {
        let levels = store.levels()?;
        let attribution = store.setting("attribution")?;
        let Some(lowest) = levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()) else {
            let body = html! {
                h1 { "Noch keine Daten" }
                p { "Zuerst Gebiete und Daten importieren: " code { "quartier import areas DATEI --level EBENE" } ", dann " code { "quartier import data DATEI" } "." }
            };
            return Ok(layout_nav("Übersicht", "uebersicht", body, attribution.as_deref()));
        };
        let has_catalogue = !store.catalogue()?.indicators.is_empty();
        let figures = if has_catalogue {
            let res = st.cache.indicators(&st.db, store, st.public).map_err(crate::indicators_error)?;
            key_figures(&res, &lowest)
        } else {
            Vec::new()
        };
        let index = latest_mss(store, st)?;
        let names: HashMap<String, String> = store.areas(None)?.into_iter().map(|a| (format!("{}/{}", a.level, a.key), a.name)).collect();
        let variables = st.cache.variables(&st.db, store)?;
        let mut sources: BTreeMap<String, (usize, i32, String)> = BTreeMap::new();
        for v in variables.iter() {
            let e = sources.entry(if v.source.is_empty() { "ohne Quellenangabe".into() } else { v.source.clone() }).or_insert((0, 0, String::new()));
            e.0 += 1;
            e.1 = e.1.max(v.years.last().copied().unwrap_or(0));
            if !v.reference_date.is_empty() {
                e.2 = v.reference_date.clone();
            }
        }
        let total_areas: usize = levels.iter().map(|l| l.areas).sum();
        let body = html! {
            h1 { "Übersicht" }
            p.lead { (total_areas) " Gebiete auf " (levels.len()) " Ebenen (" (levels.iter().map(|l| format!("{} {}", l.areas, l.name)).collect::<Vec<_>>().join(", ")) ")" }
            @if let Some((id, def, r)) = &index && let Ok(t) = &r.table {
                @let level = def.level.clone().unwrap_or_else(|| lowest.clone());
                @let t = visible_table(st, &level, t);
                @let m = matrix(&t);
                section.cards {
                    div {
                        h2 { a href=(format!("/index/{}", url(id))) { (if def.name.is_empty() { id.clone() } else { def.name.clone() }) } }
                        (matrix_table(&m, "Gebiete nach Status und Dynamik"))
                        p { a href=(format!("/karte?subject=index:{}", url(id))) { "Karte der Statusklassen" } " · " a href=(format!("/index/{}", url(id))) { "alle Gebiete mit Aufmerksamkeitsbedarf" } }
                    }
                    div {
                        h2 { "Besonderer Aufmerksamkeitsbedarf (" (m.attention.len()) ")" }
                        ol.attention {
                            @for (k, s, d, reason) in m.attention.iter().take(10) {
                                li { a href=(profile_href(k, &level)) { (names.get(&format!("{level}/{k}")).cloned().unwrap_or_else(|| k.clone())) } " – Status " (s) ", Dynamik " (d) @if !reason.is_empty() { span.note { " (" (reason) ")" } } }
                            }
                        }
                    }
                }
            }
            @if !figures.is_empty() {
                h2 #kennzahlen { "Kennzahlen" }
                // On a phone the table scrolls sideways in its own box (reachable by keyboard),
                // the page does not.
                div.scroll tabindex="0" role="region" aria-labelledby="kennzahlen" {
                table {
                    caption { "Neuester Stand je Indikator: Gesamtwert (wo Anzahlen vorliegen) oder Median der Gebiete der Ebene " (lowest) ", Spanne und Verlauf – der Durchschnitt ist nirgendwo." }
                    thead { tr { th scope="col" { "Indikator" } th scope="col" { "Jahr" } th scope="col" .num { "Gesamt / Median" } th scope="col" .num { "Spanne (" (lowest) ")" } th scope="col" .num { "Veränderung" } th scope="col" { "Verlauf" } } }
                    tbody {
                        @for f in &figures {
                            tr {
                                th scope="row" { a href=(format!("/indikator/{}", url(&f.id))) { (f.name) } @if !f.unit.is_empty() { " (" (f.unit) ")" } }
                                td { (f.year) }
                                td.num { (fmt_de(f.centre, f.decimals)) @if f.centre_is_median { span.note { " Median" } } }
                                td.num { (fmt_de(f.min, f.decimals)) " – " (fmt_de(f.max, f.decimals)) }
                                td.num { @if let Some((y0, v0)) = f.first { (if f.centre >= v0 { "+" } else { "−" }) (fmt_de((f.centre - v0).abs(), f.decimals)) " seit " (y0) } }
                                td { (charts::sparkline(&f.series, &[], &format!("Verlauf {}: {}", f.name, f.series.iter().map(|(y, v)| format!("{y}: {}", fmt_de(*v, f.decimals))).collect::<Vec<_>>().join(", ")))) }
                            }
                        }
                    }
                }
                }
            }
            h2 { "Datenstand" }
            table {
                caption { "Quellen mit der Zahl ihrer Merkmale und dem neuesten Jahr; Details unter „Daten“." }
                thead { tr { th scope="col" { "Quelle" } th scope="col" .num { "Merkmale" } th scope="col" .num { "neuestes Jahr" } th scope="col" { "Stichtag" } } }
                tbody { @for (s, (n, y, d)) in &sources { tr { td { (s) } td.num { (n) } td.num { (y) } td { (d) } } } }
            }
            p { a href="/daten" { "Alle Merkmale und Importe" } }
        };
        Ok(layout_nav("Übersicht", "uebersicht", body, attribution.as_deref()))
    })
    .await?;
    Ok(page.into_response())
}

/// `/index/{id}`: the status × dynamics matrix and the areas needing attention.
#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    /// `csv` or `xlsx`: the page's table as a download.
    pub format: Option<String>,
}

pub async fn index_page(State(st): State<AppState>, Path(id): Path<String>, Query(fq): Query<FormatQuery>) -> Result<Response, AppError> {
    let download = crate::download::kind(fq.format.as_deref())?;
    with_store(&st, move |store, st| {
        let text = store
            .index_definitions()?
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, t)| t)
            .ok_or_else(|| AppError::NotFound(format!("Index „{id}“ gibt es nicht")))?;
        let def = IndexDefinition::from_toml(&text).map_err(AppError::Internal)?;
        let r = st.cache.index(&st.db, store, &id, &def);
        let table = r.table.as_ref().map_err(|e| AppError::NotFound(e.clone()))?;
        let level = def.level.clone().or_else(|| store.levels().ok()?.into_iter().rev().find(|l| l.areas > 0).map(|l| l.name)).unwrap_or_default();
        let table = &visible_table(st, &level, table);
        let names: HashMap<String, String> = store.areas(Some(&level))?.into_iter().map(|a| (a.key, a.name)).collect();
        let title = if def.name.is_empty() { id.clone() } else { def.name.clone() };
        let year = table.json.first().and_then(|row| row["year"].as_i64()).unwrap_or(0);
        let fragile: Vec<&str> = r
            .robustness
            .as_ref()
            .map(|t| t.json.iter().filter(|x| x["depends_on_single_choice"] == true).filter_map(|x| x["area_id"].as_str()).collect())
            .unwrap_or_default();
        if let Some(kind) = download {
            use crate::download::Cell;
            if def.method != IndexMethod::Mss {
                return Err(AppError::BadRequest("die Tabelle der Gebiete mit Aufmerksamkeitsbedarf gibt es für MSS-Indizes".into()));
            }
            let rows: Vec<Vec<Cell>> = matrix(table)
                .attention
                .iter()
                .map(|(k, s, d, reason)| {
                    vec![
                        Cell::text(k.clone()),
                        Cell::text(names.get(k).cloned().unwrap_or_default()),
                        Cell::Num(Some(*s as f64), 0),
                        Cell::text(d.clone()),
                        Cell::text(reason.clone()),
                        Cell::text(if fragile.contains(&k.as_str()) { "hängt an einer Einzelentscheidung" } else { "ja" }),
                    ]
                })
                .collect();
            return crate::download::table(
                kind,
                &format!("{id}-aufmerksamkeit-{year}"),
                "Aufmerksamkeitsbedarf",
                &["Schlüssel", "Gebiet", "Status", "Dynamik", "Grund", "robust"],
                &rows,
            );
        }
        let body = html! {
            h1 { (title) " " (year) }
            dl.facts {
                dt { "Methode" } dd { (format!("{:?}", def.method).to_lowercase()) }
                @if !def.status.is_empty() { dt { "Status-Indikatoren" } dd { (def.status.join(", ")) } }
                @if !def.dynamics.is_empty() { dt { "Dynamik-Indikatoren" } dd { (def.dynamics.join(", ")) } }
                @if let Some(m) = def.min_population { dt { "Mindesteinwohnerzahl" } dd { (fmt_de(m, 0)) } }
                dt { "Ebene" } dd { (level) }
            }
            p { a href=(format!("/karte?subject=index:{}", url(&id))) { "Karte der Klassen" } }
            @if def.method == IndexMethod::Mss {
                @let m = matrix(table);
                h2 { "Status und Dynamik" }
                (matrix_table(&m, &format!("Gebiete nach Status- und Dynamikklasse, {year}")))
                @if r.robustness.is_some() {
                    p { (fragile.len()) " Gebiete, deren Statusklasse an einer Einzelentscheidung hängt (ein Indikator weniger oder eine andere Bewertungsgrundgesamtheit)." }
                }
                h2 #aufmerksamkeit { "Besonderer Aufmerksamkeitsbedarf (" (m.attention.len()) ")" }
                p { "Tabelle als " a href=(format!("/index/{}?format=csv", url(&id))) download { "CSV" } " oder " a href=(format!("/index/{}?format=xlsx", url(&id))) download { "Excel (XLSX)" } }
                table.sortable {
                    caption { "Gebiete mit niedrigem Status oder negativer Dynamik, mit Grund" }
                    thead { tr {
                        th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Gebiet" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Status" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Dynamik" } }
                        th scope="col" { "Grund" }
                        th scope="col" { "Robust" }
                    } }
                    tbody {
                        @for (k, s, d, reason) in &m.attention {
                            tr {
                                th scope="row" { a href=(profile_href(k, &level)) { (names.get(k).cloned().unwrap_or_else(|| k.clone())) } }
                                td.num data-v=(s) { (s) " " (quartier_core::index::mss::STATUS_LABELS[(*s as usize).clamp(1, 4) - 1]) }
                                td { (d) }
                                td { (reason) }
                                td { (if fragile.contains(&k.as_str()) { "hängt an einer Einzelentscheidung" } else { "ja" }) }
                            }
                        }
                    }
                }
            } @else {
                p { "Die Werte je Gebiet stehen in der Karte und in " code { "quartier index compute" } "." }
            }
        };
        Ok(layout_nav(&title, "uebersicht", body, store.setting("attribution")?.as_deref()).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct CompareQuery {
    pub ebene: Option<String>,
    pub gebiete: Option<String>,
}

/// `/vergleich`: two to six areas side by side, every indicator, with a dot plot per row.
pub async fn compare_page(State(st): State<AppState>, Query(q): Query<CompareQuery>) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let levels = store.levels()?;
        let level = match q.ebene.as_deref().filter(|l| !l.is_empty()) {
            Some(l) if levels.iter().any(|x| x.name == l) => l.to_string(),
            Some(l) => return Err(AppError::NotFound(format!("Ebene „{l}“ gibt es nicht"))),
            None => levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()).unwrap_or_default(),
        };
        let areas: Vec<_> = store.areas(Some(&level))?.into_iter().filter(|a| st.visible(&a.level, &a.key)).collect();
        let keys: Vec<String> = q.gebiete.as_deref().unwrap_or("").split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from).collect();
        if keys.len() > 6 {
            return Err(AppError::BadRequest("höchstens sechs Gebiete vergleichen".into()));
        }
        let mut chosen = Vec::new();
        for k in &keys {
            chosen.push(areas.iter().find(|a| &a.key == k).ok_or_else(|| AppError::NotFound(format!("Gebiet „{k}“ gibt es auf der Ebene „{level}“ nicht")))?);
        }
        let attribution = store.setting("attribution")?;
        let form = html! {
            form.controls method="get" action="/vergleich" {
                input type="hidden" name="ebene" value=(level);
                label { "Gebiete (2 bis 6, Schlüssel mit Komma)" input type="text" name="gebiete" value=(keys.join(",")) list="gebietsliste"; }
                datalist #gebietsliste { @for a in &areas { option value=(a.key) { (a.name) } } }
                button type="submit" { "Vergleichen" }
            }
        };
        if chosen.len() < 2 {
            let body = html! { h1 { "Vergleich" } p { "Zwei bis sechs Gebiete der Ebene " (level) " nebeneinander." } (form) };
            return Ok(layout_nav("Vergleich", "vergleich", body, attribution.as_deref()));
        }
        let res = st.cache.indicators(&st.db, store, st.public).map_err(crate::indicators_error)?;
        let mut latest: HashMap<(&str, &str), (i32, f64)> = HashMap::new();
        let mut all: HashMap<(&str, i32), Vec<f64>> = HashMap::new();
        for r in res.rows.iter().filter(|r| r.level == level && r.status.has_value()) {
            if let Some(v) = r.value {
                all.entry((r.indicator.as_str(), r.year)).or_default().push(v);
                let e = latest.entry((r.indicator.as_str(), r.area_id.as_str())).or_insert((r.year, v));
                if r.year > e.0 {
                    *e = (r.year, v);
                }
            }
        }
        let colours = ["#8c2d04", "#1a5fb4", "#26734d", "#6a3d9a", "#b15928", "#3b3b3b"];
        let body = html! {
            h1 { "Vergleich: " (chosen.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")) }
            (form)
            ul.keys { @for (i, a) in chosen.iter().enumerate() { li { span.swatch style=(format!("background:{}", colours[i])) {} a href=(profile_href(&a.key, &level)) { (a.name) } } } }
            table {
                caption { "Neuester Wert je Indikator und Gebiet; der Punkt zeigt die Lage in der Spanne aller Gebiete der Ebene " (level) "." }
                thead { tr { th scope="col" { "Indikator" } @for a in &chosen { th scope="col" .num { (a.name) } } th scope="col" { "Lage in der Spanne" } } }
                tbody {
                    @for ind in &res.catalogue.indicators {
                        @let vals: Vec<Option<(i32, f64)>> = chosen.iter().map(|a| latest.get(&(ind.id.as_str(), a.key.as_str())).copied()).collect();
                        @if vals.iter().any(Option::is_some) {
                            @let year = vals.iter().flatten().map(|x| x.0).max().unwrap_or(0);
                            @let spread = all.get(&(ind.id.as_str(), year)).map(|v| (v.iter().cloned().fold(f64::INFINITY, f64::min), v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)));
                            tr {
                                th scope="row" { a href=(format!("/indikator/{}?ebene={}&gebiete={}", url(&ind.id), url(&level), url(&keys.join(",")))) { (ind.name) } @if !ind.unit.is_empty() { " (" (ind.unit) ")" } }
                                @for v in &vals { td.num { (v.map(|(y, x)| if y == year { fmt_de(x, ind.decimals as usize) } else { format!("{} ({y})", fmt_de(x, ind.decimals as usize)) }).unwrap_or_else(|| "–".into())) } }
                                td {
                                    @if let Some((lo, hi)) = spread {
                                        svg.dots width="160" height="18" viewBox="0 0 160 18" role="img" aria-label=(format!("Spanne {} bis {}", fmt_de(lo, ind.decimals as usize), fmt_de(hi, ind.decimals as usize))) {
                                            line x1="4" x2="156" y1="9" y2="9" stroke="#8a8a90" {}
                                            @for (i, v) in vals.iter().enumerate() {
                                                @if let Some((_, x)) = v {
                                                    circle cx=(format!("{:.1}", if hi > lo { 4.0 + (x - lo) / (hi - lo) * 152.0 } else { 80.0 })) cy="9" r="5" fill=(colours[i]) fill-opacity="0.85" {}
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(layout_nav("Vergleich", "vergleich", body, attribution.as_deref()))
    })
    .await?;
    Ok(page.into_response())
}

/// `/daten`: every variable with source, reference date, years, missing and suppressed
/// values; the import history.
pub async fn data_page(State(st): State<AppState>) -> Result<Response, AppError> {
    let page = with_store(&st, |store, st| {
        let variables = st.cache.variables(&st.db, store)?;
        let imports = store.imports()?;
        let body = html! {
            h1 { "Daten" }
            table.sortable {
                caption { "Merkmale mit Quelle, Stichtag, Jahren, Zahl der Werte und der Werte mit amtlichem Zeichen (gesperrt, unbekannt, …)" }
                thead { tr {
                    th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Merkmal" } }
                    th scope="col" { "Art" }
                    th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Quelle" } }
                    th scope="col" { "Stichtag" }
                    th scope="col" { "Jahre" }
                    th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Werte" } }
                    th scope="col" aria-sort="none" { button type="button" data-sort="num" { "mit Zeichen" } }
                } }
                tbody {
                    @for v in variables.iter() {
                        tr {
                            th scope="row" { a href=(format!("/karte?variable={}", url(&v.key))) { (if v.label.is_empty() { &v.key } else { &v.label }) } }
                            td { (v.kind.as_str()) }
                            td { (v.source) }
                            td { (v.reference_date) }
                            td { (v.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")) }
                            td.num data-v=(v.values) { (v.values) }
                            td.num data-v=(v.symbols) { (v.symbols) }
                        }
                    }
                }
            }
            h2 { "Importe" }
            table {
                caption { "Protokoll der Importe, neueste zuerst" }
                thead { tr { th scope="col" { "Nr." } th scope="col" { "Zeit" } th scope="col" { "Art" } th scope="col" { "Datei" } th scope="col" { "Ergebnis" } } }
                tbody { @for i in imports.iter().rev() { tr { td { (i.id) } td { (i.at) } td { (i.kind) } td { (i.file) } td { (i.summary) } } } }
            }
        };
        Ok(layout_nav("Daten", "daten", body, store.setting("attribution")?.as_deref()))
    })
    .await?;
    Ok(page.into_response())
}
