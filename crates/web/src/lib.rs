//! Quartier's web app: an axum server rendering German HTML pages with server-side SVG maps.
//!
//! Handlers open the SQLite store read-only per request (cheap under WAL) on a blocking
//! thread, build plain view data, and render with maud (escaped by default). No external
//! requests: styles and the small script are served from the binary.

mod account;
mod accounts_admin;
mod action;
mod admin;
mod allocation;
mod api;
mod boundaries;
mod cache;
mod directory;
mod download;
mod forms;
mod indicator;
mod interactive;
mod invitation;
mod offers;
mod ogc;
mod opendata;
mod overview;
mod pages;
mod profile;
mod reports;
mod steckbriefe;
mod workbench;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use quartier_report::{charts, map};
use std::sync::Arc;

pub use admin::{Editing, UPLOAD_LIMIT};

/// Shared state: where the database is, whether pages are public, whether changes are allowed.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<quartier_app::store::Location>,
    /// Public mode: disclosure control with this threshold on every shown count and rate.
    pub public: Option<f64>,
    /// Changes through the Verwaltung and the workbench (None: read-only server).
    pub edit: Option<Arc<Editing>>,
    /// Computed results until the database changes.
    pub cache: Arc<cache::Cache>,
    /// The same app in public mode, with its own cache: what anonymous visitors see once there
    /// are accounts (with `--public-view`), and what Träger accounts without a grant for
    /// internal results see.
    pub published: Option<Router>,
    /// Anonymous visitors get the published view (else the sign-in page).
    pub public_view: bool,
    /// Per request: what a scoped (tenant) account may see; None: everything.
    pub view: Option<Arc<quartier_app::store::scope::Visibility>>,
    /// Per request: the boundary set shown (valid at this date; None: the current one), from
    /// the request's `gebietsstand` or its year ([`Boundary`]).
    pub boundary: Option<String>,
    /// Proxies trusted to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    /// The interactive map's optional base map (`serve --basemap`).
    pub basemap: Option<Arc<Basemap>>,
    /// Requests per token and minute through the APIs (shared by the internal and the public app).
    pub api_limits: Arc<api::auth::Limits>,
}

/// A base map under the interactive map: an XYZ/WMTS raster URL with `{z}/{x}/{y}`, or a
/// MapLibre style URL; the Content-Security-Policy of the map page allows exactly its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Basemap {
    pub url: String,
    pub attribution: String,
}

impl Basemap {
    /// Checks the URL (http or https, with a host) and keeps it with its attribution.
    pub fn new(url: &str, attribution: &str) -> Result<Basemap, String> {
        let b = Basemap { url: url.trim().to_string(), attribution: attribution.trim().to_string() };
        b.origin().ok_or_else(|| format!("--basemap {url}: eine http- oder https-Adresse mit Rechnername erwartet"))?;
        if b.url.contains(['"', '\'', ' ', '<', '>']) {
            return Err(format!("--basemap {url}: Anführungszeichen, Leerzeichen und spitze Klammern sind nicht erlaubt"));
        }
        Ok(b)
    }

    /// `https://host[:port]`, the only origin the map page's CSP adds.
    pub fn origin(&self) -> Option<String> {
        let (scheme, rest) = self.url.split_once("://")?;
        if scheme != "https" && scheme != "http" {
            return None;
        }
        let host = rest.split(['/', '?', '#']).next()?;
        let valid = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        valid.then(|| format!("{scheme}://{host}"))
    }
}

impl AppState {
    /// Whether this request may show the area (a tenant sees the shared levels and its own
    /// areas below them).
    pub fn visible(&self, level: &str, key: &str) -> bool {
        self.view.as_ref().is_none_or(|v| v.visible(level, key))
    }

    /// The scope and boundary set in cache keys of page models that list areas.
    pub fn view_key(&self) -> String {
        let scope = self.view.as_ref().map(|v| v.scope().to_string()).unwrap_or_default();
        match &self.boundary {
            Some(b) => format!("{scope}@{b}"),
            None => scope,
        }
    }
}

tokio::task_local! {
    /// The signed-in account's visibility, set by `require_login` for the request.
    static VIEW: Option<Arc<quartier_app::store::scope::Visibility>>;
    /// Which boundary set the request asks for, set by `boundary_of_request`.
    static BOUNDARY: Boundary;
}

/// Which boundary set a request shows: the one of its year (`year`/`jahr`: values belong to
/// the set valid at their date, so a year before a boundary change is shown on the areas of
/// then), or the one named by `gebietsstand` (an ISO date, or `aktuell` for today's set, where
/// earlier years appear as carried estimates). Without either: today's set.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Boundary {
    #[default]
    Current,
    Date(String),
    Year(i32),
}

