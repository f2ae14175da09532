//! Area profiles and funding sheets as files, from the pages that show them: one area's
//! profile as PDF and its funding sheet (Datenblatt „Ausgangslage“) as HTML or PDF in one click
//! from its profile page; all profiles of a level as one PDF from the level's list, generated
//! in the background (see `reports::start_job`). Made from the same report model as
//! `quartier profiles` and `quartier funding-sheet`, with every catalogue indicator (one
//! chapter per domain) and the first saved index; with disclosure control in the public view,
//! as the pages show; a tenant gets only the areas it may see.

use crate::reports::{Outcome, file_reply, outcome, start_job, status_json};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use quartier_app::store::Store;
use quartier_report::Format;
use quartier_report::library::profile_definition;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    pub ebene: Option<String>,
    pub format: Option<String>,
}

/// The area's level: the asked one, else the lowest level that has the key; refused when the
/// request may not see the area.
fn area_level(store: &dyn Store, st: &AppState, key: &str, level: Option<&str>) -> Result<String, AppError> {
    let areas = store.areas(None)?;
    let found = areas
        .iter()
        .filter(|a| a.key == key && level.is_none_or(|l| l.is_empty() || a.level == l) && st.visible(&a.level, &a.key))
        .max_by_key(|a| a.level_rank);
    found.map(|a| a.level.clone()).ok_or_else(|| AppError::NotFound(format!("Gebiet „{key}“ gibt es nicht")))
}

/// The whole the reference stands for ("Durchschnitt von …").
fn municipality(store: &dyn Store) -> Result<String, AppError> {
    quartier_report::library::reference_name(store).map_err(AppError::Internal)
}

/// `GET /gebiet/{key}/steckbrief.pdf`: the area's profile (two A4 pages).
pub async fn profile_pdf(State(st): State<AppState>, Path(key): Path<String>, Query(q): Query<FileQuery>) -> Result<Response, AppError> {
    let k = key.clone();
    let bytes = with_store(&st, move |store, st| {
        let level = area_level(store, st, &k, q.ebene.as_deref())?;
        let def = profile_definition(store, &level, st.public, &municipality(store)?).map_err(AppError::NotFound)?;
        quartier_report::render_profiles(store, &def, Some(vec![k]), Format::Pdf, &mut |_| {}).map_err(AppError::BadRequest)
    })
    .await?;
    Ok(file_reply(&bytes, Format::Pdf, &format!("steckbrief-{}.pdf", safe(&key)), false))
}

/// `GET /gebiet/{key}/datenblatt?format=html|pdf`: the funding sheet of the area.
pub async fn funding_sheet(State(st): State<AppState>, Path(key): Path<String>, Query(q): Query<FileQuery>) -> Result<Response, AppError> {
    let format = match q.format.as_deref() {
        None | Some("html") => Format::Html,
        Some("pdf") => Format::Pdf,
        Some(other) => return Err(AppError::BadRequest(format!("Format „{other}“: html oder pdf"))),
    };
    let k = key.clone();
    let bytes = with_store(&st, move |store, st| {
        let level = area_level(store, st, &k, q.ebene.as_deref())?;
        let def = profile_definition(store, &level, st.public, &municipality(store)?).map_err(AppError::NotFound)?;
        let extras = quartier_report::funding::Extras::gather(store, &level, &k, None).map_err(AppError::Internal)?;
        quartier_report::render_funding(store, &def, &k, &extras, format).map_err(AppError::BadRequest)
    })
    .await?;
    Ok(file_reply(&bytes, format, &format!("ausgangslage-{}.{}", safe(&key), format.extension()), format == Format::Html))
}

/// Keys in file names: letters, digits, - and _ only.
fn safe(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// The job of a level's profiles for this request (its visibility and disclosure control
/// are part of the key), started if missing; with the file name and the level's areas.
async fn level_job(st: &AppState, level: &str) -> Result<String, AppError> {
    let lv = level.to_string();
    let (key, work) = with_store(st, move |store, st| {
        let view = st.view_key();
        if !store.levels()?.iter().any(|l| l.name == lv) {
            return Err(AppError::NotFound(format!("Ebene „{lv}“ gibt es nicht")));
        }
        let areas: Vec<String> = store.areas(Some(&lv))?.into_iter().filter(|a| st.visible(&a.level, &a.key)).map(|a| a.key).collect();
        if areas.is_empty() {
            return Err(AppError::NotFound(format!("Auf der Ebene „{lv}“ gibt es keine Gebiete")));
        }
        let def = profile_definition(store, &lv, st.public, &municipality(store)?).map_err(AppError::NotFound)?;
        let key = format!("steckbriefe\u{0}{lv}\u{0}{:?}\u{0}{view}\u{0}{}", st.public, st.db.data_version().unwrap_or_default());
        Ok((key, (st.db.clone(), def, areas)))
    })
    .await?;
    if st.cache.reports.missing(&key) {
        let (db, def, areas) = work;
        start_job(&st.cache, &key, move |progress| {
            let store = db.open_read_only().map_err(|e| e.to_string())?;
            quartier_report::render_profiles(&*store, &def, Some(areas), Format::Pdf, progress)
        });
    }
    Ok(key)
}

/// `GET /steckbriefe/{level}`: all profiles of a level as one PDF (in the background).
pub async fn level_profiles(State(st): State<AppState>, Path(level): Path<String>) -> Result<Response, AppError> {
    let key = level_job(&st, &level).await?;
    let enc = crate::pages::url(&level);
    let title = format!("Steckbriefe der Ebene {level}: PDF wird erstellt");
    match outcome(&st.cache, &key, &title, &format!("/steckbriefe/{enc}/stand"), &format!("/steckbriefe/{enc}")) {
        Outcome::Ready(bytes) => Ok(file_reply(&bytes, Format::Pdf, &format!("steckbriefe-{}.pdf", safe(&level)), false)),
        Outcome::Failed(e) => Err(AppError::BadRequest(e)),
        Outcome::Running(res) => Ok(res),
    }
}

/// `GET /steckbriefe/{level}/stand`: its progress (JSON).
pub async fn level_profiles_status(State(st): State<AppState>, Path(level): Path<String>) -> Result<Response, AppError> {
    let key = level_job(&st, &level).await?;
    Ok(status_json(&st.cache, &key).into_response())
}
