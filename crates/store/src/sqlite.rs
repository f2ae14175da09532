//! The SQLite implementation of [`Store`]: one file, WAL, foreign keys on, migrations on open.

use crate::common::{self, cell_from_sql, system_user};
use crate::migrations::MIGRATIONS;
use crate::model::*;
use crate::shared;
use crate::{Result, Store, StoreError};
use quartier_core::hierarchy::AreaNode;
use quartier_core::indicator::Catalogue;
use quartier_core::validate::VariableKind;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::path::Path;

/// A consistent copy of the database at `out` (one snapshot, even while others write),
/// checked for integrity.
pub fn backup(db: &Path, out: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute("VACUUM INTO ?1", [out.to_string_lossy().as_ref()])?;
    let check: String = Connection::open(out)?.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!("Sicherung {}: {check}", out.display())));
    }
    Ok(())
}

/// Whether `path` is an intact Quartier database (for restoring it).
pub fn check_backup(path: &Path) -> Result<()> {
    let bad = |why: String| StoreError::Corrupt(format!("{}: {why}", path.display()));
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|_| bad("keine SQLite-Datenbank".into()))?;
    if check != "ok" {
        return Err(bad(format!("beschädigt ({check})")));
    }
    let has_schema: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'area')", [], |r| r.get(0))?;
    if !has_schema {
        return Err(bad("keine Quartier-Datenbank".into()));
    }
    Ok(())
}

/// What changes with every committed change and nothing else: the header of the
/// write-ahead-log index (`-shm`), whose change counter, last committed frame and salts SQLite
/// rewrites only when a transaction commits (or a new log starts), together with the database
/// file's identity (a restore replaces the file). The log grows during a long import before it
/// commits, and a checkpoint rewrites the database file after it with the same content:
/// neither changes the version, so readers keep their caches. Without an index file (no
/// connection open) size and time of the file and its log stand in. No query.
pub fn file_version(path: &Path) -> String {
    use std::io::Read;
    let stat = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| format!("{}:{:?}", m.len(), m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())))
            .unwrap_or_default()
    };
    let side = |ext: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let mut header = [0u8; 48];
    let shm = std::fs::File::open(side("-shm")).and_then(|mut f| f.read_exact(&mut header));
    match (shm, identity(path)) {
        (Ok(()), Some(id)) if header[12] != 0 => format!("{id}|{}", header.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        _ => format!("{}|{}", stat(path), stat(&side("-wal"))),
    }
}

/// The file's identity (device and inode), which a restore changes.
#[cfg(unix)]
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| format!("{}:{}", m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &Path) -> Option<String> {
    None
}

/// Folds the write-ahead log into the database file (best effort).
pub fn checkpoint(db: &Path) {
    if let Ok(c) = Connection::open(db) {
        let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// One entry of the audit log inside a transaction.
fn audit_tx(c: &Connection, who: &str, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
    shared::audit_tx(&mut { c }, who, action, object, old, new)
}

pub struct SqliteStore {
    conn: Connection,
    /// The file (None in memory), for the data version.
    path: Option<std::path::PathBuf>,
    /// Who makes the changes, recorded with every import (the account, once there are
    /// accounts; until then the system user or "Browser").
    actor: String,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path)?;
        let mut store = Self::init(conn)?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// Opens an existing database read-only (for the web app's request handlers).
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Read through a memory map: a connection per web request then shares the operating
        // system's page cache instead of copying every page in with a read call.
        conn.pragma_update(None, "mmap_size", 256i64 << 20)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew { found: version, known: MIGRATIONS.len() as i64 });
        }
        Ok(SqliteStore { conn, path: Some(path.to_path_buf()), actor: system_user() })
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> Result<SqliteStore> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<SqliteStore> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 64 MiB page cache: bulk imports touch the value indexes all over.
        conn.pragma_update(None, "cache_size", -65536)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(SqliteStore { conn, path: None, actor: system_user() })
    }

    /// Records `actor` as the author of this connection's imports and undos.
    pub fn with_actor(mut self, actor: &str) -> SqliteStore {
        self.actor = actor.to_string();
        self
    }

    /// Schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Whether foreign keys are enforced on this connection (always, outside bulk writes).
    pub fn foreign_keys_enabled(&self) -> Result<bool> {
        Ok(self.conn.pragma_query_value(None, "foreign_keys", |r| r.get::<_, i64>(0))? == 1)
    }

    /// Journal mode in effect ("wal" for file databases).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self.conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?)
    }
}