impl Boundary {
    fn of_query(uri: &axum::http::Uri) -> Result<Boundary, AppError> {
        let mut year = None;
        // A query that is no form (the handler says so) asks for no set.
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
        for (k, v) in pairs {
            match k.as_str() {
                "gebietsstand" if v == "aktuell" || v.is_empty() => return Ok(Boundary::Current),
                "gebietsstand" => {
                    let ok = quartier_core::date::days_from_iso(&v).map(quartier_core::date::iso_from_days).as_deref() == Some(v.as_str());
                    if !ok {
                        return Err(AppError::bad_parameter("gebietsstand", format!("„{v}“: ein Datum JJJJ-MM-TT oder „aktuell“")));
                    }
                    return Ok(Boundary::Date(v));
                }
                "year" | "jahr" if year.is_none() => year = v.parse::<i32>().ok(),
                _ => {}
            }
        }
        Ok(year.map_or(Boundary::Current, Boundary::Year))
    }

    /// The date of the set, with the store: a year's set is today's unless a later boundary
    /// set began after the year's end. The sets' dates are read once per data version.
    pub(crate) fn resolve(
        &self,
        store: &dyn quartier_app::store::Store,
        cache: &cache::Cache,
        db: &quartier_app::store::Location,
    ) -> Result<Option<String>, AppError> {
        Ok(match self {
            Boundary::Current => None,
            Boundary::Date(d) => Some(d.clone()),
            Boundary::Year(y) => {
                let dates = cache.memo(db, "gebietsstaende".into(), || store.version_dates())?;
                quartier_app::views::boundary_of_year(&dates, *y)
            }
        })
    }
}

pub(crate) fn current_boundary() -> Boundary {
    BOUNDARY.try_with(|b| b.clone()).unwrap_or_default()
}

/// Notes the boundary set the request asks for (see [`Boundary`]).
async fn boundary_of_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match Boundary::of_query(req.uri()) {
        Ok(b) => BOUNDARY.scope(b, next.run(req)).await,
        Err(e) => e.into_response(),
    }
}

/// This request's visibility (outside a request: none).
pub(crate) fn current_view() -> Option<Arc<quartier_app::store::scope::Visibility>> {
    VIEW.try_with(|v| v.clone()).ok().flatten()
}

/// How the app runs.
#[derive(Clone, Default)]
pub struct Options {
    /// Disclosure control with this threshold on every shown count and rate.
    pub public: Option<f64>,
    /// Allow changes (never together with `public`).
    pub edit: Option<Arc<Editing>>,
    /// With accounts: anonymous visitors see the published pages with disclosure control at
    /// this threshold instead of the sign-in page (None: switched off).
    pub public_view: Option<f64>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`serve --trusted-proxy`);
    /// from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A base map under the interactive map (default none: fully offline).
    pub basemap: Option<Basemap>,
    /// Requests per minute and API token (`serve --api-rate`; None: [`DEFAULT_API_RATE`]).
    pub api_rate: Option<u32>,
}

/// Requests per minute and API token unless `serve --api-rate` says otherwise.
pub const DEFAULT_API_RATE: u32 = api::auth::DEFAULT_RATE;

/// Builds the read-only router for internal use (tests call it without a socket).
pub fn app(db: impl Into<quartier_app::store::Location>) -> Router {
    app_with(db, Options::default())
}

/// Builds the router; with `public` every count and rate shown passes disclosure control.
pub fn app_with(db: impl Into<quartier_app::store::Location>, options: Options) -> Router {
    let db = Arc::new(db.into());
    let trusted_proxies = Arc::new(options.trusted_proxies.clone());
    let basemap = options.basemap.clone().map(Arc::new);
    let api_limits = Arc::new(api::auth::Limits::new(options.api_rate.unwrap_or(DEFAULT_API_RATE)));
    let edit = if options.public.is_some() { None } else { options.edit };
    let published = options.public.is_none().then(|| {
        let threshold = options.public_view.unwrap_or(quartier_core::disclosure::DEFAULT_THRESHOLD);
        router(AppState {
            db: db.clone(),
            public: Some(threshold),
            edit: None,
            cache: Arc::default(),
            published: None,
            public_view: false,
            view: None,
            boundary: None,
            trusted_proxies: trusted_proxies.clone(),
            basemap: basemap.clone(),
            api_limits: api_limits.clone(),
        })
    });
    let public_view = options.public_view.is_some();
    router(AppState {
        db,
        public: options.public,
        edit,
        cache: Arc::default(),
        published,
        public_view,
        view: None,
        boundary: None,
        trusted_proxies,
        basemap,
        api_limits,
    })
}

/// What a Träger account without a grant for internal results uses besides the published
/// pages: its account, its offers, recording conferences.
fn traeger_work(path: &str) -> bool {
    matches!(path, "/konto" | "/abmelden" | "/konferenz/neu" | "/konferenz" | "/konto/schluessel" | "/konto/schluessel/widerrufen")
        || path.starts_with("/angebot/")
}

