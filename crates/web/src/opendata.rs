//! Offene Daten from the browser: choose level, years and indicators, see what disclosure
//! control will withhold, download one ZIP with exactly the files of `quartier export
//! opendata` (CSV in UTF-8 and for German Excel, GeoJSON, DCAT-AP.de metadata). Disclosure
//! control is always on. For planners and administrators (as the Berichte).

use crate::pages::{layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use quartier_app::views::{IndicatorQuery, compute_indicators};
use quartier_core::indicator::Status;
use std::collections::BTreeMap;

/// The form's fields (a GET form: the choice is part of the address).
#[derive(Debug, Default)]
struct Choice {
    level: String,
    /// Empty: the latest year with values.
    years: Vec<i32>,
    indicators: Vec<String>,
    name: String,
    title: String,
    publisher: String,
    spatial: String,
    threshold: f64,
}

fn choice(pairs: Vec<(String, String)>) -> Result<Choice, AppError> {
    let mut c = Choice { threshold: quartier_core::disclosure::DEFAULT_THRESHOLD, ..Default::default() };
    for (k, v) in pairs {
        let v = v.trim().to_string();
        match k.as_str() {
            "ebene" => c.level = v,
            "jahr" if !v.is_empty() => {
                c.years.push(v.parse().map_err(|_| AppError::BadRequest(format!("Jahr „{v}“ ist keine Jahreszahl")))?)
            }
            "indikator" if !v.is_empty() => c.indicators.push(v),
            "name" => c.name = v,
            "titel" => c.title = v,
            "herausgeber" => c.publisher = v,
            "gebiet" => c.spatial = v,
            "schwelle" if !v.is_empty() => {
                c.threshold = v
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|t| *t >= 1.0)
                    .ok_or_else(|| AppError::BadRequest(format!("Geheimhaltungsschwelle „{v}“: eine Zahl ab 1")))?
            }
            _ => {}
        }
    }
    c.years.sort_unstable();
    c.years.dedup();
    if c.name.is_empty() {
        c.name = "sozialmonitoring".into();
    }
    if !c.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(AppError::BadRequest(format!("Dateiname „{}“: Buchstaben, Ziffern, - und _", c.name)));
    }
    if c.title.is_empty() {
        c.title = "Sozialmonitoring".into();
    }
    Ok(c)
}

impl Choice {
    fn request(&self) -> quartier_report::opendata::Request {
        quartier_report::opendata::Request {
            level: self.level.clone(),
            years: self.years.clone(),
            indicators: self.indicators.clone(),
            threshold: self.threshold,
            name: self.name.clone(),
            title: self.title.clone(),
            description: "Indikatoren der integrierten Sozialplanung.".into(),
            publisher: self.publisher.clone(),
            licence: "http://dcat-ap.de/def/licenses/dl-by-de/2.0".into(),
            spatial: self.spatial.clone(),
            base_url: None,
        }
    }

    fn query(&self) -> String {
        let mut q = format!(
            "ebene={}&name={}&titel={}&herausgeber={}&gebiet={}&schwelle={}",
            url(&self.level),
            url(&self.name),
            url(&self.title),
            url(&self.publisher),
            url(&self.spatial),
            self.threshold
        );
        for y in &self.years {
            q.push_str(&format!("&jahr={y}"));
        }
        for i in &self.indicators {
            q.push_str(&format!("&indikator={}", url(i)));
        }
        q
    }
}

/// `GET /offene-daten`: the choice and, once a level is chosen, what will be withheld.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    crate::reports::planner(&st, &headers).await?;
    let c = choice(pairs)?;
    let page = with_store(&st, move |store, st| {
        let levels: Vec<String> = store.levels()?.into_iter().filter(|l| l.areas > 0).map(|l| l.name).collect();
        let catalogue = store.catalogue()?;
        let mut years: Vec<i32> = st.cache.variables(&st.db, store)?.iter().flat_map(|v| v.years.iter().copied()).collect();
        years.sort_unstable();
        years.dedup();
        // Per indicator: areas with a published value, and withheld ones (disclosure control).
        let preview = if c.level.is_empty() {
            None
        } else {
            let ids =
                if c.indicators.is_empty() { catalogue.indicators.iter().map(|i| i.id.clone()).collect() } else { c.indicators.clone() };
            let res = compute_indicators(
                store,
                &IndicatorQuery {
                    indicators: ids,
                    years: (!c.years.is_empty()).then(|| c.years.clone()),
                    level: Some(c.level.clone()),
                    public: Some(c.threshold),
                },
            );
            // A year without any data: said beside the form, not as an error page.
            let res = match res {
                Ok(r) => r,
                Err(e) => return Ok(render(&c, &levels, &years, &catalogue, Some(Err(e)))),
            };
            let chosen: Vec<i32> = if c.years.is_empty() {
                res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).max().into_iter().collect()
            } else {
                c.years.clone()
            };
            // Per year and indicator: (with a value, withheld, without a value).
            let mut counts: Counts = BTreeMap::new();
            for &y in &chosen {
                for id in res.rows.iter().map(|r| r.indicator.clone()).collect::<std::collections::BTreeSet<_>>() {
                    counts.insert((y, id), (0, 0, 0));
                }
            }
            for r in res.rows.iter().filter(|r| chosen.contains(&r.year) && !r.area_id.is_empty()) {
                let e = counts.entry((r.year, r.indicator.clone())).or_default();
                match r.status {
                    _ if r.status.has_value() => e.0 += 1,
                    Status::Confidential | Status::Suppressed(_) => e.1 += 1,
                    _ => e.2 += 1,
                }
            }
            Some(Ok((chosen, counts)))
        };
        Ok(render(&c, &levels, &years, &catalogue, preview))
    })
    .await?;
    Ok(page.into_response())
}

