//! Verwaltung: the planner's yearly cycle in the browser. Upload a delivery or an area file,
//! see the import preview the CLI's `--dry-run` gives, confirm; keep the column mapping as an
//! import profile for next year; the import history with who, when and what, and undo; the
//! levels. Every change goes through `quartier_import::load` and the store's transactions,
//! exactly as the CLI's.
//!
//! Until there are accounts (roles issue), changes are allowed only on a server started for
//! local use (loopback address, not public) or with `--edit`. Every form carries the server's
//! CSRF token, and requests another site sends (`Origin`, `Sec-Fetch-Site`) are refused.

use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use quartier_app::store::Store;
use quartier_import::areas::AreaOptions;
use quartier_import::data::DataProfile;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest upload accepted (a year's delivery of a large Kreis is a few MB; geometries more).
pub const UPLOAD_LIMIT: usize = 64 << 20;

/// What a server that accepts changes needs: its CSRF token, who changes (recorded with
/// every import), and where uploads wait between preview and confirmation.
pub struct Editing {
    pub csrf: String,
    pub actor: String,
    /// Changes without an account (a server only this machine reaches, or `--edit`). Once
    /// accounts exist, only signed-in planners and administrators change anything.
    pub local: bool,
    uploads: PathBuf,
}

impl Editing {
    pub fn new(actor: &str, local: bool) -> std::io::Result<Editing> {
        let base = std::env::temp_dir().join("quartier-uploads");
        std::fs::create_dir_all(&base)?;
        // Leftovers of earlier servers older than a day go.
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|a| a.as_secs() > 86_400);
                if old {
                    std::fs::remove_dir_all(e.path()).ok();
                }
            }
        }
        let uploads = base.join(random_hex(8)?);
        std::fs::create_dir_all(&uploads)?;
        Ok(Editing { csrf: random_hex(32)?, actor: actor.to_string(), local, uploads })
    }
}

impl Drop for Editing {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.uploads).ok();
    }
}

impl Editing {
    /// Keeps an uploaded file until it is confirmed (or the server ends): (upload id, safe
    /// file name). The id is random hex; [`upload_path`] finds the file again.
    pub(crate) fn keep_upload(&self, file_name: &str, bytes: &[u8]) -> Result<(String, String), AppError> {
        let safe = safe_file_name(file_name)?;
        let id = random_hex(16).map_err(|e| AppError::Internal(e.to_string()))?;
        let dir = self.uploads.join(&id);
        std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(dir.join(&safe), bytes))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((id, safe))
    }

    /// The folder of a kept upload (checked id), for what belongs with it.
    pub(crate) fn upload_dir(&self, id: &str) -> Result<PathBuf, AppError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::NotFound(format!("Upload „{id}“ gibt es nicht")));
        }
        let dir = self.uploads.join(id);
        if !dir.is_dir() {
            return Err(AppError::NotFound(format!(
                "Upload „{id}“ gibt es nicht (mehr): bestätigt, verworfen oder der Server neu gestartet"
            )));
        }
        Ok(dir)
    }
}

pub(crate) fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Who changes something on this request, with the CSRF token their forms carry.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub name: String,
    pub csrf: String,
}

/// The hidden CSRF field every form that changes something carries.
pub(crate) fn csrf_field(a: &Actor) -> Markup {
    html! { input type="hidden" name="csrf" value=(a.csrf); }
}

pub(crate) const SESSION_COOKIE: &str = "quartier_session";

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The signed-in session of the request, if any.
pub(crate) fn session(store: &dyn Store, headers: &HeaderMap) -> Result<Option<quartier_app::store::accounts::Session>, AppError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(store.session(&t)?),
        _ => Ok(None),
    }
}

/// Who may change things on this request: with accounts, a signed-in planner or
/// administrator; without, anyone on a server in local mode. Never in the public view.
pub(crate) fn actor_of(st: &AppState, store: &dyn Store, headers: &HeaderMap) -> Result<Option<Actor>, AppError> {
    if st.public.is_some() {
        return Ok(None);
    }
    if !store.users()?.is_empty() {
        return Ok(session(store, headers)?.filter(|s| s.user.role.may_change_data()).map(|s| Actor { name: s.user.name, csrf: s.csrf }));
    }
    Ok(st.edit.as_deref().filter(|e| e.local).map(|e| Actor { name: e.actor.clone(), csrf: e.csrf.clone() }))
}

/// The upload area (any non-public server has one).
pub(crate) fn editing(st: &AppState) -> Result<&Editing, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht kann nichts geändert werden.".into()));
    }
    st.edit.as_deref().ok_or_else(|| AppError::Forbidden("Änderungen sind auf diesem Server abgeschaltet.".into()))
}

/// Checks a state-changing request: an actor (see [`actor_of`]), sent by a page of this
/// server (Origin or Sec-Fetch-Site), with the actor's CSRF token (compared in constant time).
pub(crate) async fn authorize(st: &AppState, headers: &HeaderMap, token: &str) -> Result<Actor, AppError> {
    authorize_as(st, headers, token, |u| u.role.may_change_data(), "Konten der Sozialplanung und der Administration").await.map(|(a, _)| a)
}

