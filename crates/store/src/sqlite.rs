//! The SQLite implementation of [`Store`]: one file, WAL, foreign keys on, migrations on open.

use crate::common::{self, CHANGES_LISTED, OldValue, cell_from_sql, cell_text, cell_to_sql, system_user};
use crate::migrations::MIGRATIONS;
use crate::model::*;
use crate::{Result, Store, StoreError};
use quartier_core::hierarchy::AreaNode;
use quartier_core::indicator::Catalogue;
use quartier_core::validate::{self, VariableKind};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use std::collections::{BTreeSet, HashMap, HashSet};
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
fn audit_tx(tx: &Transaction, who: &str, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
    tx.execute("INSERT INTO audit (who, action, object, old, new) VALUES (?1, ?2, ?3, ?4, ?5)", params![who, action, object, old, new])?;
    Ok(())
}

/// Why an update by version failed (see [`common::conflict_error`]).
fn conflict(tx: &Transaction, table: &str, id: i64, what: &str) -> StoreError {
    let current: Option<(i64, String)> = tx
        .query_row(&format!("SELECT version, who FROM {table} WHERE id = ?1"), [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .ok()
        .flatten();
    common::conflict_error(current, id, what)
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

fn level_names(tx: &Connection) -> Result<String> {
    let mut st = tx.prepare("SELECT name FROM level ORDER BY rank")?;
    let names: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
    Ok(if names.is_empty() { "keine".into() } else { names.join(" → ") })
}

fn level_id(tx: &Connection, name: &str) -> Result<(i64, usize)> {
    tx.query_row("SELECT id, rank FROM level WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .optional()?
        .ok_or_else(|| StoreError::UnknownLevel(name.to_string(), level_names(tx).unwrap_or_default()))
}

/// A stored area as compared with an import: id, name, parent id, geometry.
type StoredArea = (i64, String, Option<i64>, Option<Vec<u8>>);

fn new_import(tx: &Transaction, kind: &str, file: &str, who: &str) -> Result<i64> {
    // Data imports keep what they replace (value_replaced), so they can be undone.
    tx.execute(
        "INSERT INTO import (kind, file, summary, who, undoable) VALUES (?1, ?2, '', ?3, ?4)",
        params![kind, file, who, kind == "data"],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Deliveries larger than this are written as bulk (index rebuilt, foreign-key lookups off).
const BULK_ROWS: usize = 50_000;

impl SqliteStore {
    fn apply_data_tx(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
        let tx = self.conn.transaction()?;
        let level_filter = match &batch.level {
            Some(l) => Some(level_id(&tx, l)?.0),
            None => None,
        };
        // Area keys → ids; a key on several levels needs --level.
        let mut key_ids: HashMap<String, Vec<i64>> = HashMap::new();
        {
            let mut st =
                tx.prepare("SELECT a.key, a.id, l.name FROM area a JOIN level l ON l.id = a.level_id WHERE ?1 IS NULL OR a.level_id = ?1")?;
            for r in st.query_map([level_filter], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))? {
                let (k, id, level) = r?;
                if batch.area_levels.get(&k).is_none_or(|l| *l == level) {
                    key_ids.entry(k).or_default().push(id);
                }
            }
        }
        let known: HashSet<String> = key_ids.keys().cloned().collect();
        // Kinds: from the batch, else stored, else count.
        let mut kinds: HashMap<String, VariableKind> = {
            let mut st = tx.prepare("SELECT key, kind FROM variable")?;
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .filter_map(|r| r.ok())
                .map(|(k, kind)| (k, if kind == "rate" { VariableKind::Rate } else { VariableKind::Count }))
                .collect()
        };
        for v in &batch.variables {
            if let Some(k) = v.kind {
                kinds.insert(v.key.clone(), k);
            }
        }
        let mut problems = validate::check_rows(&batch.rows, &kinds, &known);
        let ambiguous: BTreeSet<&str> =
            batch.rows.iter().filter(|r| key_ids.get(&*r.area).is_some_and(|v| v.len() > 1)).map(|r| &*r.area).collect();
        if !problems.is_empty() {
            problems.truncate(10_000);
            return Err(StoreError::Invalid(problems));
        }
        if !ambiguous.is_empty() {
            return Err(StoreError::InvalidAreas(
                ambiguous
                    .iter()
                    .take(10)
                    .map(|k| format!("Gebietsschlüssel „{k}“ gibt es auf mehreren Ebenen: bitte --level angeben"))
                    .collect(),
            ));
        }
        let import_id = new_import(&tx, "data", &batch.file, &self.actor)?;
        // Variables: insert new, update metadata given with the delivery.
        let mut report = DataReport { rows: batch.rows.len(), dry_run, ..Default::default() };
        let mut var_ids: HashMap<String, i64> = {
            let mut st = tx.prepare("SELECT key, id FROM variable")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<std::result::Result<_, _>>()?
        };
        let mut metas: HashMap<&str, &VariableMeta> = batch.variables.iter().map(|v| (v.key.as_str(), v)).collect();
        let used: BTreeSet<&str> = batch.rows.iter().map(|r| &*r.variable).collect();
        for key in &used {
            if !var_ids.contains_key(*key) {
                tx.execute("INSERT INTO variable (key) VALUES (?1)", [key])?;
                var_ids.insert(key.to_string(), tx.last_insert_rowid());
                report.variables_new.push(key.to_string());
            }
            let m = metas.remove(key).cloned().unwrap_or_else(|| VariableMeta { key: key.to_string(), ..Default::default() });
            let kind = m.kind.map(|k| k.as_str());
            tx.execute(
                "UPDATE variable SET label = coalesce(?2, label), unit = coalesce(?3, unit), kind = coalesce(?4, kind),
                 source = coalesce(?5, source), reference_date = coalesce(?6, reference_date), description = coalesce(?7, description)
                 WHERE key = ?1",
                params![key, m.label, m.unit, kind, m.source, m.reference_date, m.description],
            )?;
        }
        {
            // Existing values of the delivered variables, fetched once instead of per row.
            // With the import that wrote each, kept for undoing this one.
            let mut old: HashMap<(i64, i32, i64), OldValue, foldhash::fast::RandomState> = HashMap::default();
            {
                let mut st =
                    tx.prepare_cached("SELECT year, area_id, value, symbol, import_id, meta_id FROM value WHERE variable_id = ?1")?;
                for key in &used {
                    let vid = var_ids[*key];
                    for r in st.query_map([vid], |x| {
                        let meta: Option<i64> = x.get(5)?;
                        Ok((x.get::<_, i32>(0)?, x.get::<_, i64>(1)?, cell_from_sql(x.get(2)?, x.get(3)?), x.get::<_, i64>(4)?, meta))
                    })? {
                        let (y, a, c, by, meta) = r?;
                        old.insert((vid, y, a), (c, by, meta));
                    }
                }
            }
            // A large delivery rebuilds the per-area index afterwards (one sort) instead of
            // updating it row by row in random order; DDL is transactional in SQLite.
            let stored: i64 = tx.query_row("SELECT count(*) FROM value", [], |r| r.get(0))?;
            let rebuild_index = batch.rows.len() > BULK_ROWS && batch.rows.len() as i64 > stored / 2;
            if rebuild_index {
                tx.execute_batch("DROP INDEX value_area")?;
            }
            // Write in primary-key order: B-tree appends instead of random page splits.
            let mut order: Vec<(i64, i32, i64, usize)> =
                batch.rows.iter().enumerate().map(|(i, r)| (var_ids[&*r.variable], r.year, key_ids[&*r.area][0], i)).collect();
            order.sort_unstable();
            let mut inserts = BatchInsert::new(&tx, import_id)?;
            let mut update = tx.prepare_cached(
                "UPDATE value SET value = ?4, symbol = ?5, import_id = ?6, meta_id = ?7 WHERE variable_id = ?1 AND year = ?2 AND area_id = ?3",
            )?;
            let mut update_meta =
                tx.prepare_cached("UPDATE value SET meta_id = ?4 WHERE variable_id = ?1 AND year = ?2 AND area_id = ?3")?;
            let mut keep = tx.prepare_cached(
                "INSERT INTO value_replaced (import_id, variable_id, year, area_id, value, symbol, prev_import_id, meta_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let metas = {
                let mut known: HashMap<(Option<String>, Option<String>), i64> = {
                    let mut st = tx.prepare_cached("SELECT id, ref_date, quality FROM value_meta")?;
                    st.query_map([], |r| Ok(((r.get(1)?, r.get(2)?), r.get(0)?)))?.collect::<std::result::Result<_, _>>()?
                };
                common::meta_ids(&batch.rows, |rd, q| {
                    if let Some(id) = known.get(&(rd.map(str::to_string), q.map(str::to_string))) {
                        return Ok(*id);
                    }
                    tx.execute("INSERT INTO value_meta (ref_date, quality) VALUES (?1, ?2)", params![rd, q])?;
                    let id = tx.last_insert_rowid();
                    known.insert((rd.map(str::to_string), q.map(str::to_string)), id);
                    Ok(id)
                })?
            };
            let mut years = BTreeSet::new();
            for (vid, year, aid, i) in order {
                let r = &batch.rows[i];
                years.insert(year);
                let (v, s) = cell_to_sql(r.cell);
                let meta = metas[i];
                match old.get(&(vid, year, aid)) {
                    None => {
                        report.inserted += 1;
                        inserts.push(vid, year, aid, v, s, meta)?;
                    }
                    Some((oc, _, old_meta)) if *oc == r.cell => {
                        report.unchanged += 1;
                        if *old_meta != meta {
                            update_meta.execute(params![vid, year, aid, meta])?;
                        }
                        continue;
                    }
                    Some((oc, by, old_meta)) => {
                        report.changed += 1;
                        if report.changes.len() < CHANGES_LISTED {
                            report.changes.push(ValueChange {
                                area: r.area.to_string(),
                                year,
                                variable: r.variable.to_string(),
                                old: cell_text(*oc),
                                new: cell_text(r.cell),
                            });
                        }
                        let (ov, os) = cell_to_sql(*oc);
                        keep.execute(params![import_id, vid, year, aid, ov, os, by, old_meta])?;
                        update.execute(params![vid, year, aid, v, s, import_id, meta])?;
                    }
                }
            }
            inserts.finish()?;
            if rebuild_index {
                tx.execute_batch("CREATE INDEX value_area ON value(area_id)")?;
            }
            report.years = years.into_iter().collect();
            let counts = common::count_variables(&used, &kinds, &var_ids);
            if !counts.is_empty() {
                let (nodes, levels) = hierarchy_nodes(&tx)?;
                if nodes.iter().any(|n| n.parent.is_some()) {
                    let node_of: HashMap<i64, String> = {
                        let mut st = tx.prepare_cached("SELECT a.id, l.rank, a.key FROM area a JOIN level l ON l.id = a.level_id")?;
                        st.query_map([], |r| Ok((r.get(0)?, node_key(r.get::<_, i64>(1)? as usize, &r.get::<_, String>(2)?))))?
                            .collect::<std::result::Result<_, _>>()?
                    };
                    let new = batch.rows.iter().map(|r| (var_ids[&*r.variable], r.year, key_ids[&*r.area][0], r.cell));
                    report.total_mismatches = common::mismatches_in_memory(&nodes, &levels, &node_of, &counts, &report.years, &old, new);
                }
            }
        }
        let summary = format!(
            "{} Zeilen: {} neu, {} geändert, {} unverändert; Jahre {:?}; {} Abweichungen von Summen",
            report.rows,
            report.inserted,
            report.changed,
            report.unchanged,
            report.years,
            report.total_mismatches.len()
        );
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
            let (report, id, summary) = areas_in(&tx, &self.actor, b, dry_run)?;
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

    fn save_catalogue(&mut self, cat: &Catalogue, dry_run: bool) -> Result<CatalogueReport> {
        let old: HashMap<String, String> = {
            let mut st = self.conn.prepare("SELECT id, definition FROM indicator")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<std::result::Result<_, _>>()?
        };
        let tx = self.conn.transaction()?;
        let mut report = CatalogueReport { dry_run, ..Default::default() };
        let ids: HashSet<&str> = cat.indicators.iter().map(|i| i.id.as_str()).collect();
        for id in old.keys().filter(|k| !ids.contains(k.as_str())) {
            tx.execute("DELETE FROM indicator WHERE id = ?1", [id])?;
            report.removed.push(id.clone());
        }
        report.removed.sort();
        for (pos, ind) in cat.indicators.iter().enumerate() {
            let def = serde_json::to_string(ind).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            match old.get(&ind.id) {
                None => report.inserted.push(ind.id.clone()),
                Some(d) if *d == def => report.unchanged.push(ind.id.clone()),
                Some(_) => report.updated.push(ind.id.clone()),
            }
            tx.execute(
                "INSERT INTO indicator (id, position, definition) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position, definition = excluded.definition",
                params![ind.id, pos as i64, def],
            )?;
            if old.get(&ind.id) != Some(&def) {
                audit_tx(
                    &tx,
                    &self.actor,
                    "Indikator gespeichert",
                    &format!("Indikator {}", ind.id),
                    old.get(&ind.id).map(String::as_str),
                    Some(&def),
                )?;
            }
        }
        for id in &report.removed {
            audit_tx(&tx, &self.actor, "Indikator entfernt", &format!("Indikator {id}"), old.get(id).map(String::as_str), None)?;
        }
        if dry_run {
            tx.rollback()?
        } else {
            tx.commit()?
        }
        Ok(report)
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

    fn frozen_breaks(&self, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>> {
        let row: Option<(String, String)> = self
            .conn
            .query_row("SELECT method, bins FROM frozen_breaks WHERE indicator = ?1 AND level = ?2", params![indicator, level], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(m, b)| Ok((m, serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?))).transpose()
    }

    fn freeze_breaks(&mut self, indicator: &str, level: &str, method: &str, bins: &[f64]) -> Result<()> {
        level_id(&self.conn, level)?;
        let bins = serde_json::to_string(bins).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let tx = self.conn.transaction()?;
        let old: Option<String> = tx
            .query_row(
                "SELECT method || ' ' || bins FROM frozen_breaks WHERE indicator = ?1 AND level = ?2",
                params![indicator, level],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT INTO frozen_breaks (indicator, level, method, bins) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (indicator, level) DO UPDATE SET method = excluded.method, bins = excluded.bins",
            params![indicator, level, method, bins],
        )?;
        let new = format!("{method} {bins}");
        audit_tx(
            &tx,
            &self.actor,
            "Klassengrenzen eingefroren",
            &format!("Indikator {indicator}, Ebene {level}"),
            old.as_deref(),
            Some(&new),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn index_definitions(&self) -> Result<Vec<(String, String)>> {
        let mut st = self.conn.prepare("SELECT id, definition FROM index_definition ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn save_index_definition(&mut self, id: &str, toml: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let old: Option<String> = tx.query_row("SELECT definition FROM index_definition WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        tx.execute(
            "INSERT INTO index_definition (id, definition) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET definition = excluded.definition",
            params![id, toml],
        )?;
        if old.as_deref() != Some(toml) {
            audit_tx(&tx, &self.actor, "Indexdefinition gespeichert", &format!("Index {id}"), old.as_deref(), Some(toml))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn imports(&self) -> Result<Vec<ImportRecord>> {
        let mut st =
            self.conn.prepare("SELECT id, kind, file, at, summary, who, undoable, undone_at, undone_by FROM import ORDER BY id DESC")?;
        let rows = st.query_map([], |r| {
            Ok(ImportRecord {
                id: r.get(0)?,
                kind: r.get(1)?,
                file: r.get(2)?,
                at: r.get(3)?,
                summary: r.get(4)?,
                who: r.get(5)?,
                undoable: r.get(6)?,
                undone_at: r.get(7)?,
                undone_by: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn save_offers(&mut self, batch: &crate::offers::Offers, dry_run: bool) -> Result<crate::offers::OfferReport> {
        let tx = self.conn.transaction()?;
        let stored = |sql: &str| -> Result<HashSet<String>> {
            let mut st = tx.prepare(sql)?;
            let ids = st.query_map([], |r| r.get::<_, String>(0))?.collect::<std::result::Result<_, _>>()?;
            Ok(ids)
        };
        let problems = common::offer_problems(
            batch,
            stored("SELECT id FROM offer_organization")?,
            stored("SELECT id FROM offer_service")?,
            stored("SELECT id FROM offer_location")?,
        );
        if !problems.is_empty() {
            return Err(StoreError::InvalidOffers(problems));
        }
        for o in &batch.organizations {
            tx.execute(
                "INSERT INTO offer_organization (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                params![o.id, common::to_json(o)],
            )?;
        }
        for s in &batch.services {
            tx.execute(
                "INSERT INTO offer_service (id, organization_id, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, data = excluded.data",
                params![s.id, s.organization_id, common::to_json(s)],
            )?;
        }
        for l in &batch.locations {
            tx.execute(
                "INSERT INTO offer_location (id, latitude, longitude, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude, data = excluded.data",
                params![l.id, l.latitude, l.longitude, common::to_json(l)],
            )?;
        }
        for k in &batch.service_at_location {
            tx.execute(
                "INSERT INTO offer_link (id, service_id, location_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET service_id = excluded.service_id, location_id = excluded.location_id",
                params![k.id, k.service_id, k.location_id],
            )?;
        }
        audit_tx(&tx, &self.actor, "Angebote importiert", "Angebotsverzeichnis", None, Some(&common::offers_summary(batch)))?;
        let report = crate::offers::OfferReport {
            organizations: batch.organizations.len(),
            services: batch.services.len(),
            locations: batch.locations.len(),
            links: batch.service_at_location.len(),
            dry_run,
        };
        if dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(report)
    }

    fn offers(&self) -> Result<crate::offers::Offers> {
        fn all<T: serde::de::DeserializeOwned>(conn: &Connection, sql: &str) -> Result<Vec<T>> {
            let mut st = conn.prepare(sql)?;
            let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
            common::from_json(&rows)
        }
        let mut links = self.conn.prepare("SELECT id, service_id, location_id FROM offer_link ORDER BY id")?;
        let service_at_location = links
            .query_map([], |r| Ok(crate::offers::ServiceAtLocation { id: r.get(0)?, service_id: r.get(1)?, location_id: r.get(2)? }))?
            .collect::<std::result::Result<_, _>>()?;
        Ok(crate::offers::Offers {
            organizations: all(&self.conn, "SELECT data FROM offer_organization ORDER BY id")?,
            services: all(&self.conn, "SELECT data FROM offer_service ORDER BY id")?,
            locations: all(&self.conn, "SELECT data FROM offer_location ORDER BY id")?,
            service_at_location,
        })
    }

    fn save_conference(&mut self, c: &crate::action::Conference) -> Result<crate::action::Conference> {
        c.check().map_err(StoreError::InvalidRecord)?;
        let tx = self.conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM area a JOIN level l ON l.id = a.level_id WHERE l.name = ?1 AND a.key = ?2)",
            params![c.level, c.area],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::InvalidRecord(format!("Gebiet „{}“ gibt es auf Ebene „{}“ nicht", c.area, c.level)));
        }
        for s in &c.existing_offers {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM offer_service WHERE id = ?1)", [s], |r| r.get(0))?;
            if !known {
                return Err(StoreError::InvalidRecord(format!("Angebot „{s}“ steht nicht im Angebotsverzeichnis")));
            }
        }
        let mut saved = c.clone();
        saved.version = c.version + 1;
        if c.id == 0 {
            saved.version = 1;
            tx.execute(
                "INSERT INTO conference (level, area, date, data, version, who) VALUES (?1, ?2, ?3, '', 1, ?4)",
                params![c.level, c.area, c.date, self.actor],
            )?;
            saved.id = tx.last_insert_rowid();
        } else {
            let n = tx.execute(
                "UPDATE conference SET level = ?2, area = ?3, date = ?4, version = version + 1, who = ?5 WHERE id = ?1 AND version = ?6",
                params![c.id, c.level, c.area, c.date, self.actor, c.version],
            )?;
            if n == 0 {
                return Err(conflict(&tx, "conference", c.id, "Die Konferenz"));
            }
        }
        let old: Option<String> = tx
            .query_row("SELECT data FROM conference WHERE id = ?1", [saved.id], |r| r.get(0))
            .optional()?
            .filter(|d: &String| !d.is_empty());
        let new = serde_json::to_string(&saved).expect("serialises");
        tx.execute("UPDATE conference SET data = ?2 WHERE id = ?1", params![saved.id, new])?;
        audit_tx(&tx, &self.actor, "Konferenz gespeichert", &format!("Konferenz {}", saved.id), old.as_deref(), Some(&new))?;
        tx.commit()?;
        Ok(saved)
    }

    fn conferences(&self, area: Option<(&str, &str)>) -> Result<Vec<crate::action::Conference>> {
        let (sql, args): (&str, Vec<&str>) = match area {
            Some((l, a)) => ("SELECT data FROM conference WHERE level = ?1 AND area = ?2 ORDER BY date DESC, id DESC", vec![l, a]),
            None => ("SELECT data FROM conference ORDER BY date DESC, id DESC", vec![]),
        };
        let mut st = self.conn.prepare(sql)?;
        let rows: Vec<String> = st.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
        common::from_json(&rows)
    }

    fn save_measure(&mut self, m: &crate::action::Measure) -> Result<crate::action::Measure> {
        m.check().map_err(StoreError::InvalidRecord)?;
        let tx = self.conn.transaction()?;
        for a in &m.areas {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM area x JOIN level l ON l.id = x.level_id WHERE l.name = ?1 AND x.key = ?2)",
                params![m.level, a],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StoreError::InvalidRecord(format!("Gebiet „{a}“ gibt es auf Ebene „{}“ nicht", m.level)));
            }
        }
        for i in &m.indicators {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM indicator WHERE id = ?1)", [i], |r| r.get(0))?;
            if !known {
                return Err(StoreError::InvalidRecord(format!("Indikator „{i}“ steht nicht im Katalog")));
            }
        }
        if let Some(c) = m.conference {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM conference WHERE id = ?1)", [c], |r| r.get(0))?;
            if !known {
                return Err(StoreError::InvalidRecord(format!("Konferenz {c} gibt es nicht")));
            }
        }
        let mut saved = m.clone();
        if m.id == 0 {
            saved.version = 1;
            tx.execute("INSERT INTO measure (data, version, who) VALUES ('', 1, ?1)", params![self.actor])?;
            saved.id = tx.last_insert_rowid();
        } else {
            saved.version = m.version + 1;
            let n = tx.execute(
                "UPDATE measure SET version = version + 1, who = ?2 WHERE id = ?1 AND version = ?3",
                params![m.id, self.actor, m.version],
            )?;
            if n == 0 {
                return Err(conflict(&tx, "measure", m.id, "Die Maßnahme"));
            }
        }
        let old: Option<String> =
            tx.query_row("SELECT data FROM measure WHERE id = ?1", [saved.id], |r| r.get(0)).optional()?.filter(|d: &String| !d.is_empty());
        let new = serde_json::to_string(&saved).expect("serialises");
        tx.execute("UPDATE measure SET data = ?2 WHERE id = ?1", params![saved.id, new])?;
        audit_tx(&tx, &self.actor, "Maßnahme gespeichert", &format!("Maßnahme {}", saved.id), old.as_deref(), Some(&new))?;
        tx.commit()?;
        Ok(saved)
    }

    fn measures(&self) -> Result<Vec<crate::action::Measure>> {
        let mut st = self.conn.prepare("SELECT data FROM measure ORDER BY id")?;
        let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
        common::from_json(&rows)
    }

    fn add_user(
        &mut self,
        name: &str,
        role: crate::accounts::Role,
        organization: Option<&str>,
        password: &str,
    ) -> Result<crate::accounts::User> {
        let (name, hash) = common::new_account(name, role, organization, password)?;
        let name = name.as_str();
        let tx = self.conn.transaction()?;
        let taken: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM account WHERE name = ?1)", [name], |r| r.get(0))?;
        if taken {
            return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es schon")));
        }
        tx.execute(
            "INSERT INTO account (name, role, organization, password_hash) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), organization, hash],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO audit (who, action, object, new) VALUES (?1, 'Konto angelegt', ?2, ?3)",
            params![self.actor, format!("Konto {name}"), role.as_str()],
        )?;
        tx.commit()?;
        Ok(crate::accounts::User {
            id,
            name: name.to_string(),
            role,
            organization: organization.map(String::from),
            scope: None,
            reads_internal: false,
        })
    }

    fn users(&self) -> Result<Vec<crate::accounts::User>> {
        let mut st =
            self.conn.prepare("SELECT id, name, role, organization, scope_level, scope_area, reads_internal FROM account ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(common::user_of(r.get(0)?, r.get(1)?, &r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, i64>(6)? != 0))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let row: Option<(i64, String)> =
            tx.query_row("SELECT id, password_hash FROM account WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        let hash = common::password_change(name, row.as_ref().map(|r| r.1.as_str()), old, new)?;
        let id = row.expect("checked").0;
        tx.execute("UPDATE account SET password_hash = ?2 WHERE id = ?1", params![id, hash])?;
        tx.execute("DELETE FROM session WHERE account_id = ?1", [id])?;
        let what = if old.is_some() { "Passwort geändert" } else { "Passwort zurückgesetzt" };
        audit_tx(&tx, &self.actor, what, &format!("Konto {name}"), None, None)?;
        tx.commit()?;
        Ok(())
    }

    fn set_user_scope(&mut self, name: &str, scope: Option<&crate::accounts::Scope>) -> Result<()> {
        let tx = self.conn.transaction()?;
        let old: Option<(Option<String>, Option<String>)> = tx
            .query_row("SELECT scope_level, scope_area FROM account WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some(old) = old else { return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht"))) };
        if let Some(s) = scope {
            let (lid, _) = level_id(&tx, &s.level)?;
            let exists: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM area WHERE level_id = ?1 AND key = ?2)", params![lid, s.area], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::Account(format!("Gebiet „{}“ gibt es auf Ebene „{}“ nicht", s.area, s.level)));
            }
        }
        tx.execute(
            "UPDATE account SET scope_level = ?2, scope_area = ?3 WHERE name = ?1",
            params![name, scope.map(|s| &s.level), scope.map(|s| &s.area)],
        )?;
        let old = crate::accounts::Scope::from_columns(old.0, old.1).map(|s| s.to_string());
        let new = scope.map(|s| s.to_string());
        audit_tx(&tx, &self.actor, "Gebietsbeschränkung", &format!("Konto {name}"), old.as_deref(), new.as_deref())?;
        tx.commit()?;
        Ok(())
    }

    fn set_user_internal(&mut self, name: &str, internal: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("UPDATE account SET reads_internal = ?2 WHERE name = ?1", params![name, internal as i64])?;
        if n == 0 {
            return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
        }
        let what = if internal { "interne Ergebnisse" } else { "veröffentlichte Ergebnisse" };
        audit_tx(&tx, &self.actor, "Lesezugriff", &format!("Konto {name}"), None, Some(what))?;
        tx.commit()?;
        Ok(())
    }

    fn remove_user(&mut self, name: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let role: Option<String> = tx.query_row("SELECT role FROM account WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        let Some(role) = role else { return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht"))) };
        let admins: i64 = tx.query_row("SELECT count(*) FROM account WHERE role = 'admin'", [], |r| r.get(0))?;
        if role == "admin" && admins <= 1 {
            return Err(StoreError::Account(format!("„{name}“ ist das letzte Administrationskonto und bleibt")));
        }
        tx.execute("DELETE FROM session WHERE account_id = (SELECT id FROM account WHERE name = ?1)", [name])?;
        tx.execute("DELETE FROM account WHERE name = ?1", [name])?;
        audit_tx(&tx, &self.actor, "Konto entfernt", &format!("Konto {name}"), Some(&role), None)?;
        tx.commit()?;
        Ok(())
    }

    fn login(&mut self, name: &str, password: &str, address: &str) -> Result<Option<(String, crate::accounts::Session)>> {
        let now = common::unix_now();
        let window = now - common::FAILURE_WINDOW_S;
        let [account_key, pair_key, address_key] = common::failure_keys(name, address);
        let failures = |key: &str| -> Result<(i64, i64)> {
            Ok(self.conn.query_row(
                "SELECT count(*), coalesce(max(at), 0) FROM failed_login WHERE key = ?1 AND at > ?2",
                params![key, window],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        };
        let f = common::Failures { account: failures(&account_key)?, pair: failures(&pair_key)?, address: failures(&address_key)?.0 };
        if let Some(wait) = common::login_wait(&f, now) {
            return Err(common::throttled(wait));
        }
        type Row = (i64, String, Option<String>, String, Option<String>, Option<String>, i64);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT id, role, organization, password_hash, scope_level, scope_area, reads_internal FROM account WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
        // Verify even for unknown names (against a hash made once), so timing tells nothing.
        let ok = crate::accounts::verify_password(row.as_ref().map_or(common::dummy_hash(), |r| r.3.as_str()), password) && row.is_some();
        if !ok {
            let tx = self.conn.transaction()?;
            tx.execute(
                "INSERT INTO failed_login (key, at) VALUES (?1, ?2), (?3, ?2), (?4, ?2)",
                params![account_key, now, address_key, pair_key],
            )?;
            tx.execute("DELETE FROM failed_login WHERE at < ?1", [window - 86_400])?;
            tx.commit()?;
            return Ok(None);
        }
        let (id, role, organization, _, scope_level, scope_area, internal) = row.expect("checked");
        let token = crate::accounts::token().map_err(StoreError::Account)?;
        let csrf = crate::accounts::token().map_err(StoreError::Account)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO session (token_hash, account_id, csrf) VALUES (?1, ?2, ?3)",
            params![crate::accounts::token_hash(&token), id, csrf],
        )?;
        tx.execute("DELETE FROM failed_login WHERE key = ?1 OR key = ?2", [account_key, pair_key])?;
        tx.execute("INSERT INTO audit (who, action, object) VALUES (?1, 'Anmeldung', ?2)", params![name, format!("Adresse {address}")])?;
        tx.commit()?;
        let user = common::user_of(id, name.to_string(), &role, organization, scope_level, scope_area, internal != 0);
        Ok(Some((token, crate::accounts::Session { user, csrf })))
    }

    fn session(&self, token: &str) -> Result<Option<crate::accounts::Session>> {
        Ok(self
            .conn
            .query_row(
                "SELECT a.id, a.name, a.role, a.organization, a.scope_level, a.scope_area, a.reads_internal, s.csrf FROM session s JOIN account a ON a.id = s.account_id
                 WHERE s.token_hash = ?1 AND s.created > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-12 hours')",
                [crate::accounts::token_hash(token)],
                |r| {
                    Ok(crate::accounts::Session {
                        user: common::user_of(
                            r.get(0)?,
                            r.get(1)?,
                            &r.get::<_, String>(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get::<_, i64>(6)? != 0,
                        ),
                        csrf: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    fn logout(&mut self, token: &str, everywhere: bool) -> Result<()> {
        let hash = crate::accounts::token_hash(token);
        if everywhere {
            self.conn.execute("DELETE FROM session WHERE account_id = (SELECT account_id FROM session WHERE token_hash = ?1)", [hash])?;
        } else {
            self.conn.execute("DELETE FROM session WHERE token_hash = ?1", [hash])?;
        }
        Ok(())
    }

    fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audit (who, action, object, old, new) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![self.actor, action, object, old, new],
        )?;
        Ok(())
    }

    fn audit_log(&self) -> Result<Vec<crate::accounts::AuditEntry>> {
        let mut st = self.conn.prepare("SELECT id, at, who, action, object, old, new FROM audit ORDER BY id DESC")?;
        let rows = st.query_map([], |r| {
            Ok(crate::accounts::AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                action: r.get(3)?,
                object: r.get(4)?,
                old: r.get(5)?,
                new: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        // substr instead of LIKE: the prefix is data, and `_`/`%` in it must not match.
        let mut st = self.conn.prepare("SELECT key, value FROM setting WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let rows = st.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
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

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let old: Option<String> = tx.query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| r.get(0)).optional()?;
        tx.execute(
            "INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        if old.as_deref() != Some(value) {
            audit_tx(&tx, &self.actor, "Einstellung gespeichert", &format!("Einstellung {key}"), old.as_deref(), Some(value))?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// variable id, year, area id, number, symbol code.
type PendingValue = (i64, i32, i64, Option<f64>, Option<&'static str>, Option<i64>);

/// Inserts values many rows per statement: per-statement overhead dominated bulk imports.
struct BatchInsert<'a> {
    tx: &'a Transaction<'a>,
    import_id: i64,
    pending: Vec<PendingValue>,
}

impl<'a> BatchInsert<'a> {
    const ROWS: usize = 128;

    fn new(tx: &'a Transaction<'a>, import_id: i64) -> Result<Self> {
        Ok(BatchInsert { tx, import_id, pending: Vec::with_capacity(Self::ROWS) })
    }

    fn sql(rows: usize) -> String {
        let mut s = String::from("INSERT INTO value (variable_id, year, area_id, value, symbol, import_id, meta_id) VALUES ");
        s.push_str(&vec!["(?, ?, ?, ?, ?, ?, ?)"; rows].join(", "));
        s
    }

    fn push(&mut self, vid: i64, year: i32, aid: i64, v: Option<f64>, s: Option<&'static str>, meta: Option<i64>) -> Result<()> {
        self.pending.push((vid, year, aid, v, s, meta));
        if self.pending.len() == Self::ROWS { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut st = self.tx.prepare_cached(&Self::sql(self.pending.len()))?;
        let mut i = 1;
        for (vid, year, aid, v, s, meta) in self.pending.drain(..) {
            st.raw_bind_parameter(i, vid)?;
            st.raw_bind_parameter(i + 1, year)?;
            st.raw_bind_parameter(i + 2, aid)?;
            st.raw_bind_parameter(i + 3, v)?;
            st.raw_bind_parameter(i + 4, s)?;
            st.raw_bind_parameter(i + 5, self.import_id)?;
            st.raw_bind_parameter(i + 6, meta)?;
            i += 7;
        }
        st.raw_execute()?;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()
    }
}

/// The key of an area in the hierarchy: level rank and area key, because area keys need only
/// be unique within a level (Stadtbezirk „1“ and Stadtteil „1“ may both exist).
pub fn node_key(rank: usize, key: &str) -> String {
    format!("{rank}/{key}")
}

/// Node key → (level name, area key).
pub(crate) type NodeNames = HashMap<String, (String, String)>;

/// All areas as hierarchy nodes (keys from [`node_key`]), and each node's (level name, area key).
pub(crate) fn hierarchy_nodes(conn: &Connection) -> Result<(Vec<AreaNode>, NodeNames)> {
    let mut st = conn.prepare_cached(
        "SELECT a.key, l.rank, p.key, l.name FROM area a JOIN level l ON l.id = a.level_id LEFT JOIN area p ON p.id = a.parent_id",
    )?;
    let mut nodes = Vec::new();
    let mut levels = HashMap::new();
    for r in st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?))
    })? {
        let (key, rank, parent, level) = r?;
        let node = node_key(rank, &key);
        levels.insert(node.clone(), (level, key));
        // Parents live on the level directly above (checked on import).
        nodes.push(AreaNode { key: node, level_rank: rank, parent: parent.map(|p| node_key(rank.saturating_sub(1), &p)) });
    }
    Ok((nodes, levels))
}

/// The areas of one batch, inside the caller's transaction: (report, import id, summary).
fn areas_in(tx: &Transaction<'_>, actor: &str, batch: &AreaBatch, dry_run: bool) -> Result<(AreaReport, i64, String)> {
    let (lid, rank) = level_id(tx, &batch.level)?;
    // Parents must exist on the level directly above.
    let parent_ids: HashMap<String, i64> = if rank > 0 {
        let mut st = tx.prepare("SELECT a.key, a.id FROM area a JOIN level l ON l.id = a.level_id WHERE l.rank = ?1")?;
        st.query_map([rank as i64 - 1], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<std::result::Result<_, _>>()?
    } else {
        HashMap::new()
    };
    let parent_level: Option<String> =
        tx.query_row("SELECT name FROM level WHERE rank = ?1", [rank as i64 - 1], |r| r.get(0)).optional()?;
    let problems = common::area_batch_problems(batch, &parent_ids, parent_level.as_deref());
    if !problems.is_empty() {
        return Err(StoreError::InvalidAreas(problems));
    }
    let import_id = new_import(tx, "areas", &batch.file, actor)?;
    let mut existing: HashMap<String, StoredArea> = {
        let mut st = tx.prepare("SELECT key, id, name, parent_id, geom FROM area WHERE level_id = ?1")?;
        st.query_map([lid], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))?.collect::<std::result::Result<_, _>>()?
    };
    let mut report = AreaReport { level: batch.level.clone(), dry_run, ..Default::default() };
    {
        let mut ins = tx.prepare(
            "INSERT INTO area (key, name, level_id, parent_id, geom, area_m2, source_crs, import_id, geom_source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut upd = tx.prepare(
            "UPDATE area SET name = ?2, parent_id = ?3, geom = coalesce(?4, geom), area_m2 = coalesce(?5, area_m2),
             source_crs = coalesce(?6, source_crs), import_id = ?7,
             geom_source = CASE WHEN ?4 IS NULL THEN geom_source ELSE ?8 END WHERE id = ?1",
        )?;
        for a in &batch.areas {
            let pid = a.parent.as_ref().map(|p| parent_ids[p]);
            match existing.remove(&a.key) {
                None => {
                    ins.execute(params![a.key, a.name, lid, pid, a.geometry, a.area_m2, batch.source_crs, import_id, a.source_geometry])?;
                    report.inserted += 1;
                }
                Some((id, name, old_pid, geom)) => {
                    // A table import without parent information keeps the stored parent.
                    let pid = pid.or(if a.parent.is_none() { old_pid } else { None });
                    let same = name == a.name && old_pid == pid && (a.geometry.is_none() || a.geometry == geom);
                    if same {
                        report.unchanged += 1;
                    } else {
                        upd.execute(params![id, a.name, pid, a.geometry, a.area_m2, batch.source_crs, import_id, a.source_geometry])?;
                        report.updated += 1;
                    }
                }
            }
        }
    }
    let mut rest: Vec<String> = existing.into_keys().collect();
    rest.sort();
    report.not_in_file = rest;
    let summary = common::areas_summary(&report);
    Ok((report, import_id, summary))
}