/// Pages the public view shows anonymous visitors (GET only); everything else needs an account.
fn published(path: &str) -> bool {
    matches!(
        path,
        "/" | "/karte" | "/karte/werte" | "/karte/angebote.geojson" | "/gebiete" | "/indikatoren" | "/vergleich" | "/daten" | "/angebote"
    ) || ["/gebiet/", "/indikator/", "/index/", "/steckbriefe/", "/karte/kacheln/", "/karte/gebiet/", "/ogc/", "/api/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// A route serving a vendored file through [`vendored`], its gzip kept in a static.
macro_rules! vendored {
    ($ct:expr, $file:expr) => {{
        static GZ: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        get(|headers: axum::http::HeaderMap| async move { vendored($ct, include_bytes!($file), &GZ, &headers) })
    }};
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/verwaltung", get(admin::admin_page))
        .route("/anmelden", get(account::login_page).post(account::login))
        .route("/abmelden", post(account::logout))
        .route("/konto", get(account::account_page).post(account::change_password))
        .route("/konto/schluessel", post(account::create_token))
        .route("/konto/schluessel/widerrufen", post(account::revoke_token))
        .route("/verteilung", get(allocation::allocation_page))
        .route("/angebote", get(offers::offers_page))
        .route("/konferenz/neu", get(action::conference_form))
        .route("/konferenz", post(action::conference_save))
        .route("/massnahme/neu", get(action::measure_form))
        .route("/massnahme", post(action::measure_save))
        .route("/angebot/neu", get(action::offer_new_form).post(action::offer_create))
        .route("/angebot/{id}", get(action::offer_form).post(action::offer_save))
        .route("/verwaltung/vorschau", post(admin::preview).layer(axum::extract::DefaultBodyLimit::max(admin::UPLOAD_LIMIT + (64 << 10))))
        .route("/verwaltung/import", post(admin::confirm))
        .route("/verwaltung/rueckgaengig", get(admin::undo_page).post(admin::undo))
        .route("/verwaltung/ebenen", post(admin::add_level))
        .route("/verwaltung/aufloesen", post(admin::dissolve))
        .route("/verwaltung/gebietsstaende", get(boundaries::page))
        .route("/verwaltung/umstieg/berechnen", post(boundaries::compute))
        .route(
            "/verwaltung/umstieg/schluessel",
            post(boundaries::key_table).layer(axum::extract::DefaultBodyLimit::max(admin::UPLOAD_LIMIT + (64 << 10))),
        )
        .route(
            "/verwaltung/umstieg/punkte",
            post(boundaries::points).layer(axum::extract::DefaultBodyLimit::max(admin::UPLOAD_LIMIT + (64 << 10))),
        )
        .route("/verwaltung/umstieg/verketten", post(boundaries::chain))
        .route("/verwaltung/umstieg/anwenden", post(boundaries::apply))
        .route("/verwaltung/umstieg/loeschen", post(boundaries::remove))
        .route("/verwaltung/umstieg/{name}/gewichte.csv", get(boundaries::weights_csv))
        .route("/verwaltung/aenderungen", get(admin::audit_page))
        .route("/verwaltung/konten", get(accounts_admin::accounts_page).post(accounts_admin::create))
        .route("/verwaltung/konten/passwort", post(accounts_admin::reset_password))
        .route("/verwaltung/konten/entfernen", post(accounts_admin::remove))
        .route("/verwaltung/konten/sperren", post(accounts_admin::disable))
        .route("/verwaltung/konten/einladung", post(accounts_admin::renew_invitation))
        .route("/verwaltung/konten/schluessel", post(accounts_admin::revoke_token))
        .route("/einladung/{token}", get(invitation::page).post(invitation::accept))
        .route("/verwaltung/sicherung", get(accounts_admin::backup))
        .route("/berichte", get(reports::list_page).post(reports::save))
        .route("/berichte/neu", get(reports::new_form))
        .route("/offene-daten", get(opendata::page))
        .route("/offene-daten/zip", get(opendata::zip))
        .route("/berichte/hochladen", post(reports::upload).layer(axum::extract::DefaultBodyLimit::max(2 << 20)))
        .route("/berichte/markdown", post(reports::markdown))
        .route("/berichte/{name}", get(reports::edit_form))
        .route("/berichte/{name}/entfernen", post(reports::remove))
        .route("/berichte/{name}/definition.toml", get(reports::toml))
        .route("/berichte/{name}/vorschau", get(reports::preview))
        .route("/berichte/{name}/datei/{ext}", get(reports::file))
        .route("/berichte/{name}/stand/{ext}", get(reports::status))
        .route("/werkstatt/indikator/speichern", post(workbench::save_indicator))
        .route("/werkstatt/indikator/pruefen", get(workbench::check_formula))
        .route("/werkstatt/index/speichern", post(workbench::save_index))
        .route("/", get(overview::overview_page))
        .route("/index/{id}", get(overview::index_page))
        .route("/vergleich", get(overview::compare_page))
        .route("/daten", get(overview::data_page))
        .route("/werkstatt/indikator", get(workbench::indicator_draft))
        .route("/werkstatt/index", get(workbench::index_draft))
        .route("/karte", get(pages::map_page))
        .route("/gebiete", get(directory::areas_page))
        .route("/gebiet/{key}", get(profile::area_page))
        .route("/gebiet/{key}/steckbrief.pdf", get(steckbriefe::profile_pdf))
        .route("/gebiet/{key}/datenblatt", get(steckbriefe::funding_sheet))
        .route("/steckbriefe/{level}", get(steckbriefe::level_profiles))
        .route("/steckbriefe/{level}/stand", get(steckbriefe::level_profiles_status))
        .route("/indikatoren", get(directory::indicators_page))
        .route("/indikator/{id}", get(indicator::indicator_page))
        .route("/karte/kacheln/{level}/{z}/{x}/{y}", get(interactive::tile))
        .route("/karte/gebiet/{level}/{key}", get(interactive::area_bounds))
        .route("/karte/werte", get(interactive::values))
        .route("/ogc", get(ogc::landing))
        .route("/ogc/conformance", get(ogc::conformance))
        .route("/ogc/collections", get(ogc::collections))
        .route("/ogc/collections/{id}", get(ogc::collection))
        .route("/ogc/collections/{id}/items", get(ogc::items))
        .route("/ogc/collections/{id}/items/{fid}", get(ogc::item))
        .route("/karte/angebote.geojson", get(interactive::offers_geojson))
        .route("/api/v1", get(api::index))
        .route("/api/v1/", get(api::index))
        .route("/api/v1/openapi.json", get(api::openapi_document))
        .route("/api/v1/levels", get(api::levels))
        .route("/api/v1/areas", get(api::areas))
        .route("/api/v1/variables", get(api::variables))
        .route("/api/v1/values", get(api::values))
        .route("/api/v1/indicators", get(api::indicators))
        .route("/api/v1/indicators/{id}/values", get(api::indicator_values))
        .route("/api/v1/indices", get(api::indices))
        .route("/api/v1/indices/{id}", get(api::index_result))
        .route("/api/v1/indices/{id}/robustness", get(api::robustness))
        .route("/api/v1/offers", get(api::offers).post(api::create))
        .route("/api/v1/offers/{id}", axum::routing::put(api::update))
        .route("/api/v1/imports", post(api::upload).layer(axum::extract::DefaultBodyLimit::max(admin::UPLOAD_LIMIT)))
        .route("/api/v1/imports/{id}", get(api::import_preview).delete(api::discard))
        .route("/api/v1/imports/{id}/confirm", post(api::confirm))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/app.js")) }))
        .route("/static/karte.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/karte.js")) }))
        .route("/static/maplibre-gl.mjs", vendored!("text/javascript; charset=utf-8", "../static/vendor/maplibre-gl.mjs"))
        .route("/static/maplibre-gl-worker.mjs", vendored!("text/javascript; charset=utf-8", "../static/vendor/maplibre-gl-worker.mjs"))
        .route("/static/maplibre-gl.css", vendored!("text/css; charset=utf-8", "../static/vendor/maplibre-gl.css"))
        .route("/static/style.css", get(|| async { asset("text/css; charset=utf-8", include_str!("../static/style.css")) }))
        .route("/static/icon.svg", get(|| async { asset("image/svg+xml", include_str!("../static/icon.svg")) }))
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent("/static/icon.svg") }))
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { AppError::NotFound("Seite nicht gefunden".into()) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_login))
        .layer(axum::middleware::from_fn(boundary_of_request))
        .layer(axum::middleware::from_fn(problems))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(gzip))
        .layer(axum::middleware::from_fn_with_state(state.clone(), page_cache))
        .with_state(state)
}

