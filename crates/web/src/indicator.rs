//! The indicator page: definition, distribution across the areas of a level with the
//! reference, ranking, time series for the reference and chosen areas, and the table with
//! deviation and change (also as CSV).

use crate::charts;
use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use quartier_app::store::{Level, Store};
use quartier_app::views::IndicatorResults;
use quartier_core::indicator::Indicator;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
pub struct IndicatorPageQuery {
    pub ebene: Option<String>,
    pub jahr: Option<String>,
    /// Area keys for the time series, comma-separated (at most six are drawn).
    pub gebiete: Option<String>,
    /// `1`: the table with every area even on levels with very many.
    pub alle: Option<String>,
    pub format: Option<String>,
}

struct AreaLine {
    key: String,
    name: String,
    value: Option<f64>,
    note: Option<&'static str>,
    first: Option<(i32, f64)>,
    series: Vec<(i32, f64)>,
}

struct Page {
    ind: Indicator,
    levels: Vec<Level>,
    level: String,
    years: Vec<i32>,
    year: i32,
    reference: Option<f64>,
    reference_series: Vec<(i32, f64)>,
    /// Per year the median over the level's areas, drawn when there is no reference (rates
    /// delivered per area cannot be summed to a whole-city value).
    median_series: Vec<(i32, f64)>,
    lines: Vec<AreaLine>,
    selected: Vec<String>,
    /// Rows shown in the table (all, or the first [`TABLE_ROWS`] on large levels).
    shown: usize,
    attribution: Option<String>,
    /// The boundary set shown (valid at this date; None: today's).
    boundary: Option<String>,
}

/// On levels with more areas, the table shows the highest values first and links to all.
const TABLE_ROWS: usize = 500;

pub async fn indicator_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<IndicatorPageQuery>,
) -> Result<Response, AppError> {
    let download = crate::download::kind(q.format.as_deref())?;
    let p = with_store(&st, move |store, st| {
        let computed = st.cache.indicator(&st.db, store, st.public, &id).map_err(crate::indicators_error)?;
        load(store, &computed, &id, &q, st)
    })
    .await?;
    if let Some(kind) = download {
        use crate::download::Cell;
        let dec = p.ind.decimals as usize;
        let mut rows: Vec<Vec<Cell>> = p
            .lines
            .iter()
            .map(|l| {
                vec![
                    Cell::text(l.key.clone()),
                    Cell::text(l.name.clone()),
                    Cell::Num(Some(p.year as f64), 0),
                    Cell::Num(l.value, dec),
                    Cell::Num(l.value.zip(p.reference).map(|(a, b)| a - b), dec),
                    Cell::Num(l.first.map(|f| f.0 as f64), 0),
                    Cell::Num(l.value.zip(l.first).map(|(v, f)| v - f.1), dec),
                    Cell::text(l.note.unwrap_or("")),
                ]
            })
            .collect();
        rows.push(vec![Cell::text(""), Cell::text("Gesamt"), Cell::Num(Some(p.year as f64), 0), Cell::Num(p.reference, dec)]);
        let headers = ["Schlüssel", "Gebiet", "Jahr", "Wert", "Abweichung von Gesamt", "seit Jahr", "Veränderung", "Hinweis"];
        return crate::download::table(kind, &format!("{}-{}-{}", p.ind.id, p.level, p.year), &p.ind.name, &headers, &rows);
    }
    Ok(render(&p).into_response())
}

