//! `/verwaltung/gebietsstaende`: the boundary sets of each level, the stored crosswalks with
//! their checks, and the planner's work on them in the browser — compute a crosswalk from the
//! geometries, upload an official key table, carry earlier years across, remove one. The
//! same use cases as `quartier crosswalk …` (`quartier_app::crosswalk`).

use crate::admin::{actor_of, authorize, csrf_field, editing, tabs, with_store_mut};
use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use quartier_app::crosswalk::{self, Weights};
use quartier_app::store::Store;
use quartier_core::crosswalk::Crosswalk;
use serde::Deserialize;
use std::collections::HashMap;

/// After a change, what was done (built from the stored state, never from the URL's text).
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub erledigt: Option<String>,
    pub name: Option<String>,
    pub id: Option<i64>,
}

/// `GET /verwaltung/gebietsstaende`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<DoneQuery>) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("Die Verwaltung gibt es in der öffentlichen Ansicht nicht.".into()));
    }
    let page = with_store(&st, move |store, st| render(store, st, &q, &headers)).await?;
    Ok(page.into_response())
}

fn render(store: &dyn Store, st: &AppState, q: &DoneQuery, headers: &HeaderMap) -> Result<Markup, AppError> {
    let levels = store.levels()?;
    let versions = store.area_versions(None)?;
    let stored = store.crosswalks(None)?;
    let summaries: Vec<crosswalk::Summary> = stored.iter().filter_map(|c| crosswalk::summary(store, c).ok()).collect();
    let variables = store.variables()?;
    let actor = actor_of(st, store, headers)?;
    let message = match (q.erledigt.as_deref(), q.name.as_deref(), q.id) {
        (Some("gespeichert"), Some(n), _) => stored.iter().any(|c| c.name == n).then(|| format!("Umstieg „{n}“ ist gespeichert.")),
        (Some("geloescht"), Some(n), _) => (!stored.iter().any(|c| c.name == n)).then(|| format!("Umstieg „{n}“ ist gelöscht.")),
        (Some("uebertragen"), _, Some(id)) => store
            .imports()?
            .into_iter()
            .find(|i| i.id == id)
            .map(|i| format!("Import {}: {}. Rückgängig wie jeder Import im Importprotokoll.", i.id, i.summary)),
        _ => None,
    };
    let multi: Vec<&str> =
        levels.iter().filter(|l| versions.iter().filter(|v| v.level == l.name).count() > 1).map(|l| l.name.as_str()).collect();
    let dates =
        |level: &str| -> Vec<Option<String>> { versions.iter().filter(|v| v.level == level).map(|v| v.valid_from.clone()).collect() };
    let counts: Vec<&quartier_app::store::VariableRecord> =
        variables.iter().filter(|v| v.kind == quartier_core::validate::VariableKind::Count).collect();
    let body = html! {
        (tabs("verwaltung"))
        h1 { "Gebietsstände und Umstiege" }
        p.lead {
            "Ändern sich Grenzen, gilt ab einem Datum ein neuer Gebietsstand (beim Hochladen der Gebiete „Neuer Gebietsstand gültig ab“). "
            "Ein Umstieg gibt an, welcher Anteil jedes alten Gebiets in welches neue geht – aus dem amtlichen Umsteigeschlüssel, aus der Verschneidung der Flächen "
            "oder, am besten, aus der Bevölkerung einer feineren Ebene. Damit lassen sich frühere Jahre auf die neuen Gebiete übertragen: als Schätzung gekennzeichnet, "
            "Anzahlen aufgeteilt und summiert, Quoten daraus neu berechnet."
        }
        @if let Some(m) = &message { p.ok role="status" { (m) } }
        h2 #staende { "Gebietsstände" }
        table {
            caption { "Gebietsstände je Ebene" }
            thead { tr { th scope="col" { "Ebene" } th scope="col" { "gültig ab" } th scope="col" { "bis vor" } th scope="col" .num { "Gebiete" }
                th scope="col" .num { "neu" } th scope="col" .num { "abgelöst" } th scope="col" .num { "Werte" } } }
            tbody { @for v in &versions { tr {
                th scope="row" { (v.level) } td { (v.valid_from.as_deref().unwrap_or("Anfang")) } td { (v.valid_to.as_deref().unwrap_or("heute gültig")) }
                td.num { (v.areas) } td.num { (v.new) } td.num { (v.retired) } td.num { (v.values) }
            } } }
        }
        h2 #umstiege { "Umstiege" }
        @if summaries.is_empty() { p { "Noch keine." } }
        @for s in &summaries {
            section aria-labelledby=(format!("u-{}", s.name)) {
                h3 id=(format!("u-{}", s.name)) { (s.name) }
                ul {
                    li { (s.level) ": Gebietsstand ab " (s.from.as_deref().unwrap_or("Anfang")) " → ab " (s.to) }
                    li { "Methode: " (s.method) }
                    li { (s.links) " Gewichte, " (s.old_areas) " alte → " (s.new_areas) " neue Gebiete; "
                        (s.estimated.iter().filter(|e| e.1 > 0.0).count()) " neue Gebiete teils aus geteilten alten (geschätzt)" }
                    li { @if s.not_one.is_empty() { "Prüfung: die Gewichte jedes alten Gebiets ergeben 1" }
                        @else { strong { "Die Gewichte ergeben nicht 1 bei: " } (s.not_one.iter().map(|(k, w)| format!("{k} ({})", fmt_de(*w, 4))).collect::<Vec<_>>().join(", ")) } }
                    @if !s.old_unlinked.is_empty() { li { strong { "Alte Gebiete ohne Umstieg: " } (s.old_unlinked.join(", ")) } }
                    @if !s.new_unlinked.is_empty() { li { "Neue Gebiete, auf die nichts übergeht: " (s.new_unlinked.join(", ")) } }
                    li { a href=(format!("/verwaltung/umstieg/{}/gewichte.csv", url(&s.name))) { "Gewichte als CSV" } }
                }
                @if let Some(e) = &actor {
                    form.controls method="post" action="/verwaltung/umstieg/anwenden" {
                        (csrf_field(e))
                        input type="hidden" name="name" value=(s.name);
                        label { "Merkmale (leer: alle)" input type="text" name="merkmale" placeholder="einwohner, sgb2"; }
                        label { "Bevölkerung als Gewicht für Quoten" select name="bevoelkerung" {
                            option value="" { "(keine: Quoten ohne Anzahlen nicht übertragen)" }
                            @for v in &counts { option value=(v.key) { (v.key) @if !v.label.is_empty() { " – " (v.label) } } }
                        } }
                        label.check { input type="checkbox" name="ersetzen" value="1"; " früher übertragene Werte ersetzen" }
                        button type="submit" { "Frühere Jahre übertragen" }
                    }
                    form.controls method="post" action="/verwaltung/umstieg/loeschen" {
                        (csrf_field(e))
                        input type="hidden" name="name" value=(s.name);
                        button type="submit" { "Umstieg löschen" }
                    }
                }
            }
        }
        @match &actor {
            None => p.note { "Umstiege berechnen und Werte übertragen können Konten der Sozialplanung und der Administration." },
            Some(_) if multi.is_empty() => p.note { "Erst wenn eine Ebene zwei Gebietsstände hat, lässt sich ein Umstieg anlegen: in der Verwaltung Gebiete mit „Neuer Gebietsstand gültig ab“ hochladen." },
            Some(e) => {
                h2 #berechnen { "Umstieg berechnen" }
                form.controls.draft method="post" action="/verwaltung/umstieg/berechnen" {
                    (csrf_field(e))
                    (target_fields(&multi, &dates))
                    label { "Gewichte" select name="methode" {
                        option value="flaeche" { "Flächenanteile (Verschneidung)" }
                        @for l in levels.iter().filter(|l| versions.iter().filter(|v| v.level == l.name).count() == 1 && l.areas > 0) {
                            option value=(format!("ebene:{}", l.name)) { "Bevölkerung der Ebene " (l.name) }
                        }
                    } }
                    label { "Bevölkerungsmerkmal (für Ebenen)" select name="bevoelkerung" {
                        option value="" { "–" }
                        @for v in &counts { option value=(v.key) { (v.key) @if !v.label.is_empty() { " – " (v.label) } } }
                    } }
                    button type="submit" { "Berechnen und speichern" }
                }
                h2 #punkte { "Umstieg aus gewichteten Punkten" }
                p.note { "Zensus-Gitterzellen oder Adresspunkte mit Einwohnerzahl (CSV): jeder Punkt zählt mit seinem Gewicht in dem alten und dem neuen Gebiet, in dem er liegt." }
                form.controls.draft method="post" action="/verwaltung/umstieg/punkte" enctype="multipart/form-data" {
                    (csrf_field(e))
                    (target_fields(&multi, &dates))
                    label { "Spalte x" input type="text" name="x" required size="10" placeholder="x_mp_100m"; }
                    label { "Spalte y" input type="text" name="y" required size="10" placeholder="y_mp_100m"; }
                    label { "Koordinatensystem" input type="text" name="crs" required size="10" placeholder="EPSG:3035"; }
                    label { "Spalte Personen (leer: je Punkt 1)" input type="text" name="gewicht" size="10" placeholder="Einwohner"; }
                    label.wide { "Datei (CSV)" input type="file" name="datei" required accept=".csv,.txt"; }
                    button type="submit" { "Hochladen und berechnen" }
                }
                h2 #schluessel { "Umsteigeschlüssel hochladen" }
                form.controls.draft method="post" action="/verwaltung/umstieg/schluessel" enctype="multipart/form-data" {
                    (csrf_field(e))
                    (target_fields(&multi, &dates))
                    label.wide { "Datei (CSV/XLSX: alter Schlüssel, neuer Schlüssel, Anteil)" input type="file" name="datei" required accept=".csv,.txt,.xlsx,.xls,.ods"; }
                    button type="submit" { "Hochladen und speichern" }
                }
                @if summaries.len() > 1 {
                    h2 #verketten { "Umstiege verketten" }
                    p.note { "Zwei Umstiege nacheinander (alt → mittel, mittel → neu) ergeben einen über mehrere Gebietsstände." }
                    form.controls.draft method="post" action="/verwaltung/umstieg/verketten" {
                        (csrf_field(e))
                        label { "Erster" select name="erster" { @for s in &summaries { option value=(s.name) { (s.name) } } } }
                        label { "Dann" select name="zweiter" { @for s in &summaries { option value=(s.name) { (s.name) } } } }
                        label { "Name" input type="text" name="name" required pattern="[A-Za-z0-9_.\\-]+" title="Buchstaben, Ziffern, _ . -"; }
                        button type="submit" { "Verketten und speichern" }
                    }
                }
            }
        }
    };
    Ok(layout_nav("Gebietsstände und Umstiege", "werkstatt", body, None))
}

