//! What the HTTP tests share: a test site (router without a socket) on SQLite or on the
//! PostgreSQL test server, its store from async code, form posts as a browser sends them,
//! signing in.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use quartier_app::store::*;
use std::sync::Arc;
use tower::ServiceExt;

pub const HOST: &str = "127.0.0.1:8080";

/// The database behind a test site: an SQLite file, or a fresh database on the PostgreSQL
/// server named by `QUARTIER_TEST_POSTGRES` (each test runs on both when it is set).
#[derive(Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Each test twice: on SQLite, and on PostgreSQL when a test server is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("QUARTIER_TEST_POSTGRES").is_ok_and(|u| !u.is_empty()) {
                    super::$name(super::support::Backend::Postgres).await
                } else {
                    // CI runs both backends: there a missing server fails instead of skipping.
                    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but QUARTIER_TEST_POSTGRES is not set");
                }
            }
        })*
    };
}

/// The store of a test site, used from async test code: each call leaves the runtime's
/// thread for the blocking database client (`block_in_place`).
pub struct InPlace(pub Option<Box<dyn Store + Send>>);

impl Drop for InPlace {
    fn drop(&mut self) {
        let inner = self.0.take();
        tokio::task::block_in_place(|| drop(inner));
    }
}

impl Store for InPlace {
    fn levels(&self) -> quartier_app::store::Result<Vec<Level>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().levels())
    }
    fn define_levels(&mut self, names: &[String]) -> quartier_app::store::Result<Vec<Level>> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().define_levels(names))
    }
    fn areas(&self, level: Option<&str>) -> quartier_app::store::Result<Vec<AreaRecord>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().areas(level))
    }
    fn version_dates(&self) -> quartier_app::store::Result<Vec<String>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().version_dates())
    }
    fn set_boundary_date(&self, date: Option<String>) {
        self.0.as_ref().unwrap().set_boundary_date(date)
    }
    fn boundary_date(&self) -> Option<String> {
        self.0.as_ref().unwrap().boundary_date()
    }
    fn estimated_cells(&self, variables: &[String]) -> quartier_app::store::Result<quartier_core::indicator::eval::Estimated> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().estimated_cells(variables))
    }
    fn area_versions(&self, level: Option<&str>) -> quartier_app::store::Result<Vec<quartier_app::store::AreaVersion>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().area_versions(level))
    }
    fn version_areas(&self, level: &str, at: Option<&str>) -> quartier_app::store::Result<Vec<quartier_app::store::VersionArea>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().version_areas(level, at))
    }
    fn version_values(
        &self,
        level: &str,
        at: Option<&str>,
        variables: &[String],
    ) -> quartier_app::store::Result<Vec<quartier_app::store::VersionValue>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().version_values(level, at, variables))
    }
    fn save_crosswalk(&mut self, c: &quartier_app::store::CrosswalkRecord, dry_run: bool) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_crosswalk(c, dry_run))
    }
    fn crosswalks(&self, name: Option<&str>) -> quartier_app::store::Result<Vec<quartier_app::store::CrosswalkRecord>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().crosswalks(name))
    }
    fn remove_crosswalk(&mut self, name: &str) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().remove_crosswalk(name))
    }
    fn store_carried(
        &mut self,
        level: &str,
        c: &quartier_app::store::CarriedValues,
        dry_run: bool,
    ) -> quartier_app::store::Result<quartier_app::store::CarryReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().store_carried(level, c, dry_run))
    }
    fn geometries(&self, level: &str) -> quartier_app::store::Result<Vec<(String, Vec<u8>)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().geometries(level))
    }
    fn source_geometries(&self, level: &str) -> quartier_app::store::Result<Vec<SourceGeometry>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().source_geometries(level))
    }
    fn apply_areas(&mut self, batch: &AreaBatch, dry_run: bool) -> quartier_app::store::Result<AreaReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().apply_areas(batch, dry_run))
    }
    fn apply_area_batches(&mut self, batches: &[AreaBatch], dry_run: bool) -> quartier_app::store::Result<Vec<AreaReport>> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().apply_area_batches(batches, dry_run))
    }
    fn apply_data(&mut self, batch: &DataBatch, dry_run: bool) -> quartier_app::store::Result<DataReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().apply_data(batch, dry_run))
    }
    fn variables(&self) -> quartier_app::store::Result<Vec<VariableRecord>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().variables())
    }
    fn variable_kinds(&self) -> quartier_app::store::Result<Vec<(String, quartier_core::validate::VariableKind)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().variable_kinds())
    }
    fn values(&self, filter: &ValueFilter) -> quartier_app::store::Result<Vec<ValueRecord>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().values(filter))
    }
    fn hierarchy(&self) -> quartier_app::store::Result<Vec<quartier_core::hierarchy::AreaNode>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().hierarchy())
    }
    fn catalogue(&self) -> quartier_app::store::Result<quartier_core::indicator::Catalogue> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().catalogue())
    }
    fn save_catalogue(&mut self, cat: &quartier_core::indicator::Catalogue, dry_run: bool) -> quartier_app::store::Result<CatalogueReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_catalogue(cat, dry_run))
    }
    fn cells(&self, variables: &[String]) -> quartier_app::store::Result<CellTable> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().cells(variables))
    }
    fn value_years(&self, variables: &[String]) -> quartier_app::store::Result<Vec<i32>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().value_years(variables))
    }
    fn frozen_breaks(&self, indicator: &str, level: &str) -> quartier_app::store::Result<Option<(String, Vec<f64>)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().frozen_breaks(indicator, level))
    }
    fn freeze_breaks(&mut self, indicator: &str, level: &str, method: &str, bins: &[f64]) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().freeze_breaks(indicator, level, method, bins))
    }
    fn index_definitions(&self) -> quartier_app::store::Result<Vec<(String, String)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().index_definitions())
    }
    fn save_index_definition(&mut self, id: &str, toml: &str) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_index_definition(id, toml))
    }
    fn imports(&self) -> quartier_app::store::Result<Vec<ImportRecord>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().imports())
    }
    fn undo_import(&mut self, id: i64) -> quartier_app::store::Result<UndoReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().undo_import(id))
    }
    fn setting(&self, key: &str) -> quartier_app::store::Result<Option<String>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().setting(key))
    }
    fn set_setting(&mut self, key: &str, value: &str) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().set_setting(key, value))
    }
    fn save_offers(
        &mut self,
        batch: &quartier_app::store::offers::Offers,
        dry_run: bool,
    ) -> quartier_app::store::Result<quartier_app::store::offers::OfferReport> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_offers(batch, dry_run))
    }
    fn offers(&self) -> quartier_app::store::Result<quartier_app::store::offers::Offers> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().offers())
    }
    fn save_conference(
        &mut self,
        c: &quartier_app::store::action::Conference,
    ) -> quartier_app::store::Result<quartier_app::store::action::Conference> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_conference(c))
    }
    fn conferences(&self, area: Option<(&str, &str)>) -> quartier_app::store::Result<Vec<quartier_app::store::action::Conference>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().conferences(area))
    }
    fn save_measure(
        &mut self,
        m: &quartier_app::store::action::Measure,
    ) -> quartier_app::store::Result<quartier_app::store::action::Measure> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().save_measure(m))
    }
    fn measures(&self) -> quartier_app::store::Result<Vec<quartier_app::store::action::Measure>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().measures())
    }
    fn add_user(
        &mut self,
        name: &str,
        role: quartier_app::store::accounts::Role,
        organization: Option<&str>,
        password: &str,
    ) -> quartier_app::store::Result<quartier_app::store::accounts::User> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().add_user(name, role, organization, password))
    }
    fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().set_password(name, old, new))
    }
    fn set_user_scope(&mut self, name: &str, scope: Option<&quartier_app::store::accounts::Scope>) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().set_user_scope(name, scope))
    }
    fn set_user_internal(&mut self, name: &str, internal: bool) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().set_user_internal(name, internal))
    }
    fn remove_user(&mut self, name: &str) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().remove_user(name))
    }
    fn users(&self) -> quartier_app::store::Result<Vec<quartier_app::store::accounts::User>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().users())
    }
    fn invite_user(
        &mut self,
        name: &str,
        role: quartier_app::store::accounts::Role,
        organization: Option<&str>,
        valid_seconds: i64,
    ) -> quartier_app::store::Result<(quartier_app::store::accounts::User, String)> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().invite_user(name, role, organization, valid_seconds))
    }
    fn renew_invitation(&mut self, name: &str, valid_seconds: i64) -> quartier_app::store::Result<String> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().renew_invitation(name, valid_seconds))
    }
    fn invitation(&self, token: &str) -> quartier_app::store::Result<Option<(String, i64)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().invitation(token))
    }
    fn accept_invitation(&mut self, token: &str, password: &str) -> quartier_app::store::Result<String> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().accept_invitation(token, password))
    }
    fn set_user_disabled(&mut self, name: &str, disabled: bool) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().set_user_disabled(name, disabled))
    }
    fn login(
        &mut self,
        name: &str,
        password: &str,
        address: &str,
    ) -> quartier_app::store::Result<Option<(String, quartier_app::store::accounts::Session)>> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().login(name, password, address))
    }
    fn session(&self, token: &str) -> quartier_app::store::Result<Option<quartier_app::store::accounts::Session>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().session(token))
    }
    fn create_api_token(
        &mut self,
        user: &str,
        name: &str,
        scope: accounts::TokenScope,
        valid_seconds: i64,
    ) -> quartier_app::store::Result<(String, accounts::ApiToken)> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().create_api_token(user, name, scope, valid_seconds))
    }
    fn api_tokens(&self, user: Option<&str>) -> quartier_app::store::Result<Vec<accounts::ApiToken>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().api_tokens(user))
    }
    fn revoke_api_token(&mut self, user: Option<&str>, id: i64) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().revoke_api_token(user, id))
    }
    fn api_token(&self, secret: &str) -> quartier_app::store::Result<Option<(accounts::User, accounts::ApiToken)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().api_token(secret))
    }
    fn touch_api_token(&mut self, id: i64) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().touch_api_token(id))
    }
    fn logout(&mut self, token: &str, everywhere: bool) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().logout(token, everywhere))
    }
    fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> quartier_app::store::Result<()> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().audit(action, object, old, new))
    }
    fn audit_log(&self) -> quartier_app::store::Result<Vec<quartier_app::store::accounts::AuditEntry>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().audit_log())
    }
    fn settings_with_prefix(&self, prefix: &str) -> quartier_app::store::Result<Vec<(String, String)>> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().settings_with_prefix(prefix))
    }
    fn remove_setting(&mut self, key: &str) -> quartier_app::store::Result<bool> {
        tokio::task::block_in_place(|| self.0.as_mut().unwrap().remove_setting(key))
    }
    fn set_actor(&mut self, actor: &str) {
        self.0.as_mut().unwrap().set_actor(actor)
    }
    fn data_version(&self) -> quartier_app::store::Result<String> {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().data_version())
    }
}

