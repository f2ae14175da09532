//! Storage for Quartier.
//!
//! Persistence only: [`Store`] is the interface the use cases (`quartier-app`) and the edges
//! program against; [`sqlite::SqliteStore`] implements it on one SQLite file (the one-command
//! default), [`postgres::PostgresStore`] on a server. [`Location`] names a database and opens
//! the right implementation; [`scope`] limits a store to what a request may see. The analysis
//! core never sees this crate, and this crate computes nothing beyond checking what it stores.
//!
//! Every `apply_*` call is one transaction: it validates the whole batch against what is
//! stored and either writes all of it or nothing.

pub mod accounts;
pub mod action;
mod common;
pub mod copy;
mod migrations;
pub mod model;
pub mod offers;
mod pg_tls;
pub mod postgres;
pub mod scope;
mod shared;
mod sql;
pub mod sqlite;
pub mod testing;

pub use model::*;
pub use sqlite::SqliteStore;

use std::path::{Path, PathBuf};

/// Where the database is: an SQLite file, or a PostgreSQL server (`postgres://…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a server, anything else a file.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s))
        }
    }

    pub fn from_path(p: &Path) -> Location {
        match p.to_str() {
            Some(s) => Location::parse(s),
            None => Location::Sqlite(p.to_path_buf()),
        }
    }

    /// Opens (creating and migrating if needed) the database for reading and writing.
    pub fn open(&self) -> Result<Box<dyn Store + Send>> {
        Ok(match self {
            Location::Sqlite(p) => Box::new(SqliteStore::open(p)?),
            Location::Postgres(url) => Box::new(postgres::PostgresStore::open(url)?),
        })
    }

    /// Opens an existing database for reading (the web app's request handlers).
    pub fn open_read_only(&self) -> Result<Box<dyn Store + Send>> {
        Ok(match self {
            Location::Sqlite(p) => Box::new(SqliteStore::open_read_only(p)?),
            Location::Postgres(url) => Box::new(postgres::PostgresStore::open_read_only(url)?),
        })
    }

    /// Changes whenever a committed change reaches the database; opaque. For SQLite without
    /// opening it (see [`SqliteStore::data_version`]).
    pub fn data_version(&self) -> Result<String> {
        match self {
            Location::Sqlite(p) => Ok(sqlite::file_version(p)),
            Location::Postgres(_) => self.open_read_only()?.data_version(),
        }
    }

    /// The SQLite file, when it is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::from_path(&p)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::from_path(p)
    }
}

impl std::fmt::Display for Location {
    /// The file, or the server URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let user = &url[scheme + 3..at];
                    let user = user.split(':').next().unwrap_or_default();
                    write!(f, "{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
                }
                _ => write!(f, "{url}"),
            },
        }
    }
}

use quartier_core::validate::Problem;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Datenbankfehler: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database server or backend (connection, PostgreSQL error).
    #[error("Datenbankfehler: {0}")]
    Backend(String),
    /// The database was written by a newer Quartier.
    #[error("die Datenbank hat Schema-Version {found}, dieses Quartier kennt nur bis {known}: bitte Quartier aktualisieren")]
    TooNew { found: i64, known: i64 },
    /// A level named in a command does not exist.
    #[error("Ebene „{0}“ ist nicht definiert. Vorhandene Ebenen: {1}. Neue Ebenen anlegen mit: quartier levels define OBERSTE … UNTERSTE")]
    UnknownLevel(String, String),
    /// Invalid level definition.
    #[error("{0}")]
    Levels(String),
    /// The batch does not fit what is stored; nothing was written.
    #[error("{} Problem(e), nichts wurde gespeichert:\n{}", .0.len(), format_problems(.0))]
    Invalid(Vec<Problem>),
    /// Area batch problems (parents, keys).
    #[error("{} Problem(e), nichts wurde gespeichert:\n{}", .0.len(), .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    InvalidAreas(Vec<String>),
    /// Login refused (throttled) or account invalid.
    #[error("{0}")]
    Account(String),
    /// A record that refers to something that does not exist, or is otherwise invalid.
    #[error("{0}")]
    InvalidRecord(String),
    /// Someone else changed the record since it was read (optimistic locking).
    #[error("{0}")]
    Conflict(String),
    /// Offers that refer to entries that exist neither in the batch nor in the store.
    #[error("{} Problem(e), nichts wurde gespeichert:\n{}", .0.len(), .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    InvalidOffers(Vec<String>),
    /// An import that cannot be undone (and why).
    #[error("{0}")]
    Undo(String),
    /// A stored value that cannot be read back (e.g. a definition from a newer version).
    #[error("gespeicherter Eintrag nicht lesbar: {0}")]
    Corrupt(String),
}