/// Name, level and the two boundary sets of a new crosswalk.
fn target_fields(levels: &[&str], dates: &dyn Fn(&str) -> Vec<Option<String>>) -> Markup {
    let all: Vec<(String, String)> =
        levels.iter().flat_map(|l| dates(l).into_iter().map(move |d| (l.to_string(), d.unwrap_or_default()))).collect();
    html! {
        label { "Name" input type="text" name="name" required pattern="[A-Za-z0-9_.\\-]+" title="Buchstaben, Ziffern, _ . -"; }
        label { "Ebene" select name="ebene" { @for l in levels { option value=(l) { (l) } } } }
        label { "Von Gebietsstand ab" select name="von" {
            @for (l, d) in &all { option value=(d) { (l) ": " (if d.is_empty() { "Anfang" } else { d.as_str() }) } }
        } }
        label { "Nach Gebietsstand ab" select name="nach" {
            // Newest first: the usual step is onto the newest set.
            @for (l, d) in all.iter().rev().filter(|(_, d)| !d.is_empty()) { option value=(d) { (l) ": " (d) } }
        } }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ComputeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ebene: String,
    #[serde(default)]
    pub von: String,
    #[serde(default)]
    pub nach: String,
    #[serde(default)]
    pub methode: String,
    #[serde(default)]
    pub bevoelkerung: String,
}

fn checked_name(name: &str) -> Result<String, AppError> {
    let n = name.trim();
    if n.is_empty() || n.len() > 80 || !n.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(AppError::BadRequest(format!("Name „{n}“: bitte nur Buchstaben, Ziffern, _ . - (höchstens 80 Zeichen)")));
    }
    Ok(n.to_string())
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `POST /verwaltung/umstieg/berechnen`.
pub async fn compute(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<ComputeForm>) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &f.csrf).await?;
    let name = checked_name(&f.name)?;
    let saved = name.clone();
    with_store_mut(&st, actor.name.clone(), move |store| {
        let (from, to) = (opt(&f.von), f.nach.trim().to_string());
        let weights = match f.methode.strip_prefix("ebene:") {
            Some(level) => {
                let variable = opt(&f.bevoelkerung)
                    .ok_or_else(|| AppError::BadRequest("Für Bevölkerungsgewichte bitte das Bevölkerungsmerkmal wählen.".into()))?;
                (Some(level.to_string()), Some(variable))
            }
            None => (None, None),
        };
        let w = match (&weights.0, &weights.1) {
            (Some(level), Some(variable)) => Weights::Finer { level, variable, year: None },
            _ => Weights::Overlay,
        };
        let (c, source) = crosswalk::compute(store, &f.ebene, from.as_deref(), &to, w).map_err(AppError::BadRequest)?;
        crosswalk::save(store, &name, &f.ebene, from.as_deref(), &to, &c, &source).map_err(AppError::BadRequest)
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung/gebietsstaende?erledigt=gespeichert&name={}#umstiege", url(&saved))).into_response())
}

/// A form with a file: its text fields, and the file kept as an upload (id, safe name).
async fn upload_form(st: &AppState, mut multipart: Multipart) -> Result<(HashMap<String, String>, String, String), AppError> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, axum::body::Bytes)> = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        if name == "datei" {
            let file_name = field.file_name().unwrap_or("").to_string();
            file = Some((file_name, field.bytes().await.map_err(|e| AppError::BadRequest(e.body_text()))?));
        } else {
            fields.insert(name, field.text().await.map_err(|e| AppError::BadRequest(e.body_text()))?);
        }
    }
    let (file_name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| AppError::BadRequest("Keine Datei ausgewählt.".into()))?;
    let (id, safe) = editing(st)?.keep_upload(&file_name, &bytes)?;
    Ok((fields, id, safe))
}

