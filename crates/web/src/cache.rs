//! Results computed from the database, kept between requests until the database changes.
//!
//! Pages open the store read-only per request; recomputing every indicator of every area
//! (or an index with its robustness runs) for each page would cost far more than rendering.
//! The cache is keyed by the database's version: for SQLite size and modification time of the
//! database file and its write-ahead log, which every committed change touches (two `stat`
//! calls per request); for PostgreSQL a counter that triggers raise with every change.

use quartier_app::indexing::Table;
use quartier_app::store::{Location, Store};
use quartier_app::views::{IndicatorQuery, IndicatorResults, compute_indicators};
use quartier_geom::MultiPolygon;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The database's version (opaque; see [`Location::data_version`]).
fn version(db: &Location) -> String {
    db.data_version().unwrap_or_default()
}

/// An index's result table and, for MSS-style indices, its robustness table.
pub struct IndexResult {
    pub table: Result<Table, String>,
    pub robustness: Option<Table>,
}

/// Geometries of one level and their queen neighbours (positions into `geoms`).
pub struct LevelShapes {
    pub geoms: Vec<(String, MultiPolygon)>,
    pub neighbours: Vec<Vec<usize>>,
}

pub use crate::map::MapPaths;

#[derive(Default)]
struct Inner {
    version: Option<String>,
    indicators: HashMap<(Option<u64>, Option<String>), Arc<IndicatorResults>>,
    indices: HashMap<String, Arc<IndexResult>>,
    shapes: HashMap<String, Arc<LevelShapes>>,
    map_paths: HashMap<String, Arc<MapPaths>>,
    variables: Option<Arc<Vec<quartier_app::store::VariableRecord>>>,
    /// Whole page models by their query (at most [`MEMO_MAX`], then started afresh).
    memo: HashMap<String, Arc<dyn std::any::Any + Send + Sync>>,
}

const MEMO_MAX: usize = 256;

pub struct Cache {
    inner: Mutex<Inner>,
    pages: Mutex<Pages>,
    /// Requests being made per key: the others asking for the same page wait for it
    /// instead of making it again (a crowd arriving together, or after a change).
    making: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Pages made at once; more wait (the machine has few cores).
    pub makers: tokio::sync::Semaphore,
    /// A server database's version as last asked (PostgreSQL: a query), reused for a moment
    /// while other requests are in flight.
    pub version_seen: Mutex<Option<(std::time::Instant, String)>>,
    /// Reports generated in the background (Berichte), kept per definition and data version.
    pub reports: crate::reports::Jobs,
    /// Requests in flight through the page cache.
    pub in_flight: std::sync::atomic::AtomicUsize,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            inner: Mutex::default(),
            pages: Mutex::default(),
            making: Mutex::default(),
            makers: tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)),
            version_seen: Mutex::default(),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            reports: Default::default(),
        }
    }
}

/// Whole responses (already compressed, with their headers) by request, for the database
/// version they were made from.
#[derive(Default)]
struct Pages {
    version: String,
    entries: HashMap<String, Arc<Page>>,
    bytes: usize,
    /// The pages of the version before, served for a short while to those who would
    /// otherwise wait while the new page is being made.
    stale: HashMap<String, Arc<Page>>,
    stale_since: Option<std::time::Instant>,
}

/// How long after a change the previous page may still be served to those arriving while
/// its successor is being made (a heavy page on a busy machine can take a while).
const STALE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// A finished response as sent.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: axum::body::Bytes,
    pub etag: String,
    made: std::time::Instant,
    /// Not served after this (the end of the session it was made for).
    until: Option<std::time::Instant>,
}

impl Page {
    /// Within `age` of its making, and its session not over.
    fn within(&self, age: std::time::Duration) -> bool {
        self.made.elapsed() < age && self.until.is_none_or(|u| std::time::Instant::now() < u)
    }
}

/// Pages are kept a minute at most, and never past the end of the session they were made
/// for (signing out or removing an account changes the data version, which drops them), up
/// to this many bytes in all.
const PAGES_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const PAGES_MAX_BYTES: usize = 64 << 20;
const PAGE_MAX_BYTES: usize = 8 << 20;

