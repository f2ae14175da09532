//! The JSON API under `/api/v1` for scripts and other systems: levels and areas, variables
//! and values, indicator results with references and statuses, index results and their
//! robustness, offers (read, create, change) and data imports (upload → dry-run preview →
//! confirm). Described by the OpenAPI 3.1 document at `/api/v1/openapi.json` ([`openapi`]);
//! errors are problem details (RFC 9457, see `problems` in the crate root).
//!
//! Every handler calls the use cases the pages call, under the request's visibility: a
//! tenant's token sees its own small areas, a Träger account without internal access and an
//! anonymous visitor of the public view get the published, disclosure-controlled results
//! (`require_login` routes them to the public app). Field names are English and stable; new
//! fields may appear, none disappear within `v1`.

pub mod auth;
pub mod openapi;

use crate::action::{NewOffer, OfferChange, create_offer, offer_version, update_offer};
use crate::admin::{Imported, UploadForm, editing, import_upload, upload_path, with_store_mut};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quartier_app::store::Store;
use quartier_app::store::accounts::{Role, User};
use serde::Deserialize;
use serde_json::{Value, json};

/// The versioned prefix of every path.
pub const PREFIX: &str = "/api/v1";

fn reply(status: StatusCode, v: &Value) -> Response {
    let mut res = (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response();
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    res
}

fn ok(v: Value) -> Result<Response, AppError> {
    Ok(reply(StatusCode::OK, &v))
}

/// A comma-separated list parameter (empty: none).
fn list(p: &Option<String>) -> Vec<String> {
    p.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Years as `2021` or `2019,2021`.
fn years(p: &Option<String>) -> Result<Vec<i32>, AppError> {
    list(p).iter().map(|y| y.parse::<i32>().map_err(|_| AppError::bad_parameter("year", format!("„{y}“ ist keine Jahreszahl")))).collect()
}

/// The named level, or the lowest level with areas; 404 naming `level` when unknown.
fn level_or_default(store: &dyn Store, level: &Option<String>) -> Result<String, AppError> {
    let levels = store.levels()?;
    match level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if levels.iter().any(|x| x.name == l) => Ok(l.to_string()),
        Some(l) => Err(AppError::unknown_parameter(
            "level",
            format!("Ebene „{l}“ gibt es nicht; vorhanden: {}", levels.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")),
        )),
        None => levels
            .iter()
            .rev()
            .find(|l| l.areas > 0)
            .map(|l| l.name.clone())
            .ok_or_else(|| AppError::NotFound("Noch keine Gebiete gespeichert".into())),
    }
}

/// `GET /api/v1`: what there is.
pub async fn index() -> Result<Response, AppError> {
    let link = |p: &str, rel: &str, title: &str| json!({ "href": format!("{PREFIX}{p}"), "rel": rel, "title": title });
    ok(json!({
        "title": "Quartier – JSON-API",
        "version": openapi::VERSION,
        "links": [
            link("/openapi.json", "service-desc", "OpenAPI-3.1-Beschreibung"),
            link("/levels", "data", "Ebenen"),
            link("/areas", "data", "Gebiete"),
            link("/variables", "data", "Merkmale"),
            link("/indicators", "data", "Indikatoren"),
            link("/indices", "data", "Indizes"),
            link("/offers", "data", "Angebote"),
            { "href": "/ogc", "rel": "alternate", "title": "OGC API – Features (Geometrien für GIS)" },
        ],
    }))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_document() -> Response {
    let mut res = reply(StatusCode::OK, openapi::document());
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.1"));
    res
}

/// `GET /api/v1/levels`: the levels from the top, with the number of areas this request sees.
pub async fn levels(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, |store, st| {
        let mut out = Vec::new();
        for l in store.levels()? {
            let areas = match &st.view {
                Some(_) => store.areas(Some(&l.name))?.iter().filter(|a| st.visible(&l.name, &a.key)).count(),
                None => l.areas,
            };
            out.push(json!({ "name": l.name, "rank": l.rank, "areas": areas }));
        }
        Ok(json!({ "levels": out }))
    })
    .await?;
    ok(v)
}

#[derive(Debug, Default, Deserialize)]
pub struct AreasQuery {
    pub level: Option<String>,
    pub parent: Option<String>,
}

/// `GET /api/v1/areas?level=&parent=`: key, name, level, parent and area in m².
pub async fn areas(State(st): State<AppState>, Query(q): Query<AreasQuery>) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, st| {
        let level = match q.level.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(_) => Some(level_or_default(store, &q.level)?),
            None => None,
        };
        let list: Vec<Value> = store
            .areas(level.as_deref())?
            .into_iter()
            .filter(|a| st.visible(&a.level, &a.key))
            .filter(|a| q.parent.as_deref().is_none_or(|p| a.parent.as_deref() == Some(p)))
            .map(|a| json!({ "key": a.key, "name": a.name, "level": a.level, "parent": a.parent, "area_m2": a.area_m2 }))
            .collect();
        Ok(json!({ "areas": list }))
    })
    .await?;
    ok(v)
}