/// [`authorize`] for what other roles may do too: `allow` decides for a signed-in account
/// (`who` names the allowed ones in the refusal); in local mode (no accounts) anyone on the
/// server may. Returns the account, if any, for checks on the object (e.g. its organisation).
pub(crate) async fn authorize_as(
    st: &AppState,
    headers: &HeaderMap,
    token: &str,
    allow: fn(&quartier_app::store::accounts::User) -> bool,
    who: &str,
) -> Result<(Actor, Option<quartier_app::store::accounts::User>), AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht kann nichts geändert werden.".into()));
    }
    let h = headers.clone();
    let (session, accounts) = with_store(st, move |store, _| Ok((session(store, &h)?, !store.users()?.is_empty()))).await?;
    let (actor, user) = match (accounts, session) {
        (true, Some(s)) if allow(&s.user) => (Actor { name: s.user.name.clone(), csrf: s.csrf }, Some(s.user)),
        (true, Some(_)) => return Err(AppError::Forbidden(format!("Das dürfen nur {who}."))),
        (true, None) => return Err(AppError::Forbidden(format!("Bitte anmelden: das dürfen {who}."))),
        (false, _) => match st.edit.as_deref().filter(|e| e.local) {
            Some(e) => (Actor { name: e.actor.clone(), csrf: e.csrf.clone() }, None),
            None => {
                return Err(AppError::Forbidden(
                    "Änderungen sind auf diesem Server abgeschaltet: er wurde nicht für die lokale Arbeit gestartet. Mit `quartier serve --edit` zulassen oder Konten anlegen (`quartier user add --admin`).".into(),
                ));
            }
        },
    };
    let refuse = || {
        AppError::Forbidden(
            "Anfrage abgelehnt (CSRF-Schutz): das Formular stammt nicht von dieser Seite oder ist veraltet. Bitte die Seite neu laden."
                .into(),
        )
    };
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|s| s != "same-origin" && s != "none") {
        return Err(refuse());
    }
    if let (Some(origin), Some(host)) = (get(header::ORIGIN), get(header::HOST))
        && origin.split_once("://").map(|(_, h)| h) != Some(host)
    {
        return Err(refuse());
    }
    let (a, b) = (token.as_bytes(), actor.csrf.as_bytes());
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if !same {
        return Err(refuse());
    }
    Ok((actor, user))
}

/// The CSRF token and account for forms any signed-in account may send (local mode: the
/// server's token).
pub(crate) fn form_actor(
    st: &AppState,
    store: &dyn Store,
    headers: &HeaderMap,
) -> Result<Option<(Actor, Option<quartier_app::store::accounts::User>)>, AppError> {
    if st.public.is_some() {
        return Ok(None);
    }
    if !store.users()?.is_empty() {
        return Ok(session(store, headers)?.map(|s| (Actor { name: s.user.name.clone(), csrf: s.csrf }, Some(s.user))));
    }
    Ok(st.edit.as_deref().filter(|e| e.local).map(|e| (Actor { name: e.actor.clone(), csrf: e.csrf.clone() }, None)))
}

/// Runs `f` with a writable store recording `actor`, on a blocking thread.
pub(crate) async fn with_store_mut<T: Send + 'static>(
    st: &AppState,
    actor: String,
    f: impl FnOnce(&mut dyn Store) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let db = st.db.clone();
    let view = crate::current_view();
    tokio::task::spawn_blocking(move || {
        let mut store = db.open()?;
        store.set_actor(&actor);
        // A tenant's changes are checked against its area.
        match view {
            Some(v) => f(&mut quartier_app::store::scope::ScopedStore::new(store, (*v).clone())),
            None => f(&mut *store),
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

/// The settings key of a saved import profile.
fn profile_key(name: &str) -> String {
    format!("import_profile:{name}")
}

/// Saved import profiles: (name, TOML).
fn profiles(store: &dyn Store) -> Result<Vec<(String, String)>, AppError> {
    Ok(store.settings_with_prefix("import_profile:")?.into_iter().map(|(k, v)| (k["import_profile:".len()..].to_string(), v)).collect())
}

/// The workbench tabs, shared with the drafting pages.
pub(crate) fn tabs(current: &str) -> Markup {
    html! {
        nav.crumbs aria-label="Werkstatt" {
            ol {
                @for (id, href, label) in [("verwaltung", "/verwaltung", "Daten und Gebiete"), ("indikator", "/werkstatt/indikator", "Indikator entwerfen"), ("index", "/werkstatt/index", "Index entwerfen"), ("verteilung", "/verteilung", "Mittelverteilung"), ("konten", "/verwaltung/konten", "Konten")] {
                    li { a href=(href) aria-current=[(id == current).then_some("page")] { (label) } }
                }
            }
        }
    }
}

/// After a change, what was done (the message is built here from the stored state, never
/// taken from the URL).
#[derive(Debug, Default, Deserialize)]
pub struct AdminQuery {
    /// `rueckgaengig` (with `id`) or `ebene` (with `name`).
    pub erledigt: Option<String>,
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// `/verwaltung`: upload, history with undo, levels, profiles.
pub async fn admin_page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<AdminQuery>) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("Die Verwaltung gibt es in der öffentlichen Ansicht nicht.".into()));
    }
    let page = with_store(&st, move |store, st| render_admin(store, st, &q, &headers)).await?;
    Ok(page.into_response())
}

