//! Berichte: the Sozialbericht in the browser. Report definitions are kept in the database
//! (`quartier_report::library`, the same ones `quartier report --name` reads), edited with a
//! form (chapters, indicators from the catalogue, the index, Markdown texts with a live
//! preview), exchanged as TOML, previewed as HTML and generated as PDF, DOCX and XLSX in the
//! background: one generation at a time, its progress shown while it runs, the file kept per
//! definition, format and data version so the next download is instant.
//!
//! For planners and administrators only (server-side on every route); saving passes the same
//! CSRF and origin checks as every change, and is audited (settings).

use crate::admin::{Actor, actor_of, authorize, csrf_field};
use crate::forms::{error_for, field_id, problems_summary, text_field};
use crate::pages::{layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use quartier_app::store::Store;
use quartier_report::definition::{Chapter, Classes, IndexChapter, Profiles, ReportDefinition};
use quartier_report::library::{self, FieldError};
use quartier_report::{Format, Stage};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

// ---- Background generation ----

/// Generated files and running generations, per definition, its text, format and data version.
pub struct Jobs {
    inner: Mutex<JobsInner>,
    /// One generation at a time (a report is CPU work on a small machine); others wait.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs { inner: Mutex::default(), slots: Arc::new(tokio::sync::Semaphore::new(1)) }
    }
}

#[derive(Default)]
struct JobsInner {
    jobs: HashMap<String, Job>,
    bytes: usize,
}

#[derive(Clone)]
enum JobState {
    Waiting,
    Running(Stage),
    Done(Arc<Vec<u8>>),
    Failed(String),
}

#[derive(Clone)]
struct Job {
    state: JobState,
    started: Instant,
    seconds: f64,
}

/// Generated files kept at most (bytes), oldest dropped first.
const KEEP_BYTES: usize = 512 << 20;

impl Jobs {
    /// Whether no job for `key` exists (none started, or a failed one forgotten).
    pub(crate) fn missing(&self, key: &str) -> bool {
        self.get(key).is_none()
    }

    fn get(&self, key: &str) -> Option<Job> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).jobs.get(key).cloned()
    }

    fn set(&self, key: &str, state: JobState) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let JobState::Done(b) = &state {
            g.bytes += b.len();
        }
        if let Some(j) = g.jobs.get_mut(key) {
            if matches!(state, JobState::Done(_) | JobState::Failed(_)) {
                j.seconds = j.started.elapsed().as_secs_f64();
            }
            j.state = state;
        }
        while g.bytes > KEEP_BYTES {
            let oldest =
                g.jobs.iter().filter(|(_, j)| matches!(j.state, JobState::Done(_))).min_by_key(|(_, j)| j.started).map(|(k, _)| k.clone());
            let Some(k) = oldest else { break };
            if let Some(Job { state: JobState::Done(b), .. }) = g.jobs.remove(&k) {
                g.bytes -= b.len();
            }
        }
    }
}

/// Starts a generation unless one for `key` exists (done, running or waiting): `work` runs on
/// a blocking thread once a slot is free, telling its stages. The task holds the cache (where
/// the job list lives) until it is done.
pub(crate) fn start_job(
    cache: &Arc<crate::cache::Cache>,
    key: &str,
    work: impl FnOnce(&mut dyn FnMut(Stage)) -> Result<Vec<u8>, String> + Send + 'static,
) {
    {
        let mut g = cache.reports.inner.lock().unwrap_or_else(|e| e.into_inner());
        match g.jobs.get(key) {
            Some(Job { state: JobState::Failed(_), .. }) | None => {}
            Some(_) => return,
        }
        g.jobs.insert(key.to_string(), Job { state: JobState::Waiting, started: Instant::now(), seconds: 0.0 });
    }
    let (cache, key) = (cache.clone(), key.to_string());
    tokio::spawn(async move {
        let Ok(_slot) = cache.reports.slots.clone().acquire_owned().await else { return };
        let (c, k) = (cache.clone(), key.clone());
        let result = tokio::task::spawn_blocking(move || work(&mut |stage| c.reports.set(&k, JobState::Running(stage))))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        match result {
            Ok(bytes) => cache.reports.set(&key, JobState::Done(Arc::new(bytes))),
            Err(e) => cache.reports.set(&key, JobState::Failed(e)),
        }
    });
}

/// A report of a stored definition, generated in the background.
fn start(cache: &Arc<crate::cache::Cache>, key: &str, db: Arc<quartier_app::store::Location>, def: ReportDefinition, format: Format) {
    start_job(cache, key, move |progress| {
        let store = db.open_read_only().map_err(|e| e.to_string())?;
        quartier_report::render(&*store, &def, format, progress)
    });
}

/// Where a background job stands: its file, its failure, or (None) still running — the
/// progress response to send then.
pub(crate) enum Outcome {
    Ready(Arc<Vec<u8>>),
    Failed(String),
    Running(Response),
}

/// The job for `key` (started by the caller if missing): done, failed (then forgotten, so the
/// next request tries again) or still running (a progress page for `title`, polling
/// `status_url`, going to `target_url` when done).
pub(crate) fn outcome(cache: &crate::cache::Cache, key: &str, title: &str, status_url: &str, target_url: &str) -> Outcome {
    let job = cache.reports.get(key);
    match job.as_ref().map(|j| &j.state) {
        Some(JobState::Done(b)) => Outcome::Ready(b.clone()),
        Some(JobState::Failed(e)) => {
            let e = e.clone();
            cache.reports.inner.lock().unwrap_or_else(|e| e.into_inner()).jobs.remove(key);
            Outcome::Failed(e)
        }
        _ => Outcome::Running((StatusCode::ACCEPTED, progress_page(title, status_url, target_url, job.as_ref())).into_response()),
    }
}