/// Whole finished responses of GET requests, kept per request (path, query, cookies,
/// compression) and database version: a page asked for again costs a lookup, not a store, a
/// computation and a rendering. `ETag`/`If-None-Match` answer unchanged pages with 304. The
/// version changes only when a change is committed (see `Location::data_version`), so readers
/// keep their pages while a long import runs. Responses that set cookies are never kept.
async fn page_cache(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.method() != axum::http::Method::GET || req.uri().path().starts_with("/static/") {
        let res = next.run(req).await;
        // A change made through this server is seen by the next page at once.
        *st.cache.version_seen.lock().unwrap_or_else(|e| e.into_inner()) = None;
        return res;
    }
    // A request with an API token is checked (valid, within its rate) before anything kept is
    // served, every time; its pages are kept per account, not per token, so a revoked or
    // expired token gets nothing. The check travels with the request to `require_login`. It
    // comes before the data version is read: noting a token's use is a commit (SQLite).
    let mut req = req;
    let mut account = String::new();
    if st.public.is_none()
        && api::auth::token_path(req.uri().path())
        && let Some(secret) = api::auth::bearer(req.headers())
    {
        match api::auth::check(&st, secret, false).await {
            Ok(p) => {
                account = format!("{}|{:?}|{}", p.user.name, p.user.scope, p.user.sees_internal());
                req.extensions_mut().insert(p);
            }
            Err(e) => {
                let path = req.uri().path().to_string();
                return if wants_problems(&req) { as_problem(&path, e.into_response()) } else { e.into_response() };
            }
        }
    }
    use std::sync::atomic::Ordering;
    let crowd = st.cache.in_flight.fetch_add(1, Ordering::Relaxed) > 0;
    let cache = st.cache.clone();
    let _leave = scopeguard(move || {
        cache.in_flight.fetch_sub(1, Ordering::Relaxed);
    });
    let db = st.db.clone();
    let version = match &*db {
        quartier_app::store::Location::Sqlite(_) => db.data_version().unwrap_or_default(),
        _ => {
            // A query per request would cost a connection each under a crowd: while other
            // requests are in flight the version is asked at most ten times a second (changes
            // by other processes show that late); a lone request always asks.
            let recent = if crowd { st.cache.version_seen.lock().unwrap_or_else(|e| e.into_inner()).clone() } else { None };
            match recent.filter(|(at, _)| at.elapsed() < std::time::Duration::from_millis(100)) {
                Some((_, v)) => v,
                None => {
                    let v = tokio::task::spawn_blocking(move || db.data_version().unwrap_or_default()).await.unwrap_or_default();
                    *st.cache.version_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), v.clone()));
                    v
                }
            }
        }
    };
    if version.is_empty() {
        return next.run(req).await;
    }
    let h = req.headers();
    let text = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let gzip = text(header::ACCEPT_ENCODING).contains("gzip");
    // Accept too: /ogc answers browsers with HTML and clients with JSON at the same address.
    let key = format!("{}\u{0}{}\u{0}{gzip}\u{0}{}\u{0}{account}", req.uri(), text(header::COOKIE), text(header::ACCEPT));
    let if_none_match = text(header::IF_NONE_MATCH);
    if let Some(page) = st.cache.page(&version, &key) {
        return respond(&page, &if_none_match);
    }
    // One request makes the page (in a task of its own, holding the key's lock); others
    // asking for it meanwhile get the page it replaces — past its minute, or of the version
    // before a change — or wait for it. A page past its minute (same data) is served at once.
    // After a change the maker's own request waits for the new page up to
    // [`FRESH_WAIT`], so whoever changed the data sees it; only on a crowded machine does it
    // get the page before the change rather than wait longer.
    let maker = st.cache.maker_of(&key);
    let turn = match maker.clone().try_lock_owned() {
        Ok(turn) => turn,
        Err(_) => match st.cache.stale_page(&key) {
            Some(old) => return respond(&old, &if_none_match),
            None => {
                let turn = maker.lock_owned().await;
                if let Some(page) = st.cache.page(&version, &key) {
                    return respond(&page, &if_none_match);
                }
                turn
            }
        },
    };
    let expired = st.cache.expired_page(&key);
    let stale = expired.clone().or_else(|| st.cache.stale_page(&key));
    let making = tokio::spawn(make_page(st.clone(), version, key, turn, next, req));
    match (expired, stale) {
        (Some(old), _) => respond(&old, &if_none_match),
        (None, Some(old)) => match tokio::time::timeout(FRESH_WAIT, making).await {
            Ok(made) => made.map_or_else(
                |e| AppError::Internal(e.to_string()).into_response(),
                |m| m.map_or_else(|r| r, |p| respond(&p, &if_none_match)),
            ),
            Err(_) => respond(&old, &if_none_match),
        },
        (None, None) => match making.await {
            Ok(Ok(page)) => respond(&page, &if_none_match),
            Ok(Err(res)) => res,
            Err(e) => AppError::Internal(e.to_string()).into_response(),
        },
    }
}