fn render_admin(store: &dyn Store, st: &AppState, q: &AdminQuery, headers: &HeaderMap) -> Result<Markup, AppError> {
    let levels = store.levels()?;
    let imports = store.imports()?;
    let message = match (q.erledigt.as_deref(), q.id, q.name.as_deref()) {
        (Some("rueckgaengig"), Some(id), _) => imports.iter().find(|i| i.id == id && i.undone_at.is_some()).map(|i| {
            format!("Import {} ({}) ist rückgängig gemacht: seine neuen Werte sind entfernt, die ersetzten wieder da.", i.id, i.file)
        }),
        (Some("ebene"), _, Some(name)) => levels.iter().any(|l| l.name == name).then(|| format!("Ebene „{name}“ ist angelegt.")),
        (Some("aufgeloest"), _, Some(name)) => imports
            .iter()
            .find(|i| i.kind == "areas" && i.file.starts_with("(aufgelöst aus") && i.summary.starts_with(&format!("Ebene {name}:")))
            .map(|i| format!("Die Geometrien der Ebene „{name}“ sind aus ihren Teilgebieten zusammengesetzt ({}).", i.summary)),
        _ => None,
    };
    let message = message.as_deref();
    let saved = profiles(store)?;
    let actor = actor_of(st, store, headers)?;
    let edit = actor.as_ref();
    let accounts = !store.users()?.is_empty();
    let signed_in = session(store, headers)?;
    let body = html! {
        (tabs("verwaltung"))
        h1 { "Verwaltung: Daten und Gebiete" }
        @if accounts {
            @match &signed_in {
                Some(s) => form.controls method="post" action="/abmelden" {
                    span { "Angemeldet als " strong { (s.user.name) } " (" (s.user.role.label_de()) ")" }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" name="ueberall" value="" { "Abmelden" }
                    button type="submit" name="ueberall" value="1" { "Überall abmelden" }
                    a href="/konto" { "Mein Konto (Passwort ändern)" }
                },
                None => p { a href="/anmelden" { "Anmelden" } " – Änderungen nehmen Konten der Sozialplanung und der Administration vor." },
            }
        }
        p.lead { "Neue Lieferungen und Gebietsdateien einspielen – erst die Vorschau, dann bestätigen –, Importe rückgängig machen, Ebenen anlegen. Alles läuft durch dieselben Prüfungen und Transaktionen wie " code { "quartier import" } "." }
        @if let Some(m) = message { p.ok role="status" { (m) } }
        @match edit {
            None if accounts => div.problem role="note" { p { "Änderungen nur nach der Anmeldung mit einem Konto der Sozialplanung oder der Administration." } },
            None => div.problem role="note" { p { "Änderungen sind auf diesem Server abgeschaltet (nicht für die lokale Arbeit gestartet). Mit " code { "quartier serve --edit" } " zulassen – bis es Konten gibt, nur im geschützten Netz." } },
            Some(e) => {
                h2 #hochladen { "Datei hochladen" }
                form.controls.draft method="post" action="/verwaltung/vorschau" enctype="multipart/form-data" {
                    (csrf_field(e))
                    label { "Art" select name="art" {
                        option value="daten" { "Statistische Daten (CSV, XLSX)" }
                        option value="gebiete" { "Gebiete (GeoJSON, Shapefile als .zip nicht, GeoPackage, CSV, XLSX, amtliche Tabelle)" }
                    } }
                    label.wide { "Datei" input type="file" name="datei" required accept=".csv,.txt,.zip,.xlsx,.xls,.ods,.geojson,.json,.gpkg,.shp"; }
                    label { "Ebene" select name="ebene" {
                        option value="" { "(erkannt; amtliche Tabellen: aus den Schlüsseln)" }
                        @for l in &levels { option value=(l.name) { (l.name) } }
                    } }
                    label { "Importprofil" select name="profil" {
                        option value="" { "(keines)" }
                        @for (name, _) in &saved { option value=(name) { (name) } }
                    } }
                    label { "Jahr (Breitformat)" input type="text" name="jahr" inputmode="numeric" size="6"; }
                    label { "Quelle" input type="text" name="quelle"; }
                    label { "Stichtag" input type="text" name="stichtag" placeholder="31.12.2025" size="10"; }
                    label { "Schlüsselfeld (Gebiete)" input type="text" name="id_feld" size="10"; }
                    label { "Namensfeld (Gebiete)" input type="text" name="name_feld" size="10"; }
                    label { "Übergeordnet: Präfixlänge" input type="text" name="eltern_praefix" inputmode="numeric" size="4"; }
                    label { "Koordinatensystem (EPSG-Code, PROJ-String oder WKT)" input type="text" name="crs" placeholder="EPSG:25832" size="10"; }
                    label { "Neuer Gebietsstand gültig ab (Gebiete)" input type="date" name="gueltig_ab"; }
                    label.check { input type="checkbox" name="heutiger_stand" value="1"; " Daten schon auf den heutigen Gebietsstand umgerechnet (auch frühere Jahre)" }
                    button type="submit" { "Vorschau" }
                }
                p.note { "Höchstens " (UPLOAD_LIMIT >> 20) " MB. Ohne Importprofil erkennt Quartier Layout, Trennzeichen, Zahlenformat und Zeichenkodierung selbst, ebenso Tabellen der amtlichen Statistik (GENESIS-Export, Flatfile auch als ZIP, Zensus 2022) mit Titel, mehrzeiligem Kopf und Fußnoten; die Vorschau zeigt, was erkannt wurde." }
            }
        }
        h2 #protokoll { "Importprotokoll" }
        @if imports.is_empty() { p { "Noch keine Importe." } } @else {
            table.sortable {
                caption { "Importe, neueste zuerst" }
                thead { tr {
                    th scope="col" .num { "Nr." } th scope="col" { "Zeit (UTC)" } th scope="col" { "Art" } th scope="col" { "Datei" }
                    th scope="col" { "Wer" } th scope="col" { "Ergebnis" } th scope="col" { "Stand" }
                } }
                tbody {
                    @for i in &imports {
                        tr {
                            td.num { (i.id) } td { (i.at.replace('T', " ").trim_end_matches('Z')) } td { (if i.kind == "data" { "Daten" } else { "Gebiete" }) }
                            td { (i.file.rsplit(['/', '\\']).next().unwrap_or(&i.file)) } td { (i.who) } td { (i.summary) }
                            td {
                                @if let Some(at) = &i.undone_at { "rückgängig gemacht " (at.replace('T', " ").trim_end_matches('Z')) @if let Some(by) = &i.undone_by { " (" (by) ")" } }
                                @else if i.undoable && edit.is_some() { a href=(format!("/verwaltung/rueckgaengig?id={}", i.id)) { "Rückgängig machen …" } }
                                @else { "gültig" }
                            }
                        }
                    }
                }
            }
        }
        h2 #ebenen { "Ebenen" }
        @if levels.is_empty() { p { "Noch keine Ebenen: zuerst die Gebietsebenen von oben nach unten anlegen." } } @else {
            ol { @for l in &levels { li { (l.name) " – " (l.areas) " Gebiete" } } }
            p { a href="/verwaltung/gebietsstaende" { "Gebietsstände und Umstiege" } " – neue Grenzen ab einem Datum, frühere Jahre auf die neuen Gebiete übertragen" }
        }
        @if let Some(e) = edit {
            form.controls.draft method="post" action="/verwaltung/ebenen" {
                (csrf_field(e))
                label { "Neue Ebene" input type="text" name="name" required; }
                label { "Einordnen" select name="position" {
                    @for (i, l) in levels.iter().enumerate() { option value=(i) { "über „" (l.name) "“" } }
                    option value=(levels.len()) selected { "als unterste" }
                } }
                button type="submit" { "Ebene anlegen" }
            }
        }
        @if let Some(e) = edit {
            @let upper: Vec<&quartier_app::store::Level> = levels.iter().filter(|l| levels.iter().any(|c| c.rank == l.rank + 1 && c.areas > 0)).collect();
            @if !upper.is_empty() {
                h3 { "Geometrien aus Teilgebieten zusammensetzen" }
                p.note { "Eine Ebene ohne eigene Geometrien (z. B. Stadtteile aus einer Tabelle) erhält die Umrisse ihrer Teilgebiete, vereinigt – wie " code { "quartier areas dissolve" } "." }
                form.controls method="post" action="/verwaltung/aufloesen" {
                    (csrf_field(e))
                    label { "Ebene" select name="ebene" { @for l in &upper { option value=(l.name) { (l.name) } } } }
                    button type="submit" { "Zusammensetzen" }
                }
            }
        }
        @if signed_in.as_ref().is_some_and(|s| s.user.role == quartier_app::store::accounts::Role::Admin) || (!accounts && edit.is_some()) {
            p { a href="/verwaltung/aenderungen" { "Änderungsprotokoll (wer hat wann was geändert)" } }
        }
        h2 #profile { "Importprofile" }
        @if saved.is_empty() { p { "Noch keine: in der Vorschau lässt sich die erkannte Zuordnung als Profil für die nächste Lieferung speichern." } } @else {
            @for (name, text) in &saved {
                details { summary { (name) } pre.toml tabindex="0" { (text) } }
            }
        }
    };
    Ok(layout_nav("Verwaltung", "werkstatt", body, None))
}