/// A job's progress as JSON, for the progress page's script.
pub(crate) fn status_json(cache: &crate::cache::Cache, key: &str) -> Response {
    let job = cache.reports.get(key);
    let (text, seconds) = progress_text(job.as_ref());
    let state = match job.as_ref().map(|j| &j.state) {
        Some(JobState::Done(_)) => "fertig",
        Some(JobState::Failed(_)) => "fehler",
        Some(_) => "laeuft",
        None => "fehlt",
    };
    let json = serde_json::json!({ "state": state, "text": text, "seconds": seconds.round() });
    // Progress changes without the data changing: 202, never kept by the page cache.
    (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], json.to_string())
        .into_response()
}

/// A finished file: inline (HTML with its own inline stylesheet and no script) or as a download.
pub(crate) fn file_reply(bytes: &[u8], format: Format, file_name: &str, inline: bool) -> Response {
    let mut res = Response::new(axum::body::Body::from(bytes.to_vec()));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if inline {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        );
    } else {
        h.insert(header::CONTENT_DISPOSITION, attachment(file_name));
    }
    res
}

// ---- Access ----

/// The planner or administrator on this request (None: may look, not change — a server
/// without accounts that does not allow changes). Readers, Träger and the public view: 403.
/// Also the check of the open-data page.
pub(crate) async fn planner(st: &AppState, headers: &HeaderMap) -> Result<Option<Actor>, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("Berichte und offene Daten gibt es in der öffentlichen Ansicht nicht.".into()));
    }
    let h = headers.clone();
    with_store(st, move |store, st| {
        let accounts = !store.users()?.is_empty();
        let actor = actor_of(st, store, &h)?;
        if accounts && actor.is_none() {
            return Err(AppError::Forbidden("Berichte und offene Daten erstellen Konten der Sozialplanung und der Administration.".into()));
        }
        Ok(actor)
    })
    .await
}

// ---- The form ----

/// The form's fields (German names, as posted); chapters numbered from 1.
#[derive(Debug, Clone, Default)]
struct ReportForm {
    name: String,
    /// Fingerprint of the stored text the form was opened with (optimistic locking).
    stand: String,
    /// Whether the form edits a stored definition (the name is then fixed).
    stored: bool,
    title: String,
    subtitle: String,
    municipality: String,
    edition: String,
    reference_date: String,
    publisher: String,
    licence: String,
    level: String,
    year: String,
    since: String,
    public: bool,
    threshold: String,
    classes_method: String,
    classes_k: String,
    classes_frozen: bool,
    introduction: String,
    chapters: Vec<ChapterForm>,
    index: String,
    index_title: String,
    index_text: String,
    /// "none", "all" or "list".
    profiles: String,
    profile_areas: String,
    methods: String,
    sources: String,
    csrf: String,
    action: String,
}

#[derive(Debug, Clone, Default)]
struct ChapterForm {
    title: String,
    text: String,
    indicators: Vec<String>,
}