/// `GET /api/v1/variables`: the delivered variables with metadata, years and counts.
pub async fn variables(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, |store, st| {
        let vars = st.cache.variables(&st.db, store)?;
        Ok(json!({ "variables": serde_json::to_value(vars.as_ref()).map_err(|e| AppError::Internal(e.to_string()))? }))
    })
    .await?;
    ok(v)
}

#[derive(Debug, Default, Deserialize)]
pub struct ValuesQuery {
    pub variable: Option<String>,
    pub level: Option<String>,
    pub year: Option<String>,
    pub area: Option<String>,
}

/// `GET /api/v1/values?variable=&level=&year=&area=`: a variable's values on a level (default:
/// the lowest) in the given years (default: all), delivered or — for counts — summed from the
/// areas below (`origin`); in the public view with disclosure control (`symbol` "*").
pub async fn values(State(st): State<AppState>, Query(q): Query<ValuesQuery>) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, st| {
        let key = q
            .variable
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AppError::bad_parameter("variable", "Parameter variable fehlt (ein Merkmal aus /api/v1/variables)"))?;
        let vars = st.cache.variables(&st.db, store)?;
        let var = vars
            .iter()
            .find(|v| v.key == key)
            .ok_or_else(|| AppError::unknown_parameter("variable", format!("Merkmal „{key}“ gibt es nicht")))?;
        let level = level_or_default(store, &q.level)?;
        let mut want = years(&q.year)?;
        if want.is_empty() {
            want = var.years.clone();
        }
        if let Some(y) = want.iter().find(|y| !var.years.contains(y)) {
            return Err(AppError::unknown_parameter(
                "year",
                format!("Merkmal „{key}“ hat keine Werte für {y} (vorhanden: {:?})", var.years),
            ));
        }
        let only = list(&q.area);
        let mut out = Vec::new();
        for y in want {
            let vals = match st.public {
                Some(t) => quartier_app::views::public_level_values(store, &var.key, var.kind, y, &level, t)?,
                None => quartier_app::views::level_values(store, &var.key, var.kind, y, &level)?,
            };
            for a in vals {
                if !st.visible(&level, &a.area) || (!only.is_empty() && !only.contains(&a.area)) {
                    continue;
                }
                out.push(json!({ "area": a.area, "name": a.name, "year": y, "value": a.value, "symbol": a.symbol, "origin": a.origin }));
            }
        }
        Ok(json!({ "variable": var.key, "label": var.label, "unit": var.unit, "kind": var.kind, "level": level, "values": out }))
    })
    .await?;
    ok(v)
}

/// `GET /api/v1/indicators`: the catalogue.
pub async fn indicators(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, |store, _| {
        let cat = store.catalogue()?;
        Ok(json!({ "indicators": serde_json::to_value(&cat.indicators).map_err(|e| AppError::Internal(e.to_string()))? }))
    })
    .await?;
    ok(v)
}

/// An indicator value's status as a word, with the inputs it names (if any).
fn status(s: &quartier_core::indicator::Status) -> (Value, Value) {
    let v = serde_json::to_value(s).unwrap_or(Value::Null);
    (v["status"].clone(), v.get("inputs").cloned().unwrap_or(Value::Null))
}