/// Options of an upload, from the form (text fields only).
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct UploadForm {
    #[serde(default)]
    pub csrf: String,
    /// The upload being confirmed (random hex) and its file name.
    #[serde(default)]
    pub upload: String,
    #[serde(default)]
    pub datei_name: String,
    #[serde(default)]
    pub art: String,
    #[serde(default)]
    pub ebene: String,
    #[serde(default)]
    pub profil: String,
    #[serde(default)]
    pub jahr: String,
    #[serde(default)]
    pub quelle: String,
    #[serde(default)]
    pub stichtag: String,
    #[serde(default)]
    pub id_feld: String,
    #[serde(default)]
    pub name_feld: String,
    #[serde(default)]
    pub eltern_praefix: String,
    #[serde(default)]
    pub crs: String,
    /// Areas: a new boundary set valid from this date (ISO).
    #[serde(default)]
    pub gueltig_ab: String,
    /// Data: the values are on today's boundaries whatever their year ("1").
    #[serde(default)]
    pub heutiger_stand: String,
    /// Save the resolved column mapping under this profile name.
    #[serde(default)]
    pub profil_speichern: String,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl UploadForm {
    fn from_fields(mut f: HashMap<String, String>) -> UploadForm {
        let mut take = |k: &str| f.remove(k).unwrap_or_default();
        UploadForm {
            csrf: take("csrf"),
            upload: take("upload"),
            datei_name: take("datei_name"),
            art: take("art"),
            ebene: take("ebene"),
            profil: take("profil"),
            jahr: take("jahr"),
            quelle: take("quelle"),
            stichtag: take("stichtag"),
            id_feld: take("id_feld"),
            name_feld: take("name_feld"),
            eltern_praefix: take("eltern_praefix"),
            crs: take("crs"),
            gueltig_ab: take("gueltig_ab"),
            heutiger_stand: take("heutiger_stand"),
            profil_speichern: take("profil_speichern"),
        }
    }

    /// The form's options as hidden fields of the confirmation form.
    fn hidden(&self) -> Markup {
        html! {
            @for (k, v) in [("upload", &self.upload), ("datei_name", &self.datei_name), ("art", &self.art), ("ebene", &self.ebene), ("profil", &self.profil), ("jahr", &self.jahr), ("quelle", &self.quelle), ("stichtag", &self.stichtag), ("id_feld", &self.id_feld), ("name_feld", &self.name_feld), ("eltern_praefix", &self.eltern_praefix), ("crs", &self.crs), ("gueltig_ab", &self.gueltig_ab), ("heutiger_stand", &self.heutiger_stand)] {
                input type="hidden" name=(k) value=(v);
            }
        }
    }

    pub(crate) fn is_areas(&self) -> bool {
        self.art == "gebiete"
    }

    /// The data import profile: a saved one, overlaid with the form's fields.
    fn data_profile(&self, store: &dyn Store) -> Result<DataProfile, AppError> {
        let mut p = match opt(&self.profil) {
            Some(name) => {
                let text = store
                    .setting(&profile_key(&name))?
                    .ok_or_else(|| AppError::BadRequest(format!("Importprofil „{name}“ gibt es nicht")))?;
                DataProfile::from_toml(&text, &name).map_err(|e| AppError::BadRequest(e.to_string()))?
            }
            None => DataProfile::default(),
        };
        let year = match opt(&self.jahr) {
            Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?),
            None => None,
        };
        p.overlay(DataProfile {
            year,
            level: opt(&self.ebene),
            source: opt(&self.quelle),
            reference_date: opt(&self.stichtag),
            current_boundaries: !self.heutiger_stand.trim().is_empty(),
            ..Default::default()
        });
        Ok(p)
    }

    fn area_options(&self) -> Result<AreaOptions, AppError> {
        let level = opt(&self.ebene).ok_or_else(|| AppError::BadRequest("Für Gebiete bitte die Ebene wählen.".into()))?;
        let parent_prefix = match opt(&self.eltern_praefix) {
            Some(p) => Some(p.parse::<usize>().map_err(|_| AppError::BadRequest(format!("Präfixlänge „{p}“ ist keine Zahl")))?),
            None => None,
        };
        Ok(AreaOptions {
            level,
            id_field: opt(&self.id_feld),
            name_field: opt(&self.name_feld),
            parent_prefix,
            crs: opt(&self.crs),
            valid_from: opt(&self.gueltig_ab),
            ..Default::default()
        })
    }
}