fn load(store: &dyn Store, computed: &IndicatorResults, id: &str, q: &IndicatorPageQuery, st: &AppState) -> Result<Page, AppError> {
    let cat = store.catalogue()?;
    let ind = cat.get(id).cloned().ok_or_else(|| AppError::NotFound(format!("Indikator „{id}“ gibt es nicht")))?;
    let levels: Vec<Level> = store.levels()?.into_iter().filter(|l| l.areas > 0).collect();
    let level = match q.ebene.as_deref().filter(|l| !l.is_empty()) {
        Some(l) if levels.iter().any(|x| x.name == l) => l.to_string(),
        Some(l) => return Err(AppError::NotFound(format!("Ebene „{l}“ gibt es nicht"))),
        None => levels.last().map(|l| l.name.clone()).ok_or_else(|| AppError::NotFound("noch keine Gebiete".into()))?,
    };
    // This indicator's rows on this level, from the values computed once for all pages.
    let res = computed.only(id, &level);
    let mut years: Vec<i32> = res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let year = match q.jahr.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => {
            let y: i32 = y.parse().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?;
            if !years.contains(&y) {
                return Err(AppError::NotFound(format!("für {y} gibt es keine Werte von „{}“", ind.name)));
            }
            y
        }
        None => *years.last().ok_or_else(|| {
            // Values may exist and all be withheld: say so instead of "none yet".
            let withheld = res.rows.iter().any(|r| r.status == quartier_core::indicator::eval::Status::Confidential);
            AppError::NotFound(if withheld {
                format!("Alle Werte von „{}“ auf der Ebene „{level}“ unterliegen der Geheimhaltung (zu kleine Anzahlen); eine höhere Ebene wählen", ind.name)
            } else {
                format!("„{}“ hat noch keine Werte", ind.name)
            })
        })?,
    };
    // The areas this request may show (a tenant: its own below the shared levels).
    let names: HashMap<String, String> =
        store.areas(Some(&level))?.into_iter().filter(|a| st.visible(&a.level, &a.key)).map(|a| (a.key, a.name)).collect();
    let mut series: HashMap<&str, Vec<(i32, f64)>> = HashMap::new();
    let mut at_year: HashMap<&str, (Option<f64>, Option<&'static str>)> = HashMap::new();
    for r in &res.rows {
        if r.status.has_value()
            && let Some(v) = r.value
        {
            series.entry(r.area_id.as_str()).or_default().push((r.year, v));
        }
        if r.year == year {
            let note = crate::pages::row_note(r);
            at_year.insert(r.area_id.as_str(), (if r.status.has_value() { r.value } else { None }, note));
        }
    }
    let mut lines: Vec<AreaLine> = names
        .iter()
        .map(|(k, n)| {
            let mut s = series.get(k.as_str()).cloned().unwrap_or_default();
            s.sort_by_key(|x| x.0);
            let (value, note) = at_year.get(k.as_str()).copied().unwrap_or((None, Some("fehlt")));
            AreaLine { key: k.clone(), name: n.clone(), value, note, first: s.first().copied().filter(|f| f.0 < year), series: s }
        })
        .collect();
    lines.sort_by(|a, b| b.value.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.value.unwrap_or(f64::NEG_INFINITY)).then(a.name.cmp(&b.name)));
    let mut reference_series: Vec<(i32, f64)> =
        res.references.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value.map(|v| (r.year, v))).collect();
    reference_series.sort_by_key(|x| x.0);
    let reference = reference_series.iter().find(|x| x.0 == year).map(|x| x.1);
    let mut by_year: std::collections::BTreeMap<i32, Vec<f64>> = Default::default();
    for s in series.values() {
        for &(y, v) in s {
            by_year.entry(y).or_default().push(v);
        }
    }
    let median_series: Vec<(i32, f64)> = by_year.into_iter().map(|(y, v)| (y, charts::quartile(&sorted(&v), 0.5))).collect();
    let selected: Vec<String> = q
        .gebiete
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            if names.contains_key(k) {
                Ok(k.to_string())
            } else {
                Err(AppError::NotFound(format!("Gebiet „{k}“ gibt es auf der Ebene „{level}“ nicht")))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Page {
        ind,
        levels,
        level,
        years,
        year,
        reference,
        reference_series,
        median_series,
        lines,
        selected,
        shown: if q.alle.as_deref() == Some("1") { usize::MAX } else { TABLE_ROWS },
        attribution: store.setting("attribution")?,
        boundary: st.boundary.clone(),
    })
}

