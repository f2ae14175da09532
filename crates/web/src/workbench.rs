//! Werkstatt: drafting an indicator or an index in the browser. An indicator's formula is
//! checked against the stored variables and catalogue exactly as `quartier indicators load`
//! checks it, an index definition as `quartier index compute` reads it; the draft is computed
//! on the stored data and shown (map, distribution, classes) before anything is saved. Where
//! the server allows changes (see `admin`), a CSRF-protected form saves the checked draft
//! through the same checks again.

use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_with_catalogue};
use quartier_core::indicator::catalogue::Direction;
use quartier_core::indicator::{Catalogue, Indicator};
use serde::Deserialize;
use std::collections::HashSet;

use crate::admin::{actor_of, authorize, csrf_field, tabs, with_store_mut};
use axum::http::HeaderMap;
use axum::response::Redirect;

#[derive(Debug, Default, Deserialize)]
pub struct DraftQuery {
    /// Start from this stored indicator.
    pub von: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub formel: Option<String>,
    pub einheit: Option<String>,
    pub richtung: Option<String>,
    pub bereich: Option<String>,
    pub mindestnenner: Option<String>,
    pub ebene: Option<String>,
    pub jahr: Option<String>,
    /// Only in the form that saves.
    pub csrf: Option<String>,
}

/// `/werkstatt/indikator`: the draft form, its check and its preview.
pub async fn indicator_draft(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<DraftQuery>) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let actor = actor_of(st, store, &headers)?;
        render(store, st, q, actor)
    })
    .await?;
    Ok(page.into_response())
}

/// The draft: the stored indicator to start from (`von`), overridden by the form's fields.
fn draft_from(q: &DraftQuery, catalogue: &Catalogue) -> Result<Indicator, AppError> {
    let base = match q.von.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(catalogue.get(v).cloned().ok_or_else(|| AppError::NotFound(format!("Indikator „{v}“ gibt es nicht")))?),
        None => None,
    };
    let field = |f: &Option<String>, from: Option<String>| f.clone().or(from).unwrap_or_default();
    Ok(Indicator {
        id: field(&q.id, base.as_ref().map(|b| b.id.clone())),
        name: field(&q.name, base.as_ref().map(|b| b.name.clone())),
        description: base.as_ref().map(|b| b.description.clone()).unwrap_or_default(),
        formula: field(&q.formel, base.as_ref().map(|b| b.formula.clone())),
        unit: field(&q.einheit, base.as_ref().map(|b| b.unit.clone())),
        decimals: base.as_ref().map(|b| b.decimals).unwrap_or(1),
        direction: match q.richtung.as_deref() {
            Some("higher_is_better") => Direction::HigherIsBetter,
            Some(_) => Direction::HigherIsWorse,
            None => base.as_ref().map(|b| b.direction).unwrap_or(Direction::HigherIsWorse),
        },
        domain: field(&q.bereich, base.as_ref().map(|b| b.domain.clone())),
        target_groups: base.as_ref().map(|b| b.target_groups.clone()).unwrap_or_default(),
        source: base.as_ref().map(|b| b.source.clone()).unwrap_or_default(),
        min_denominator: match q.mindestnenner.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => {
                Some(m.replace(',', ".").parse::<f64>().map_err(|_| AppError::BadRequest(format!("Mindestnenner „{m}“ ist keine Zahl")))?)
            }
            None => base.as_ref().and_then(|b| b.min_denominator),
        },
    })
}

/// The catalogue with `draft` in place of the stored indicator of its id (or added), checked
/// as `quartier indicators load` checks it.
fn with_draft(catalogue: &Catalogue, draft: &Indicator, known: &HashSet<String>) -> Result<Catalogue, String> {
    let mut indicators = catalogue.indicators.clone();
    match indicators.iter_mut().find(|i| i.id == draft.id) {
        Some(slot) => *slot = draft.clone(),
        None => indicators.push(draft.clone()),
    }
    Catalogue { indicators }.checked(known).map_err(|e| e.to_string())
}

