//! Lists to find things: areas (with search) and indicators (grouped by domain).

use crate::pages::{layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use quartier_app::store::AreaRecord;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

fn profile_href(a: &AreaRecord) -> String {
    format!("/gebiet/{}?ebene={}", url(&a.key), url(&a.level))
}

/// `/gebiete`: every level with its areas; with `q`, the areas whose name or key matches
/// (one hit leads straight to its profile).
pub async fn areas_page(State(st): State<AppState>, Query(q): Query<SearchQuery>) -> Result<Response, AppError> {
    let (areas, levels, attribution) = with_store(&st, |store, st| {
        let areas = store.areas(None)?.into_iter().filter(|a| st.visible(&a.level, &a.key)).collect::<Vec<_>>();
        Ok((areas, store.levels()?, store.setting("attribution")?))
    })
    .await?;
    let needle = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    let hits: Vec<&AreaRecord> = match &needle {
        Some(n) => areas.iter().filter(|a| a.name.to_lowercase().contains(n) || a.key.to_lowercase().starts_with(n)).collect(),
        None => areas.iter().collect(),
    };
    if needle.is_some()
        && let [one] = hits.as_slice()
    {
        return Ok(Redirect::to(&profile_href(one)).into_response());
    }
    let mut by_level: BTreeMap<usize, Vec<&AreaRecord>> = BTreeMap::new();
    for a in &hits {
        by_level.entry(a.level_rank).or_default().push(a);
    }
    let body = html! {
        h1 { "Gebiete" }
        form.controls role="search" action="/gebiete" method="get" {
            label { "Name oder Schlüssel" input type="search" name="q" value=(q.q.clone().unwrap_or_default()); }
            button type="submit" { "Suchen" }
        }
        @if let Some(n) = &q.q {
            p.lead role="status" { (hits.len()) " Treffer für „" (n) "“" }
        }
        @if hits.is_empty() {
            p { "Kein Gebiet gefunden. Gesucht wird in Namen (Teilwort) und Schlüsseln (Anfang)." }
        }
        @for (rank, list) in &by_level {
            @let level = levels.iter().find(|l| l.rank == *rank).map(|l| l.name.as_str()).unwrap_or("");
            section {
                h2 { (level) " (" (list.len()) ")" }
                @if q.q.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    p { a href=(format!("/steckbriefe/{}", url(level))) { "Alle Steckbriefe der Ebene " (level) " als PDF" } }
                }
                ul.columns {
                    @for a in list {
                        li { a href=(profile_href(a)) { (a.name) } " " span.note { (a.key) } }
                    }
                }
            }
        }
    };
    Ok(layout_nav("Gebiete", "gebiete", body, attribution.as_deref()).into_response())
}

/// `/indikatoren`: the catalogue by domain, with definitions.
pub async fn indicators_page(State(st): State<AppState>) -> Result<Response, AppError> {
    let (cat, attribution) = with_store(&st, |store, _| Ok((store.catalogue()?, store.setting("attribution")?))).await?;
    let mut by_domain: BTreeMap<&str, Vec<&quartier_core::indicator::Indicator>> = BTreeMap::new();
    for i in &cat.indicators {
        by_domain.entry(if i.domain.is_empty() { "Weitere" } else { i.domain.as_str() }).or_default().push(i);
    }
    let body = html! {
        h1 { "Indikatoren" }
        @if cat.indicators.is_empty() {
            p { "Noch kein Indikatorenkatalog: " code { "quartier indicators load KATALOG.toml" } }
        }
        @for (domain, list) in &by_domain {
            section {
                h2 { (domain) }
                table {
                    caption { "Indikatoren im Lebensbereich " (domain) }
                    thead { tr { th scope="col" { "Indikator" } th scope="col" { "Einheit" } th scope="col" { "Richtung" } th scope="col" { "Zielgruppen" } th scope="col" { "Quelle" } } }
                    tbody {
                        @for i in list {
                            tr {
                                th scope="row" { a href=(format!("/indikator/{}", url(&i.id))) { (i.name) } }
                                td { (i.unit) }
                                td { (i.direction.label_de()) }
                                td { (i.target_groups.join(", ")) }
                                td { (i.source) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout_nav("Indikatoren", "indikatoren", body, attribution.as_deref()).into_response())
}