/// A file name safe to keep on disk: the last path component, letters, digits and `._-`
/// only (the extension tells the format), at most 120 characters.
fn safe_file_name(name: &str) -> Result<String, AppError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() || !cleaned.contains('.') {
        return Err(AppError::BadRequest("Die Datei braucht einen Namen mit Endung (.csv, .xlsx, .geojson, …).".into()));
    }
    Ok(cleaned.chars().rev().take(120).collect::<Vec<_>>().into_iter().rev().collect())
}

/// Where an upload lies: its id must be the hex this server made, its name a safe name.
pub(crate) fn upload_path(e: &Editing, id: &str, name: &str) -> Result<PathBuf, AppError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest("Unbekannter Upload: bitte die Datei erneut hochladen.".into()));
    }
    let path = e.uploads.join(id).join(safe_file_name(name)?);
    if !path.is_file() {
        return Err(AppError::BadRequest("Der Upload ist nicht mehr da (Server neu gestartet?): bitte die Datei erneut hochladen.".into()));
    }
    Ok(path)
}

/// `POST /verwaltung/vorschau`: stores the upload and shows what importing it would change.
pub async fn preview(State(st): State<AppState>, headers: HeaderMap, mut multipart: Multipart) -> Result<Response, AppError> {
    let too_large = || AppError::TooLarge(format!("Die Datei ist größer als {} MB.", UPLOAD_LIMIT >> 20));
    let mut fields = HashMap::new();
    let mut file: Option<(String, axum::body::Bytes)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| if e.status().as_u16() == 413 { too_large() } else { AppError::BadRequest(e.body_text()) })?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "datei" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| if e.status().as_u16() == 413 { too_large() } else { AppError::BadRequest(e.body_text()) })?;
            file = Some((file_name, bytes));
        } else {
            fields.insert(name, field.text().await.map_err(|e| AppError::BadRequest(e.body_text()))?);
        }
    }
    let mut form = UploadForm::from_fields(fields);
    let actor = authorize(&st, &headers, &form.csrf).await?;
    let e = editing(&st)?;
    let (file_name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| AppError::BadRequest("Keine Datei ausgewählt.".into()))?;
    let (id, safe) = e.keep_upload(&file_name, &bytes)?;
    form.upload = id;
    form.datei_name = safe;
    run_import(&st, actor, form, true).await
}

/// `POST /verwaltung/import`: imports the previewed upload.
pub async fn confirm(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<UploadForm>,
) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &form.csrf).await?;
    run_import(&st, actor, form, false).await
}

/// What an upload did, or would do on a dry run.
pub(crate) enum Imported {
    /// Areas of several levels from an official statistics table.
    OfficialAreas(quartier_import::load::OfficialAreas),
    Areas(Box<quartier_import::areas::RawAreas>, Box<quartier_import::areas::PreparedAreas>, quartier_app::store::AreaReport),
    Data(Box<quartier_import::data::PreparedData>, quartier_app::store::DataReport),
}