impl ReportForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ReportForm {
        let mut f = ReportForm::default();
        let mut chapters: BTreeMap<usize, ChapterForm> = BTreeMap::new();
        for (k, v) in pairs {
            if let Some(rest) = k.strip_prefix("kapitel_")
                && let Some((n, field)) = rest.split_once('_')
                && let Ok(n) = n.parse::<usize>()
            {
                let c = chapters.entry(n).or_default();
                match field {
                    "titel" => c.title = v,
                    "text" => c.text = v,
                    "indikator" => c.indicators.push(v),
                    _ => {}
                }
                continue;
            }
            match k.as_str() {
                "name" => f.name = v.trim().to_string(),
                "stand" => f.stand = v,
                "gespeichert" => f.stored = v == "1",
                "titel" => f.title = v,
                "untertitel" => f.subtitle = v,
                "kommune" => f.municipality = v,
                "ausgabe" => f.edition = v,
                "stichtag" => f.reference_date = v,
                "herausgeber" => f.publisher = v,
                "lizenz" => f.licence = v,
                "ebene" => f.level = v,
                "jahr" => f.year = v,
                "vergleichsjahr" => f.since = v,
                "oeffentlich" => f.public = v == "1",
                "schwelle" => f.threshold = v,
                "klassen_methode" => f.classes_method = v,
                "klassen_anzahl" => f.classes_k = v,
                "klassen_eingefroren" => f.classes_frozen = v == "1",
                "einleitung" => f.introduction = v,
                "index" => f.index = v,
                "index_titel" => f.index_title = v,
                "index_text" => f.index_text = v,
                "steckbriefe" => f.profiles = v,
                "steckbriefe_gebiete" => f.profile_areas = v,
                "methoden" => f.methods = v,
                "quellen" => f.sources = v,
                "csrf" => f.csrf = v,
                "aktion" => f.action = v,
                _ => {}
            }
        }
        f.chapters = chapters.into_values().collect();
        f
    }

    fn from_definition(name: &str, d: &ReportDefinition, stand: String) -> ReportForm {
        let (profiles, profile_areas) = match &d.profiles {
            Profiles::Keyword(k) if k == "all" => ("all", String::new()),
            Profiles::Areas(a) => ("list", a.join(", ")),
            _ => ("none", String::new()),
        };
        ReportForm {
            name: name.to_string(),
            stand,
            stored: true,
            title: d.title.clone(),
            subtitle: d.subtitle.clone(),
            municipality: d.municipality.clone(),
            edition: d.edition.clone(),
            reference_date: d.reference_date.clone(),
            publisher: d.publisher.clone(),
            licence: d.licence.clone(),
            level: d.level.clone().unwrap_or_default(),
            year: d.year.map(|y| y.to_string()).unwrap_or_default(),
            since: d.since.map(|y| y.to_string()).unwrap_or_default(),
            public: d.public,
            threshold: d.disclosure_threshold.map(|t| t.to_string()).unwrap_or_default(),
            classes_method: d.classes.method.clone(),
            classes_k: d.classes.k.to_string(),
            classes_frozen: d.classes.frozen,
            introduction: d.introduction.clone(),
            chapters: d
                .chapters
                .iter()
                .map(|c| ChapterForm { title: c.title.clone(), text: c.text.clone(), indicators: c.indicators.clone() })
                .collect(),
            index: d.index.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
            index_title: d.index.as_ref().and_then(|i| i.title.clone()).unwrap_or_default(),
            index_text: d.index.as_ref().map(|i| i.text.clone()).unwrap_or_default(),
            profiles: profiles.into(),
            profile_areas,
            methods: d.methods.clone(),
            sources: d.sources.join("\n"),
            csrf: String::new(),
            action: String::new(),
        }
    }

    /// The definition the form describes; problems with their fields.
    fn to_definition(&self) -> Result<ReportDefinition, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut need = |field: &str, value: &str, what: &str| {
            if value.trim().is_empty() {
                problems.push(FieldError { field: field.into(), message: format!("{what} fehlt.") });
            }
        };
        need("titel", &self.title, "Der Titel");
        need("kommune", &self.municipality, "Die Kommune oder der Kreis");
        need("ausgabe", &self.edition, "Die Ausgabe");
        let mut number = |field: &str, value: &str, what: &str| -> Option<i32> {
            let v = value.trim();
            if v.is_empty() {
                return None;
            }
            match v.parse::<i32>() {
                Ok(y) if (1900..=2200).contains(&y) => Some(y),
                _ => {
                    problems.push(FieldError { field: field.into(), message: format!("{what} „{v}“ ist keine Jahreszahl.") });
                    None
                }
            }
        };
        let year = number("jahr", &self.year, "Das Berichtsjahr");
        let since = number("vergleichsjahr", &self.since, "Das Vergleichsjahr");
        let threshold = match self.threshold.trim() {
            "" => None,
            t => match t.replace(',', ".").parse::<f64>() {
                Ok(v) if v >= 1.0 => Some(v),
                _ => {
                    problems.push(FieldError {
                        field: "schwelle".into(),
                        message: format!("Die Geheimhaltungsschwelle „{t}“ muss eine Zahl ab 1 sein."),
                    });
                    None
                }
            },
        };
        let k = match self.classes_k.trim() {
            "" => 5,
            t => match t.parse::<usize>() {
                Ok(k) if (2..=9).contains(&k) => k,
                _ => {
                    problems.push(FieldError { field: "klassen_anzahl".into(), message: format!("„{t}“: 2 bis 9 Klassen.") });
                    5
                }
            },
        };
        let profiles = match self.profiles.as_str() {
            "all" => Profiles::Keyword("all".into()),
            "list" => {
                let areas: Vec<String> =
                    self.profile_areas.split([',', ';', '\n', ' ']).map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect();
                if areas.is_empty() {
                    problems.push(FieldError {
                        field: "steckbriefe".into(),
                        message: "Für ausgewählte Steckbriefe die Gebietsschlüssel nennen.".into(),
                    });
                }
                Profiles::Areas(areas)
            }
            _ => Profiles::Keyword("none".into()),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ReportDefinition {
            title: self.title.trim().into(),
            subtitle: self.subtitle.trim().into(),
            municipality: self.municipality.trim().into(),
            edition: self.edition.trim().into(),
            reference_date: self.reference_date.trim().into(),
            publisher: self.publisher.trim().into(),
            licence: self.licence.trim().into(),
            level: Some(self.level.trim().to_string()).filter(|l| !l.is_empty()),
            year,
            since,
            public: self.public,
            disclosure_threshold: threshold,
            classes: Classes {
                method: Some(self.classes_method.trim().to_string()).filter(|m| !m.is_empty()).unwrap_or_else(|| Classes::default().method),
                k,
                frozen: self.classes_frozen,
            },
            introduction: self.introduction.clone(),
            chapters: self
                .chapters
                .iter()
                .map(|c| Chapter { title: c.title.trim().into(), indicators: c.indicators.clone(), text: c.text.clone() })
                .collect(),
            index: Some(self.index.trim().to_string()).filter(|i| !i.is_empty()).map(|id| IndexChapter {
                id,
                title: Some(self.index_title.trim().to_string()).filter(|t| !t.is_empty()),
                text: self.index_text.clone(),
            }),
            profiles,
            methods: self.methods.clone(),
            sources: self.sources.lines().map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        })
    }
}