pub struct Site {
    pub dir: tempfile::TempDir,
    pub db: Location,
    pub editing: Option<Arc<quartier_web::Editing>>,
    pub public: Option<f64>,
    pub public_view: Option<f64>,
    pub basemap: Option<quartier_web::Basemap>,
    /// Requests per minute and API token (None: the default).
    pub api_rate: Option<u32>,
}

impl Site {
    /// Two Stadtteile with three Sozialräume, and changes allowed.
    pub fn new(backend: Backend) -> Site {
        tokio::task::block_in_place(|| Site::create(backend))
    }

    pub fn create(backend: Backend) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("q.db")),
            Backend::Postgres => Location::parse(&quartier_app::store::postgres::fresh_test_database().expect("QUARTIER_TEST_POSTGRES")),
        };
        let mut s = db.open().unwrap();
        s.define_levels(&["Stadtteil".into(), "Sozialraum".into()]).unwrap();
        let area = |key: &str, parent: Option<&str>| NewArea {
            key: key.into(),
            name: format!("Gebiet {key}"),
            parent: parent.map(Into::into),
            geometry: None,
            source_geometry: None,
            area_m2: None,
            origin: key.into(),
        };
        let batch =
            |level: &str, areas| AreaBatch { file: "gebiete.csv".into(), level: level.into(), areas, source_crs: None, version: None };
        s.apply_areas(&batch("Stadtteil", vec![area("01", None), area("02", None)]), false).unwrap();
        s.apply_areas(&batch("Sozialraum", vec![area("0101", Some("01")), area("0102", Some("01")), area("0201", Some("02"))]), false)
            .unwrap();
        let editing = Some(Arc::new(quartier_web::Editing::new("Test (Browser)", true).unwrap()));
        Site { dir, db, editing, public: None, public_view: None, basemap: None, api_rate: None }
    }

    pub fn app(&self) -> axum::Router {
        quartier_web::app_with(
            self.db.clone(),
            quartier_web::Options {
                public: self.public,
                edit: self.editing.clone(),
                public_view: self.public_view,
                trusted_proxies: vec!["10.0.0.1".parse().unwrap()],
                basemap: self.basemap.clone(),
                api_rate: self.api_rate,
            },
        )
    }

    pub fn token(&self) -> String {
        self.editing.as_ref().map(|e| e.csrf.clone()).unwrap_or_default()
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>) {
        let res = self.app().oneshot(req).await.unwrap();
        let status = res.status();
        let location = res.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned(), location)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        let (s, b, _) = self.send(Request::get(uri).header(header::HOST, HOST).body(Body::empty()).unwrap()).await;
        (s, b)
    }

    /// A form post as the browser sends it from one of the server's pages.
    pub async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
        let body = fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
        let req = Request::post(uri)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// The upload form: fields, then the file.
    pub async fn upload(&self, fields: &[(&str, &str)], file_name: &str, content: &[u8]) -> (StatusCode, String) {
        let (s, b, _) = self.upload_to("/verwaltung/vorschau", None, fields, file_name, content).await;
        (s, b)
    }

    /// A multipart form to `uri` (with a session cookie, if given): fields, then the file
    /// as `datei`.
    pub async fn upload_to(
        &self,
        uri: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
        file_name: &str,
        content: &[u8],
    ) -> (StatusCode, String, Option<String>) {
        let boundary = "----quartier-test-boundary";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(content);
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = Request::post(uri)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c.split(';').next().unwrap());
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub fn store(&self) -> InPlace {
        InPlace(Some(tokio::task::block_in_place(|| self.db.open().unwrap())))
    }

    pub fn values(&self, variable: &str) -> Vec<(String, Option<f64>)> {
        let f = ValueFilter { variable: Some(variable.into()), ..Default::default() };
        self.store().values(&f).unwrap().into_iter().map(|v| (v.area, v.cell.number())).collect()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The value of a hidden field in a page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no field {name} in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// Saves the catalogue with one indicator, child poverty (Kinder SGB II per 100 Kinder unter 15).
pub fn save_child_poverty(s: &mut InPlace) {
    let cat = quartier_core::indicator::Catalogue::from_toml(
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb_ii / kinder_unter_15\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    )
    .unwrap();
    let known = s.variables().unwrap().into_iter().map(|v| v.key).collect();
    s.save_catalogue(&cat.checked(&known).unwrap(), false).unwrap();
}

pub fn session_cookie(res: &axum::response::Response) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("quartier_session=") && !v.starts_with("quartier_session=;"))
        .map(|v| v.to_string())
}

