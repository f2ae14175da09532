//! `/verteilung`: needs-based allocation of a budget beside the watering can, as table, map
//! and the formula in words; `&format=xlsx` downloads the workbook. A planning tool: not in
//! the public view. Computing changes nothing, so the form is a GET with a stable URL.

use crate::admin::tabs;
use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use quartier_app::allocation::{Need, Spec, plan};
use quartier_core::allocation::Rules;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct AllocationQuery {
    pub ebene: Option<String>,
    pub budget: Option<String>,
    pub bedarf: Option<String>,
    pub faktoren: Option<String>,
    pub zielgruppe: Option<String>,
    pub einwohner: Option<String>,
    pub schwelle: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub format: Option<String>,
}

fn number<T: std::str::FromStr>(v: &Option<String>, what: &str) -> Result<Option<T>, AppError> {
    match v.as_deref().map(|s| s.trim().replace('.', "").replace(',', ".")).filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{what} „{s}“ ist keine Zahl"))),
        None => Ok(None),
    }
}

/// `GET /verteilung`.
pub async fn allocation_page(State(st): State<AppState>, Query(q): Query<AllocationQuery>) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden(
            "Die Mittelverteilung ist ein Planungswerkzeug und in der öffentlichen Ansicht nicht verfügbar.".into(),
        ));
    }
    with_store(&st, move |store, st| {
        let levels: Vec<_> = store.levels()?.into_iter().filter(|l| l.areas > 0).collect();
        let catalogue = store.catalogue()?;
        let variables = st.cache.variables(&st.db, store)?;
        let indices = store.index_definitions()?;
        let level = q.ebene.clone().filter(|l| levels.iter().any(|x| &x.name == l)).or_else(|| levels.last().map(|l| l.name.clone()));
        let budget: Option<u64> = number(&q.budget, "Budget")?;
        let result = match (&level, budget, q.bedarf.as_deref().filter(|b| !b.is_empty())) {
            (Some(level), Some(budget), Some(need)) => {
                let need = Need::parse(need, q.faktoren.as_deref().filter(|f| !f.trim().is_empty())).map_err(AppError::BadRequest)?;
                let opt = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
                let spec = Spec {
                    level: level.clone(),
                    year: None,
                    need,
                    group: opt(&q.zielgruppe),
                    population: opt(&q.einwohner),
                    threshold: number(&q.schwelle, "Schwelle")?,
                    rules: Rules { budget, min: number(&q.min, "Mindestbetrag")?.unwrap_or(0), max: number(&q.max, "Höchstbetrag")? },
                    // A tenant distributes among the areas it may see (its own below the shared levels).
                    only: match &st.view {
                        Some(_) => Some(store.areas(Some(level))?.into_iter().filter(|a| st.visible(&a.level, &a.key)).map(|a| a.key).collect()),
                        None => None,
                    },
                };
                Some(plan(store, &spec))
            }
            _ => None,
        };
        if q.format.as_deref() == Some("xlsx") {
            let Some(Ok(p)) = &result else { return Err(AppError::BadRequest("Erst eine gültige Verteilung berechnen.".into())) };
            let bytes = quartier_report::xlsx::allocation(p).map_err(|e| AppError::Internal(e.to_string()))?;
            return Ok((
                [
                    (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"verteilung.xlsx\"".to_string()),
                ],
                bytes,
            )
                .into_response());
        }
        let shapes = match (&result, &level) {
            (Some(Ok(_)), Some(l)) => Some(st.cache.map_paths(&st.db, store, &store.levels()?, l)?),
            _ => None,
        };
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        let needs: Vec<(String, String)> = catalogue
            .indicators
            .iter()
            .filter(|i| i.direction != quartier_core::indicator::Direction::HigherIsBetter)
            .map(|i| (format!("indicator:{}", i.id), format!("Indikator: {}", i.name)))
            .chain(indices.iter().map(|(id, _)| (format!("index:{id}"), format!("Index {id} (Klassen, mit Faktoren)"))))
            .collect();
        let query = format!(
            "ebene={}&budget={}&bedarf={}&faktoren={}&zielgruppe={}&einwohner={}&schwelle={}&min={}&max={}",
            url(&v(&q.ebene)),
            url(&v(&q.budget)),
            url(&v(&q.bedarf)),
            url(&v(&q.faktoren)),
            url(&v(&q.zielgruppe)),
            url(&v(&q.einwohner)),
            url(&v(&q.schwelle)),
            url(&v(&q.min)),
            url(&v(&q.max))
        );
        let body = html! {
            (tabs("verteilung"))
            h1 { "Bedarfsgerechte Mittelverteilung" }
            p.lead { "„Ungleiches ungleich behandeln“: ein Budget nach Bedarf verteilen – immer neben der Gießkanne nach Einwohnern, mit der Formel in Worten." }
            form.controls.draft method="get" action="/verteilung" {
                label { "Ebene" select name="ebene" { @for l in &levels { option value=(l.name) selected[Some(&l.name) == level.as_ref()] { (l.name) } } } }
                label { "Budget (€)" input type="text" name="budget" inputmode="numeric" required value=(v(&q.budget)) size="10"; }
                label.wide { "Bedarf" select name="bedarf" required {
                    option value="" { "(wählen)" }
                    @for (val, label) in &needs { option value=(val) selected[q.bedarf.as_deref() == Some(val.as_str())] { (label) } }
                } }
                label { "Faktoren je Indexklasse" input type="text" name="faktoren" placeholder="1=0,2=1,3=2,4=3" value=(v(&q.faktoren)) size="14"; }
                label { "Zielgruppe (Merkmal)" input type="text" name="zielgruppe" list="merkmale" value=(v(&q.zielgruppe)) size="14"; }
                label { "Einwohner für die Gießkanne" input type="text" name="einwohner" list="merkmale" value=(v(&q.einwohner)) size="14"; }
                datalist #merkmale { @for var in variables.iter() { option value=(var.key) {} } }
                label { "Schwelle (Bedarf ab)" input type="text" name="schwelle" inputmode="decimal" value=(v(&q.schwelle)) size="6"; }
                label { "Mindestbetrag (€)" input type="text" name="min" inputmode="numeric" value=(v(&q.min)) size="8"; }
                label { "Höchstbetrag (€)" input type="text" name="max" inputmode="numeric" value=(v(&q.max)) size="8"; }
                button type="submit" { "Verteilen" }
            }
            @match &result {
                None => p.note { "Budget und Bedarf wählen. Mit einer Zielgruppe wird der Bedarf mit ihrer Größe gewichtet (z. B. Kinderarmut × Zahl der Kinder)." },
                Some(Err(e)) => div.problem role="alert" { h2 { "So lässt sich nicht verteilen" } pre { (e) } },
                Some(Ok(p)) => {
                    p.ok role="status" { (p.explanation) }
                    p { a href=(format!("/verteilung?{query}&format=xlsx")) { "Als Arbeitsmappe (XLSX) herunterladen" } }
                    @if let Some(shapes) = &shapes {
                        @let amounts: Vec<f64> = p.rows.iter().filter(|r| r.allocation > 0).map(|r| r.allocation as f64).collect();
                        @let classes = quartier_core::classify::quantiles(&amounts, 5);
                        @let colours = crate::map::palette(5);
                        div.mapview {
                            figure.map {
                                svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="img" aria-label="Karte der Beträge je Gebiet (Quantile); die Beträge stehen in der Tabelle" {
                                    g.areas {
                                        @for r in &p.rows {
                                            @if let Some(d) = shapes.paths.get(&r.area_id) {
                                                @let fill = if r.allocation == 0 { "#f2f2f2" } else { classes.as_ref().map(|c| colours[quartier_core::classify::class_of(&c.bins, r.allocation as f64)]).unwrap_or(colours[2]) };
                                                path d=(d) fill=(fill) { title { (r.name) ": " (fmt_de(r.allocation as f64, 0)) " €" } }
                                            }
                                        }
                                    }
                                }
                                figcaption.note { "Beträge nach Bedarf; hellgrau: kein Betrag." }
                            }
                            div {
                                @let total: u64 = p.rows.iter().map(|r| r.allocation).sum();
                                @let moved: u64 = p.rows.iter().map(|r| r.allocation.abs_diff(r.per_capita)).sum::<u64>() / 2;
                                p { "Summe " strong { (fmt_de(total as f64, 0)) " €" } "; gegenüber der Gießkanne werden " strong { (fmt_de(moved as f64, 0)) " €" } " anders verteilt." }
                            }
                        }
                    }
                    table.sortable {
                        caption { "Verteilung je Gebiet (" (p.level) ", " (p.year) ")" }
                        thead { tr {
                            th scope="col" { button type="button" data-sort="text" { "Gebiet" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Bedarf" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Zielgruppe" } }
                            th scope="col" { "berechtigt" }
                            th scope="col" .num aria-sort="none" { button type="button" data-sort="num" { "Betrag (€)" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Gießkanne (€)" } }
                            th scope="col" .num { button type="button" data-sort="num" { "Differenz (€)" } }
                        } }
                        tbody {
                            @for r in &p.rows {
                                tr {
                                    th scope="row" { (r.name) " (" (r.area_id) ")" }
                                    td.num data-v=(r.need.map(|v| v.to_string()).unwrap_or_default()) { @if let Some(n) = r.need { (fmt_de(n, 2)) } }
                                    td.num data-v=(r.group.map(|v| v.to_string()).unwrap_or_default()) { @if let Some(g) = r.group { (fmt_de(g, 0)) } }
                                    td { @if r.eligible { "ja" } @else { "nein" @if let Some(why) = &r.reason { " – " (why) } } }
                                    td.num data-v=(r.allocation) { (fmt_de(r.allocation as f64, 0)) }
                                    td.num data-v=(r.per_capita) { (fmt_de(r.per_capita as f64, 0)) }
                                    td.num data-v=(r.allocation as i64 - r.per_capita as i64) { (fmt_de(r.allocation as f64 - r.per_capita as f64, 0)) }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(layout_nav("Mittelverteilung", "werkstatt", body, None).into_response())
    })
    .await
}