#[derive(Debug, Default, Deserialize)]
pub struct ResultsQuery {
    pub level: Option<String>,
    pub year: Option<String>,
    pub area: Option<String>,
}

/// `GET /api/v1/indicators/{id}/values?level=&year=&area=`: computed values with numerator,
/// denominator and status per area and year, and the whole municipality's reference values.
pub async fn indicator_values(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, st| {
        let cat = store.catalogue()?;
        let ind = cat.get(&id).cloned().ok_or_else(|| AppError::unknown_parameter("id", format!("Indikator „{id}“ gibt es nicht")))?;
        let level = level_or_default(store, &q.level)?;
        let computed = st.cache.indicator(&st.db, store, st.public, &id).map_err(crate::indicators_error)?;
        let res = computed.only(&id, &level);
        let want = years(&q.year)?;
        if let Some(y) = want.iter().find(|y| !computed.years.contains(y)) {
            return Err(AppError::unknown_parameter("year", format!("für {y} gibt es keine Daten (vorhanden: {:?})", computed.years)));
        }
        let only = list(&q.area);
        let year_ok = |y: i32| want.is_empty() || want.contains(&y);
        let values: Vec<Value> = res
            .rows
            .iter()
            .filter(|r| year_ok(r.year) && st.visible(&r.level, &r.area_id) && (only.is_empty() || only.contains(&r.area_id)))
            .map(|r| {
                let (s, inputs) = status(&r.status);
                json!({ "area": r.area_id, "name": r.name, "year": r.year, "value": r.value, "numerator": r.numerator,
                        "denominator": r.denominator, "status": s, "status_inputs": inputs, "estimated": r.estimated })
            })
            .collect();
        let references: Vec<Value> = res
            .references
            .iter()
            .filter(|r| year_ok(r.year))
            .map(|r| {
                let (s, inputs) = status(&r.status);
                json!({ "year": r.year, "value": r.value, "numerator": r.numerator, "denominator": r.denominator, "status": s, "status_inputs": inputs, "estimated": r.estimated })
            })
            .collect();
        Ok(json!({ "indicator": ind, "level": level, "public": st.public.is_some(), "references": references, "values": values }))
    })
    .await?;
    ok(v)
}

/// The saved index definitions: (id, definition).
fn saved_indices(store: &dyn Store) -> Result<Vec<(String, quartier_core::index::IndexDefinition)>, AppError> {
    Ok(store
        .index_definitions()?
        .into_iter()
        .filter_map(|(id, t)| quartier_core::index::IndexDefinition::from_toml(&t).ok().map(|d| (id, d)))
        .collect())
}

fn saved_index(store: &dyn Store, id: &str) -> Result<quartier_core::index::IndexDefinition, AppError> {
    saved_indices(store)?
        .into_iter()
        .find(|(i, _)| i == id)
        .map(|(_, d)| d)
        .ok_or_else(|| AppError::unknown_parameter("id", format!("Index „{id}“ gibt es nicht")))
}

/// `GET /api/v1/indices`: the saved indices.
pub async fn indices(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, |store, _| {
        let list: Vec<Value> = saved_indices(store)?
            .into_iter()
            .map(|(id, d)| {
                json!({ "id": id, "name": if d.name.is_empty() { id.clone() } else { d.name.clone() }, "method": d.method, "level": d.level, "indicators": d.indicators() })
            })
            .collect();
        Ok(json!({ "indices": list }))
    })
    .await?;
    ok(v)
}

/// A result table as JSON rows, limited to the areas this request sees.
fn table_json(t: &quartier_app::indexing::Table, st: &AppState, level: &str) -> Value {
    let rows: Vec<&Value> = t.json.iter().filter(|r| r["area_id"].as_str().is_none_or(|a| a.is_empty() || st.visible(level, a))).collect();
    json!({ "columns": t.headers, "rows": rows, "notes": t.notes })
}

#[derive(Debug, Default, Deserialize)]
pub struct IndexQuery {
    pub year: Option<String>,
    pub level: Option<String>,
}