impl Site {
    /// Signs in through the form (login cookie and field), returns the session cookie header.
    pub async fn sign_in(&self, name: &str, password: &str, extra: &[(&str, &str)]) -> (StatusCode, Option<String>) {
        self.sign_in_from(None, name, password, extra).await
    }

    /// Signing in over a connection from `peer` (as `serve` sees it), with extra headers.
    pub async fn sign_in_from(
        &self,
        peer: Option<&str>,
        name: &str,
        password: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Option<String>) {
        let res = self.app().oneshot(Request::get("/anmelden").header(header::HOST, HOST).body(Body::empty()).unwrap()).await.unwrap();
        let login = res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let token = login.split_once('=').unwrap().1.to_string();
        let mut req = Request::post("/anmelden")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, login)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let body = format!("login={token}&name={}&passwort={}", urlencode(name), urlencode(password));
        let mut req = req.body(Body::from(body)).unwrap();
        if let Some(p) = peer {
            let addr: std::net::SocketAddr = format!("{p}:40000").parse().unwrap();
            req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        }
        let res = self.app().oneshot(req).await.unwrap();
        (res.status(), session_cookie(&res))
    }

    /// A form post with a session cookie.
    pub async fn post_as(&self, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let body = fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
        let req = Request::post(uri)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, cookie.split(';').next().unwrap())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, b)
    }

    pub async fn get_as(&self, cookie: &str, uri: &str) -> String {
        let req = Request::get(uri)
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie.split(';').next().unwrap())
            .body(Body::empty())
            .unwrap();
        self.send(req).await.1
    }
}