fn format_problems(p: &[Problem]) -> String {
    const SHOWN: usize = 30;
    let mut s: Vec<String> = p.iter().take(SHOWN).map(|p| format!("  - {p}")).collect();
    if p.len() > SHOWN {
        s.push(format!("  … und {} weitere", p.len() - SHOWN));
    }
    s.join("\n")
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An area's geometry as delivered: key, source EPSG code, WKB in that CRS.
pub type SourceGeometry = (String, Option<u32>, Option<Vec<u8>>);

/// What the CLI and the web app need from storage.
pub trait Store {
    /// Levels, top (rank 0) to bottom.
    fn levels(&self) -> Result<Vec<Level>>;
    /// Defines the level order top to bottom. Existing levels must keep their relative order;
    /// new names are inserted where they stand in `names`.
    fn define_levels(&mut self, names: &[String]) -> Result<Vec<Level>>;
    /// Areas without geometry, optionally of one level, ordered by level and key.
    fn areas(&self, level: Option<&str>) -> Result<Vec<AreaRecord>>;
    /// WGS84 WKB geometries of a level's areas, by key.
    fn geometries(&self, level: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// Geometries of a level as delivered: (key, source EPSG, WKB in that CRS), in key order.
    fn source_geometries(&self, level: &str) -> Result<Vec<SourceGeometry>>;
    /// Inserts or updates the areas of one level in one transaction.
    fn apply_areas(&mut self, batch: &AreaBatch, dry_run: bool) -> Result<AreaReport>;
    /// The areas of several levels (from the top down) in one transaction.
    fn apply_area_batches(&mut self, batches: &[AreaBatch], dry_run: bool) -> Result<Vec<AreaReport>>;
    /// Inserts or replaces values in one transaction, after validating all rows.
    fn apply_data(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport>;
    /// Variables with their metadata and coverage.
    fn variables(&self) -> Result<Vec<VariableRecord>>;
    /// Each variable's kind (count or rate): what [`Store::variables`] tells without counting
    /// the values.
    fn variable_kinds(&self) -> Result<Vec<(String, quartier_core::validate::VariableKind)>>;
    /// Delivered values, filtered.
    fn values(&self, filter: &ValueFilter) -> Result<Vec<ValueRecord>>;
    /// All areas as plain hierarchy nodes (for summing counts up the levels); node keys are
    /// [`sqlite::node_key`]`(rank, key)` since area keys are unique only within a level.
    fn hierarchy(&self) -> Result<Vec<quartier_core::hierarchy::AreaNode>>;
    /// The stored indicator catalogue, in dependency order.
    fn catalogue(&self) -> Result<quartier_core::indicator::Catalogue>;
    /// Stores a checked catalogue (replacing the stored one) in one transaction.
    fn save_catalogue(&mut self, cat: &quartier_core::indicator::Catalogue, dry_run: bool) -> Result<CatalogueReport>;
    /// Delivered cells of the given variables in all years, keyed by (variable, year) and
    /// hierarchy node key.
    fn cells(&self, variables: &[String]) -> Result<CellTable>;
    /// The years in which any of the given variables has a stored value, ascending.
    fn value_years(&self, variables: &[String]) -> Result<Vec<i32>>;
    /// Frozen class breaks of an indicator on a level: (method, bins).
    fn frozen_breaks(&self, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>>;
    fn freeze_breaks(&mut self, indicator: &str, level: &str, method: &str, bins: &[f64]) -> Result<()>;
    /// Saved index definitions: (id, TOML).
    fn index_definitions(&self) -> Result<Vec<(String, String)>>;
    /// Saves (or replaces) an index definition under its id.
    fn save_index_definition(&mut self, id: &str, toml: &str) -> Result<()>;
    /// Log of imports, newest first.
    fn imports(&self) -> Result<Vec<ImportRecord>>;
    /// Undoes a data import in one transaction: removes the values it added and puts back
    /// the ones it replaced. Refused (naming them) while later imports replaced its values.
    fn undo_import(&mut self, id: i64) -> Result<UndoReport>;
    /// Installation settings (e.g. data source attribution).
    fn setting(&self, key: &str) -> Result<Option<String>>;
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()>;
    /// Removes a setting (audited with its last value); false if there was none.
    fn remove_setting(&mut self, key: &str) -> Result<bool>;
    /// Inserts or updates offers (by id) in one transaction; references (service →
    /// organisation, link → service and location) must exist in the batch or the store.
    fn save_offers(&mut self, batch: &offers::Offers, dry_run: bool) -> Result<offers::OfferReport>;
    /// The stored offer directory, ordered by id.
    fn offers(&self) -> Result<offers::Offers>;
    /// Saves a conference (id 0: new); refused with a conflict when its version is stale.
    /// Returns it with its id and new version.
    fn save_conference(&mut self, c: &action::Conference) -> Result<action::Conference>;
    /// Conferences, newest first; of one area when given (level, key).
    fn conferences(&self, area: Option<(&str, &str)>) -> Result<Vec<action::Conference>>;
    /// Saves a measure (id 0: new), as [`Store::save_conference`].
    fn save_measure(&mut self, m: &action::Measure) -> Result<action::Measure>;
    /// Measures, by id.
    fn measures(&self) -> Result<Vec<action::Measure>>;
    /// Creates an account (password checked against the rules, stored as Argon2id).
    fn add_user(&mut self, name: &str, role: accounts::Role, organization: Option<&str>, password: &str) -> Result<accounts::User>;
    fn users(&self) -> Result<Vec<accounts::User>>;
    /// Creates an account without a password and a time-limited invitation for it: (account,
    /// token). The token is shown once and stored as its hash; the invitee sets the password.
    fn invite_user(
        &mut self,
        name: &str,
        role: accounts::Role,
        organization: Option<&str>,
        valid_seconds: i64,
    ) -> Result<(accounts::User, String)>;
    /// A new invitation for an invited account (earlier links end): the token.
    fn renew_invitation(&mut self, name: &str, valid_seconds: i64) -> Result<String>;
    /// The account an invitation is for and its seconds left; `None`: unknown, expired, used.
    fn invitation(&self, token: &str) -> Result<Option<(String, i64)>>;
    /// Sets the invited account's password (checked against the rules); the link ends.
    fn accept_invitation(&mut self, token: &str, password: &str) -> Result<String>;
    /// Disables an account (kept, no sign-in, its sessions end; the last active administrator
    /// stays) or enables it again.
    fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()>;
    /// Sets a new password (checked against the rules). With `old`, only if it is the current
    /// one (a user changing their own); without, an administrator's reset. Every session of the
    /// account ends.
    fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> Result<()>;
    /// Removes an account and its sessions; the last administrator stays.
    fn remove_user(&mut self, name: &str) -> Result<()>;
    /// Limits an account to an area and what lies below it (a tenant), or lifts the limit.
    fn set_user_scope(&mut self, name: &str, scope: Option<&accounts::Scope>) -> Result<()>;
    /// Grants (or withdraws) a Träger account's reading of internal results.
    fn set_user_internal(&mut self, name: &str, internal: bool) -> Result<()>;
    /// Checks name and password; `None` when wrong. Refused while the account or the address
    /// has 5 failed attempts in the last 15 minutes. A success opens a new session: (token, session).
    fn login(&mut self, name: &str, password: &str, address: &str) -> Result<Option<(String, accounts::Session)>>;
    /// The open session of a token.
    fn session(&self, token: &str) -> Result<Option<accounts::Session>>;
    /// Ends one session, or (`everywhere`) all sessions of its account.
    fn logout(&mut self, token: &str, everywhere: bool) -> Result<()>;
    /// Creates a personal API token for an account (audited): (secret, token). The secret
    /// (`qrt_` and 64 hex digits) is shown once and stored as its hash.
    fn create_api_token(
        &mut self,
        user: &str,
        name: &str,
        scope: accounts::TokenScope,
        valid_seconds: i64,
    ) -> Result<(String, accounts::ApiToken)>;
    /// API tokens of one account, or of all (`None`), newest first; revoked and expired too.
    fn api_tokens(&self, user: Option<&str>) -> Result<Vec<accounts::ApiToken>>;
    /// Revokes a token (audited); with `user`, only one of that account's.
    fn revoke_api_token(&mut self, user: Option<&str>, id: i64) -> Result<()>;
    /// The account and token a presented secret belongs to (also when revoked or expired, so
    /// the caller can say which); `None`: unknown, or the account is disabled.
    fn api_token(&self, secret: &str) -> Result<Option<(accounts::User, accounts::ApiToken)>>;
    /// Notes a token's use now (not audited).
    fn touch_api_token(&mut self, id: i64) -> Result<()>;
    /// Records a change (who, what, old and new value).
    fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()>;
    /// The audit log, newest first.
    fn audit_log(&self) -> Result<Vec<accounts::AuditEntry>>;
    /// Settings whose key starts with `prefix`, by key.
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;
    /// Records `actor` as the author of this connection's changes (imports, edits, audit).
    /// The cells of these variables that are estimates (quality flag `s`: estimated by the
    /// statistics office or carried across a boundary change): (variable, year, node key).
    fn estimated_cells(&self, variables: &[String]) -> Result<quartier_core::indicator::eval::Estimated>;
    /// The dates from which later boundary sets are valid (any level), oldest first.
    fn version_dates(&self) -> Result<Vec<String>>;
    /// Reads of areas, geometries, the hierarchy and values on this connection show the
    /// boundary set valid at `date` (None: the current one, the default). Writes always work
    /// on the current set.
    fn set_boundary_date(&self, date: Option<String>);
    fn boundary_date(&self) -> Option<String>;
    /// The boundary sets of each level (or one), oldest first.
    fn area_versions(&self, level: Option<&str>) -> Result<Vec<AreaVersion>>;
    /// The areas of a level valid at a date (None: the current set).
    fn version_areas(&self, level: &str, at: Option<&str>) -> Result<Vec<VersionArea>>;
    /// Values on the areas of a level valid at a date (None: the current set): (area key,
    /// variable, year, cell, carried over a crosswalk).
    fn version_values(&self, level: &str, at: Option<&str>, variables: &[String]) -> Result<Vec<VersionValue>>;
    /// Stores a crosswalk (replacing one of the same name).
    fn save_crosswalk(&mut self, c: &CrosswalkRecord, dry_run: bool) -> Result<()>;
    /// Stored crosswalks: one by name, or all.
    fn crosswalks(&self, name: Option<&str>) -> Result<Vec<CrosswalkRecord>>;
    fn remove_crosswalk(&mut self, name: &str) -> Result<()>;
    /// Values carried onto the current areas of `level`, stored as estimates (one import).
    fn store_carried(&mut self, level: &str, c: &CarriedValues, dry_run: bool) -> Result<CarryReport>;
    fn set_actor(&mut self, actor: &str);
    /// Changes whenever any committed change reaches the database (for caches of results
    /// computed from it); opaque.
    fn data_version(&self) -> Result<String>;
}

/// A boxed store (what [`Location::open`] returns) is a store.
impl<S: Store + ?Sized> Store for Box<S> {
    fn levels(&self) -> Result<Vec<Level>> {
        (**self).levels()
    }
    fn define_levels(&mut self, names: &[String]) -> Result<Vec<Level>> {
        (**self).define_levels(names)
    }
    fn area_versions(&self, level: Option<&str>) -> Result<Vec<AreaVersion>> {
        (**self).area_versions(level)
    }
    fn estimated_cells(&self, variables: &[String]) -> Result<quartier_core::indicator::eval::Estimated> {
        (**self).estimated_cells(variables)
    }
    fn version_dates(&self) -> Result<Vec<String>> {
        (**self).version_dates()
    }
    fn set_boundary_date(&self, date: Option<String>) {
        (**self).set_boundary_date(date)
    }
    fn boundary_date(&self) -> Option<String> {
        (**self).boundary_date()
    }
    fn version_areas(&self, level: &str, at: Option<&str>) -> Result<Vec<VersionArea>> {
        (**self).version_areas(level, at)
    }
    fn version_values(&self, level: &str, at: Option<&str>, variables: &[String]) -> Result<Vec<VersionValue>> {
        (**self).version_values(level, at, variables)
    }
    fn save_crosswalk(&mut self, c: &CrosswalkRecord, dry_run: bool) -> Result<()> {
        (**self).save_crosswalk(c, dry_run)
    }
    fn crosswalks(&self, name: Option<&str>) -> Result<Vec<CrosswalkRecord>> {
        (**self).crosswalks(name)
    }
    fn remove_crosswalk(&mut self, name: &str) -> Result<()> {
        (**self).remove_crosswalk(name)
    }
    fn store_carried(&mut self, level: &str, c: &CarriedValues, dry_run: bool) -> Result<CarryReport> {
        (**self).store_carried(level, c, dry_run)
    }
    fn areas(&self, level: Option<&str>) -> Result<Vec<AreaRecord>> {
        (**self).areas(level)
    }
    fn geometries(&self, level: &str) -> Result<Vec<(String, Vec<u8>)>> {
        (**self).geometries(level)
    }
    fn source_geometries(&self, level: &str) -> Result<Vec<SourceGeometry>> {
        (**self).source_geometries(level)
    }
    fn apply_areas(&mut self, batch: &AreaBatch, dry_run: bool) -> Result<AreaReport> {
        (**self).apply_areas(batch, dry_run)
    }
    fn apply_area_batches(&mut self, batches: &[AreaBatch], dry_run: bool) -> Result<Vec<AreaReport>> {
        (**self).apply_area_batches(batches, dry_run)
    }
    fn apply_data(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
        (**self).apply_data(batch, dry_run)
    }
    fn variables(&self) -> Result<Vec<VariableRecord>> {
        (**self).variables()
    }
    fn variable_kinds(&self) -> Result<Vec<(String, quartier_core::validate::VariableKind)>> {
        (**self).variable_kinds()
    }
    fn values(&self, filter: &ValueFilter) -> Result<Vec<ValueRecord>> {
        (**self).values(filter)
    }
    fn hierarchy(&self) -> Result<Vec<quartier_core::hierarchy::AreaNode>> {
        (**self).hierarchy()
    }
    fn catalogue(&self) -> Result<quartier_core::indicator::Catalogue> {
        (**self).catalogue()
    }
    fn save_catalogue(&mut self, cat: &quartier_core::indicator::Catalogue, dry_run: bool) -> Result<CatalogueReport> {
        (**self).save_catalogue(cat, dry_run)
    }
    fn cells(&self, variables: &[String]) -> Result<CellTable> {
        (**self).cells(variables)
    }
    fn value_years(&self, variables: &[String]) -> Result<Vec<i32>> {
        (**self).value_years(variables)
    }
    fn frozen_breaks(&self, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>> {
        (**self).frozen_breaks(indicator, level)
    }
    fn freeze_breaks(&mut self, indicator: &str, level: &str, method: &str, bins: &[f64]) -> Result<()> {
        (**self).freeze_breaks(indicator, level, method, bins)
    }
    fn index_definitions(&self) -> Result<Vec<(String, String)>> {
        (**self).index_definitions()
    }
    fn save_index_definition(&mut self, id: &str, toml: &str) -> Result<()> {
        (**self).save_index_definition(id, toml)
    }
    fn imports(&self) -> Result<Vec<ImportRecord>> {
        (**self).imports()
    }
    fn undo_import(&mut self, id: i64) -> Result<UndoReport> {
        (**self).undo_import(id)
    }
    fn setting(&self, key: &str) -> Result<Option<String>> {
        (**self).setting(key)
    }
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        (**self).set_setting(key, value)
    }
    fn remove_setting(&mut self, key: &str) -> Result<bool> {
        (**self).remove_setting(key)
    }
    fn save_offers(&mut self, batch: &offers::Offers, dry_run: bool) -> Result<offers::OfferReport> {
        (**self).save_offers(batch, dry_run)
    }
    fn offers(&self) -> Result<offers::Offers> {
        (**self).offers()
    }
    fn save_conference(&mut self, c: &action::Conference) -> Result<action::Conference> {
        (**self).save_conference(c)
    }
    fn conferences(&self, area: Option<(&str, &str)>) -> Result<Vec<action::Conference>> {
        (**self).conferences(area)
    }
    fn save_measure(&mut self, m: &action::Measure) -> Result<action::Measure> {
        (**self).save_measure(m)
    }
    fn measures(&self) -> Result<Vec<action::Measure>> {
        (**self).measures()
    }
    fn add_user(&mut self, name: &str, role: accounts::Role, organization: Option<&str>, password: &str) -> Result<accounts::User> {
        (**self).add_user(name, role, organization, password)
    }
    fn users(&self) -> Result<Vec<accounts::User>> {
        (**self).users()
    }
    fn invite_user(
        &mut self,
        name: &str,
        role: accounts::Role,
        organization: Option<&str>,
        valid_seconds: i64,
    ) -> Result<(accounts::User, String)> {
        (**self).invite_user(name, role, organization, valid_seconds)
    }
    fn renew_invitation(&mut self, name: &str, valid_seconds: i64) -> Result<String> {
        (**self).renew_invitation(name, valid_seconds)
    }
    fn invitation(&self, token: &str) -> Result<Option<(String, i64)>> {
        (**self).invitation(token)
    }
    fn accept_invitation(&mut self, token: &str, password: &str) -> Result<String> {
        (**self).accept_invitation(token, password)
    }
    fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        (**self).set_user_disabled(name, disabled)
    }
    fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> Result<()> {
        (**self).set_password(name, old, new)
    }
    fn remove_user(&mut self, name: &str) -> Result<()> {
        (**self).remove_user(name)
    }
    fn set_user_scope(&mut self, name: &str, scope: Option<&accounts::Scope>) -> Result<()> {
        (**self).set_user_scope(name, scope)
    }
    fn set_user_internal(&mut self, name: &str, internal: bool) -> Result<()> {
        (**self).set_user_internal(name, internal)
    }
    fn login(&mut self, name: &str, password: &str, address: &str) -> Result<Option<(String, accounts::Session)>> {
        (**self).login(name, password, address)
    }
    fn session(&self, token: &str) -> Result<Option<accounts::Session>> {
        (**self).session(token)
    }
    fn logout(&mut self, token: &str, everywhere: bool) -> Result<()> {
        (**self).logout(token, everywhere)
    }
    fn create_api_token(
        &mut self,
        user: &str,
        name: &str,
        scope: accounts::TokenScope,
        valid_seconds: i64,
    ) -> Result<(String, accounts::ApiToken)> {
        (**self).create_api_token(user, name, scope, valid_seconds)
    }
    fn api_tokens(&self, user: Option<&str>) -> Result<Vec<accounts::ApiToken>> {
        (**self).api_tokens(user)
    }
    fn revoke_api_token(&mut self, user: Option<&str>, id: i64) -> Result<()> {
        (**self).revoke_api_token(user, id)
    }
    fn api_token(&self, secret: &str) -> Result<Option<(accounts::User, accounts::ApiToken)>> {
        (**self).api_token(secret)
    }
    fn touch_api_token(&mut self, id: i64) -> Result<()> {
        (**self).touch_api_token(id)
    }
    fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
        (**self).audit(action, object, old, new)
    }
    fn audit_log(&self) -> Result<Vec<accounts::AuditEntry>> {
        (**self).audit_log()
    }
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        (**self).settings_with_prefix(prefix)
    }
    fn set_actor(&mut self, actor: &str) {
        (**self).set_actor(actor)
    }
    fn data_version(&self) -> Result<String> {
        (**self).data_version()
    }
}
