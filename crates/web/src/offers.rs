//! `/angebote`: the offer directory, and for a target group the supply per area and the gap
//! map (need against supply). Computing changes nothing: a GET with a stable URL.

use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use quartier_app::supply::{SupplySpec, gaps};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct OffersQuery {
    pub ebene: Option<String>,
    pub zielgruppe: Option<String>,
    /// Variable with the size of the target group.
    pub gruppe: Option<String>,
    /// Need indicator.
    pub bedarf: Option<String>,
}

/// Quadrant colours (Okabe–Ito, distinguishable with colour-vision deficiencies).
fn quadrant_colour(label: &str) -> &'static str {
    match label {
        "hoher Bedarf, geringe Versorgung" => "#D55E00",
        "hoher Bedarf, gute Versorgung" => "#E69F00",
        "geringer Bedarf, geringe Versorgung" => "#56B4E9",
        _ => "#009E73",
    }
}

pub async fn offers_page(State(st): State<AppState>, Query(q): Query<OffersQuery>) -> Result<Response, AppError> {
    with_store(&st, move |store, st| {
        let directory = store.offers()?;
        let levels: Vec<_> = store.levels()?.into_iter().filter(|l| l.areas > 0).collect();
        let catalogue = store.catalogue()?;
        let variables = st.cache.variables(&st.db, store)?;
        let level = q.ebene.clone().filter(|l| levels.iter().any(|x| &x.name == l)).or_else(|| levels.last().map(|l| l.name.clone()));
        let mut groups: Vec<&str> = directory.services.iter().flat_map(|s| s.target_groups.iter().map(String::as_str)).collect();
        groups.sort_unstable();
        groups.dedup();
        let opt = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        // Supply per 1,000 together with a public directory's capacities would give group sizes
        // back: the analysis is internal only.
        let analysis = match (&level, opt(&q.gruppe), opt(&q.bedarf)) {
            _ if st.public.is_some() => None,
            (Some(level), Some(group_variable), Some(need)) => {
                let spec = SupplySpec { level: level.clone(), target_group: opt(&q.zielgruppe), group_variable, year: None, distances: vec![500.0, 1000.0], date: None, points: None };
                // Medians over every area; a tenant's table lists the areas it may see.
                Some(gaps(store, &spec, &need).map(|mut g| {
                    g.rows.retain(|r| st.visible(level, &r.area_id));
                    g
                }))
            }
            _ => None,
        };
        let shapes = match (&analysis, &level) {
            (Some(Ok(_)), Some(l)) => Some(st.cache.map_paths(&st.db, store, &store.levels()?, l)?),
            _ => None,
        };
        let orgs: std::collections::HashMap<&str, &str> = directory.organizations.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        let body = html! {
            h1 { "Angebote, Versorgung und Lücken" }
            p.lead { "Was gibt es wo für wen – und wo trifft hoher Bedarf auf geringe Versorgung? „Was fehlt ganz konkret?“ mit Daten beantwortet." }
            @if st.public.is_some() { p.note { "In der öffentlichen Ansicht steht hier das Angebotsverzeichnis; Versorgung und Lücken wertet die Sozialplanung intern aus." } }
            @else { form.controls method="get" action="/angebote" {
                label { "Ebene" select name="ebene" { @for l in &levels { option value=(l.name) selected[Some(&l.name) == level.as_ref()] { (l.name) } } } }
                label { "Zielgruppe der Angebote" select name="zielgruppe" {
                    option value="" { "(alle)" }
                    @for g in &groups { option value=(g) selected[q.zielgruppe.as_deref() == Some(*g)] { (g) } }
                } }
                label { "Größe der Zielgruppe (Merkmal)" input type="text" name="gruppe" list="merkmale" value=(v(&q.gruppe)) required size="14"; }
                datalist #merkmale { @for var in variables.iter() { option value=(var.key) {} } }
                label { "Bedarf (Indikator)" select name="bedarf" required {
                    option value="" { "(wählen)" }
                    @for i in catalogue.indicators.iter().filter(|i| i.direction != quartier_core::indicator::Direction::HigherIsBetter) {
                        option value=(i.id) selected[q.bedarf.as_deref() == Some(i.id.as_str())] { (i.name) }
                    }
                } }
                button type="submit" { "Auswerten" }
            } }
            @match &analysis {
                None => {},
                Some(Err(e)) => div.problem role="alert" { h2 { "So lässt sich nicht auswerten" } pre { (e) } },
                Some(Ok(g)) => {
                    p.ok role="status" { (g.method) }
                    @if let Some(shapes) = &shapes {
                        div.mapview {
                            figure.map {
                                svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="img" aria-label="Karte: Bedarf gegen Versorgung je Gebiet; die Einordnung steht auch in der Tabelle" {
                                    g.areas {
                                        @for r in &g.rows {
                                            @if let Some(d) = shapes.paths.get(&r.area_id) {
                                                path d=(d) fill=(r.quadrant.map(quadrant_colour).unwrap_or("#f2f2f2")) { title { (r.name) ": " (r.quadrant.unwrap_or("keine Werte")) } }
                                            }
                                        }
                                    }
                                }
                            }
                            div {
                                ul.legend {
                                    @for label in ["hoher Bedarf, geringe Versorgung", "hoher Bedarf, gute Versorgung", "geringer Bedarf, geringe Versorgung", "geringer Bedarf, gute Versorgung"] {
                                        li { svg.sw viewBox="0 0 18 14" aria-hidden="true" { rect width="18" height="14" fill=(quadrant_colour(label)) {} } " " (label) " (" (g.rows.iter().filter(|r| r.quadrant == Some(label)).count()) ")" }
                                    }
                                }
                                h2 { "Lücken" }
                                ul { @for r in g.rows.iter().filter(|r| r.gap) {
                                    li { a href=(format!("/gebiet/{}?ebene={}", url(&r.area_id), url(level.as_deref().unwrap_or("")))) { (r.name) }
                                        ": " (g.need_label) " " (r.need.map(|n| fmt_de(n, 1)).unwrap_or_default()) ", Versorgung " (r.supply.map(|s| fmt_de(s, 1)).unwrap_or_default()) " je 1.000" }
                                } }
                            }
                        }
                    }
                    table.sortable {
                        caption { "Bedarf und Versorgung je Gebiet" }
                        thead { tr {
                            th scope="col" { button type="button" data-sort="text" { "Gebiet" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Bedarf" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Versorgung je 1.000" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Angebote" } }
                            th scope="col" { button type="button" data-sort="text" { "Einordnung" } }
                        } }
                        tbody { @for r in &g.rows { tr {
                            th scope="row" { (r.name) " (" (r.area_id) ")" }
                            td.num data-v=(r.need.map(|x| x.to_string()).unwrap_or_default()) { @if let Some(n) = r.need { (fmt_de(n, 1)) } }
                            td.num data-v=(r.supply.map(|x| x.to_string()).unwrap_or_default()) { @if let Some(s) = r.supply { (fmt_de(s, 1)) } }
                            td.num data-v=(r.offers) { (r.offers) }
                            td { (r.quadrant.unwrap_or("")) }
                        } } }
                    }
                }
            }
            h2 { "Angebotsverzeichnis (" (directory.services.len()) ")" }
            @if st.public.is_none() { p { a href="/angebot/neu" { "Neues Angebot eintragen" } } }
            @if directory.services.is_empty() { p.note { "Noch keine Angebote: " code { "quartier offers import ORDNER" } " (HSDS: organizations, services, locations, service_at_location)." } } @else {
                table.sortable {
                    caption { "Angebote mit Träger, Zielgruppen, Kapazität und letzter Bestätigung" }
                    thead { tr {
                        th scope="col" { button type="button" data-sort="text" { "Angebot" } }
                        th scope="col" { button type="button" data-sort="text" { "Träger" } }
                        th scope="col" { "Zielgruppen" }
                        th scope="col" .num { button type="button" data-sort="num" { "Kapazität" } }
                        th scope="col" { button type="button" data-sort="text" { "bestätigt" } }
                    } }
                    tbody { @for s in &directory.services { tr {
                        th scope="row" { @if st.public.is_none() { a href=(format!("/angebot/{}", url(&s.id))) { (s.name) } } @else { (s.name) } }
                        td { (orgs.get(s.organization_id.as_str()).copied().unwrap_or("")) }
                        td { (s.target_groups.join(", ")) }
                        td.num data-v=(s.capacity.map(|c| c.to_string()).unwrap_or_default()) { @if let Some(c) = s.capacity { (fmt_de(c, 0)) } }
                        td { (s.last_confirmed) }
                    } } }
                }
            }
        };
        Ok(layout_nav("Angebote", "angebote", body, None).into_response())
    })
    .await
}
