//! The area profile (Gebietsprofil, Steckbrief): every indicator of one area against the
//! reference and the parent area, grouped by domain, with trends; index classes and their
//! robustness; parents, children and neighbours; a locator map. Printable on A4.

use crate::charts;
use crate::pages::{self, fmt_de, layout_nav};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use quartier_app::store::{AreaRecord, Store};
use quartier_core::index::{IndexDefinition, IndexMethod};
use quartier_core::indicator::catalogue::Direction;
use quartier_geom::MultiPolygon;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    /// Level of the area, needed when a key exists on several levels.
    pub ebene: Option<String>,
    /// `csv` for the indicator table as a download.
    pub format: Option<String>,
}

type SeriesKey<'a> = (&'a str, &'a str, &'a str);

/// One indicator row of the profile.
struct Row {
    id: String,
    name: String,
    unit: String,
    decimals: usize,
    direction: Direction,
    year: Option<i32>,
    value: Option<f64>,
    reference: Option<f64>,
    parent: Option<f64>,
    /// (rank, of how many) among the areas of the level, 1 = highest value.
    rank: Option<(usize, usize)>,
    first: Option<(i32, f64)>,
    trend: Vec<(i32, f64)>,
    trend_reference: Vec<(i32, f64)>,
    note: Option<&'static str>,
}

struct IndexInfo {
    name: String,
    year: i32,
    cells: Vec<(String, String)>,
}

struct Profile {
    area: AreaRecord,
    crumbs: Vec<AreaRecord>,
    children: Vec<AreaRecord>,
    child_level: Option<String>,
    parent_name: Option<String>,
    groups: BTreeMap<String, Vec<Row>>,
    indices: Vec<IndexInfo>,
    neighbours: Vec<AreaRecord>,
    map: Option<Markup>,
    attribution: Option<String>,
    public: bool,
    /// Offers located in the area: (service, organisation, location, target groups).
    offers: Vec<(String, String, String, String)>,
    conferences: Vec<quartier_app::store::action::Conference>,
    measures: Vec<quartier_app::store::action::Measure>,
}

pub async fn area_page(State(st): State<AppState>, Path(key): Path<String>, Query(q): Query<ProfileQuery>) -> Result<Response, AppError> {
    let download = crate::download::kind(q.format.as_deref())?;
    let p = with_store(&st, move |store, st| load(store, st, &key, q.ebene.as_deref())).await?;
    if let Some(kind) = download {
        use crate::download::Cell;
        let headers = ["Lebensbereich", "Indikator", "Einheit", "Jahr", "Wert", "Gesamt", "übergeordnet", "Abweichung", "Rang"];
        let mut rows = Vec::new();
        for (domain, list) in &p.groups {
            for r in list {
                rows.push(vec![
                    Cell::text(domain.clone()),
                    Cell::text(r.name.clone()),
                    Cell::text(r.unit.clone()),
                    Cell::Num(r.year.map(f64::from), 0),
                    Cell::Num(r.value, r.decimals),
                    Cell::Num(r.reference, r.decimals),
                    Cell::Num(r.parent, r.decimals),
                    Cell::Num(r.value.zip(r.reference).map(|(a, b)| a - b), r.decimals),
                    Cell::text(r.rank.map(|(k, of)| format!("{k} von {of}")).unwrap_or_default()),
                ]);
            }
        }
        return crate::download::table(kind, &format!("gebietsprofil-{}", p.area.key), &p.area.name, &headers, &rows);
    }
    Ok(render(&p).into_response())
}