/// What the form offers to pick from.
struct Choices {
    levels: Vec<String>,
    years: Vec<i32>,
    /// (domain, [(id, name)]), in catalogue order.
    indicators: Vec<(String, Vec<(String, String)>)>,
    indices: Vec<String>,
}

fn choices(store: &dyn Store, st: &AppState) -> Result<Choices, AppError> {
    let levels = store.levels()?.into_iter().filter(|l| l.areas > 0).map(|l| l.name).collect();
    let catalogue = store.catalogue()?;
    let mut indicators: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for i in &catalogue.indicators {
        let domain = if i.domain.is_empty() { "Ohne Lebensbereich".to_string() } else { i.domain.clone() };
        match indicators.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push((i.id.clone(), i.name.clone())),
            None => indicators.push((domain, vec![(i.id.clone(), i.name.clone())])),
        }
    }
    let mut years: Vec<i32> = st.cache.variables(&st.db, store)?.iter().flat_map(|v| v.years.iter().copied()).collect();
    years.sort_unstable();
    years.dedup();
    let indices = store.index_definitions()?.into_iter().map(|(id, _)| id).collect();
    Ok(Choices { levels, years, indicators, indices })
}

/// A Markdown text area with its live preview (filled by app.js; the server renders it
/// exactly as the report will).
fn markdown_field(label: &str, name: &str, value: &str, hint: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.markdown {
            label for=(id) { (label) }
            textarea #(id) name=(name) rows="5" data-markdown=(format!("{id}-vorschau")) aria-describedby=(format!("{id}-hinweis")) { (value) }
            p.note id=(format!("{id}-hinweis")) { (hint) " Markdown: **fett**, *kursiv*, Listen mit -, Absätze durch Leerzeilen." }
            div.md-preview id=(format!("{id}-vorschau")) role="region" aria-label=(format!("Vorschau: {label}")) {
                (maud::PreEscaped(quartier_report::markdown::to_html(value, 2)))
            }
        }
    }
}