fn level_id(c: &Connection, name: &str) -> Result<(i64, usize)> {
    shared::level_id(&mut { c }, name)
}

use crate::sql::BULK_ROWS;

impl SqliteStore {
    /// Reads through the shared SQL.
    fn sql<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Sql) -> Result<T>) -> Result<T> {
        f(&mut &self.conn)
    }

    /// Runs `f` in a transaction, committed unless `dry_run`.
    fn write<T>(&mut self, dry_run: bool, f: impl FnOnce(&mut dyn crate::sql::Sql, &str) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&mut &*tx, &self.actor)?;
        if dry_run {
            tx.rollback()?
        } else {
            tx.commit()?
        }
        Ok(out)
    }

    fn apply_data_tx(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
        let tx = self.conn.transaction()?;
        let (report, import_id, summary) = shared::apply_data(&mut &*tx, &self.actor, batch, dry_run)?;
        finish_import(tx, import_id, &summary, dry_run)?;
        Ok(report)
    }
}

/// Records an import's summary in the log, then commits — or, for a dry run, rolls back the
/// whole transaction including the log entry, so a dry run leaves no trace.
fn finish_import(tx: rusqlite::Transaction<'_>, import_id: i64, summary: &str, dry_run: bool) -> Result<()> {
    finish_imports(tx, &[(import_id, summary.to_string())], dry_run)
}

