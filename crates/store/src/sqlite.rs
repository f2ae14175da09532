//! The SQLite implementation of [`Store`]: one file, WAL, foreign keys on, migrations on open.

use crate::common::system_user;
use crate::migrations::MIGRATIONS;
use crate::model::*;
use crate::shared;
use crate::sql::BULK_ROWS;
use crate::{Result, Store, StoreError};
use quartier_core::hierarchy::AreaNode;
use quartier_core::indicator::Catalogue;
use rusqlite::{Connection, OpenFlags};
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

/// What changes with every committed change: the header of the write-ahead-log index
/// (`-shm`), whose change counter, last committed frame and salts SQLite rewrites only when a
/// transaction commits (or a new log starts), together with the database file's identity (a
/// restore replaces the file) and its size and time. The log grows during a long import
/// before it commits, and neither the index header nor the database file changes meanwhile,
/// so readers keep their caches. The file's time is needed too: when the last connection
/// closes, SQLite checkpoints the log into the file and removes log and index, and the index
/// the next connection builds starts from the same header every time — only the file shows
/// the commit then. (A checkpoint after a commit changes the version a second time: caches
/// are made once more.) Without an index file (no connection open) size and time of the file
/// and its log stand in. No query.
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
        (Ok(()), Some(id)) if header[12] != 0 => {
            format!("{id}|{}|{}", header.iter().map(|b| format!("{b:02x}")).collect::<String>(), stat(path))
        }
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

pub struct SqliteStore {
    conn: Connection,
    /// The file (None in memory), for the data version.
    path: Option<std::path::PathBuf>,
    /// Who makes the changes, recorded with every import (the account, once there are
    /// accounts; until then the system user or "Browser").
    actor: String,
    /// The boundary set reads show (`Store::set_boundary_date`).
    boundary: std::cell::RefCell<Option<String>>,
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
        Ok(SqliteStore { conn, path: Some(path.to_path_buf()), actor: system_user(), boundary: Default::default() })
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
        if version < known {
            // Off for table rebuilds (only possible outside a transaction), checked below.
            conn.pragma_update(None, "foreign_keys", "OFF")?;
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(crate::migrations::for_sqlite(sql))?;
            let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
            if broken > 0 {
                return Err(StoreError::Corrupt(format!("Migration {}: {broken} verletzte Fremdschlüssel", i + 1)));
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(SqliteStore { conn, path: None, actor: system_user(), boundary: Default::default() })
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

impl SqliteStore {
    /// Reads through the shared SQL.
    fn sql<T>(&self, f: impl FnOnce(&mut dyn crate::sql::Sql) -> Result<T>) -> Result<T> {
        f(&mut &self.conn)
    }

    /// Runs `f` in a transaction, committed unless `dry_run`. The transaction takes the write
    /// lock when it begins (waiting up to the busy timeout for another writer): a deferred one
    /// that reads first would fail at once with "database is locked" when another connection
    /// committed after its first read.
    fn write<T>(&mut self, dry_run: bool, f: impl FnOnce(&mut dyn crate::sql::Sql, &str) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&mut &*tx, &self.actor)?;
        if dry_run {
            tx.rollback()?
        } else {
            tx.commit()?
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    shared::store_methods!();

    fn apply_data(&mut self, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
        // In bulk deliveries referential integrity of the new value rows holds by construction
        // (area and variable ids are looked up inside the same transaction), so SQLite's
        // per-row foreign-key lookups, a third of the insert time, are switched off for them.
        // The pragma is per connection and only takes effect outside a transaction.
        let bulk = batch.rows.len() > BULK_ROWS;
        if bulk {
            self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        }
        let result = self.write(dry_run, |tx, actor| shared::import_data(tx, actor, batch, dry_run));
        if bulk {
            self.conn.pragma_update(None, "foreign_keys", "ON")?;
        }
        result
    }

    fn set_actor(&mut self, actor: &str) {
        self.actor = actor.to_string();
    }

    fn data_version(&self) -> Result<String> {
        Ok(self.path.as_deref().map(file_version).unwrap_or_default())
    }
}