fn render_form(f: &ReportForm, c: &Choices, errors: &[FieldError], actor: Option<&Actor>) -> Markup {
    let title = if f.stored { format!("Bericht bearbeiten: {}", f.name) } else { "Neuer Bericht".to_string() };
    let body = html! {
        nav.crumbs aria-label="Pfad" { ol { li { a href="/berichte" { "Berichte" } } li { span aria-current="page" { (title) } } } }
        h1 { (title) }
        (problems_summary(errors, "Nicht gespeichert"))
        @if actor.is_none() {
            p.note { "Dieser Server lässt keine Änderungen zu: das Formular zeigt die Definition, speichern geht nur mit Konto (Sozialplanung, Administration) oder im lokalen Betrieb." }
        }
        form.report-form method="post" action="/berichte" {
            @if let Some(a) = actor { (csrf_field(a)) }
            input type="hidden" name="stand" value=(f.stand);
            input type="hidden" name="gespeichert" value=(if f.stored { "1" } else { "0" });
            fieldset {
                legend { "Bericht" }
                @if f.stored {
                    input type="hidden" name="name" value=(f.name);
                    p { "Name: " code { (f.name) } }
                } @else {
                    (text_field("Name (für Adresse und Dateien: Kleinbuchstaben, Ziffern, - und _)", "name", "name", &f.name, errors, true))
                }
                (text_field("Titel", "titel", "titel", &f.title, errors, true))
                (text_field("Untertitel", "untertitel", "untertitel", &f.subtitle, errors, false))
                (text_field("Kommune oder Kreis", "kommune", "kommune", &f.municipality, errors, true))
                (text_field("Ausgabe (z. B. 2026)", "ausgabe", "ausgabe", &f.edition, errors, true))
                (text_field("Datenstand (wie gedruckt, z. B. 31.12.2025)", "stichtag", "stichtag", &f.reference_date, errors, false))
                (text_field("Herausgeber", "herausgeber", "herausgeber", &f.publisher, errors, false))
                (text_field("Lizenz (z. B. dl-de/by-2-0)", "lizenz", "lizenz", &f.licence, errors, false))
            }
            fieldset {
                legend { "Gebiete und Jahre" }
                @let err = error_for(errors, "ebene");
                label for="f-ebene" { "Ebene" }
                select #f-ebene name="ebene" aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| "f-ebene-fehler")] {
                    option value="" selected[f.level.is_empty()] { "die unterste mit Gebieten" }
                    @for l in &c.levels { option value=(l) selected[*l == f.level] { (l) } }
                }
                @if let Some(e) = err { p.field-error #f-ebene-fehler { (e) } }
                @for (field, label, value) in [("jahr", "Berichtsjahr", &f.year), ("vergleichsjahr", "Vergleichsjahr (Veränderung seit)", &f.since)] {
                    @let err = error_for(errors, field);
                    @let id = field_id(field);
                    label for=(id) { (label) }
                    select id=(id) name=(field) aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| format!("{id}-fehler"))] {
                        option value="" selected[value.is_empty()] { @if field == "jahr" { "das neueste mit Werten" } @else { "das früheste mit Werten" } }
                        @for y in c.years.iter().rev() { option value=(y) selected[y.to_string() == *value] { (y) } }
                        @if !value.is_empty() && !c.years.iter().any(|y| y.to_string() == *value) { option value=(value) selected { (value) " (ohne Werte)" } }
                    }
                    @if let Some(e) = err { p.field-error id=(format!("{id}-fehler")) { (e) } }
                }
            }
            fieldset {
                legend { "Veröffentlichung" }
                label.check { input type="checkbox" name="oeffentlich" value="1" checked[f.public]; " Öffentlich: mit Geheimhaltung (kleine Fallzahlen werden unterdrückt)" }
                (text_field("Geheimhaltungsschwelle (Standard 3)", "schwelle", "schwelle", &f.threshold, errors, false))
                label for="f-klassen_methode" { "Klassenbildung der Karten" }
                select #f-klassen_methode name="klassen_methode" {
                    @for (m, l) in [("quantiles", "Quantile"), ("equal-interval", "Gleiche Abstände"), ("fisher-jenks", "Natürliche Brüche (Fisher-Jenks)"), ("std-mean", "Standardabweichung")] {
                        option value=(m) selected[m == f.classes_method || (f.classes_method.is_empty() && m == "quantiles")] { (l) }
                    }
                }
                (text_field("Anzahl Klassen (2–9)", "klassen_anzahl", "klassen_anzahl", &f.classes_k, errors, false))
                label.check { input type="checkbox" name="klassen_eingefroren" value="1" checked[f.classes_frozen]; " Eingefrorene Klassengrenzen verwenden (Ausgaben vergleichbar)" }
            }
            (markdown_field("Einleitung", "einleitung", &f.introduction, "Vorwort, Zusammenfassung."))
            @let err = error_for(errors, "kapitel");
            @if let Some(e) = err { p.field-error #f-kapitel { (e) } }
            @for (i, ch) in f.chapters.iter().enumerate() {
                @let n = i + 1;
                fieldset.chapter {
                    legend { "Kapitel " (n) }
                    (text_field("Titel des Kapitels", &format!("kapitel_{n}_titel"), &format!("kapitel.{n}.titel"), &ch.title, errors, true))
                    @let ind_field = format!("kapitel.{n}.indikatoren");
                    @let err = error_for(errors, &ind_field);
                    fieldset.indicators id=(field_id(&ind_field)) aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| format!("{}-fehler", field_id(&ind_field)))] {
                        legend { "Indikatoren" }
                        @if c.indicators.is_empty() { p.note { "Der Katalog ist leer: zuerst Indikatoren anlegen (Werkstatt)." } }
                        @for (domain, list) in &c.indicators {
                            p.domain { (domain) }
                            @for (id, name) in list {
                                label.check { input type="checkbox" name=(format!("kapitel_{n}_indikator")) value=(id) checked[ch.indicators.contains(id)]; " " (name) " " span.note { "(" (id) ")" } }
                            }
                        }
                        @for id in ch.indicators.iter().filter(|id| !c.indicators.iter().any(|(_, l)| l.iter().any(|(x, _)| x == *id))) {
                            label.check { input type="checkbox" name=(format!("kapitel_{n}_indikator")) value=(id) checked; " " (id) " (nicht im Katalog)" }
                        }
                    }
                    @if let Some(e) = err { p.field-error id=(format!("{}-fehler", field_id(&ind_field))) { (e) } }
                    (markdown_field(&format!("Text zu Kapitel {n}"), &format!("kapitel_{n}_text"), &ch.text, "Steht vor den Indikatoren des Kapitels."))
                    button type="submit" name="aktion" value=(format!("kapitel_weg_{n}")) formnovalidate { "Kapitel " (n) " entfernen" }
                }
            }
            button type="submit" name="aktion" value="kapitel_neu" formnovalidate { "Kapitel hinzufügen" }
            fieldset {
                legend { "Index-Kapitel" }
                @let err = error_for(errors, "index");
                label for="f-index" { "Index" }
                select #f-index name="index" aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| "f-index-fehler")] {
                    option value="" selected[f.index.is_empty()] { "ohne Index-Kapitel" }
                    @for id in &c.indices { option value=(id) selected[*id == f.index] { (id) } }
                    @if !f.index.is_empty() && !c.indices.contains(&f.index) { option value=(f.index) selected { (f.index) " (nicht gespeichert)" } }
                }
                @if let Some(e) = err { p.field-error #f-index-fehler { (e) } }
                (text_field("Titel des Index-Kapitels (Standard: der Name des Index)", "index_titel", "index_titel", &f.index_title, errors, false))
                (markdown_field("Text zum Index", "index_text", &f.index_text, "Steht vor Karte und Tabelle des Index."))
            }
            fieldset {
                legend { "Gebietsprofile (Steckbriefe)" }
                @for (v, l) in [("none", "keine"), ("all", "alle Gebiete der Ebene"), ("list", "ausgewählte Gebiete:")] {
                    label.check { input type="radio" name="steckbriefe" value=(v) checked[f.profiles == v || (f.profiles.is_empty() && v == "none")]; " " (l) }
                }
                (text_field("Gebietsschlüssel (mit Komma getrennt)", "steckbriefe_gebiete", "steckbriefe", &f.profile_areas, errors, false))
            }
            (markdown_field("Methoden (Anhang)", "methoden", &f.methods, "Steht vor den erzeugten Definitionen im Anhang."))
            label for="f-quellen" { "Weitere Quellen (eine je Zeile)" }
            textarea #f-quellen name="quellen" rows="3" { (f.sources) }
            @if let Some(e) = error_for(errors, "stand") { p.field-error #f-stand role="alert" { (e) } }
            @if let Some(e) = error_for(errors, "toml") { p.field-error #f-toml { (e) } }
            div.actions {
                button type="submit" name="aktion" value="speichern" disabled[actor.is_none()] { "Speichern" }
                a href="/berichte" { "Abbrechen" }
            }
        }
    };
    layout_nav(&title, "berichte", body, None)
}

