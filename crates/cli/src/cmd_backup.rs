//! `quartier backup` and `quartier restore`: a consistent copy of the database while the
//! server runs (SQLite's `VACUUM INTO` reads one snapshot; on PostgreSQL pg_dump), and
//! bringing one back.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The server's URL, when the database is on PostgreSQL.
fn server(db: &Path) -> Option<String> {
    match quartier_app::store::Location::from_path(db) {
        quartier_app::store::Location::Postgres(url) => Some(url),
        quartier_app::store::Location::Sqlite(_) => None,
    }
}

/// Runs one of PostgreSQL's own tools (pg_dump, pg_restore): they make consistent copies of a
/// running server, which Quartier does not imitate.
fn pg_tool(tool: &str, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(tool).args(args).output().map_err(|e| {
        anyhow::anyhow!(
            "{tool} nicht gefunden ({e}): die Werkzeuge von PostgreSQL installieren (Debian: apt-get install postgresql-client)"
        )
    })?;
    if !out.status.success() {
        bail!("{tool} fehlgeschlagen: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Copies the database to `out` (which must not exist), consistent even while others write.
pub fn backup(db: &Path, out: &PathBuf) -> Result<()> {
    if out.exists() {
        bail!("{} gibt es schon: eine Sicherung überschreibt nichts", out.display());
    }
    if let Some(url) = server(db) {
        // One snapshot of the whole database (pg_dump reads in one transaction).
        let tmp = out.with_extension("teil");
        let result = pg_tool("pg_dump", &["--format=custom", "--no-owner", "--file", &tmp.to_string_lossy(), &url]);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        std::fs::rename(&tmp, out)?;
        println!(
            "Gesichert: {} → {} ({} KB, pg_dump)",
            quartier_app::store::Location::from_path(db),
            out.display(),
            std::fs::metadata(out)?.len() / 1024
        );
        return Ok(());
    }
    if !db.exists() {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    quartier_app::store::sqlite::backup(db, out).with_context(|| format!("Sicherung nach {} fehlgeschlagen", out.display()))?;
    println!("Gesichert: {} → {} ({} KB)", db.display(), out.display(), std::fs::metadata(out)?.len() / 1024);
    Ok(())
}

/// Replaces the database with a backup, after checking the backup. The current database is
/// kept beside it (`.vor-wiederherstellung`). Stop the server first.
pub fn restore(db: &Path, from: &PathBuf) -> Result<()> {
    if !from.exists() {
        bail!("Sicherung {} gibt es nicht", from.display());
    }
    if let Some(url) = server(db) {
        // Checked first (a listing fails on anything but a pg_dump archive), then restored in
        // one transaction: on any error the database stays as it was.
        pg_tool("pg_restore", &["--list", &from.to_string_lossy()])
            .map_err(|e| anyhow::anyhow!("{} ist keine Sicherung von pg_dump: {e}", from.display()))?;
        let before: i64 = crate::open(db)?.data_version()?.parse().unwrap_or(0);
        pg_tool(
            "pg_restore",
            &["--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname", &url, &from.to_string_lossy()],
        )?;
        quartier_app::store::postgres::PostgresStore::open(&url)?.advance_data_version(before)?;
        audit_restore(db, from)?;
        println!("Wiederhergestellt: {} ← {} (pg_restore)", quartier_app::store::Location::from_path(db), from.display());
        return Ok(());
    }
    quartier_app::store::sqlite::check_backup(from)?;
    // Copy into a temporary file beside the database, then swap: never half a database.
    let tmp = db.with_extension("wiederherstellung.tmp");
    std::fs::copy(from, &tmp).with_context(|| format!("{} kann nicht kopiert werden", from.display()))?;
    if db.exists() {
        let keep = db.with_extension("vor-wiederherstellung");
        // A clean state: fold the WAL in before moving the old file aside.
        quartier_app::store::sqlite::checkpoint(db);
        std::fs::rename(db, &keep)?;
        for ext in ["db-wal", "db-shm"] {
            let side = db.with_extension(ext);
            if side.exists() {
                std::fs::remove_file(side)?;
            }
        }
        println!("Bisherige Datenbank aufbewahrt als {}", keep.display());
    }
    std::fs::rename(&tmp, db)?;
    // Opening applies migrations if the backup is older.
    crate::open(db)?;
    audit_restore(db, from)?;
    println!("Wiederhergestellt: {} ← {}", db.display(), from.display());
    Ok(())
}

/// The restored database's audit log records the restore (the log came back with the backup).
fn audit_restore(db: &Path, from: &Path) -> Result<()> {
    let name = from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    crate::open(db)?.audit("Sicherung zurückgespielt", &format!("Sicherung {name}"), None, None)?;
    Ok(())
}