/// `GET /api/v1/indices/{id}?year=&level=`: the index per area (rated or why not, scores,
/// classes) as `quartier index compute --format json` gives it.
pub async fn index_result(State(st): State<AppState>, Path(id): Path<String>, Query(q): Query<IndexQuery>) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, st| {
        let mut def = saved_index(store, &id)?;
        let year = match years(&q.year)?.as_slice() {
            [] => None,
            [y] => Some(*y),
            _ => return Err(AppError::bad_parameter("year", "ein Jahr")),
        };
        if q.level.as_deref().is_some_and(|l| !l.trim().is_empty()) {
            def.level = Some(level_or_default(store, &q.level)?);
        }
        let level = match &def.level {
            Some(l) => l.clone(),
            None => level_or_default(store, &None)?,
        };
        let t = quartier_app::indexing::compute_index(store, &def, &id, year).map_err(|e| AppError::bad_parameter("year", e))?;
        let mut out = table_json(&t, st, &level);
        out["id"] = json!(id);
        out["level"] = json!(level);
        out["year"] = t.json.first().and_then(|r| r.get("year").cloned()).unwrap_or(Value::Null);
        Ok(out)
    })
    .await?;
    ok(v)
}

/// `GET /api/v1/indices/{id}/robustness`: how stable each area's class is under varied
/// weights (1,000 seeded runs, ±50 %), for MSS-style indices, as on the index page.
pub async fn robustness(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, st| {
        let def = saved_index(store, &id)?;
        let level = match &def.level {
            Some(l) => l.clone(),
            None => level_or_default(store, &None)?,
        };
        let r = st.cache.index(&st.db, store, &id, &def);
        let t = r.robustness.as_ref().ok_or_else(|| match &r.table {
            Err(e) => AppError::NotFound(e.clone()),
            Ok(_) => AppError::NotFound(format!("Index „{id}“: Robustheit gibt es für Indizes nach dem MSS-Verfahren")),
        })?;
        let mut out = table_json(t, st, &level);
        out["id"] = json!(id);
        out["level"] = json!(level);
        out["runs"] = json!(1000);
        out["weight_range"] = json!(0.5);
        Ok(out)
    })
    .await?;
    ok(v)
}

/// `GET /api/v1/offers`: the offer directory (organisations, services with their `version`,
/// places, which service is offered where).
pub async fn offers(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, |store, _| {
        let d = store.offers()?;
        let mut v = serde_json::to_value(&d).map_err(|e| AppError::Internal(e.to_string()))?;
        if let Some(services) = v["services"].as_array_mut() {
            for (s, stored) in services.iter_mut().zip(&d.services) {
                s["version"] = json!(offer_version(stored));
            }
        }
        Ok(v)
    })
    .await?;
    ok(v)
}

fn offer_roles(u: &User) -> bool {
    matches!(u.role, Role::Planner | Role::Admin | Role::Traeger)
}

/// A JSON body, or 400 naming what is wrong with it.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::bad_parameter("body", format!("JSON des Anfragekörpers: {e}")))
}