fn render(store: &dyn Store, st: &AppState, q: DraftQuery, actor: Option<crate::admin::Actor>) -> Result<maud::Markup, AppError> {
    let catalogue = store.catalogue()?;
    let variables = st.cache.variables(&st.db, store)?;
    let levels: Vec<_> = store.levels()?.into_iter().filter(|l| l.areas > 0).collect();
    let draft = draft_from(&q, &catalogue)?;
    let submitted = !draft.formula.trim().is_empty();
    // Checked as the CLI checks a catalogue: the draft replaces a stored indicator of the same id.
    let known: HashSet<String> = variables.iter().map(|v| v.key.clone()).collect();
    let check = submitted.then(|| with_draft(&catalogue, &draft, &known));
    let exists = catalogue.get(&draft.id).is_some();
    let level = q.ebene.clone().filter(|l| levels.iter().any(|x| &x.name == l)).or_else(|| levels.last().map(|l| l.name.clone()));
    let preview = match (&check, &level) {
        (Some(Ok(cat)), Some(level)) => {
            let res = compute_with_catalogue(
                store,
                cat.clone(),
                &IndicatorQuery { indicators: vec![draft.id.clone()], years: None, level: Some(level.clone()), public: st.public },
            )
            .map_err(AppError::BadRequest)?;
            let mut years: Vec<i32> = res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
            years.sort_unstable();
            years.dedup();
            let year = q.jahr.as_deref().and_then(|y| y.parse().ok()).filter(|y| years.contains(y)).or(years.last().copied());
            Some((res, years, year, level.clone()))
        }
        _ => None,
    };
    let shapes = match &level {
        Some(l) if preview.is_some() => Some(st.cache.map_paths(&st.db, store, &store.levels()?, l)?),
        _ => None,
    };
    let mut vars: Vec<&str> = variables.iter().map(|v| v.key.as_str()).collect();
    vars.sort_unstable();
    let body = html! {
        (tabs("indikator"))
        h1 { "Werkstatt: Indikator entwerfen" }
        p.lead { "Formel prüfen und auf den gespeicherten Daten ansehen, bevor etwas gespeichert wird. Gespeichert wird hier (wo der Server Änderungen zulässt) oder mit "
            code { "quartier indicators load KATALOG.toml" } "; der Entwurf unten steht auch als TOML bereit." }
        form.controls.draft method="get" action="/werkstatt/indikator" {
            label { "Kennung (id)" input type="text" name="id" value=(draft.id) required pattern="[a-z_][a-z0-9_]*"; }
            label { "Name" input type="text" name="name" value=(draft.name); }
            label.wide { "Formel" input #formel type="text" name="formel" value=(draft.formula) placeholder="100 * kinder_sgb2 / kinder_u15" list="merkmale" spellcheck="false" aria-describedby="formelpruefung"; }
            output #formelpruefung.note aria-live="polite" for="formel" {}
            datalist #merkmale { @for v in &vars { option value=(v) {} } }
            label { "Einheit" input type="text" name="einheit" value=(draft.unit); }
            label { "Richtung" select name="richtung" {
                option value="higher_is_worse" selected[draft.direction == Direction::HigherIsWorse] { "höher = mehr Bedarf" }
                option value="higher_is_better" selected[draft.direction == Direction::HigherIsBetter] { "höher = besser" }
            } }
            label { "Lebensbereich" input type="text" name="bereich" value=(draft.domain); }
            label { "Mindestnenner" input type="text" name="mindestnenner" inputmode="decimal" value=(draft.min_denominator.map(|m| m.to_string()).unwrap_or_default()); }
            label { "Ebene" select name="ebene" { @for l in &levels { option value=(l.name) selected[Some(&l.name) == level.as_ref()] { (l.name) } } } }
            button type="submit" { "Prüfen und ansehen" }
        }
        @match &check {
            None => p.note { "Merkmale: " (vars.join(", ")) },
            Some(Err(e)) => div.problem role="alert" { h2 { "Die Formel geht so nicht" } pre { (e) } },
            Some(Ok(_)) => {
                p.ok role="status" { "Geprüft: die Formel ist gültig und passt zum Katalog." }
                @if let Some(e) = &actor {
                    form.controls method="post" action="/werkstatt/indikator/speichern" {
                        (csrf_field(e))
                        @for (k, v) in [("id", &draft.id), ("name", &draft.name), ("formel", &draft.formula), ("einheit", &draft.unit), ("bereich", &draft.domain)] {
                            input type="hidden" name=(k) value=(v);
                        }
                        input type="hidden" name="von" value=(if exists { draft.id.as_str() } else { "" });
                        input type="hidden" name="richtung" value=(draft.direction.as_str());
                        input type="hidden" name="mindestnenner" value=(draft.min_denominator.map(|m| m.to_string()).unwrap_or_default());
                        input type="hidden" name="ebene" value=(level.clone().unwrap_or_default());
                        button type="submit" { @if exists { "Änderung im Katalog speichern" } @else { "In den Katalog aufnehmen" } }
                    }
                }
            }
        }
        @if let (Some((res, years, Some(year), level)), Some(shapes)) = (&preview, &shapes) {
            @let rows: Vec<_> = res.rows.iter().filter(|r| r.year == *year && st.visible(level, &r.area_id)).collect();
            @let values: Vec<f64> = rows.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value).collect();
            @let classes = quartier_core::classify::quantiles(&values, 5);
            @let colors = crate::map::palette(5);
            @let reference = res.references.iter().find(|r| r.year == *year && r.status.has_value()).and_then(|r| r.value);
            @let dec = draft.decimals as usize;
            h2 { "Vorschau " (year) " – " (level) }
            nav.years aria-label="Jahre" {
                @for y in years {
                    @if y == year { strong aria-current="true" { (y) } } @else {
                        a href=(format!("/werkstatt/indikator?id={}&name={}&formel={}&einheit={}&richtung={}&bereich={}&ebene={}&jahr={y}", url(&draft.id), url(&draft.name), url(&draft.formula), url(&draft.unit), draft.direction.as_str(), url(&draft.domain), url(level))) { (y) }
                    }
                }
            }
            p { (values.len()) " von " (rows.len()) " Gebieten mit Wert"
                @if let Some(r) = reference { " · Gesamt " strong { (fmt_de(r, dec)) } }
                @if !values.is_empty() {
                    @let s = { let mut s = values.clone(); s.sort_by(f64::total_cmp); s };
                    " · Median " (fmt_de(crate::charts::quartile(&s, 0.5), dec)) " · Spanne " (fmt_de(s[0], dec)) " bis " (fmt_de(s[s.len() - 1], dec))
                }
            }
            div.mapview {
                figure.map {
                    svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="img" aria-label=(format!("Vorschaukarte des Entwurfs {} {year}, Quantile; die Werte stehen auch im Indikator-Export", draft.name)) {
                        g.areas {
                            @for r in &rows {
                                @if let Some(p) = shapes.paths.get(&r.area_id) {
                                    @let fill = r.value.filter(|_| r.status.has_value()).and_then(|v| classes.as_ref().map(|c| colors[quartier_core::classify::class_of(&c.bins, v)])).unwrap_or("#f2f2f2");
                                    path d=(p) fill=(fill) {}
                                }
                            }
                        }
                    }
                }
                div {
                    (crate::charts::strip_plot(&values, reference, None, dec, &format!("Verteilung des Entwurfs {year}")))
                    h2 { "Als TOML übernehmen" }
                    pre.toml tabindex="0" aria-label="Entwurf als TOML" { (Catalogue { indicators: vec![draft.clone()] }.to_toml()) }
                }
            }
        }
    };
    Ok(layout_nav("Werkstatt", "werkstatt", body, None))
}