/// Per year and indicator: (with a value, withheld, without a value).
type Counts = BTreeMap<(i32, String), (usize, usize, usize)>;

fn render(
    c: &Choice,
    levels: &[String],
    years: &[i32],
    catalogue: &quartier_core::indicator::Catalogue,
    preview: Option<Result<(Vec<i32>, Counts), String>>,
) -> maud::Markup {
    let body = html! {
        h1 { "Offene Daten" }
        p.lead { "Die Werte einer Ebene als offene Daten: CSV (UTF-8 und für deutsches Excel), GeoJSON und Metadaten nach DCAT-AP.de in einer ZIP-Datei – dieselben Dateien wie "
            code { "quartier export opendata" } ". Die Geheimhaltung ist immer an." }
        form.report-form method="get" action="/offene-daten" {
            fieldset {
                legend { "Auswahl" }
                label for="od-ebene" { "Ebene" }
                select #od-ebene name="ebene" required {
                    option value="" selected[c.level.is_empty()] { "bitte wählen" }
                    @for l in levels { option value=(l) selected[*l == c.level] { (l) } }
                }
                fieldset.years {
                    legend { "Jahre (keines gewählt: das neueste mit Werten)" }
                    @for y in years.iter().rev() {
                        label.check { input type="checkbox" name="jahr" value=(y) checked[c.years.contains(y)]; " " (y) }
                    }
                }
                fieldset.indicators {
                    legend { "Indikatoren (keiner gewählt: der ganze Katalog)" }
                    @for i in &catalogue.indicators {
                        label.check { input type="checkbox" name="indikator" value=(i.id) checked[c.indicators.contains(&i.id)]; " " (i.name) " " span.note { "(" (i.id) ")" } }
                    }
                }
                label for="od-schwelle" { "Geheimhaltungsschwelle (Anzahlen darunter werden gesperrt)" }
                input #od-schwelle type="text" name="schwelle" value=(c.threshold);
            }
            fieldset {
                legend { "Metadaten" }
                label for="od-titel" { "Titel" } input #od-titel type="text" name="titel" value=(c.title);
                label for="od-herausgeber" { "Herausgeber" } input #od-herausgeber type="text" name="herausgeber" value=(c.publisher);
                label for="od-gebiet" { "Abgedecktes Gebiet (z. B. die Kommune)" } input #od-gebiet type="text" name="gebiet" value=(c.spatial);
                label for="od-name" { "Dateiname (ohne Endung)" } input #od-name type="text" name="name" value=(c.name);
            }
            button type="submit" { "Vorschau" }
        }
        @if let Some(Err(e)) = &preview { p.field-error role="alert" { (e) } }
        @if let Some(Ok((chosen, counts))) = &preview {
            h2 { "Vorschau: " (c.level) ", "
                @if chosen.is_empty() { "keine Werte" } @else { (chosen.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")) } }
            table {
                caption { "Was veröffentlicht und was gesperrt wird" }
                thead { tr { th scope="col" { "Jahr" } th scope="col" { "Indikator" } th scope="col" class="num" { "Gebiete mit Wert" } th scope="col" class="num" { "gesperrt (Geheimhaltung)" } th scope="col" class="num" { "ohne Wert" } } }
                tbody {
                    @for ((year, id), (shown, withheld, missing)) in counts {
                        tr {
                            td { (year) }
                            th scope="row" { (catalogue.get(id).map(|i| i.name.as_str()).unwrap_or(id)) }
                            td.num { (shown) } td.num { (withheld) } td.num { (missing) }
                        }
                    }
                }
            }
            @for y in chosen.iter().filter(|y| !counts.iter().any(|((cy, _), v)| cy == *y && v.0 > 0)) {
                p.field-error role="alert" { "Für " (y) " gibt es auf dieser Ebene keine veröffentlichbaren Werte: bitte abwählen." }
            }
            @if !chosen.is_empty() && chosen.iter().all(|y| counts.iter().any(|((cy, _), v)| cy == y && v.0 > 0)) {
                p { a href=(format!("/offene-daten/zip?{}", c.query())) download { "ZIP herunterladen (" (c.name) ".zip)" } }
            } @else {
                p { "Für diese Auswahl gibt es keine veröffentlichbaren Werte." }
            }
        }
    };
    layout_nav("Offene Daten", "berichte", body, None)
}

/// `GET /offene-daten/zip`: the files as one ZIP.
pub async fn zip(State(st): State<AppState>, headers: HeaderMap, Query(pairs): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    crate::reports::planner(&st, &headers).await?;
    let c = choice(pairs)?;
    let name = c.name.clone();
    let bytes = with_store(&st, move |store, _| {
        let files = quartier_report::opendata::export(store, &c.request()).map_err(AppError::BadRequest)?;
        Ok(quartier_report::opendata::zip(&files))
    })
    .await?;
    let mut res = Response::new(axum::body::Body::from(bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.zip\"")).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(res)
}