/// How long the request that makes a page after a change waits for it before it gets the
/// page from before the change.
const FRESH_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Makes a page and keeps it; a response that must not be kept (not 200, or setting a
/// cookie) comes back as it is.
async fn make_page(
    st: AppState,
    version: String,
    key: String,
    _turn: tokio::sync::OwnedMutexGuard<()>,
    next: axum::middleware::Next,
    req: axum::extract::Request,
) -> Result<Arc<cache::Page>, Response> {
    let _slot = st.cache.makers.acquire().await;
    // A page made for a session is not served past the session's end.
    let until = match crate::admin::cookie(req.headers(), crate::admin::SESSION_COOKIE) {
        Some(token) => {
            let db = st.db.clone();
            let left =
                tokio::task::spawn_blocking(move || db.open_read_only().ok()?.session(&token).ok().flatten().map(|s| s.seconds_left))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0);
            Some(std::time::Instant::now() + std::time::Duration::from_secs(left.max(0) as u64))
        }
        None => None,
    };
    let res = next.run(req).await;
    // "Not found" pages are kept too: they depend on the data as much, and a crowd asking for
    // an area or indicator without values must not make each one anew.
    let keep = matches!(res.status(), StatusCode::OK | StatusCode::NOT_FOUND);
    // `Cache-Control: no-store` marks what is not derived from the data alone (a waiting
    // import's preview lives in the upload area): never kept.
    let no_store = res.headers().get(header::CACHE_CONTROL).is_some_and(|v| v.as_bytes().starts_with(b"no-store"));
    if !keep || no_store || res.headers().contains_key(header::SET_COOKIE) {
        return Err(res);
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return Err((StatusCode::INTERNAL_SERVER_ERROR, "Antwort zu groß").into_response());
    };
    let headers = parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec())).collect();
    Ok(st.cache.keep_page(&version, key, parts.status.as_u16(), headers, bytes, until))
}