/// Reads an upload as the form (or the API) describes it and applies it in one transaction
/// (rolled back on a dry run). The outer error is a wrong description (unknown profile, a
/// year that is no number); the inner one what the reader or the checks found, naming the
/// uploaded file, not the server's path.
pub(crate) fn import_upload(
    store: &mut dyn Store,
    path: &Path,
    form: &UploadForm,
    dry_run: bool,
) -> Result<Result<Imported, String>, AppError> {
    let shown = form.datei_name.as_str();
    let outcome = if form.is_areas() && opt(&form.ebene).is_none() {
        // Without a level: an official statistics table gives the levels by its keys.
        match quartier_import::load::official_areas(store, path, shown, None, None, dry_run) {
            Ok(Some(out)) => Ok(Imported::OfficialAreas(out)),
            Ok(None) => return Err(AppError::BadRequest(
                "Für Gebiete bitte die Ebene wählen (ohne Ebene nur Tabellen der amtlichen Statistik, deren Schlüssel die Ebenen zeigen)."
                    .into(),
            )),
            Err(err) => Err(err),
        }
    } else if form.is_areas() {
        let opts = form.area_options()?;
        quartier_import::load::areas(store, path, shown, &opts, dry_run)
            .map(|(raw, prepared, report)| Imported::Areas(Box::new(raw), Box::new(prepared), report))
    } else {
        let profile = form.data_profile(store)?;
        match quartier_import::load::data(store, path, shown, &profile, dry_run) {
            Ok((prepared, report)) => {
                if !dry_run && let Some(name) = opt(&form.profil_speichern) {
                    store.set_setting(&profile_key(&name), &prepared.resolved.to_toml())?;
                }
                Ok(Imported::Data(Box::new(prepared), report))
            }
            Err(err) => Err(err),
        }
    };
    // Reader messages name the server's temporary path: show the uploaded name instead.
    Ok(outcome.map_err(|err| err.to_string().replace(&path.display().to_string(), shown)))
}

/// Reads the upload and applies it (a dry run for the preview), then renders what happened.
async fn run_import(st: &AppState, who: Actor, form: UploadForm, dry_run: bool) -> Result<Response, AppError> {
    let e = editing(st)?;
    let path = upload_path(e, &form.upload, &form.datei_name)?;
    let actor = who.name.clone();
    let csrf = csrf_field(&who);
    let upload_dir = path.parent().map(Path::to_path_buf);
    let page = with_store_mut(st, actor, move |store| {
        let outcome = import_upload(store, &path, &form, dry_run)?.map(|done| match done {
            Imported::OfficialAreas(out) => official_area_summary(&out, dry_run),
            Imported::Areas(raw, prepared, report) => area_summary(&raw, &prepared, &report),
            Imported::Data(prepared, report) => data_summary(&prepared, &report),
        });
        Ok(render_outcome(&form, &csrf, outcome, dry_run))
    })
    .await?;
    if !dry_run && let Some(dir) = upload_dir {
        std::fs::remove_dir_all(dir).ok();
    }
    Ok(page.into_response())
}