impl Cache {
    /// The lock that one maker of a page holds while the others wait.
    pub fn maker_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut g = self.making.lock().unwrap_or_else(|e| e.into_inner());
        if g.len() > 4096 {
            g.retain(|_, m| Arc::strong_count(m) > 1);
        }
        g.entry(key.to_string()).or_default().clone()
    }

    /// A finished response for this request and database version, if one is fresh.
    pub fn page(&self, version: &str, key: &str) -> Option<Arc<Page>> {
        let mut g = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if g.version != version {
            // The database changed: the pages so far become the stale set (unless none were
            // made since the change before: then that set stays).
            let old = std::mem::take(&mut g.entries);
            g.version = version.to_string();
            g.bytes = 0;
            if !old.is_empty() {
                g.stale = old;
                g.stale_since = Some(std::time::Instant::now());
            }
            return None;
        }
        g.entries.get(key).filter(|p| p.within(PAGES_TTL)).cloned()
    }

    /// This version's page past its minute (the same data; made again in the background).
    pub fn expired_page(&self, key: &str) -> Option<Arc<Page>> {
        let g = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        g.entries.get(key).filter(|p| p.within(PAGES_TTL + STALE_FOR)).cloned()
    }

    /// A page to serve to those arriving while another request makes it: this version's page
    /// past its minute, or the page of the version before, for a short while after a change.
    /// (The request that makes it after a change waits for it: whoever changed the data sees
    /// the change on the next page.)
    pub fn stale_page(&self, key: &str) -> Option<Arc<Page>> {
        if let Some(p) = self.expired_page(key) {
            return Some(p);
        }
        let g = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        g.stale_since.filter(|t| t.elapsed() < STALE_FOR)?;
        g.stale.get(key).filter(|p| p.within(PAGES_TTL + STALE_FOR)).cloned()
    }

    /// Keeps a finished response (served until `until` at the latest); returns it for sending.
    pub fn keep_page(
        &self,
        version: &str,
        key: String,
        status: u16,
        headers: Vec<(String, Vec<u8>)>,
        body: axum::body::Bytes,
        until: Option<std::time::Instant>,
    ) -> Arc<Page> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (version, &key, &body[..]).hash(&mut h);
        let page =
            Arc::new(Page { status, headers, etag: format!("\"q{:016x}\"", h.finish()), body, made: std::time::Instant::now(), until });
        if page.body.len() > PAGE_MAX_BYTES {
            return page;
        }
        let mut g = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if g.version != version {
            return page;
        }
        if g.bytes + page.body.len() > PAGES_MAX_BYTES {
            g.entries.clear();
            g.bytes = 0;
        }
        g.bytes += page.body.len();
        g.entries.insert(key, page.clone());
        page
    }
}