/// `POST /api/v1/offers`: a new offer, with the checks of the form (a Träger only for its own
/// organisation). 201 with its id and version.
pub async fn create(State(st): State<AppState>, bytes: axum::body::Bytes) -> Result<Response, AppError> {
    let p = auth::writer(&st, offer_roles, "Konten der Sozialplanung, der Administration und der Träger")?;
    let offer: NewOffer = body(&bytes)?;
    let (user, who) = (p.user.clone(), p.user.name.clone());
    let id = with_store_mut(&st, p.actor(), move |store| create_offer(store, Some(&user), &who, offer)).await?;
    let version = with_store(&st, {
        let id = id.clone();
        move |store, _| Ok(store.offers()?.services.iter().find(|s| s.id == id).map(offer_version))
    })
    .await?;
    let mut res = reply(StatusCode::CREATED, &json!({ "id": id, "version": version }));
    if let Ok(loc) = header::HeaderValue::from_str(&format!("{PREFIX}/offers/{}", crate::pages::url(&id))) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// `PUT /api/v1/offers/{id}`: changes an offer (all fields of [`OfferChange`]); with
/// `version`, only if nobody changed it since (409 otherwise).
pub async fn update(State(st): State<AppState>, Path(id): Path<String>, bytes: axum::body::Bytes) -> Result<Response, AppError> {
    let p = auth::writer(&st, offer_roles, "Konten der Sozialplanung, der Administration und des zuständigen Trägers")?;
    let change: OfferChange = body(&bytes)?;
    let user = p.user.clone();
    let version = with_store_mut(&st, p.actor(), move |store| {
        update_offer(store, Some(&user), &id, change)?;
        Ok(store.offers()?.services.iter().find(|s| s.id == id).map(|s| (s.id.clone(), offer_version(s))))
    })
    .await?;
    ok(json!({ "id": version.as_ref().map(|v| &v.0), "version": version.as_ref().map(|v| &v.1) }))
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    /// `data` (default) or `areas`.
    pub kind: Option<String>,
    /// The file's name (its extension tells the format).
    pub file: Option<String>,
    pub level: Option<String>,
    pub year: Option<String>,
    pub source: Option<String>,
    pub reference_date: Option<String>,
    pub profile: Option<String>,
    pub id_field: Option<String>,
    pub name_field: Option<String>,
    pub parent_prefix: Option<String>,
    pub crs: Option<String>,
    pub save_profile: Option<String>,
}

/// A waiting import: who uploaded it and how to read it.
#[derive(serde::Serialize, Deserialize)]
struct Pending {
    owner: String,
    form: UploadForm,
    preview: Value,
}

const PENDING: &str = "api-import.json";

fn may_import(u: &User) -> bool {
    u.role.may_change_data()
}

/// What an import did or would do, as JSON.
fn imported_json(done: &Imported) -> Value {
    match done {
        Imported::OfficialAreas(out) => json!({
            "kind": "areas",
            "format": out.format.label(),
            "source": out.source,
            "levels_new": out.levels_new,
            "levels": out.plan.levels.iter().map(|(_, name, areas)| json!({ "level": name, "areas": areas.len() })).collect::<Vec<_>>(),
            "reports": out.reports,
            "notes": out.plan.notes,
        }),
        Imported::Areas(raw, prepared, report) => json!({
            "kind": "areas",
            "format": raw.format,
            "crs": prepared.crs.as_ref().map(|c| c.label()),
            "areas": prepared.batch.areas.len(),
            "orphans": prepared.orphans,
            "warnings": prepared.warnings,
            "boundary_changes": prepared.changes,
            "reports": [report],
        }),
        Imported::Data(prepared, report) => {
            let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
            v["kind"] = json!("data");
            v["variables"] = json!(prepared.batch.variables.iter().map(|m| m.key.clone()).collect::<Vec<_>>());
            v["detected"] = json!(prepared.detected);
            v["notes"] = json!(prepared.notes);
            v["empty_cells"] = json!(prepared.empty_cells);
            v["missing_cells"] = json!(prepared.missing_cells);
            v["profile"] = json!(prepared.resolved.to_toml());
            v
        }
    }
}

/// `POST /api/v1/imports?kind=&file=&…` with the file as the body: reads it and answers what
/// importing it would change (a dry run, nothing stored) with an id to confirm. 422 when the
/// file cannot be imported (the reader's or the checks' message, as in the Verwaltung).
pub async fn upload(State(st): State<AppState>, Query(q): Query<ImportQuery>, bytes: axum::body::Bytes) -> Result<Response, AppError> {
    let p = auth::writer(&st, may_import, "Konten der Sozialplanung und der Administration")?;
    let e = editing(&st)?;
    let kind = match q.kind.as_deref().unwrap_or("data") {
        "data" | "daten" => "",
        "areas" | "gebiete" => "gebiete",
        k => return Err(AppError::bad_parameter("kind", format!("„{k}“: data oder areas"))),
    };
    let file = q
        .file
        .clone()
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| AppError::bad_parameter("file", "Parameter file fehlt (der Dateiname mit Endung, z. B. daten.csv)"))?;
    if bytes.is_empty() {
        return Err(AppError::bad_parameter("body", "Die Datei fehlt (Anfragekörper leer)"));
    }
    let (id, safe) = e.keep_upload(&file, &bytes)?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let form = UploadForm {
        upload: id.clone(),
        datei_name: safe,
        art: kind.into(),
        ebene: s(&q.level),
        profil: s(&q.profile),
        jahr: s(&q.year),
        quelle: s(&q.source),
        stichtag: s(&q.reference_date),
        id_feld: s(&q.id_field),
        name_feld: s(&q.name_field),
        eltern_praefix: s(&q.parent_prefix),
        crs: s(&q.crs),
        profil_speichern: s(&q.save_profile),
        ..Default::default()
    };
    let dir = e.upload_dir(&id)?;
    let path = upload_path(e, &form.upload, &form.datei_name)?;
    let read = form.clone();
    let outcome = with_store_mut(&st, p.actor(), move |store| import_upload(store, &path, &read, true)).await;
    let preview = match outcome {
        Ok(Ok(done)) => imported_json(&done),
        Ok(Err(msg)) | Err(AppError::BadRequest(msg)) => {
            std::fs::remove_dir_all(&dir).ok();
            return Err(AppError::Parameter { status: StatusCode::UNPROCESSABLE_ENTITY, parameter: "body", message: msg });
        }
        Err(other) => {
            std::fs::remove_dir_all(&dir).ok();
            return Err(other);
        }
    };
    let pending = Pending { owner: p.user.name.clone(), form, preview };
    std::fs::write(dir.join(PENDING), serde_json::to_vec(&pending).map_err(|e| AppError::Internal(e.to_string()))?)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut res = reply(StatusCode::CREATED, &pending_json(&id, &pending));
    if let Ok(loc) = header::HeaderValue::from_str(&format!("{PREFIX}/imports/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

fn pending_json(id: &str, p: &Pending) -> Value {
    json!({
        "id": id,
        "file": p.form.datei_name,
        "dry_run": true,
        "preview": p.preview,
        "confirm": format!("{PREFIX}/imports/{id}/confirm"),
    })
}

/// A waiting import of the request's account (others' are not found).
fn pending(st: &AppState, id: &str, user: &str) -> Result<(std::path::PathBuf, Pending), AppError> {
    let e = editing(st)?;
    let dir = e.upload_dir(id)?;
    let text = std::fs::read(dir.join(PENDING)).map_err(|_| AppError::unknown_parameter("id", format!("Import „{id}“ gibt es nicht")))?;
    let p: Pending = serde_json::from_slice(&text).map_err(|e| AppError::Internal(e.to_string()))?;
    if p.owner != user {
        return Err(AppError::unknown_parameter("id", format!("Import „{id}“ gibt es nicht")));
    }
    Ok((dir, p))
}

/// `GET /api/v1/imports/{id}`: a waiting import's preview.
pub async fn import_preview(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let p = auth::writer(&st, may_import, "Konten der Sozialplanung und der Administration")?;
    let (_, pending) = pending(&st, &id, &p.user.name)?;
    let mut res = reply(StatusCode::OK, &pending_json(&id, &pending));
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /api/v1/imports/{id}/confirm`: imports the previewed file (one transaction; in the
/// import log and the audit log with the token's account).
pub async fn confirm(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let p = auth::writer(&st, may_import, "Konten der Sozialplanung und der Administration")?;
    let (dir, pending) = pending(&st, &id, &p.user.name)?;
    let path = upload_path(editing(&st)?, &pending.form.upload, &pending.form.datei_name)?;
    let form = pending.form.clone();
    let done = with_store_mut(&st, p.actor(), move |store| import_upload(store, &path, &form, false)).await?;
    let out = match done {
        Ok(done) => imported_json(&done),
        // The data changed since the preview so that the file no longer fits.
        Err(msg) => return Err(AppError::Conflict(msg)),
    };
    std::fs::remove_dir_all(&dir).ok();
    ok(json!({ "id": id, "file": pending.form.datei_name, "dry_run": false, "result": out }))
}

/// `DELETE /api/v1/imports/{id}`: drops a waiting import.
pub async fn discard(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let p = auth::writer(&st, may_import, "Konten der Sozialplanung und der Administration")?;
    let (dir, _) = pending(&st, &id, &p.user.name)?;
    std::fs::remove_dir_all(&dir).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