fn area_summary(
    raw: &quartier_import::areas::RawAreas,
    prepared: &quartier_import::areas::PreparedAreas,
    report: &quartier_app::store::AreaReport,
) -> Markup {
    use quartier_import::areas::ParentMethod;
    let km2: f64 = prepared.batch.areas.iter().filter_map(|a| a.area_m2).sum::<f64>() / 1e6;
    html! {
        ul {
            li { (prepared.batch.areas.len()) " Gebiete gelesen (" (raw.format)
                @if let Some(c) = &prepared.crs { ", " (c.label()) } @else { ", ohne Geometrien" } ")" }
            @if km2 > 0.0 { li { "Fläche zusammen: " (fmt_de(km2, 1)) " km²" } }
            li { @match &prepared.parent_method {
                ParentMethod::Field(f) => { "Übergeordnete Gebiete aus Feld „" (f) "“" },
                ParentMethod::Prefix(p) => { "Übergeordnete Gebiete aus den ersten " (p) " Zeichen des Schlüssels" },
                ParentMethod::Spatial { level } => { "Übergeordnete Gebiete räumlich zugeordnet (Ebene „" (level) "“)" },
                ParentMethod::None => { "Ohne übergeordnete Gebiete" },
            } }
            li { "Ebene " (report.level) ": " strong { (report.inserted) " neu, " (report.updated) " geändert, " (report.unchanged) " unverändert" } }
            @if !report.not_in_file.is_empty() { li { (report.not_in_file.len()) " gespeicherte Gebiete fehlen in der Datei (bleiben erhalten)" } }
            @if let Some(v) = &prepared.batch.version {
                li { "Neuer Gebietsstand ab " strong { (v.valid_from) } ": " (report.retired.len()) " Gebiete gelten dann nicht mehr und behalten ihre Werte"
                    @if !report.retired.is_empty() { " (" (report.retired.iter().take(30).cloned().collect::<Vec<_>>().join(", ")) @if report.retired.len() > 30 { ", …" } ")" }
                    "; frühere Jahre danach unter " a href="/verwaltung/gebietsstaende" { "Gebietsstände und Umstiege" } " übertragen." }
            }
            @for w in &prepared.warnings { li { "Hinweis: " (w) } }
        }
        @if let Some(c) = prepared.changes.as_ref().filter(|c| !c.unchanged()) {
            h2 { "Was sich an den Grenzen ändert" }
            p { "Verglichen mit den gespeicherten Gebieten der Ebene (Verschneidung der Flächen): "
                (c.counts().iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")) "." }
            @let changed: Vec<_> = c.areas.iter().filter(|a| a.change != quartier_core::crosswalk::Change::Unchanged.label_de()).collect();
            div.scroll role="region" aria-label="Geänderte Gebiete" tabindex="0" {
                table {
                    caption { "Gebiete, die nicht unverändert bleiben" @if changed.len() > 200 { " (die ersten 200 von " (changed.len()) ")" } }
                    thead { tr { th scope="col" { "Gebiet" } th scope="col" { "Änderung" } th scope="col" { "aus den gespeicherten Gebieten" } } }
                    tbody { @for a in changed.iter().take(200) { tr { th scope="row" { (a.key) } td { (a.change) } td { (a.from.join(", ")) } } } }
                }
            }
            @if !c.uncovered.is_empty() { p { "Nicht mehr abgedeckt: " (c.uncovered.join(", ")) } }
        }
    }
}

fn official_area_summary(out: &quartier_import::load::OfficialAreas, dry_run: bool) -> Markup {
    html! {
        ul {
            li { (out.format.label()) @if let Some(s) = &out.source { ": " (s) } }
            @if !out.levels_new.is_empty() {
                li { "Neue Ebenen " @if dry_run { "(werden beim Import angelegt)" } @else { "angelegt" } ": " strong { (out.levels_new.join(" → ")) } }
            }
            @for (i, (_, name, areas)) in out.plan.levels.iter().enumerate() {
                li {
                    "Ebene " (name) ": " (areas.len()) " Gebiete"
                    @if let Some(r) = out.reports.get(i) { ", " strong { (r.inserted) " neu, " (r.updated) " geändert, " (r.unchanged) " unverändert" } }
                    " (übergeordnete Gebiete aus der Schlüsselstruktur)"
                }
            }
            @for n in &out.plan.notes { li { "Hinweis: " (n) } }
        }
    }
}

fn data_summary(prepared: &quartier_import::data::PreparedData, report: &quartier_app::store::DataReport) -> Markup {
    let years: Vec<String> = report.years.iter().map(|y| y.to_string()).collect();
    let layout = prepared.resolved.layout.map(|l| l.as_str()).unwrap_or("amtlich");
    html! {
        @if !prepared.detected.is_empty() {
            h2 { "Erkannt" }
            ul.detected { @for d in &prepared.detected { li { (d) } } }
        }
        ul {
            li { (report.rows) " Werte gelesen: Layout " (layout) ", " (prepared.batch.variables.len()) " Merkmale, Jahre " (years.join(", ")) }
            li { strong { (report.inserted) " neu, " (report.changed) " geändert, " (report.unchanged) " unverändert" } }
            @if !report.variables_new.is_empty() { li { "Neue Merkmale: " (report.variables_new.join(", ")) } }
            @if prepared.empty_cells + prepared.missing_cells > 0 { li { "Leere Zellen: " (prepared.empty_cells) ", als fehlend erklärte Codes: " (prepared.missing_cells) } }
            @for note in &prepared.notes { li { "Hinweis: " (note) } }
        }
        @if !report.changes.is_empty() {
            table {
                caption { "Geänderte Werte" @if report.changed > report.changes.len() { " (die ersten " (report.changes.len()) " von " (report.changed) ")" } }
                thead { tr { th scope="col" { "Merkmal" } th scope="col" { "Jahr" } th scope="col" { "Gebiet" } th scope="col" { "bisher" } th scope="col" { "neu" } } }
                tbody { @for c in &report.changes { tr { td { (c.variable) } td { (c.year) } td { (c.area) } td.num { (c.old) } td.num { (c.new) } } } }
            }
        }
        @if !report.total_mismatches.is_empty() {
            table {
                caption { "Gelieferte Summen, die von der Summe der Teilgebiete abweichen" }
                thead { tr { th scope="col" { "Merkmal" } th scope="col" { "Jahr" } th scope="col" { "Gebiet" } th scope="col" .num { "geliefert" } th scope="col" .num { "Summe" } } }
                tbody { @for m in report.total_mismatches.iter().take(50) { tr { td { (m.variable) } td { (m.year) } td { (m.area) " (" (m.level) ")" } td.num { (fmt_de(m.delivered, 0)) } td.num { (fmt_de(m.summed, 0)) } } } }
            }
        }
        details {
            summary { "Erkannte Zuordnung (Importprofil)" }
            pre.toml tabindex="0" { (prepared.resolved.to_toml()) }
        }
    }
}

fn render_outcome(form: &UploadForm, csrf: &Markup, outcome: Result<Markup, String>, dry_run: bool) -> Markup {
    let body = html! {
        (tabs("verwaltung"))
        h1 { @if dry_run { "Vorschau: " } @else { "Importiert: " } (form.datei_name) }
        @match &outcome {
            Err(msg) => {
                div.problem role="alert" { h2 { "Die Datei lässt sich so nicht importieren – nichts wurde gespeichert" } pre { (msg) } }
                p { a href="/verwaltung#hochladen" { "Andere Datei oder andere Einstellungen wählen" } }
            }
            Ok(summary) => {
                @if dry_run { p.lead { "So würde der Import die Datenbank ändern. Noch ist nichts gespeichert." } }
                @else { p.ok role="status" { "Gespeichert. Karten, Indikatoren und Indizes rechnen ab jetzt mit den neuen Werten." } }
                (summary)
                @if dry_run {
                    form.controls.draft method="post" action="/verwaltung/import" {
                        (csrf)
                        (form.hidden())
                        @if !form.is_areas() {
                            label { "Zuordnung als Importprofil speichern unter (optional)" input type="text" name="profil_speichern" value=(form.profil) placeholder="z. B. jobcenter"; }
                        }
                        button type="submit" { "Import bestätigen" }
                        a href="/verwaltung" { "Abbrechen" }
                    }
                } @else {
                    p { a href="/verwaltung#protokoll" { "Zum Importprotokoll" } " · " a href="/daten" { "Datenstand ansehen" } }
                }
            }
        }
    };
    layout_nav(if dry_run { "Vorschau des Imports" } else { "Import" }, "werkstatt", body, None)
}

#[derive(Debug, Deserialize)]
pub struct UndoQuery {
    pub id: i64,
}

/// `GET /verwaltung/rueckgaengig?id=N`: what undoing would do, with the button that does it.
pub async fn undo_page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<UndoQuery>) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let actor = actor_of(st, store, &headers)?.ok_or_else(|| AppError::Forbidden("Rückgängig machen dürfen Konten der Sozialplanung und der Administration (bitte anmelden).".into()))?;
        let csrf = csrf_field(&actor);
        let import = store.imports()?.into_iter().find(|i| i.id == q.id).ok_or_else(|| AppError::NotFound(format!("Import {} gibt es nicht", q.id)))?;
        let body = html! {
            (tabs("verwaltung"))
            h1 { "Import " (import.id) " rückgängig machen?" }
            p { "Datei " strong { (import.file.rsplit(['/', '\\']).next().unwrap_or(&import.file)) } ", importiert " (import.at.replace('T', " ").trim_end_matches('Z')) " UTC"
                @if !import.who.is_empty() { " von " (import.who) } ": " (import.summary) }
            p { "Die Werte, die dieser Import neu gebracht hat, werden entfernt; Werte, die er ersetzt hat, kommen zurück. Haben spätere Importe Werte dieses Imports ersetzt, nennt Quartier sie – sie müssen zuerst rückgängig gemacht werden." }
            form.controls method="post" action="/verwaltung/rueckgaengig" {
                (csrf)
                input type="hidden" name="id" value=(import.id);
                button type="submit" { "Rückgängig machen" }
                a href="/verwaltung#protokoll" { "Abbrechen" }
            }
        };
        Ok(layout_nav("Import rückgängig machen", "werkstatt", body, None))
    })
    .await?;
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub struct UndoForm {
    #[serde(default)]
    pub csrf: String,
    pub id: i64,
}