#[derive(Debug, Default, Deserialize)]
pub struct IndexDraftQuery {
    /// Start from this saved index definition.
    pub von: Option<String>,
    /// The definition as TOML.
    pub definition: Option<String>,
    pub jahr: Option<String>,
}

/// `/werkstatt/index`: an index definition drafted as TOML, checked and computed on the
/// stored data (classes, status × dynamics for MSS, a map), before it is saved.
pub async fn index_draft(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<IndexDraftQuery>) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let actor = actor_of(st, store, &headers)?;
        render_index(store, st, q, actor)
    })
    .await?;
    Ok(page.into_response())
}

fn render_index(
    store: &dyn Store,
    _st: &AppState,
    q: IndexDraftQuery,
    actor: Option<crate::admin::Actor>,
) -> Result<maud::Markup, AppError> {
    use quartier_core::index::{IndexDefinition, IndexMethod};
    let saved = store.index_definitions()?;
    let text = match (q.definition.as_deref().filter(|d| !d.trim().is_empty()), q.von.as_deref().filter(|v| !v.is_empty())) {
        (Some(d), _) => d.to_string(),
        (None, Some(v)) => saved
            .iter()
            .find(|(id, _)| id == v)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| AppError::NotFound(format!("Index „{v}“ gibt es nicht")))?,
        (None, None) => String::new(),
    };
    let year = match q.jahr.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?),
        None => None,
    };
    // Checked and computed exactly as `quartier index compute` does.
    let result = (!text.trim().is_empty()).then(|| {
        let def = IndexDefinition::from_toml(&text)?;
        let table = quartier_app::indexing::compute_index(store, &def, "Entwurf", year)?;
        Ok::<_, String>((def, table))
    });
    let body = html! {
        (tabs("index"))
        h1 { "Werkstatt: Index entwerfen" }
        p.lead { "Eine Indexdefinition (TOML, wie für " code { "quartier index compute" } ") prüfen und auf den gespeicherten Daten berechnen, bevor sie gespeichert wird. Gespeichert wird hier (wo der Server Änderungen zulässt) oder mit "
            code { "quartier index save --definition DATEI.toml" } "." }
        form.draft method="get" action="/werkstatt/index" {
            p { "Gespeicherte Indizes als Vorlage: "
                @for (id, _) in &saved { a href=(format!("/werkstatt/index?von={}", url(id))) { (id) } " " } }
            label.block for="definition" { "Definition (TOML)" }
            textarea #definition name="definition" rows="14" cols="90" spellcheck="false" { (text) }
            div.controls {
                label { "Jahr (leer: das neueste)" input type="text" name="jahr" inputmode="numeric" value=(year.map(|y| y.to_string()).unwrap_or_default()); }
                button type="submit" { "Prüfen und berechnen" }
            }
        }
        @match &result {
            None => p.note { "Beispiel: " code { "id = \"kinder\"  method = \"weighted\"  domains = [{ indicator = \"s4\", weight = 2 }, { indicator = \"s1\", weight = 1 }]  classification = { method = \"quantiles\", k = 5 }" } },
            Some(Err(e)) => div.problem role="alert" { h2 { "Die Definition geht so nicht" } pre { (e) } },
            Some(Ok((def, table))) => {
                @let rated = table.json.iter().filter(|r| r["rated"] == true).count();
                p.ok role="status" { "Geprüft und berechnet: " (rated) " von " (table.json.len()) " Gebieten bewertet"
                    @if let Some(y) = table.json.first().and_then(|r| r["year"].as_i64()) { ", Jahr " (y) } "." }
                @if let Some(e) = &actor {
                    form.controls method="post" action="/werkstatt/index/speichern" {
                        (csrf_field(e))
                        input type="hidden" name="definition" value=(text);
                        button type="submit" { "Als Index „" (def.id) "“ speichern" }
                        @if saved.iter().any(|(id, _)| *id == def.id) { span.note { "ersetzt den gespeicherten Index gleicher Kennung" } }
                    }
                }
                @for n in &table.notes { p.note { (n) } }
                @if def.method == IndexMethod::Mss {
                    (crate::overview::matrix_table(&crate::overview::matrix(table), "Gebiete nach Status und Dynamik im Entwurf"))
                } @else {
                    @let column = match def.method { IndexMethod::Imd => "imd_decile", IndexMethod::Gisd => "quintile", IndexMethod::Svi => "svi_class", _ => "class" };
                    @let counts = class_counts(table, column);
                    table {
                        caption { "Gebiete je Klasse (" (column) ")" }
                        thead { tr { th scope="col" { "Klasse" } th scope="col" .num { "Gebiete" } } }
                        tbody { @for (c, n) in &counts { tr { td { (c) } td.num { (n) } } } }
                    }
                }
                @let reasons: Vec<(String, String)> = table.json.iter().filter(|r| r["rated"] == false).map(|r| (r["area_id"].as_str().unwrap_or("").to_string(), r["reason_not_rated"].as_str().unwrap_or("").to_string())).collect();
                @if !reasons.is_empty() {
                    details {
                        summary { (reasons.len()) " nicht bewertete Gebiete mit Grund" }
                        ul { @for (k, r) in reasons.iter().take(200) { li { (k) ": " (r) } } }
                    }
                }
            }
        }
    };
    Ok(layout_nav("Werkstatt: Index", "werkstatt", body, None))
}