/// Records the summaries of the imports of one transaction (and their audit entries), then
/// commits or, for a dry run, rolls back.
fn finish_imports(tx: rusqlite::Transaction<'_>, imports: &[(i64, String)], dry_run: bool) -> Result<()> {
    for (import_id, summary) in imports {
        tx.execute("UPDATE import SET summary = ?1 WHERE id = ?2", params![summary, import_id])?;
        // The audit log names every import with what it changed (the values it replaced are kept
        // in value_replaced).
        let (kind, file, who): (String, String, String) =
            tx.query_row("SELECT kind, file, who FROM import WHERE id = ?1", [import_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let action = if kind == "data" { "Daten importiert" } else { "Gebiete importiert" };
        audit_tx(&tx, &who, action, &format!("Import {import_id} ({file})"), None, Some(summary))?;
    }
    if dry_run {
        tx.rollback()?
    } else {
        tx.commit()?
    }
    Ok(())
}

impl SqliteStore {
    fn undo_import_tx(&mut self, id: i64) -> Result<UndoReport> {
        let tx = self.conn.transaction()?;
        let row: Option<(String, String, bool, Option<String>)> = tx
            .query_row("SELECT kind, file, undoable, undone_at FROM import WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((kind, file, undoable, undone_at)) = row else {
            return Err(StoreError::Undo(format!("Import {id} gibt es nicht")));
        };
        if let Some(at) = undone_at {
            return Err(StoreError::Undo(format!("Import {id} ({file}) wurde schon am {at} rückgängig gemacht")));
        }
        if kind != "data" {
            return Err(StoreError::Undo(format!(
                "Import {id} ({file}) ist ein Gebietsimport: Gebiete werden durch einen neuen Import der richtigen Datei korrigiert, nicht rückgängig gemacht"
            )));
        }
        if !undoable {
            return Err(StoreError::Undo(format!(
                "Import {id} ({file}) stammt aus einer älteren Quartier-Version, die ersetzte Werte nicht aufbewahrte: die frühere Lieferung erneut importieren"
            )));
        }
        // Later imports that replaced values of this one must be undone first.
        let later: Vec<(i64, String)> = tx
            .prepare(
                "SELECT DISTINCT i.id, i.file FROM value_replaced r JOIN import i ON i.id = r.import_id
                 WHERE r.prev_import_id = ?1 AND i.undone_at IS NULL ORDER BY i.id DESC",
            )?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        if !later.is_empty() {
            let list: Vec<String> = later.iter().map(|(i, f)| format!("{i} ({f})")).collect();
            return Err(StoreError::Undo(format!(
                "Import {id} ({file}): spätere Importe haben seine Werte ersetzt; zuerst diese rückgängig machen: {}",
                list.join(", ")
            )));
        }
        let removed = tx.execute("DELETE FROM value WHERE import_id = ?1", [id])?;
        let restored = tx.execute(
            "INSERT INTO value (variable_id, year, area_id, value, symbol, import_id, meta_id)
             SELECT variable_id, year, area_id, value, symbol, prev_import_id, meta_id FROM value_replaced WHERE import_id = ?1",
            [id],
        )?;
        tx.execute(
            "UPDATE import SET undone_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), undone_by = ?2 WHERE id = ?1",
            params![id, self.actor],
        )?;
        audit_tx(
            &tx,
            &self.actor,
            "Import rückgängig gemacht",
            &format!("Import {id} ({file})"),
            Some(&format!("{removed} Werte")),
            Some(&format!("{restored} frühere Werte wiederhergestellt")),
        )?;
        tx.commit()?;
        Ok(UndoReport { id, file, removed: removed - restored, restored })
    }
}

impl Store for SqliteStore {
    shared::store_methods!();

    fn levels(&self) -> Result<Vec<Level>> {
        let mut st = self
            .conn
            .prepare("SELECT l.name, l.rank, (SELECT count(*) FROM area a WHERE a.level_id = l.id) FROM level l ORDER BY l.rank")?;
        let rows =
            st.query_map([], |r| Ok(Level { name: r.get(0)?, rank: r.get::<_, i64>(1)? as usize, areas: r.get::<_, i64>(2)? as usize }))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn define_levels(&mut self, names: &[String]) -> Result<Vec<Level>> {
        let existing = self.levels()?;
        let order = common::level_order(&existing, names)?;
        let tx = self.conn.transaction()?;
        // Two passes through negative ranks keep the UNIQUE(rank) constraint satisfied.
        tx.execute("UPDATE level SET rank = -rank - 1", [])?;
        for (rank, name) in order.iter().enumerate() {
            let n = tx.execute("UPDATE level SET rank = ?1 WHERE name = ?2", params![rank as i64, name])?;
            if n == 0 {
                tx.execute("INSERT INTO level (name, rank) VALUES (?1, ?2)", params![name, rank as i64])?;
            }
        }
        let (old, new) = common::level_change(&existing, &order);
        if old != new {
            audit_tx(&tx, &self.actor, "Ebenen festgelegt", "Gebietsebenen", Some(&old), Some(&new))?;
        }
        tx.commit()?;
        self.levels()
    }

    fn areas(&self, level: Option<&str>) -> Result<Vec<AreaRecord>> {
        if let Some(l) = level {
            level_id(&self.conn, l)?;
        }
        let mut st = self.conn.prepare(
            "SELECT a.key, a.name, l.name, l.rank, p.key, a.area_m2, a.geom IS NOT NULL
             FROM area a JOIN level l ON l.id = a.level_id LEFT JOIN area p ON p.id = a.parent_id
             WHERE ?1 IS NULL OR l.name = ?1 ORDER BY l.rank, a.key",
        )?;
        let rows = st.query_map([level], |r| {
            Ok(AreaRecord {
                key: r.get(0)?,
                name: r.get(1)?,
                level: r.get(2)?,
                level_rank: r.get::<_, i64>(3)? as usize,
                parent: r.get(4)?,
                area_m2: r.get(5)?,
                has_geometry: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn geometries(&self, level: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let (lid, _) = level_id(&self.conn, level)?;
        let mut st = self.conn.prepare("SELECT key, geom FROM area WHERE level_id = ?1 AND geom IS NOT NULL ORDER BY key")?;
        let rows = st.query_map([lid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn source_geometries(&self, level: &str) -> Result<Vec<crate::SourceGeometry>> {
        let (lid, _) = level_id(&self.conn, level)?;
        let mut st =
            self.conn.prepare("SELECT key, source_crs, geom_source FROM area WHERE level_id = ?1 AND geom IS NOT NULL ORDER BY key")?;
        let rows = st.query_map([lid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn apply_areas(&mut self, batch: &AreaBatch, dry_run: bool) -> Result<AreaReport> {
        self.apply_area_batches(std::slice::from_ref(batch), dry_run).map(|mut r| r.remove(0))
    }

    fn apply_area_batches(&mut self, batches: &[AreaBatch], dry_run: bool) -> Result<Vec<AreaReport>> {
        let tx = self.conn.transaction()?;
        let mut reports = Vec::with_capacity(batches.len());
        let mut done = Vec::with_capacity(batches.len());
        for b in batches {
            let (report, id, summary) = shared::areas_in(&mut &*tx, &self.actor, b, dry_run)?;
            reports.push(report);
            done.push((id, summary));
        }
        finish_imports(tx, &done, dry_run)?;
        Ok(reports)
    }

    fn apply_data(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
        // In bulk deliveries referential integrity of the new value rows holds by construction
        // (area and variable ids are looked up inside the same transaction), so SQLite's
        // per-row foreign-key lookups, a third of the insert time, are switched off for them.
        // The pragma is per connection and only takes effect outside a transaction.
        let bulk = batch.rows.len() > BULK_ROWS;
        if bulk {
            self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        }
        let result = self.apply_data_tx(batch, dry_run);
        if bulk {
            self.conn.pragma_update(None, "foreign_keys", "ON")?;
        }
        result
    }

    fn variables(&self) -> Result<Vec<VariableRecord>> {
        let mut st = self.conn.prepare(
            "SELECT v.key, v.label, v.unit, v.kind, v.source, v.reference_date, v.description,
                    (SELECT group_concat(y) FROM (SELECT DISTINCT year AS y FROM value WHERE variable_id = v.id ORDER BY year)),
                    (SELECT count(*) FROM value WHERE variable_id = v.id),
                    (SELECT count(*) FROM value WHERE variable_id = v.id AND symbol IS NOT NULL)
             FROM variable v ORDER BY v.key",
        )?;
        let rows = st.query_map([], |r| {
            let years: Option<String> = r.get(7)?;
            Ok(VariableRecord {
                key: r.get(0)?,
                label: r.get(1)?,
                unit: r.get(2)?,
                kind: if r.get::<_, String>(3)? == "rate" { VariableKind::Rate } else { VariableKind::Count },
                source: r.get(4)?,
                reference_date: r.get(5)?,
                description: r.get(6)?,
                years: years.map(|y| y.split(',').filter_map(|s| s.parse().ok()).collect()).unwrap_or_default(),
                values: r.get::<_, i64>(8)? as usize,
                symbols: r.get::<_, i64>(9)? as usize,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn values(&self, f: &ValueFilter) -> Result<Vec<ValueRecord>> {
        if let Some(l) = &f.level {
            level_id(&self.conn, l)?;
        }
        // Only the given filters go into the statement (each bound, never spliced): with
        // "?1 IS NULL OR …" SQLite cannot use the primary key (variable, year) and scans all values.
        let mut sql = String::from(
            "SELECT a.key, l.name, x.year, v.key, x.value, x.symbol, m.ref_date, m.quality
             FROM value x JOIN variable v ON v.id = x.variable_id JOIN area a ON a.id = x.area_id JOIN level l ON l.id = a.level_id
             LEFT JOIN value_meta m ON m.id = x.meta_id
             WHERE 1 = 1",
        );
        for (present, clause) in [
            (f.variable.is_some(), " AND v.key = ?1"),
            (f.year.is_some(), " AND x.year = ?2"),
            (f.level.is_some(), " AND l.name = ?3"),
            (f.area.is_some(), " AND a.key = ?4"),
        ] {
            if present {
                sql.push_str(clause);
            } else {
                // Keep every parameter referenced, so the numbered binding stays valid.
                sql.push_str(&format!(" AND ({} IS NULL)", &clause[clause.len() - 2..]));
            }
        }
        sql.push_str(" ORDER BY v.key, x.year, l.rank, a.key");
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![f.variable, f.year, f.level, f.area], |r| {
            Ok(ValueRecord {
                area: r.get(0)?,
                level: r.get(1)?,
                year: r.get(2)?,
                variable: r.get(3)?,
                cell: cell_from_sql(r.get(4)?, r.get(5)?),
                reference_date: r.get(6)?,
                quality: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn hierarchy(&self) -> Result<Vec<AreaNode>> {
        Ok(hierarchy_nodes(&self.conn)?.0)
    }

    fn catalogue(&self) -> Result<Catalogue> {
        let mut st = self.conn.prepare("SELECT id, definition FROM indicator ORDER BY position")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut indicators = Vec::new();
        for r in rows {
            let (id, def) = r?;
            indicators.push(serde_json::from_str(&def).map_err(|e| StoreError::Corrupt(format!("Indikator {id}: {e}")))?);
        }
        Ok(Catalogue { indicators })
    }

    fn cells(&self, variables: &[String]) -> Result<CellTable> {
        let mut st = self.conn.prepare_cached(
            "SELECT l.rank, a.key, x.year, x.value, x.symbol FROM value x JOIN variable v ON v.id = x.variable_id
             JOIN area a ON a.id = x.area_id JOIN level l ON l.id = a.level_id WHERE v.key = ?1",
        )?;
        let mut out: CellTable = HashMap::new();
        for var in variables {
            let rows = st.query_map([var], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get::<_, String>(1)?, r.get::<_, i32>(2)?, cell_from_sql(r.get(3)?, r.get(4)?)))
            })?;
            for row in rows {
                let (rank, key, year, cell) = row?;
                out.entry((var.clone(), year)).or_default().insert(node_key(rank, &key), cell);
            }
        }
        Ok(out)
    }

    fn value_years(&self, variables: &[String]) -> Result<Vec<i32>> {
        if variables.is_empty() {
            return Ok(Vec::new());
        }
        // One query for all variables (placeholders only; the keys are bound, never spliced).
        let marks = vec!["?"; variables.len()].join(",");
        let mut st = self.conn.prepare(&format!(
            "SELECT DISTINCT x.year FROM value x JOIN variable v ON v.id = x.variable_id WHERE v.key IN ({marks}) ORDER BY x.year"
        ))?;
        let years = st.query_map(rusqlite::params_from_iter(variables), |r| r.get::<_, i32>(0))?;
        Ok(years.collect::<std::result::Result<_, _>>()?)
    }

    fn undo_import(&mut self, id: i64) -> Result<UndoReport> {
        self.undo_import_tx(id)
    }

    fn set_actor(&mut self, actor: &str) {
        self.actor = actor.to_string();
    }

    fn data_version(&self) -> Result<String> {
        Ok(self.path.as_deref().map(file_version).unwrap_or_default())
    }
}

/// All areas as hierarchy nodes, and each node's (level name, area key).
pub(crate) fn hierarchy_nodes(c: &Connection) -> Result<(Vec<AreaNode>, shared::NodeNames)> {
    shared::hierarchy_nodes(&mut { c })
}