// ---- Pages ----

/// `GET /berichte`: the stored definitions with their outputs, a new one, TOML upload.
pub async fn list_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let actor = planner(&st, &headers).await?;
    let page = with_store(&st, move |store, _| {
        let defs = library::list(store).map_err(AppError::Internal)?;
        let body = html! {
            h1 { "Berichte" }
            p.lead { "Sozialberichte aus gespeicherten Definitionen: im Browser bearbeiten, als HTML ansehen, als PDF, DOCX und XLSX herunterladen. "
                "Dieselben Definitionen liest " code { "quartier report --name NAME" } "." }
            @if defs.is_empty() {
                p { "Noch keine Berichtsdefinition gespeichert." }
            } @else {
                table {
                    caption { "Gespeicherte Berichtsdefinitionen" }
                    thead { tr { th scope="col" { "Bericht" } th scope="col" { "Ausgabe" } th scope="col" { "Ebene, Jahr" } th scope="col" { "Veröffentlichung" } th scope="col" { "Dateien" } } }
                    tbody {
                        @for (name, text) in &defs {
                            @match ReportDefinition::from_toml(text) {
                                Ok(d) => tr {
                                    th scope="row" { a href=(format!("/berichte/{}", url(name))) { (d.title) } br; span.note { (name) } }
                                    td { (d.edition) }
                                    td { (d.level.clone().unwrap_or_else(|| "unterste".into())) ", " (d.year.map(|y| y.to_string()).unwrap_or_else(|| "neuestes Jahr".into())) }
                                    td { @if d.public { "öffentlich (mit Geheimhaltung)" } @else { "intern" } }
                                    td.files {
                                        a href=(format!("/berichte/{}/vorschau", url(name))) { "Ansehen" span.visually-hidden { ": " (d.title) } }
                                        @for ext in ["pdf", "docx", "xlsx"] {
                                            " · " a href=(format!("/berichte/{}/datei/{ext}", url(name))) { (ext.to_uppercase()) span.visually-hidden { ": " (d.title) } }
                                        }
                                        " · " a href=(format!("/berichte/{}/definition.toml", url(name))) download { "TOML" span.visually-hidden { ": " (d.title) } }
                                    }
                                },
                                Err(e) => tr { th scope="row" { (name) } td colspan="4" { "Definition unlesbar: " (e) } },
                            }
                        }
                    }
                }
            }
            p { a href="/offene-daten" { "Offene Daten bereitstellen" } " – CSV, GeoJSON und Metadaten (DCAT-AP.de) mit Geheimhaltung." }
            @if let Some(a) = &actor {
                h2 { "Neuer Bericht" }
                p { a href="/berichte/neu" { "Einen neuen Bericht im Formular anlegen" } }
                h2 { "Definition hochladen (TOML)" }
                form method="post" action="/berichte/hochladen" enctype="multipart/form-data" {
                    (csrf_field(a))
                    label for="u-name" { "Name (Kleinbuchstaben, Ziffern, - und _)" }
                    input #u-name type="text" name="name" required pattern="[a-z0-9_-]{1,64}";
                    label for="u-datei" { "Datei (.toml)" }
                    input #u-datei type="file" name="datei" accept=".toml,text/plain" required;
                    button type="submit" { "Hochladen und prüfen" }
                }
            }
        };
        Ok(layout_nav("Berichte", "berichte", body, None))
    })
    .await?;
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    /// Start from a stored definition (copied under a new name).
    pub von: Option<String>,
}

/// `GET /berichte/neu`: an empty form, or a copy of a stored definition.
pub async fn new_form(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<NewQuery>) -> Result<Response, AppError> {
    let actor = planner(&st, &headers).await?;
    let page = with_store(&st, move |store, st| {
        let mut form = match q.von.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => {
                let def = library::load(store, v).map_err(AppError::NotFound)?;
                let mut f = ReportForm::from_definition("", &def, String::new());
                f.stored = false;
                f
            }
            None => ReportForm {
                public: true,
                municipality: library::municipality(store).map_err(AppError::Internal)?.unwrap_or_default(),
                chapters: vec![ChapterForm::default()],
                profiles: "none".into(),
                ..Default::default()
            },
        };
        form.stand = library::fingerprint(None);
        Ok(render_form(&form, &choices(store, st)?, &[], actor.as_ref()))
    })
    .await?;
    Ok(page.into_response())
}

/// `GET /berichte/{name}`: the form for a stored definition.
pub async fn edit_form(State(st): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Result<Response, AppError> {
    let actor = planner(&st, &headers).await?;
    let page = with_store(&st, move |store, st| {
        let text = library::get(store, &name).map_err(AppError::Internal)?.ok_or_else(|| not_found(&name))?;
        let def = ReportDefinition::from_toml(&text).map_err(AppError::BadRequest)?;
        let form = ReportForm::from_definition(&name, &def, library::fingerprint(Some(&text)));
        Ok(render_form(&form, &choices(store, st)?, &[], actor.as_ref()))
    })
    .await?;
    Ok(page.into_response())
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!("Berichtsdefinition „{name}“ gibt es nicht"))
}