/// Areas per class value in a result table's column.
fn class_counts(table: &quartier_app::indexing::Table, column: &str) -> std::collections::BTreeMap<i64, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in &table.json {
        if let Some(c) = r[column].as_i64().or_else(|| r[column].as_f64().map(|x| x as i64)) {
            *counts.entry(c).or_default() += 1;
        }
    }
    counts
}

/// `GET /werkstatt/indikator/pruefen?id=…&formel=…`: the formula check alone, as JSON
/// (`{"ok": true}` or `{"ok": false, "message": …}`), for checking while typing.
pub async fn check_formula(State(st): State<AppState>, Query(q): Query<DraftQuery>) -> Result<Response, AppError> {
    let result = with_store(&st, move |store, st| {
        let catalogue = store.catalogue()?;
        let variables = st.cache.variables(&st.db, store)?;
        let mut draft = draft_from(&q, &catalogue)?;
        if draft.formula.trim().is_empty() {
            return Ok(serde_json::json!({"ok": false, "message": "Formel fehlt"}));
        }
        // While typing, the formula is what is checked; a missing id is the save's concern.
        if draft.id.trim().is_empty() {
            draft.id = "entwurf".into();
        }
        let known: HashSet<String> = variables.iter().map(|v| v.key.clone()).collect();
        Ok(match with_draft(&catalogue, &draft, &known) {
            Ok(_) => serde_json::json!({"ok": true, "message": "Formel gültig"}),
            Err(e) => serde_json::json!({"ok": false, "message": e}),
        })
    })
    .await?;
    use axum::http::header;
    // `<` as \u003c: the echoed formula can never read as markup, whoever renders the JSON.
    let body = result.to_string().replace('<', "\\u003c");
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response())
}

