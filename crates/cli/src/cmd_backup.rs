//! `quartier backup` and `quartier restore`: a consistent copy of the database while the
//! server runs (SQLite's `VACUUM INTO` reads one snapshot), and bringing one back.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A PostgreSQL server has its own consistent tools; Quartier does not imitate them.
fn server_refused(db: &Path) -> Result<()> {
    if quartier_store::Location::from_path(db).file().is_none() {
        bail!(
            "die Datenbank liegt auf einem PostgreSQL-Server: sichern mit pg_dump --format=custom (konsistent im laufenden Betrieb), zurückspielen mit pg_restore --clean (siehe README, Betrieb auf einem Server)"
        );
    }
    Ok(())
}

/// Copies the database to `out` (which must not exist), consistent even while others write.
pub fn backup(db: &Path, out: &PathBuf) -> Result<()> {
    server_refused(db)?;
    if !db.exists() {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    if out.exists() {
        bail!("{} gibt es schon: eine Sicherung überschreibt nichts", out.display());
    }
    quartier_store::sqlite::backup(db, out).with_context(|| format!("Sicherung nach {} fehlgeschlagen", out.display()))?;
    println!("Gesichert: {} → {} ({} KB)", db.display(), out.display(), std::fs::metadata(out)?.len() / 1024);
    Ok(())
}

/// Replaces the database with a backup, after checking the backup. The current database is
/// kept beside it (`.vor-wiederherstellung`). Stop the server first.
pub fn restore(db: &Path, from: &PathBuf) -> Result<()> {
    server_refused(db)?;
    if !from.exists() {
        bail!("Sicherung {} gibt es nicht", from.display());
    }
    quartier_store::sqlite::check_backup(from)?;
    // Copy into a temporary file beside the database, then swap: never half a database.
    let tmp = db.with_extension("wiederherstellung.tmp");
    std::fs::copy(from, &tmp).with_context(|| format!("{} kann nicht kopiert werden", from.display()))?;
    if db.exists() {
        let keep = db.with_extension("vor-wiederherstellung");
        // A clean state: fold the WAL in before moving the old file aside.
        quartier_store::sqlite::checkpoint(db);
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
    println!("Wiederhergestellt: {} ← {}", db.display(), from.display());
    Ok(())
}