/// `POST /verwaltung/rueckgaengig`.
pub async fn undo(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<UndoForm>) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, &f.csrf).await?;
    let report = with_store_mut(&st, e.name.clone(), move |store| {
        store.undo_import(f.id).map_err(|e| match e {
            quartier_app::store::StoreError::Undo(m) => AppError::Conflict(m),
            other => other.into(),
        })
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung?erledigt=rueckgaengig&id={}#protokoll", report.id)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LevelForm {
    #[serde(default)]
    pub csrf: String,
    pub name: String,
    /// Insert before the level at this position (= number of levels: at the bottom).
    pub position: usize,
}

/// `POST /verwaltung/ebenen`: a new level in the hierarchy.
pub async fn add_level(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<LevelForm>) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, &f.csrf).await?;
    let name = f.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest("Der Name der Ebene muss 1 bis 80 Zeichen lang sein.".into()));
    }
    let shown = name.clone();
    with_store_mut(&st, e.name.clone(), move |store| {
        let mut names: Vec<String> = store.levels()?.into_iter().map(|l| l.name).collect();
        if names.contains(&name) {
            return Err(AppError::Conflict(format!("Die Ebene „{name}“ gibt es schon.")));
        }
        names.insert(f.position.min(names.len()), name);
        store.define_levels(&names).map_err(|e| match e {
            quartier_app::store::StoreError::Levels(m) => AppError::BadRequest(m),
            other => other.into(),
        })?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung?erledigt=ebene&name={}#ebenen", url(&shown))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DissolveForm {
    #[serde(default)]
    pub csrf: String,
    pub ebene: String,
}

/// `POST /verwaltung/aufloesen`: a level's geometries from its children.
pub async fn dissolve(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<DissolveForm>,
) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, &f.csrf).await?;
    let level = f.ebene.clone();
    with_store_mut(&st, e.name.clone(), move |store| {
        quartier_import::load::dissolve(store, &level).map_err(|e| AppError::BadRequest(e.to_string()))?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/verwaltung?erledigt=aufgeloest&name={}#ebenen", url(&f.ebene))).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    pub format: Option<String>,
}

/// `GET /verwaltung/aenderungen`: the audit log, for administrators (and in local mode);
/// `?format=csv` exports it.
pub async fn audit_page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Result<Response, AppError> {
    // Administrators only (the same check as the accounts page).
    crate::accounts_admin::admin(&st, &headers).await?;
    with_store(&st, move |store, _| {
        let log = store.audit_log()?;
        if q.format.as_deref() == Some("csv") {
            use crate::download::{Cell, Kind, table};
            let rows: Vec<Vec<Cell>> = log
                .iter()
                .map(|e| {
                    [&e.at, &e.who, &e.action, &e.object, &e.old.clone().unwrap_or_default(), &e.new.clone().unwrap_or_default()]
                        .iter()
                        .map(|s| Cell::text(s.to_string()))
                        .collect()
                })
                .collect();
            return table(Kind::Csv, "aenderungsprotokoll", "Änderungen", &["Zeit (UTC)", "Wer", "Was", "Objekt", "alt", "neu"], &rows);
        }
        let body = html! {
            (tabs("verwaltung"))
            h1 { "Änderungsprotokoll" }
            p { a href="/verwaltung/aenderungen?format=csv" { "Als CSV herunterladen" } }
            table {
                caption { "Änderungen, neueste zuerst (" (log.len()) ")" }
                thead { tr { th scope="col" { "Zeit (UTC)" } th scope="col" { "Wer" } th scope="col" { "Was" } th scope="col" { "Objekt" } th scope="col" { "alt → neu" } } }
                tbody { @for e in log.iter().take(500) { tr {
                    td { (e.at.replace('T', " ").trim_end_matches('Z')) } td { (e.who) } td { (e.action) } td { (e.object) }
                    td { @if e.old.is_some() || e.new.is_some() { details { summary { "anzeigen" } pre { (e.old.clone().unwrap_or_default()) } pre { (e.new.clone().unwrap_or_default()) } } } }
                } } }
            }
        };
        Ok(layout_nav("Änderungsprotokoll", "werkstatt", body, None).into_response())
    })
    .await
}