fn load(store: &dyn Store, st: &AppState, key: &str, level: Option<&str>) -> Result<Profile, AppError> {
    let (cache, db, public) = (&*st.cache, &*st.db, st.public);
    // A tenant's profile knows only the areas it may see (an area outside is "not there").
    let areas: Vec<AreaRecord> = store.areas(None)?.into_iter().filter(|a| st.visible(&a.level, &a.key)).collect();
    let levels = store.levels()?;
    let candidates: Vec<&AreaRecord> =
        areas.iter().filter(|a| a.key == key && level.is_none_or(|l| l.is_empty() || a.level == l)).collect();
    let area = match candidates.as_slice() {
        [] => {
            return Err(AppError::NotFound(match level {
                Some(l) if !l.is_empty() => format!("Gebiet „{key}“ gibt es auf der Ebene „{l}“ nicht"),
                _ => format!("Gebiet „{key}“ gibt es nicht"),
            }));
        }
        // The same key on several levels: the lowest level (the smallest areas) first.
        many => (*many.iter().max_by_key(|a| a.level_rank).expect("non-empty")).clone(),
    };
    let by_node: HashMap<(usize, &str), &AreaRecord> = areas.iter().map(|a| ((a.level_rank, a.key.as_str()), a)).collect();
    let mut crumbs = Vec::new();
    let mut cur = area.clone();
    while let (Some(p), Some(r)) = (cur.parent.clone(), cur.level_rank.checked_sub(1)) {
        match by_node.get(&(r, p.as_str())) {
            Some(a) => {
                crumbs.push((*a).clone());
                cur = (*a).clone();
            }
            None => break,
        }
    }
    crumbs.reverse();
    let children: Vec<AreaRecord> =
        areas.iter().filter(|a| a.level_rank == area.level_rank + 1 && a.parent.as_deref() == Some(&area.key)).cloned().collect();
    let child_level = levels.iter().find(|l| l.rank == area.level_rank + 1).map(|l| l.name.clone());
    let parent = crumbs.last().cloned();
    let catalogue = store.catalogue()?;
    let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    if !catalogue.indicators.is_empty() {
        let res = cache.indicators(db, store, public).map_err(crate::indicators_error)?;
        // (indicator, level, area) → (year, value)
        let mut series: HashMap<SeriesKey, Vec<(i32, f64)>> = HashMap::new();
        let mut per_level_year: HashMap<(&str, i32), Vec<f64>> = HashMap::new();
        for r in &res.rows {
            if let (Some(v), true) = (r.value, r.status.has_value()) {
                series.entry((r.indicator.as_str(), r.level.as_str(), r.area_id.as_str())).or_default().push((r.year, v));
                if r.level == area.level {
                    per_level_year.entry((r.indicator.as_str(), r.year)).or_default().push(v);
                }
            }
        }
        let mut reference: HashMap<&str, Vec<(i32, f64)>> = HashMap::new();
        for r in &res.references {
            if let (Some(v), true) = (r.value, r.status.has_value()) {
                reference.entry(r.indicator.as_str()).or_default().push((r.year, v));
            }
        }
        let statuses: HashMap<(&str, i32), &quartier_app::views::IndicatorRow> = res
            .rows
            .iter()
            .filter(|r| r.area_id == area.key && r.level == area.level)
            .map(|r| ((r.indicator.as_str(), r.year), r))
            .collect();
        for ind in &catalogue.indicators {
            let mut trend = series.get(&(ind.id.as_str(), area.level.as_str(), area.key.as_str())).cloned().unwrap_or_default();
            trend.sort_by_key(|x| x.0);
            let mut trend_reference = reference.get(ind.id.as_str()).cloned().unwrap_or_default();
            trend_reference.sort_by_key(|x| x.0);
            let last = trend.last().copied();
            // The latest year with any value for this area (or, failing that, the latest year).
            let year = last.map(|x| x.0).or_else(|| res.years.last().copied());
            let at = |s: &[(i32, f64)], y: Option<i32>| y.and_then(|y| s.iter().find(|x| x.0 == y).map(|x| x.1));
            let parent_value =
                parent.as_ref().and_then(|p| series.get(&(ind.id.as_str(), p.level.as_str(), p.key.as_str())).and_then(|s| at(s, year)));
            let rank = last.and_then(|(y, v)| {
                per_level_year.get(&(ind.id.as_str(), y)).map(|all| (all.iter().filter(|x| **x > v).count() + 1, all.len()))
            });
            let note = year.and_then(|y| statuses.get(&(ind.id.as_str(), y))).and_then(|r| pages::row_note(r));
            groups.entry(if ind.domain.is_empty() { "Weitere".into() } else { ind.domain.clone() }).or_default().push(Row {
                id: ind.id.clone(),
                name: ind.name.clone(),
                unit: ind.unit.clone(),
                decimals: ind.decimals as usize,
                direction: ind.direction,
                year,
                value: last.filter(|l| Some(l.0) == year).map(|l| l.1),
                reference: at(&trend_reference, year),
                parent: parent_value,
                rank,
                first: trend.first().copied().filter(|f| Some(f.0) != year),
                trend,
                trend_reference,
                note,
            });
        }
    }
    // Saved indices on this area's level: classes, and robustness for MSS-style ones.
    let mut indices = Vec::new();
    for (id, text) in store.index_definitions()? {
        let Ok(def) = IndexDefinition::from_toml(&text) else { continue };
        if def.level.as_deref().is_some_and(|l| l != area.level) {
            continue;
        }
        let result = cache.index(db, store, &id, &def);
        let Ok(table) = &result.table else { continue };
        let Some(row) = table.json.iter().find(|r| r["area_id"] == area.key.as_str()) else { continue };
        let text_of = |k: &str| match &row[k] {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Bool(b) => Some(if *b { "ja".into() } else { "nein".into() }),
            serde_json::Value::Number(n) => n.as_f64().map(|x| if x.fract() == 0.0 { fmt_de(x, 0) } else { fmt_de(x, 2) }),
            other => Some(other.to_string()),
        };
        let mut cells = Vec::new();
        let year = row["year"].as_i64().unwrap_or_default() as i32;
        if def.method == IndexMethod::Mss {
            if row["rated"] == false {
                cells.push(("bewertet".into(), format!("nein – {}", text_of("reason_not_rated").unwrap_or_default())));
            } else {
                if let Some(c) = row["status_class"].as_u64() {
                    let label = quartier_core::index::mss::STATUS_LABELS.get(c as usize - 1).copied().unwrap_or("");
                    cells.push(("Status".into(), format!("{c} ({label})")));
                }
                if let Some(d) = row["dynamics_class"].as_str() {
                    cells.push(("Dynamik".into(), format!("{d} ({})", quartier_core::index::mss::dynamics_label(d))));
                }
                if let Some(c) = text_of("combined_class") {
                    cells.push(("Gesamtklasse".into(), c));
                }
                if let Some(r) = text_of("attention_reason") {
                    cells.push(("Besonderer Aufmerksamkeitsbedarf".into(), r));
                }
                if let Some(rob) = &result.robustness
                    && let Some(rr) = rob.json.iter().find(|r| r["area_id"] == area.key.as_str())
                {
                    if let Some(s) = rr["same_class_share_weights"].as_f64() {
                        cells.push(("Robustheit (gleiche Klasse bei zufälligen Gewichten)".into(), format!("{} %", fmt_de(s * 100.0, 0))));
                    }
                    let left = rr["changes_when_left_out"].as_str().unwrap_or("");
                    let popul = rr["changes_with_population"].as_str().unwrap_or("");
                    cells.push((
                        "Klasse hängt an einer Einzelentscheidung".into(),
                        match (left.is_empty(), popul.is_empty()) {
                            (true, true) => "nein".into(),
                            _ => format!(
                                "ja{}{}",
                                if left.is_empty() { String::new() } else { format!(" – ohne {left}") },
                                if popul.is_empty() { String::new() } else { format!(" – {popul}") }
                            ),
                        },
                    ));
                }
            }
        } else {
            for k in ["rank", "class", "imd_rank", "imd_decile", "score", "quintile", "RPL_THEMES", "index"] {
                if let Some(v) = text_of(k) {
                    cells.push((k.to_string(), v));
                }
            }
        }
        indices.push(IndexInfo { name: if def.name.is_empty() { id.clone() } else { def.name.clone() }, year, cells });
    }
    // Neighbours (queen contiguity) and a locator map of the siblings within the parent.
    let shapes = cache.shapes(db, store, &area.level);
    let (geoms, nb) = (&shapes.geoms, &shapes.neighbours);
    let mut neighbours = Vec::new();
    if let Some(pos) = geoms.iter().position(|(k, _)| k == &area.key) {
        let by_key: HashMap<&str, &AreaRecord> = areas.iter().filter(|a| a.level == area.level).map(|a| (a.key.as_str(), a)).collect();
        neighbours = nb[pos].iter().filter_map(|&j| by_key.get(geoms[j].0.as_str()).map(|a| (*a).clone())).collect();
        neighbours.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let map = locator(&area, &areas, geoms);
    // From data to action: the offers located here, the conferences and measures of the area.
    let offers = match geoms.iter().find(|(k, _)| k == &area.key) {
        Some((_, g)) => store.offers()?.located_in(g),
        None => Vec::new(),
    };
    // Conference notes and measures belong to the area's own planners: a tenant reads them for
    // its area and below, not for the other municipalities it sees on the shared levels.
    let own = st.view.as_ref().is_none_or(|v| v.inside(&area.level, &area.key));
    let conferences = if own { store.conferences(Some((&area.level, &area.key)))? } else { Vec::new() };
    let measures: Vec<quartier_app::store::action::Measure> = if own {
        store.measures()?.into_iter().filter(|m| m.level == area.level && m.areas.contains(&area.key)).collect()
    } else {
        Vec::new()
    };
    Ok(Profile {
        offers,
        conferences,
        measures,
        parent_name: parent.as_ref().map(|p| p.name.clone()),
        area,
        crumbs,
        children,
        child_level,
        groups,
        indices,
        neighbours,
        map,
        attribution: store.setting("attribution")?,
        public: public.is_some(),
    })
}

/// The area among its siblings (same parent), or among all areas of its level.
fn locator(area: &AreaRecord, areas: &[AreaRecord], geoms: &[(String, MultiPolygon)]) -> Option<Markup> {
    let siblings: std::collections::HashSet<&str> = areas
        .iter()
        .filter(|a| a.level == area.level && (area.parent.is_none() || a.parent == area.parent))
        .map(|a| a.key.as_str())
        .collect();
    let mut shown: Vec<&(String, MultiPolygon)> = geoms.iter().filter(|(k, _)| siblings.contains(k.as_str())).collect();
    // Many siblings (or no parent): the surroundings only, a window of five times the area's
    // extent around it.
    if shown.len() > 300
        && let Some(b) = geoms.iter().find(|(k, _)| k == &area.key).and_then(|(_, g)| quartier_geom::ops::bbox(g))
    {
        let (w, h) = (b.max().x - b.min().x, b.max().y - b.min().y);
        let (x0, x1, y0, y1) = (b.min().x - 2.0 * w, b.max().x + 2.0 * w, b.min().y - 2.0 * h, b.max().y + 2.0 * h);
        shown.retain(|(_, g)| {
            quartier_geom::ops::bbox(g).is_some_and(|o| o.max().x >= x0 && o.min().x <= x1 && o.max().y >= y0 && o.min().y <= y1)
        });
    }
    let bbox = shown.iter().filter_map(|(_, g)| quartier_geom::ops::bbox(g)).reduce(|a, b| {
        quartier_geom::Rect::new((a.min().x.min(b.min().x), a.min().y.min(b.min().y)), (a.max().x.max(b.max().x), a.max().y.max(b.max().y)))
    })?;
    let proj = crate::map::Projection::fit(bbox);
    let names: HashMap<&str, &str> = areas.iter().filter(|a| a.level == area.level).map(|a| (a.key.as_str(), a.name.as_str())).collect();
    Some(html! {
        svg.locator viewBox=(proj.view_box()) role="group" aria-label=(format!("Lage von {} unter den Nachbargebieten", area.name)) {
            @for (k, g) in &shown {
                @if *k == area.key {
                    path.this d=(proj.path(g)) {}
                } @else {
                    a href=(format!("/gebiet/{}?ebene={}", pages::url(k), pages::url(&area.level))) {
                        path d=(proj.path(g)) { title { (names.get(k.as_str()).copied().unwrap_or(k)) } }
                    }
                }
            }
        }
    })
}

/// How the value compares, in words: with the reference, or (rates delivered per area have
/// no reference) with the parent area.
fn direction_word(r: &Row, parent: Option<&str>) -> Option<String> {
    let v = r.value?;
    let (other, against) = match (r.reference, r.parent, parent) {
        (Some(x), _, _) => (x, "Gesamt".to_string()),
        (None, Some(x), Some(name)) => (x, name.to_string()),
        _ => return None,
    };
    if v == other {
        return Some(format!("wie {against}"));
    }
    let worse = matches!((r.direction, v > other), (Direction::HigherIsWorse, true) | (Direction::HigherIsBetter, false));
    Some(format!("{} als {against}", if worse { "ungünstiger" } else { "günstiger" }))
}

fn render(p: &Profile) -> Markup {
    let a = &p.area;
    let url_level = pages::url(&a.level);
    let body = html! {
        nav.crumbs aria-label="Gebietshierarchie" {
            ol {
                li { a href="/gebiete" { "Gebiete" } }
                @for c in &p.crumbs {
                    li { a href=(format!("/gebiet/{}?ebene={}", pages::url(&c.key), pages::url(&c.level))) { (c.name) } " " span.note { "(" (c.level) ")" } }
                }
                li aria-current="page" { (a.name) }
            }
        }
        h1 { (a.name) }
        p.lead {
            (a.level) " " (a.key)
            @if let Some(m2) = a.area_m2 { " · " (fmt_de(m2 / 1e6, 2)) " km²" }
            @if let Some(pn) = &p.parent_name { " · in " (pn) }
            " · "
            "Tabelle als "
            a href=(format!("/gebiet/{}?ebene={}&format=csv", pages::url(&a.key), url_level)) download { "CSV" }
            " oder "
            a href=(format!("/gebiet/{}?ebene={}&format=xlsx", pages::url(&a.key), url_level)) download { "Excel (XLSX)" }
            " · "
            a href=(format!("/gebiet/{}/steckbrief.pdf?ebene={}", pages::url(&a.key), url_level)) download { "Steckbrief als PDF" }
            " · Datenblatt „Ausgangslage“ für Förderanträge: "
            a href=(format!("/gebiet/{}/datenblatt?ebene={}&format=html", pages::url(&a.key), url_level)) { "HTML" }
            " oder "
            a href=(format!("/gebiet/{}/datenblatt?ebene={}&format=pdf", pages::url(&a.key), url_level)) download { "PDF" }
        }
        @if p.public { p.note { "Öffentliche Ansicht: kleine Anzahlen und daraus berechenbare Werte sind gesperrt." } }
        div.profile-top {
            @if let Some(m) = &p.map {
                figure.locatorbox {
                    (m)
                    figcaption.note { "Lage im übergeordneten Gebiet; Nachbargebiete führen zu ihrem Profil." }
                }
            }
            div {
                @if !p.indices.is_empty() {
                    h2 { "Sozialindex" }
                    @for ix in &p.indices {
                        h3 { (ix.name) " " (ix.year) }
                        dl.facts {
                            @for (k, v) in &ix.cells { dt { (k) } dd { (v) } }
                        }
                    }
                }
                @if !p.neighbours.is_empty() {
                    h2 { "Nachbargebiete" }
                    @let with: Vec<&str> = std::iter::once(a.key.as_str()).chain(p.neighbours.iter().take(5).map(|n| n.key.as_str())).collect();
                    p { a href=(format!("/vergleich?ebene={}&gebiete={}", url_level, pages::url(&with.join(",")))) { "Mit den Nachbargebieten vergleichen" } }
                    ul.inline {
                        @for n in &p.neighbours {
                            li { a href=(format!("/gebiet/{}?ebene={}", pages::url(&n.key), pages::url(&n.level))) { (n.name) } }
                        }
                    }
                }
                @if !p.children.is_empty() {
                    h2 { (p.child_level.as_deref().unwrap_or("Teilgebiete")) " in " (a.name) " (" (p.children.len()) ")" }
                    ul.inline {
                        @for c in &p.children {
                            li { a href=(format!("/gebiet/{}?ebene={}", pages::url(&c.key), pages::url(&c.level))) { (c.name) } }
                        }
                    }
                }
                h2 { "Potenziale" }
                @let potentials: Vec<&quartier_app::store::action::Conference> = p.conferences.iter().filter(|c| !c.potentials.is_empty()).collect();
                @if potentials.is_empty() {
                    p.note { "Noch keine Potenziale erfasst: sie kommen mit den Sozialraumkonferenzen (" code { "quartier conference add" } ") in dieses Profil." }
                } @else {
                    ul { @for c in potentials { li { (c.potentials) " (" (c.kind) " " (c.date) ")" } } }
                }
            }
        }
        @if p.groups.is_empty() {
            p { "Noch keine Indikatoren: " code { "quartier indicators load KATALOG.toml" } }
        }
        section.action aria-labelledby="angebote" {
            h2 #angebote { "Angebote im Gebiet (" (p.offers.len()) ")" }
            @if p.offers.is_empty() { p.note { "Kein Angebot aus dem Angebotsverzeichnis liegt in diesem Gebiet (" code { "quartier offers import" } ")." } } @else {
                table {
                    caption { "Angebote mit Standort in " (a.name) }
                    thead { tr { th scope="col" { "Angebot" } th scope="col" { "Träger" } th scope="col" { "Standort" } th scope="col" { "Zielgruppen" } } }
                    tbody { @for (s, o, l, t) in &p.offers { tr { th scope="row" { (s) } td { (o) } td { (l) } td { (t) } } } }
                }
            }
            @if !p.public {
                h2 #konferenzen { "Konferenzen (" (p.conferences.len()) ")" }
                p { a href=(format!("/konferenz/neu?ebene={}&gebiet={}", pages::url(&a.level), pages::url(&a.key))) { "Konferenz festhalten" } " · "
                    a href=(format!("/massnahme/neu?ebene={}&gebiet={}{}", pages::url(&a.level), pages::url(&a.key), p.conferences.first().map(|c| format!("&konferenz={}", c.id)).unwrap_or_default())) { "Maßnahme anlegen" } }
                @for c in &p.conferences {
                    details {
                        summary { (c.kind) " am " (c.date) " – Analyse passt: " (c.matches.label_de()) }
                        dl {
                            dt { "Passt die Analyse zur Wahrnehmung vor Ort?" } dd { (c.matches.label_de()) @if !c.matches_note.is_empty() { " – " (c.matches_note) } }
                            dt { "Welche Zielgruppen?" } dd { (c.target_groups.join(", ")) }
                            dt { "Was gibt es?" } dd { (c.existing_offers.join(", ")) }
                            dt { "Was fehlt?" } dd { (c.missing) }
                            dt { "Wer kann was beitragen?" } dd { (c.contributions.iter().map(|k| format!("{}: {}", k.organization, k.commitment)).collect::<Vec<_>>().join("; ")) }
                            dt { "Teilnehmende" } dd { (c.participants.join(", ")) }
                        }
                    }
                }
                h2 #massnahmen { "Maßnahmen (" (p.measures.len()) ")" }
                @if !p.measures.is_empty() {
                    table {
                        caption { "Maßnahmen in " (a.name) }
                        thead { tr { th scope="col" { "Maßnahme" } th scope="col" { "Federführung" } th scope="col" { "Zeitraum" } th scope="col" { "Stand" } th scope="col" { "beobachtete Indikatoren" } } }
                        tbody { @for m in &p.measures { tr {
                            th scope="row" { (m.title) }
                            td { (m.lead) }
                            td { (m.start) @if let Some(e) = m.end { "–" (e) } }
                            td { (m.status) }
                            td { (m.indicators.join(", ")) }
                        } } }
                    }
                }
            }
        }
        @for (domain, rows) in &p.groups {
            section.domain {
                h2 { (domain) }
                table {
                    caption { (domain) ": " (a.name) " im Vergleich mit Gesamt" @if let Some(pn) = &p.parent_name { " und " (pn) } }
                    thead {
                        tr {
                            th scope="col" { "Indikator" }
                            th scope="col" { "Jahr" }
                            th scope="col" .num { "Wert" }
                            th scope="col" .num { "Gesamt" }
                            @if let Some(pn) = &p.parent_name { th scope="col" .num { (pn) } }
                            th scope="col" { "Einordnung" }
                            th scope="col" .num { "Rang" }
                            th scope="col" { "Verlauf" }
                        }
                    }
                    tbody {
                        @for r in rows {
                            tr {
                                th scope="row" { a href=(format!("/indikator/{}?ebene={}&gebiete={}", pages::url(&r.id), url_level, pages::url(&a.key))) { (r.name) } @if !r.unit.is_empty() { " (" (r.unit) ")" } }
                                td { (r.year.map(|y| y.to_string()).unwrap_or_default()) }
                                td.num { (r.value.map(|v| fmt_de(v, r.decimals)).unwrap_or_else(|| r.note.unwrap_or("–").to_string())) }
                                td.num { (r.reference.map(|v| fmt_de(v, r.decimals)).unwrap_or_else(|| "–".into())) }
                                @if p.parent_name.is_some() { td.num { (r.parent.map(|v| fmt_de(v, r.decimals)).unwrap_or_else(|| "–".into())) } }
                                td {
                                    (direction_word(r, p.parent_name.as_deref()).unwrap_or_default())
                                    @if let (Some((y0, v0)), Some(v)) = (r.first, r.value) {
                                        br; span.note { "seit " (y0) ": " (if v >= v0 { "+" } else { "−" }) (fmt_de((v - v0).abs(), r.decimals)) }
                                    }
                                }
                                td.num { (r.rank.map(|(k, of)| format!("{k} / {of}")).unwrap_or_default()) }
                                td { (charts::sparkline(&r.trend, &r.trend_reference, &format!("Verlauf {}: {}", r.name, r.trend.iter().map(|(y, v)| format!("{y}: {}", fmt_de(*v, r.decimals))).collect::<Vec<_>>().join(", ")))) }
                            }
                        }
                    }
                }
            }
        }
        p.note { "Rang 1 = höchster Wert unter den Gebieten der Ebene „" (a.level) "“. Verlauf: Gebiet (durchgezogen) und Gesamt (gestrichelt)." }
    };
    layout_nav(&a.name, "gebiete", body, p.attribution.as_deref())
}