pub trait IntoStatus {
    fn into_status(self) -> (StatusCode, String);
}

impl IntoStatus for (StatusCode, String, Option<String>) {
    fn into_status(self) -> (StatusCode, String) {
        (self.0, self.1)
    }
}

/// The test site's areas with square geometries near Bochum (Stadtteile 01 and 02, their
/// Sozialräume side by side), children and children in SGB II in 2024, child poverty.
pub fn with_squares(site: &Site) {
    let sq = |x: f64, w: f64| -> quartier_geom::MultiPolygon {
        let (y, h) = (51.48, 0.01);
        quartier_geom::MultiPolygon(vec![quartier_geom::Polygon::new(
            quartier_geom::LineString::from(vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]),
            vec![],
        )])
    };
    let area = |key: &str, parent: Option<&str>, g: quartier_geom::MultiPolygon| NewArea {
        key: key.into(),
        name: format!("Gebiet {key}"),
        parent: parent.map(Into::into),
        geometry: Some(quartier_geom::wkb::encode(&g)),
        source_geometry: None,
        area_m2: None,
        origin: key.into(),
    };
    let mut s = site.store();
    let batch =
        |level: &str, areas| AreaBatch { file: "gebiete.geojson".into(), level: level.into(), areas, source_crs: None, version: None };
    s.apply_areas(&batch("Stadtteil", vec![area("01", None, sq(7.10, 0.02)), area("02", None, sq(7.12, 0.01))]), false).unwrap();
    s.apply_areas(
        &batch(
            "Sozialraum",
            vec![
                area("0101", Some("01"), sq(7.10, 0.01)),
                area("0102", Some("01"), sq(7.11, 0.01)),
                area("0201", Some("02"), sq(7.12, 0.01)),
            ],
        ),
        false,
    )
    .unwrap();
    let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder unter 15;120\n0102;2024;Kinder unter 15;80\n0201;2024;Kinder unter 15;300\n\
                0101;2024;Kinder SGB II;30\n0102;2024;Kinder SGB II;8\n0201;2024;Kinder SGB II;90\n";
    let p = site.dir.path().join("d.csv");
    std::fs::write(&p, data).unwrap();
    quartier_import::load::data(&mut s, &p, "d.csv", &Default::default(), false).unwrap();
    save_child_poverty(&mut s);
}