/// `POST /werkstatt/indikator/speichern`: the checked draft into the stored catalogue.
pub async fn save_indicator(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(q): axum::Form<DraftQuery>,
) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, q.csrf.as_deref().unwrap_or("")).await?;
    let level = q.ebene.clone().unwrap_or_default();
    let id = with_store_mut(&st, e.name.clone(), move |store| {
        let catalogue = store.catalogue()?;
        let draft = draft_from(&q, &catalogue)?;
        if draft.formula.trim().is_empty() || draft.id.trim().is_empty() {
            return Err(AppError::BadRequest("Kennung und Formel fehlen.".into()));
        }
        let known: HashSet<String> = store.variables()?.into_iter().map(|v| v.key).collect();
        let checked = with_draft(&catalogue, &draft, &known).map_err(AppError::BadRequest)?;
        store.save_catalogue(&checked, false)?;
        Ok(draft.id)
    })
    .await?;
    Ok(Redirect::to(&format!("/indikator/{}?ebene={}", url(&id), url(&level))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SaveIndexForm {
    #[serde(default)]
    pub csrf: String,
    pub definition: String,
}

/// `POST /werkstatt/index/speichern`: a definition that loads and computes, saved under its id.
pub async fn save_index(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SaveIndexForm>,
) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, &f.csrf).await?;
    let id = with_store_mut(&st, e.name.clone(), move |store| {
        let def = quartier_core::index::IndexDefinition::from_toml(&f.definition).map_err(AppError::BadRequest)?;
        quartier_app::indexing::compute_index(store, &def, "Entwurf", None).map_err(AppError::BadRequest)?;
        store.save_index_definition(&def.id, &f.definition)?;
        Ok(def.id)
    })
    .await?;
    Ok(Redirect::to(&format!("/index/{}", url(&id))).into_response())
}