impl Cache {
    /// The entries for the database as it is now (dropped if it changed).
    fn current(&self, db: &Location) -> std::sync::MutexGuard<'_, Inner> {
        let v = version(db);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.version.as_deref() != Some(v.as_str()) {
            *g = Inner { version: Some(v), ..Default::default() };
        }
        g
    }

    /// Every indicator for every area, level and year (public: with disclosure control).
    pub fn indicators(&self, db: &Location, store: &dyn Store, public: Option<f64>) -> Result<Arc<IndicatorResults>, String> {
        let key = (public.map(f64::to_bits), store.boundary_date());
        if let Some(r) = self.current(db).indicators.get(&key) {
            return Ok(Arc::clone(r));
        }
        let r = Arc::new(compute_indicators(store, &IndicatorQuery { public, ..Default::default() })?);
        self.current(db).indicators.insert(key, Arc::clone(&r));
        Ok(r)
    }

    /// One indicator's values (all areas, levels and years, and its references): the full
    /// results when they are already computed, else this indicator alone. Disclosure control
    /// works per indicator and year, so both give the same rows. A first visit to the map or
    /// an indicator page of a large level then computes one indicator, not the catalogue.
    pub fn indicator(&self, db: &Location, store: &dyn Store, public: Option<f64>, id: &str) -> Result<Arc<IndicatorResults>, String> {
        if let Some(r) = self.current(db).indicators.get(&(public.map(f64::to_bits), store.boundary_date())) {
            return Ok(Arc::clone(r));
        }
        self.memo(db, format!("indikator|{id}|{:?}|{:?}", public.map(f64::to_bits), store.boundary_date()), || {
            // An unknown id: no rows, and the caller says what is missing.
            let catalogue = store.catalogue().map_err(|e| e.to_string())?;
            if !catalogue.indicators.is_empty() && catalogue.get(id).is_none() {
                return Ok(IndicatorResults { catalogue, ..Default::default() });
            }
            compute_indicators(store, &IndicatorQuery { indicators: vec![id.to_string()], public, ..Default::default() })
        })
    }

    /// A saved index computed for its latest year, with robustness (1,000 seeded runs).
    pub fn index(&self, db: &Location, store: &dyn Store, id: &str, def: &quartier_core::index::IndexDefinition) -> Arc<IndexResult> {
        let key = format!("{id}|{:?}", store.boundary_date());
        if let Some(r) = self.current(db).indices.get(&key) {
            return Arc::clone(r);
        }
        let table = quartier_app::indexing::compute_index(store, def, id, None);
        let robustness = (def.method == quartier_core::index::IndexMethod::Mss && table.is_ok())
            .then(|| quartier_app::indexing::robustness_table(store, def, id, None, 1000, 0.5, 1).ok())
            .flatten();
        let r = Arc::new(IndexResult { table, robustness });
        self.current(db).indices.insert(key, Arc::clone(&r));
        r
    }

    /// Geometries and queen neighbours of a level.
    pub fn shapes(&self, db: &Location, store: &dyn Store, level: &str) -> Arc<LevelShapes> {
        let key = format!("{level}|{:?}", store.boundary_date());
        if let Some(r) = self.current(db).shapes.get(&key) {
            return Arc::clone(r);
        }
        let geoms = quartier_app::spatial::level_geometries(store, level).unwrap_or_default();
        let neighbours = quartier_app::spatial::neighbours_of(&geoms, "queen", 0.0).unwrap_or_else(|_| vec![Vec::new(); geoms.len()]);
        let r = Arc::new(LevelShapes { geoms, neighbours });
        self.current(db).shapes.insert(key, Arc::clone(&r));
        r
    }

    /// The SVG outlines of `level` and of the level above it.
    pub fn map_paths(
        &self,
        db: &Location,
        store: &dyn Store,
        levels: &[quartier_app::store::Level],
        level: &str,
    ) -> Result<Arc<MapPaths>, quartier_app::store::StoreError> {
        let key = format!("{level}|{:?}", store.boundary_date());
        if let Some(r) = self.current(db).map_paths.get(&key) {
            return Ok(Arc::clone(r));
        }
        let r = Arc::new(crate::map::level_map(store, levels, level).map_err(quartier_app::store::StoreError::Corrupt)?);
        self.current(db).map_paths.insert(key, Arc::clone(&r));
        Ok(r)
    }

    /// The stored variables with their years and counts (a scan of all values).
    pub fn variables(
        &self,
        db: &Location,
        store: &dyn Store,
    ) -> Result<Arc<Vec<quartier_app::store::VariableRecord>>, quartier_app::store::StoreError> {
        if let Some(v) = &self.current(db).variables {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(store.variables()?);
        self.current(db).variables = Some(Arc::clone(&v));
        Ok(v)
    }

    /// `make()` computed once per `key` and database version.
    pub fn memo<T: Send + Sync + 'static, E>(&self, db: &Location, key: String, make: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        if let Some(v) = self.current(db).memo.get(&key).and_then(|v| Arc::clone(v).downcast::<T>().ok()) {
            return Ok(v);
        }
        let v = Arc::new(make()?);
        let mut g = self.current(db);
        if g.memo.len() >= MEMO_MAX {
            g.memo.clear();
        }
        g.memo.insert(key, Arc::clone(&v) as Arc<dyn std::any::Any + Send + Sync>);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn keep(cache: &Cache, key: &str, until: Option<Instant>) {
        cache.keep_page("v1", key.into(), 200, Vec::new(), axum::body::Bytes::from_static(b"page"), until);
    }

    #[test]
    fn a_page_is_not_served_past_its_session() {
        let cache = Cache::default();
        assert!(cache.page("v1", "seed").is_none()); // adopts version v1
        keep(&cache, "open", Some(Instant::now() + Duration::from_secs(3600)));
        keep(&cache, "ended", Some(Instant::now()));
        keep(&cache, "no session", None);
        assert!(cache.page("v1", "open").is_some());
        assert!(cache.page("v1", "no session").is_some());
        // Neither fresh, nor past its minute, nor as the stale page for a crowd.
        assert!(cache.page("v1", "ended").is_none());
        assert!(cache.expired_page("ended").is_none());
        assert!(cache.stale_page("ended").is_none());
    }
}