/// Runs `f` when dropped.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f()
            }
        }
    }
    Guard(Some(f))
}

/// A kept page as a response: 304 when the client has it (`If-None-Match`).
fn respond(page: &cache::Page, if_none_match: &str) -> Response {
    let not_modified = !if_none_match.is_empty() && if_none_match.split(',').any(|t| t.trim() == page.etag);
    let mut res =
        if not_modified { StatusCode::NOT_MODIFIED.into_response() } else { Response::new(axum::body::Body::from(page.body.clone())) };
    *res.status_mut() = if not_modified { StatusCode::NOT_MODIFIED } else { StatusCode::from_u16(page.status).unwrap_or(StatusCode::OK) };
    for (k, v) in &page.headers {
        if let (Ok(k), Ok(v)) = (header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_bytes(v)) {
            if not_modified && (k == header::CONTENT_LENGTH || k == header::CONTENT_TYPE) {
                continue;
            }
            res.headers_mut().append(k, v);
        }
    }
    res.headers_mut().insert(header::ETAG, HeaderValue::from_str(&page.etag).unwrap_or(HeaderValue::from_static("\"q\"")));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    res
}

/// Once there are accounts, an internal server shows nothing internal to anonymous visitors:
/// with the public view switched on they get the published pages in public mode (every count
/// and rate disclosure-controlled, no changes), otherwise, and for every other page, the
/// sign-in page. Without accounts nothing changes.
async fn require_login(
    axum::extract::State(st): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_string();
    let path = path.as_str();
    let open = st.public.is_some()
        || path.starts_with("/static/")
        || matches!(path, "/anmelden" | "/health" | "/favicon.ico" | "/api/v1/openapi.json")
        || path.starts_with("/einladung/");
    if open {
        return next.run(req).await;
    }
    let writes = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if api::auth::token_path(path) {
        if let Some(secret) = api::auth::bearer(req.headers()) {
            // Checked (and counted) once: by the page cache for reads, here for writes.
            let checked = req.extensions_mut().remove::<Arc<api::auth::Principal>>();
            let p = match checked {
                Some(p) => p,
                None => match api::auth::check(&st, secret, writes).await {
                    Ok(p) => p,
                    Err(e) => return e.into_response(),
                },
            };
            let view = match &p.user.scope {
                Some(scope) => {
                    let (check, scope) = (st.clone(), scope.clone());
                    let made = tokio::task::spawn_blocking(move || {
                        let store = check.db.open_read_only()?;
                        check.cache.memo(&check.db, format!("sicht|{scope}"), || {
                            quartier_app::store::scope::Visibility::new(&*store, &scope).map_err(|e| AppError::Forbidden(e.to_string()))
                        })
                    })
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))
                    .and_then(|r| r);
                    match made {
                        Ok(v) => Some(v),
                        Err(e) => return e.into_response(),
                    }
                }
                None => None,
            };
            // A Träger account without internal access reads what the public reads.
            if !writes && !p.user.sees_internal() {
                return match &st.published {
                    Some(public) => forward(public.clone(), req).await,
                    None => AppError::Forbidden("Diese Ansicht gibt es auf diesem Server nicht.".into()).into_response(),
                };
            }
            return VIEW.scope(view, api::auth::PRINCIPAL.scope(Some(p), next.run(req))).await;
        }
        if writes {
            return AppError::Unauthorized(
                "Änderungen über die API brauchen einen API-Schlüssel mit Schreibrecht (Authorization: Bearer …); Cookies berechtigen sie nicht".into(),
            )
            .into_response();
        }
    }
    let headers = req.headers().clone();
    let check = st.clone();
    type View = Option<Arc<quartier_app::store::scope::Visibility>>;
    // (signed in or no accounts, the tenant's view, sees only published results)
    let allowed = tokio::task::spawn_blocking(move || -> Result<(bool, View, bool), AppError> {
        let open = || check.db.open_read_only();
        // Whether accounts exist, kept until the database changes: most requests open no store.
        let accounts = check.cache.memo(&check.db, "accounts exist".into(), || Ok::<_, AppError>(!open()?.users()?.is_empty()))?;
        if !*accounts {
            return Ok((true, None, false));
        }
        let store = open()?;
        let Some(session) = admin::session(&*store, &headers)? else { return Ok((false, None, false)) };
        // A tenant's visibility, computed once per scope and database version.
        let view = match &session.user.scope {
            Some(scope) => Some(check.cache.memo(&check.db, format!("sicht|{scope}"), || {
                quartier_app::store::scope::Visibility::new(&*store, scope).map_err(|e| AppError::Forbidden(e.to_string()))
            })?),
            None => None,
        };
        Ok((true, view, !session.user.sees_internal()))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))
    .and_then(|r| r);
    match allowed {
        Ok((true, view, false)) => VIEW.scope(view, next.run(req)).await,
        Ok((true, view, true)) if traeger_work(req.uri().path()) => VIEW.scope(view, next.run(req)).await,
        Ok((true, _, true)) if !(req.method() == axum::http::Method::GET && published(req.uri().path())) => AppError::Forbidden(
            "Dieses Träger-Konto sieht die veröffentlichten Ergebnisse (mit Geheimhaltung), seine Angebote und Konferenzen; interne Auswertungen gibt die Administration frei (quartier user access NAME --internal).".into(),
        )
        .into_response(),
        Ok((signed_in, _, _))
            if req.method() == axum::http::Method::GET
                && published(req.uri().path())
                && (signed_in || st.public_view)
                && st.published.is_some() =>
        {
            forward(st.published.clone().expect("checked"), req).await
        }
        Ok(_) if api::auth::token_path(req.uri().path()) => {
            AppError::Unauthorized("Bitte mit einem API-Schlüssel anfragen (Authorization: Bearer …) oder anmelden".into()).into_response()
        }
        Ok(_) if req.method() == axum::http::Method::GET => axum::response::Redirect::to("/anmelden").into_response(),
        Ok(_) => AppError::Forbidden("Bitte anmelden.".into()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Hands a request to the published (public) app.
async fn forward(public: Router, req: axum::extract::Request) -> Response {
    use tower::ServiceExt;
    // A fresh request: the outer router's match (path parameters) must not reach the inner
    // one, which matches again.
    let (mut parts, body) = req.into_parts();
    parts.extensions = Default::default();
    match public.oneshot(axum::extract::Request::from_parts(parts, body)).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    // A handler may narrow or adapt the policy for its response (the report preview allows
    // its inline stylesheet and nothing else); every other response gets this one.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Compresses text responses for clients that accept gzip (maps of thousands of areas are
/// megabytes of SVG path text, which gzip shrinks about sixfold). Large bodies are compressed
/// on a blocking thread.
async fn gzip(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let accepts = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
    let res = next.run(req).await;
    let textual = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.starts_with("text/")
            || ct.starts_with("image/svg")
            || ct.contains("javascript")
            || ct.contains("json")
            || ct.contains("vector-tile")
    });
    if !accepts || !textual || res.headers().contains_key(header::CONTENT_ENCODING) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Antwort zu groß").into_response();
    };
    if bytes.len() < 1024 {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let large = bytes.len() > 256 << 10;
    let compress = move || {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::new(5));
        enc.write_all(&bytes).and_then(|_| enc.finish())
    };
    let out = if large { tokio::task::spawn_blocking(compress).await.ok().and_then(Result::ok) } else { compress().ok() };
    let Some(out) = out else { return (StatusCode::INTERNAL_SERVER_ERROR, "Komprimierung fehlgeschlagen").into_response() };
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, axum::body::Body::from(out))
}