/// How a crosswalk is made from an uploaded file: (store, form fields, file, its safe name).
type FromFile = fn(&mut dyn Store, &HashMap<String, String>, &std::path::Path, &str) -> Result<(Crosswalk, String), AppError>;

/// Computes and stores a crosswalk from an uploaded file; the upload is removed afterwards,
/// whatever happened.
async fn from_upload(st: &AppState, headers: &HeaderMap, multipart: Multipart, make: FromFile) -> Result<Response, AppError> {
    let (fields, id, safe) = upload_form(st, multipart).await?;
    let path = editing(st)?.upload_dir(&id)?.join(&safe);
    let result = async {
        let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
        let actor = authorize(st, headers, &field("csrf")).await?;
        let name = checked_name(&field("name"))?;
        let saved = name.clone();
        let fields = fields.clone();
        with_store_mut(st, actor.name.clone(), move |store| {
            let (level, from, to) = target_of(&fields);
            let (c, source) = make(store, &fields, &path, &safe)?;
            crosswalk::save(store, &name, &level, from.as_deref(), &to, &c, &source).map_err(AppError::BadRequest)
        })
        .await?;
        Ok::<_, AppError>(saved)
    }
    .await;
    if let Ok(dir) = editing(st)?.upload_dir(&id) {
        let _ = std::fs::remove_dir_all(dir);
    }
    let saved = result?;
    Ok(Redirect::to(&format!("/verwaltung/gebietsstaende?erledigt=gespeichert&name={}#umstiege", url(&saved))).into_response())
}