/// `POST /berichte`: saves the form (or adds/removes a chapter and shows it again).
pub async fn save(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut form = ReportForm::from_pairs(pairs);
    let actor = authorize(&st, &headers, &form.csrf).await?;
    // Chapter buttons change the form only.
    if form.action == "kapitel_neu" {
        form.chapters.push(ChapterForm::default());
        return rerender(&st, form, Vec::new(), actor, StatusCode::OK).await;
    }
    if let Some(n) = form.action.strip_prefix("kapitel_weg_").and_then(|n| n.parse::<usize>().ok()) {
        if n >= 1 && n <= form.chapters.len() {
            form.chapters.remove(n - 1);
        }
        return rerender(&st, form, Vec::new(), actor, StatusCode::OK).await;
    }
    let def = match form.to_definition() {
        Ok(d) => d,
        Err(problems) => return rerender(&st, form, problems, actor, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let (name, stand, stored) = (form.name.clone(), form.stand.clone(), form.stored);
    let toml = def.to_toml();
    let result = crate::admin::with_store_mut(&st, actor.name.clone(), move |store| {
        // A new definition must not overwrite a stored one of the same name.
        if !stored && library::get(store, &name).map_err(AppError::Internal)?.is_some() {
            return Ok(Err(vec![FieldError {
                field: "name".into(),
                message: format!("Einen Bericht „{name}“ gibt es schon: einen anderen Namen wählen oder ihn bearbeiten."),
            }]));
        }
        Ok(library::save(store, &name, &toml, Some(&stand)).map(|_| ()))
    })
    .await?;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/berichte/{}?gespeichert=1", url(&form.name))).into_response()),
        Err(problems) => {
            let status = if problems.iter().any(|p| p.field == "stand") { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            rerender(&st, form, problems, actor, status).await
        }
    }
}

async fn rerender(
    st: &AppState,
    form: ReportForm,
    problems: Vec<FieldError>,
    actor: Actor,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = with_store(st, move |store, st| Ok(render_form(&form, &choices(store, st)?, &problems, Some(&actor)))).await?;
    Ok((status, page).into_response())
}

/// `POST /berichte/hochladen`: a TOML file stored under a name (checked as the form is).
pub async fn upload(State(st): State<AppState>, headers: HeaderMap, mut multipart: Multipart) -> Result<Response, AppError> {
    let mut fields: HashMap<String, String> = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        let text = field.text().await.map_err(|e| AppError::BadRequest(e.body_text()))?;
        if text.len() > 1 << 20 {
            return Err(AppError::TooLarge("Eine Berichtsdefinition hat höchstens 1 MB.".into()));
        }
        fields.insert(name, text);
    }
    let actor = authorize(&st, &headers, fields.get("csrf").map(String::as_str).unwrap_or("")).await?;
    let name = fields.get("name").map(|n| n.trim().to_string()).unwrap_or_default();
    let text = fields.remove("datei").unwrap_or_default();
    let n = name.clone();
    let result = crate::admin::with_store_mut(&st, actor.name.clone(), move |store| {
        let current = library::get(store, &n).map_err(AppError::Internal)?;
        Ok(library::save(store, &n, &text, Some(&library::fingerprint(current.as_deref()))).map(|_| ()))
    })
    .await?;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/berichte/{}?gespeichert=1", url(&name))).into_response()),
        Err(problems) => {
            let body = html! {
                nav.crumbs aria-label="Pfad" { ol { li { a href="/berichte" { "Berichte" } } li { span aria-current="page" { "Hochladen" } } } }
                h1 { "Definition nicht gespeichert" }
                div.problems role="alert" { ul { @for p in &problems { li { (p.message) } } } }
                p { a href="/berichte" { "Zurück zu den Berichten" } }
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, layout_nav("Definition nicht gespeichert", "berichte", body, None)).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /berichte/{name}/entfernen`.
pub async fn remove(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    let actor = authorize(&st, &headers, &f.csrf).await?;
    let n = name.clone();
    let removed =
        crate::admin::with_store_mut(&st, actor.name, move |store| library::remove(store, &n).map_err(AppError::Internal)).await?;
    if !removed {
        return Err(not_found(&name));
    }
    Ok(Redirect::to("/berichte").into_response())
}

/// `GET /berichte/{name}/definition.toml`: the definition as stored (the exchange format).
pub async fn toml(State(st): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Result<Response, AppError> {
    planner(&st, &headers).await?;
    let n = name.clone();
    let text =
        with_store(&st, move |store, _| library::get(store, &n).map_err(AppError::Internal)).await?.ok_or_else(|| not_found(&name))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/toml; charset=utf-8")),
            (header::CONTENT_DISPOSITION, attachment(&format!("{name}.toml"))),
        ],
        text,
    )
        .into_response())
}

fn attachment(file: &str) -> HeaderValue {
    // Names are [a-z0-9_-] (library::valid_name), so no quoting issues.
    HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")).unwrap_or(HeaderValue::from_static("attachment"))
}

/// The stored definition, its text's fingerprint and the data version: what a generated file
/// depends on.
async fn definition_and_key(st: &AppState, name: &str, format: Format) -> Result<(ReportDefinition, String), AppError> {
    let n = name.to_string();
    let (text, version) = with_store(st, move |store, st| {
        let text = library::get(store, &n).map_err(AppError::Internal)?;
        Ok((text, st.db.data_version().unwrap_or_default()))
    })
    .await?;
    let text = text.ok_or_else(|| not_found(name))?;
    let def = ReportDefinition::from_toml(&text).map_err(AppError::BadRequest)?;
    let key = format!("{name}\u{0}{}\u{0}{version}\u{0}{}", library::fingerprint(Some(&text)), format.extension());
    Ok((def, key))
}

/// `GET /berichte/{name}/vorschau`: the report as HTML, shown in the browser (its own styles
/// inline, no scripts).
pub async fn preview(State(st): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Result<Response, AppError> {
    file_response(st, headers, name, "html".into(), true).await
}

/// `GET /berichte/{name}/datei/{ext}`: the file when it is ready; else its generation starts
/// (or goes on) and a page shows its progress.
pub async fn file(State(st): State<AppState>, headers: HeaderMap, Path((name, ext)): Path<(String, String)>) -> Result<Response, AppError> {
    file_response(st, headers, name, ext, false).await
}

async fn file_response(st: AppState, headers: HeaderMap, name: String, ext: String, inline: bool) -> Result<Response, AppError> {
    planner(&st, &headers).await?;
    let format = Format::from_extension(&ext).ok_or_else(|| AppError::NotFound(format!("Format „{ext}“: html, pdf, docx oder xlsx")))?;
    let (def, key) = definition_and_key(&st, &name, format).await?;
    let target = if inline { format!("/berichte/{}/vorschau", url(&name)) } else { format!("/berichte/{}/datei/{ext}", url(&name)) };
    let status = format!("/berichte/{}/stand/{ext}", url(&name));
    let title = format!("{}: {} wird erstellt", def.title, ext.to_uppercase());
    if st.cache.reports.get(&key).is_none() {
        start(&st.cache, &key, st.db.clone(), def.clone(), format);
    }
    match outcome(&st.cache, &key, &title, &status, &target) {
        Outcome::Ready(bytes) => Ok(file_reply(&bytes, format, &format!("{name}.{ext}"), inline)),
        Outcome::Failed(e) => {
            let body = html! {
                nav.crumbs aria-label="Pfad" { ol { li { a href="/berichte" { "Berichte" } } li { span aria-current="page" { (def.title) } } } }
                h1 { "Bericht konnte nicht erstellt werden" }
                div.problems role="alert" { p { (e) } }
                p { a href=(format!("/berichte/{}", url(&name))) { "Definition bearbeiten" } }
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, layout_nav("Bericht konnte nicht erstellt werden", "berichte", body, None))
                .into_response())
        }
        Outcome::Running(res) => Ok(res),
    }
}

fn progress_text(job: Option<&Job>) -> (String, f64) {
    // A finished generation shows how long it took, a running one how long it runs.
    match job.map(|j| {
        (&j.state, if matches!(j.state, JobState::Done(_) | JobState::Failed(_)) { j.seconds } else { j.started.elapsed().as_secs_f64() })
    }) {
        Some((JobState::Waiting, s)) => ("Wartet auf einen anderen Bericht, der gerade erstellt wird.".into(), s),
        Some((JobState::Running(stage), s)) => (format!("{} …", stage.label_de()), s),
        Some((JobState::Done(_), s)) => ("Fertig.".into(), s),
        Some((JobState::Failed(e), s)) => (format!("Fehler: {e}"), s),
        None => ("Wird gestartet …".into(), 0.0),
    }
}

fn progress_page(title: &str, status_url: &str, target_url: &str, job: Option<&Job>) -> Markup {
    let (text, seconds) = progress_text(job);
    let body = html! {
        h1 { (title) }
        div #bericht-fortschritt data-status=(status_url) data-ziel=(target_url) {
            p role="status" aria-live="polite" { span.stage { (text) } " (" span.seconds { (format!("{seconds:.0}")) } " s)" }
        }
        p { "Die Erstellung läuft im Hintergrund weiter; andere Seiten bleiben benutzbar. Sobald die Datei fertig ist, beginnt der Download. "
            a href=(target_url) { "Erneut nachsehen" } }
    };
    layout_nav(title, "berichte", body, None)
}

/// `GET /berichte/{name}/stand/{ext}`: the generation's progress as JSON (for the page above).
pub async fn status(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((name, ext)): Path<(String, String)>,
) -> Result<Response, AppError> {
    planner(&st, &headers).await?;
    let format = Format::from_extension(&ext).ok_or_else(|| AppError::NotFound(format!("Format „{ext}“")))?;
    let (_, key) = definition_and_key(&st, &name, format).await?;
    Ok(status_json(&st.cache, &key))
}

#[derive(Debug, Deserialize)]
pub struct MarkdownForm {
    pub csrf: String,
    pub text: String,
}

/// `POST /berichte/markdown`: a text block as the report will show it (live preview).
pub async fn markdown(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<MarkdownForm>,
) -> Result<Response, AppError> {
    authorize(&st, &headers, &f.csrf).await?;
    if f.text.len() > 200_000 {
        return Err(AppError::TooLarge("Der Text ist zu lang für die Vorschau.".into()));
    }
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], quartier_report::markdown::to_html(&f.text, 2)).into_response())
}