fn render(p: &Page) -> Markup {
    let ind = &p.ind;
    let dec = ind.decimals as usize;
    let unit = if ind.unit.is_empty() { String::new() } else { format!(" ({})", ind.unit) };
    let values: Vec<f64> = p.lines.iter().filter_map(|l| l.value).collect();
    let highlight = p.selected.first().and_then(|k| p.lines.iter().find(|l| &l.key == k)).and_then(|l| l.value);
    let base = format!("/indikator/{}?ebene={}", url(&ind.id), url(&p.level));
    let sel = if p.selected.is_empty() { String::new() } else { format!("&gebiete={}", url(&p.selected.join(","))) };
    let drawn: Vec<(String, Vec<(i32, f64)>)> = p
        .selected
        .iter()
        .take(6)
        .filter_map(|k| p.lines.iter().find(|l| &l.key == k))
        .map(|l| (l.name.clone(), l.series.clone()))
        .collect();
    let top: Vec<(String, f64, String)> = p
        .lines
        .iter()
        .filter_map(|l| l.value.map(|v| (l.name.clone(), v, format!("/gebiet/{}?ebene={}", url(&l.key), url(&p.level)))))
        .take(15)
        .collect();
    let body = html! {
        nav.crumbs aria-label="Pfad" { ol { li { a href="/indikatoren" { "Indikatoren" } } li aria-current="page" { (ind.name) } } }
        h1 { (ind.name) (unit) }
        dl.facts {
            @if !ind.description.is_empty() { dt { "Beschreibung" } dd { (ind.description) } }
            dt { "Formel" } dd { code { (ind.formula) } }
            dt { "Richtung" } dd { (ind.direction.label_de()) }
            @if !ind.domain.is_empty() { dt { "Lebensbereich" } dd { (ind.domain) } }
            @if !ind.target_groups.is_empty() { dt { "Zielgruppen" } dd { (ind.target_groups.join(", ")) } }
            @if !ind.source.is_empty() { dt { "Quelle" } dd { (ind.source) } }
            @if let Some(m) = ind.min_denominator { dt { "Mindestnenner" } dd { (fmt_de(m, 0)) " (darunter unsicher)" } }
        }
        form.controls method="get" action=(format!("/indikator/{}", url(&ind.id))) {
            label { "Ebene"
                select name="ebene" {
                    @for l in &p.levels { option value=(l.name) selected[l.name == p.level] { (l.name) } }
                }
            }
            label { "Jahr"
                select name="jahr" {
                    @for y in &p.years { option value=(y) selected[*y == p.year] { (y) } }
                }
            }
            @if !p.selected.is_empty() { input type="hidden" name="gebiete" value=(p.selected.join(",")); }
            button type="submit" { "Anzeigen" }
            a href=(format!("/karte?subject=indicator:{}&level={}&year={}", url(&ind.id), url(&p.level), p.year)) { "Als Karte" }
        }
        h2 { "Verteilung " (p.year) " – " (p.level) }
        p.lead {
            (values.len()) " Gebiete mit Wert"
            @if let Some(r) = p.reference { " · Gesamt " strong { (fmt_de(r, dec)) } }
            @if !values.is_empty() {
                @let s = sorted(&values);
                " · Median " (fmt_de(charts::quartile(&s, 0.5), dec)) " · Spanne " (fmt_de(s[0], dec)) " bis " (fmt_de(s[s.len() - 1], dec))
            }
            @if let Some(b) = &p.boundary {
                " · Gebietsstand vom " (b) " (die Gebiete dieses Jahres) – "
                a href=(format!("/indikator/{}?ebene={}&jahr={}&gebietsstand=aktuell", url(&ind.id), url(&p.level), p.year)) { "auf den heutigen Gebieten zeigen" }
            }
        }
        (charts::strip_plot(&values, p.reference, highlight, dec, &format!("Verteilung von {} {} über {} Gebiete; Gesamtwert gestrichelt", ind.name, p.year, values.len())))
        h2 { "Höchste Werte" }
        (charts::ranking_bars(&top, p.reference, dec, &format!("Die {} Gebiete mit den höchsten Werten von {} {}", top.len(), ind.name, p.year)))
        h2 { "Zeitreihe" }
        @let (reference_series, reference_name) = if p.reference_series.is_empty() {
            (&p.median_series, format!("Median der Gebiete ({})", p.level))
        } else {
            (&p.reference_series, "Gesamt (Referenz)".to_string())
        };
        (charts::time_series(&drawn, reference_series, &reference_name, &ind.unit, dec, &format!("Zeitreihe von {}: {reference_name}{}", ind.name, drawn.iter().map(|(n, _)| format!(", {n}")).collect::<String>())))
        p.note { "Gebiete für die Zeitreihe: in der Tabelle „vergleichen“ wählen (bis zu sechs)." }
        h2 #tabelle { "Alle Gebiete " (p.year) }
        p {
            "Tabelle als "
            a href=(format!("{base}&jahr={}{sel}&format=csv", p.year)) download { "CSV" }
            " oder "
            a href=(format!("{base}&jahr={}{sel}&format=xlsx", p.year)) download { "Excel (XLSX)" }
            @if p.lines.len() > p.shown {
                " · Gezeigt: die " (p.shown) " höchsten von " (p.lines.len()) " Werten – "
                a href=(format!("{base}&jahr={}{sel}&alle=1#tabelle", p.year)) { "alle zeigen" }
            }
        }
        div.tablebox {
            table.sortable {
                caption { (ind.name) " " (p.year) ", " (p.level) ": Wert, Abweichung vom Gesamtwert und Veränderung" }
                thead {
                    tr {
                        th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Gebiet" } }
                        th scope="col" aria-sort="descending" { button type="button" data-sort="num" { "Wert" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Abweichung" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Veränderung" } }
                        th scope="col" { "Zeitreihe" }
                    }
                }
                tbody {
                    @for l in p.lines.iter().take(p.shown) {
                        @let dev = l.value.zip(p.reference).map(|(a, b)| a - b);
                        @let change = l.value.zip(l.first).map(|(v, f)| v - f.1);
                        @let chosen = p.selected.contains(&l.key);
                        tr {
                            th scope="row" { a href=(format!("/gebiet/{}?ebene={}", url(&l.key), url(&p.level))) { (l.name) } }
                            td.num data-v=(l.value.map(|v| v.to_string()).unwrap_or_default()) { (match (l.value, l.note) {
                                (Some(v), Some(n @ ("geschätzt" | "unsicher"))) => format!("{} ({n})", fmt_de(v, dec)),
                                (Some(v), _) => fmt_de(v, dec),
                                (None, n) => n.unwrap_or("–").to_string(),
                            }) }
                            td.num data-v=(dev.map(|v| v.to_string()).unwrap_or_default()) { (dev.map(|d| format!("{}{}", if d >= 0.0 { "+" } else { "−" }, fmt_de(d.abs(), dec))).unwrap_or_default()) }
                            td.num data-v=(change.map(|v| v.to_string()).unwrap_or_default()) {
                                @if let (Some(c), Some((y0, _))) = (change, l.first) { (if c >= 0.0 { "+" } else { "−" }) (fmt_de(c.abs(), dec)) " seit " (y0) }
                            }
                            td {
                                @if chosen {
                                    @let rest: Vec<&str> = p.selected.iter().filter(|k| **k != l.key).map(String::as_str).collect();
                                    a href=(format!("{base}&jahr={}&gebiete={}#tabelle", p.year, url(&rest.join(",")))) { "entfernen" }
                                } @else {
                                    @let with: Vec<&str> = p.selected.iter().map(String::as_str).chain(std::iter::once(l.key.as_str())).collect();
                                    a href=(format!("{base}&jahr={}&gebiete={}#tabelle", p.year, url(&with.join(",")))) { "vergleichen" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout_nav(&ind.name, "indikatoren", body, p.attribution.as_deref())
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}