/// The level and the two sets of a crosswalk form.
fn target_of(fields: &HashMap<String, String>) -> (String, Option<String>, String) {
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    (field("ebene"), opt(&field("von")), field("nach").trim().to_string())
}

/// `POST /verwaltung/umstieg/schluessel`: an official key table, uploaded.
pub async fn key_table(State(st): State<AppState>, headers: HeaderMap, multipart: Multipart) -> Result<Response, AppError> {
    from_upload(&st, &headers, multipart, |store, fields, path, safe| {
        let (level, from, to) = target_of(fields);
        let table =
            quartier_import::crosswalk::read_key_table(path, &Default::default()).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let c = crosswalk::from_key_table(store, &level, from.as_deref(), &to, table)
            .map_err(|e| AppError::BadRequest(format!("{safe}: {e}")))?;
        Ok((c, safe.to_string()))
    })
    .await
}

/// `POST /verwaltung/umstieg/punkte`: weights from uploaded weighted points (Zensus grid
/// cells, address points).
pub async fn points(State(st): State<AppState>, headers: HeaderMap, multipart: Multipart) -> Result<Response, AppError> {
    from_upload(&st, &headers, multipart, |store, fields, path, safe| {
        let (level, from, to) = target_of(fields);
        let field = |k: &str| fields.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        // Text from the web names a CRS, never a file on the server.
        let o = quartier_import::points::PointOptions {
            x: field("x"),
            y: field("y"),
            crs: field("crs"),
            weight: opt(&field("gewicht")),
            crs_files: false,
        };
        let p = quartier_import::points::read_points(path, safe, &o).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let points = quartier_app::supply::WeightedPoints { source: p.source, points: p.points };
        crosswalk::compute(store, &level, from.as_deref(), &to, Weights::Points(&points)).map_err(AppError::BadRequest)
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ChainForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub erster: String,
    #[serde(default)]
    pub zweiter: String,
    #[serde(default)]
    pub name: String,
}

/// `POST /verwaltung/umstieg/verketten`: two crosswalks one after the other, stored as one.
pub async fn chain(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<ChainForm>) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &f.csrf).await?;
    let name = checked_name(&f.name)?;
    let saved = name.clone();
    with_store_mut(&st, actor.name.clone(), move |store| {
        crosswalk::chain(store, f.erster.trim(), f.zweiter.trim(), &name).map(|_| ()).map_err(AppError::BadRequest)
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung/gebietsstaende?erledigt=gespeichert&name={}#umstiege", url(&saved))).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub merkmale: String,
    #[serde(default)]
    pub bevoelkerung: String,
    #[serde(default)]
    pub ersetzen: String,
}

/// `POST /verwaltung/umstieg/anwenden`: earlier years carried across as estimates.
pub async fn apply(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<ApplyForm>) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &f.csrf).await?;
    let id = with_store_mut(&st, actor.name.clone(), move |store| {
        let vars: Vec<String> = f.merkmale.split([',', ';', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        let a = crosswalk::apply(
            store,
            f.name.trim(),
            (!vars.is_empty()).then_some(vars.as_slice()),
            opt(&f.bevoelkerung).as_deref(),
            !f.ersetzen.trim().is_empty(),
            false,
        )
        .map_err(AppError::BadRequest)?;
        Ok(a.stored.import_id)
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung/gebietsstaende?erledigt=uebertragen&id={id}#umstiege")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// `POST /verwaltung/umstieg/loeschen`.
pub async fn remove(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<RemoveForm>) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &f.csrf).await?;
    let name = f.name.trim().to_string();
    let gone = name.clone();
    with_store_mut(&st, actor.name.clone(), move |store| store.remove_crosswalk(&name).map_err(|e| AppError::BadRequest(e.to_string())))
        .await?;
    Ok(Redirect::to(&format!("/verwaltung/gebietsstaende?erledigt=geloescht&name={}#umstiege", url(&gone))).into_response())
}

/// `GET /verwaltung/umstieg/{name}/gewichte.csv`: the weights (old, new, weight).
pub async fn weights_csv(State(st): State<AppState>, Path(name): Path<String>) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("Die Verwaltung gibt es in der öffentlichen Ansicht nicht.".into()));
    }
    with_store(&st, move |store, _| {
        use crate::download::{Cell, Kind, table};
        let r = crosswalk::get(store, &name).map_err(AppError::NotFound)?;
        let rows: Vec<Vec<Cell>> =
            r.links.iter().map(|(o, n, w)| vec![Cell::text(o.clone()), Cell::text(n.clone()), Cell::Num(Some(*w), 6)]).collect();
        table(Kind::Csv, &format!("umstieg-{}", r.name), "Umstieg", &["alt", "neu", "anteil"], &rows)
    })
    .await
}