/// Runs `f` with a read-only store (a connection per request, cheap under WAL) on a blocking
/// thread: every page handler's way to the database.
pub(crate) async fn with_store<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&dyn quartier_app::store::Store, &AppState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let mut st = st.clone();
    st.view = current_view();
    let boundary = current_boundary();
    tokio::task::spawn_blocking(move || {
        let store = st.db.open_read_only()?;
        st.boundary = boundary.resolve(&*store, &st.cache, &st.db)?;
        store.set_boundary_date(st.boundary.clone());
        f(&*store, &st)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

fn asset(ct: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// A large vendored file (the map library): gzipped once, on first request, then served
/// compressed to every client that accepts it.
fn vendored(ct: &'static str, body: &'static [u8], gz: &'static std::sync::OnceLock<Vec<u8>>, headers: &axum::http::HeaderMap) -> Response {
    let accepts = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("gzip"));
    let cache = (header::CACHE_CONTROL, "public, max-age=86400");
    if !accepts {
        return ([(header::CONTENT_TYPE, ct), cache], body).into_response();
    }
    let packed = gz.get_or_init(|| {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(body).and_then(|_| enc.finish()).unwrap_or_default()
    });
    ([(header::CONTENT_TYPE, ct), cache, (header::CONTENT_ENCODING, "gzip"), (header::VARY, "accept-encoding")], packed.as_slice())
        .into_response()
}

/// Serves the app on `addr` until Ctrl-C.
pub async fn serve(
    db: quartier_app::store::Location,
    addr: std::net::SocketAddr,
    options: Options,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_ready(listener.local_addr()?);
    // The peer address of each connection: the sign-in throttle keys on it.
    axum::serve(listener, app_with(db, options).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await
}

/// Errors shown to users; details of internal errors go to stderr, not to the page.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// Not allowed here (read-only server, public view, failed CSRF check).
    #[error("{0}")]
    Forbidden(String),
    /// The change conflicts with the stored state (e.g. a later import first).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// Throttled (too many failed logins).
    #[error("{0}")]
    TooMany(String),
    /// An API request over its token's rate: retry after this many seconds.
    #[error("zu viele Anfragen mit diesem API-Schlüssel: in {0} s wieder")]
    RateLimited(u64),
    /// No or no valid credentials for an API request (401 with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthorized(String),
    /// A request parameter that is wrong (400) or names nothing that exists (404); the API's
    /// problem details name it.
    #[error("{message}")]
    Parameter { status: StatusCode, parameter: &'static str, message: String },
    #[error("interner Fehler")]
    Internal(String),
}

/// Computing indicators failed: without a catalogue there is nothing to find (404), anything
/// else is the server's fault.
pub(crate) fn indicators_error(e: String) -> AppError {
    if e == quartier_app::views::NO_CATALOGUE { AppError::NotFound(e) } else { AppError::Internal(e) }
}

impl From<quartier_app::store::StoreError> for AppError {
    fn from(e: quartier_app::store::StoreError) -> Self {
        use quartier_app::store::StoreError as E;
        match e {
            E::UnknownLevel(..) => AppError::NotFound(e.to_string()),
            // Refused by the account's rights or its area (a tenant's scope).
            E::Account(m) => AppError::Forbidden(m),
            E::Invalid(..) | E::InvalidAreas(..) | E::InvalidOffers(..) | E::InvalidRecord(..) | E::Levels(..) => {
                AppError::BadRequest(e.to_string())
            }
            E::Conflict(m) | E::Undo(m) => AppError::Conflict(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    /// A parameter with a wrong value (400).
    pub(crate) fn bad_parameter(parameter: &'static str, message: impl Into<String>) -> AppError {
        AppError::Parameter { status: StatusCode::BAD_REQUEST, parameter, message: message.into() }
    }

    /// A parameter naming something that does not exist (404).
    pub(crate) fn unknown_parameter(parameter: &'static str, message: impl Into<String>) -> AppError {
        AppError::Parameter { status: StatusCode::NOT_FOUND, parameter, message: message.into() }
    }
}

/// What an error response said, kept with it so the API's responses can become problem
/// details (RFC 9457) instead of an HTML page (see [`problems`]).
#[derive(Debug, Clone)]
pub(crate) struct ErrorInfo {
    pub message: String,
    pub parameter: Option<&'static str>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let parameter = match &self {
            AppError::Parameter { parameter, .. } => Some(*parameter),
            _ => None,
        };
        let (status, msg) = match &self {
            AppError::Parameter { status, message, .. } => (*status, message.clone()),
            AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, self.to_string()),
            AppError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone()),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            AppError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            AppError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, m.clone()),
            AppError::Internal(detail) => {
                eprintln!("Fehler: {detail}");
                (StatusCode::INTERNAL_SERVER_ERROR, "Interner Fehler. Details stehen im Protokoll des Servers.".to_string())
            }
        };
        let mut res = (status, pages::error_page(status, &msg)).into_response();
        match &self {
            AppError::RateLimited(wait) => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*wait));
            }
            AppError::Unauthorized(_) => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"quartier\""));
            }
            _ => {}
        }
        res.extensions_mut().insert(ErrorInfo { message: msg, parameter });
        res
    }
}

/// Errors of the JSON API (`/api/…`) and of the OGC API's JSON answers (`/ogc…` unless HTML
/// was asked for) as problem details (RFC 9457, `application/problem+json`): the status's
/// title, the German detail, the request path and, where one is to blame, the parameter.
async fn problems(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_string();
    let json = wants_problems(&req);
    let res = next.run(req).await;
    if json { as_problem(&path, res) } else { res }
}

/// Whether errors of this request are answered as problem details.
fn wants_problems(req: &axum::extract::Request) -> bool {
    let path = req.uri().path();
    path.starts_with("/api/")
        || ((path == "/ogc" || path.starts_with("/ogc/")) && {
            let f = req.uri().query().unwrap_or("").split('&').find_map(|p| p.strip_prefix("f=")).map(str::to_string);
            !ogc::wants_html(req.headers(), f.as_deref())
        })
}

/// An error response as problem details; other responses as they are.
fn as_problem(path: &str, mut res: Response) -> Response {
    let Some(info) = res.extensions_mut().remove::<ErrorInfo>() else { return res };
    let status = res.status();
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": info.message,
        "instance": path,
    });
    if let Some(p) = info.parameter {
        body["parameter"] = p.into();
    }
    let mut out = (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
