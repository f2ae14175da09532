//! Copying a whole database between the backends — the SQLite file a planning office starts
//! with onto a PostgreSQL server, or a server database into an SQLite file for a laptop.
//!
//! Both sides have the same schema (the same migrations). Every table is read in a fixed
//! order and written into an empty target in one transaction, in an order that satisfies the
//! foreign keys (areas by level rank, so parents come first). Before the commit every table is
//! read back and compared with the source: row count and a BLAKE2b checksum over the rows in
//! key order (numbers by their bits, so nothing is rounded). Sessions and failed sign-ins are
//! not copied (pending invitations are); the audit log, the import history and replaced values are.

use crate::{Location, Result, StoreError};
use blake2::{Blake2b512, Digest};

/// Tables in write order, each with the order its rows are compared in.
const TABLES: &[(&str, &str)] = &[
    ("level", "id"),
    ("import", "id"),
    ("area", "(SELECT rank FROM level WHERE level.id = area.level_id), id"),
    ("variable", "id"),
    ("value_meta", "id"),
    ("value", "variable_id, year, area_id"),
    ("value_replaced", "import_id, variable_id, year, area_id"),
    ("setting", "key"),
    ("indicator", "id"),
    ("frozen_breaks", "indicator, level"),
    ("index_definition", "id"),
    ("offer_organization", "id"),
    ("offer_service", "id"),
    ("offer_location", "id"),
    ("offer_link", "id"),
    ("conference", "id"),
    ("measure", "id"),
    ("account", "id"),
    ("invitation", "token_hash"),
    ("audit", "id"),
    ("crosswalk", "id"),
    ("crosswalk_link", "crosswalk_id, old_area_id, new_area_id"),
];

/// One field, as both backends can hold it.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What was copied: per table, rows and checksum (hex, shortened).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, usize, String)>,
}

fn checksum(rows: &[Vec<V>]) -> String {
    let mut h = Blake2b512::new();
    for row in rows {
        for v in row {
            match v {
                V::Null => h.update([0u8]),
                V::Int(i) => {
                    h.update([1u8]);
                    h.update(i.to_le_bytes());
                }
                // Whole numbers may come back as integers from a REAL column: compare values.
                V::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    h.update([1u8]);
                    h.update((*f as i64).to_le_bytes());
                }
                V::Real(f) => {
                    h.update([2u8]);
                    h.update(f.to_bits().to_le_bytes());
                }
                V::Text(t) => {
                    h.update([3u8]);
                    h.update((t.len() as u64).to_le_bytes());
                    h.update(t.as_bytes());
                }
                V::Blob(b) => {
                    h.update([4u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
        h.update([0xff]);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A side of the copy: reads and writes rows of a table.
trait Side {
    fn columns(&mut self, table: &str) -> Result<Vec<String>>;
    fn rows(&mut self, table: &str, columns: &[String], order: &str) -> Result<Vec<Vec<V>>>;
    fn count(&mut self, table: &str) -> Result<i64>;
    fn begin(&mut self) -> Result<()>;
    fn insert(&mut self, table: &str, columns: &[String], rows: &[Vec<V>]) -> Result<()>;
    fn finish(&mut self, commit: bool) -> Result<()>;
}

struct Sqlite(rusqlite::Connection);

impl Side for Sqlite {
    fn columns(&mut self, table: &str) -> Result<Vec<String>> {
        let mut st = self.0.prepare(&format!("PRAGMA table_info({table})"))?;
        Ok(st.query_map([], |r| r.get::<_, String>(1))?.collect::<std::result::Result<_, _>>()?)
    }
    fn rows(&mut self, table: &str, columns: &[String], order: &str) -> Result<Vec<Vec<V>>> {
        let mut st = self.0.prepare(&format!("SELECT {} FROM {table} ORDER BY {order}", columns.join(", ")))?;
        let n = columns.len();
        let rows = st.query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => V::Null,
                        rusqlite::types::ValueRef::Integer(x) => V::Int(x),
                        rusqlite::types::ValueRef::Real(x) => V::Real(x),
                        rusqlite::types::ValueRef::Text(t) => V::Text(String::from_utf8_lossy(t).into_owned()),
                        rusqlite::types::ValueRef::Blob(b) => V::Blob(b.to_vec()),
                    })
                })
                .collect::<rusqlite::Result<Vec<V>>>()
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
    fn count(&mut self, table: &str) -> Result<i64> {
        Ok(self.0.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    }
    fn begin(&mut self) -> Result<()> {
        Ok(self.0.execute_batch("BEGIN IMMEDIATE")?)
    }
    fn insert(&mut self, table: &str, columns: &[String], rows: &[Vec<V>]) -> Result<()> {
        let marks = vec!["?"; columns.len()].join(", ");
        let mut st = self.0.prepare(&format!("INSERT INTO {table} ({}) VALUES ({marks})", columns.join(", ")))?;
        for row in rows {
            let vals: Vec<rusqlite::types::Value> = row
                .iter()
                .map(|v| match v {
                    V::Null => rusqlite::types::Value::Null,
                    V::Int(i) => rusqlite::types::Value::Integer(*i),
                    V::Real(f) => rusqlite::types::Value::Real(*f),
                    V::Text(t) => rusqlite::types::Value::Text(t.clone()),
                    V::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
                })
                .collect();
            st.execute(rusqlite::params_from_iter(vals))?;
        }
        Ok(())
    }
    fn finish(&mut self, commit: bool) -> Result<()> {
        Ok(self.0.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?)
    }
}

struct Postgres(postgres::Client);

/// A PostgreSQL column's type as the copy needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PgType {
    Int,
    Real,
    Text,
    Blob,
}

impl Postgres {
    fn types(&mut self, table: &str, columns: &[String]) -> Result<Vec<PgType>> {
        let rows = self.0.query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )?;
        columns
            .iter()
            .map(|c| {
                let t: String = rows.iter().find(|r| r.get::<_, String>(0) == *c).map(|r| r.get(1)).unwrap_or_default();
                match t.as_str() {
                    "bigint" | "integer" | "smallint" => Ok(PgType::Int),
                    "double precision" | "real" | "numeric" => Ok(PgType::Real),
                    "text" | "character varying" => Ok(PgType::Text),
                    "bytea" => Ok(PgType::Blob),
                    other => Err(StoreError::Backend(format!("Spalte {table}.{c}: Typ „{other}“ wird nicht kopiert"))),
                }
            })
            .collect()
    }
}

impl Side for Postgres {
    fn columns(&mut self, table: &str) -> Result<Vec<String>> {
        Ok(self
            .0
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }
    fn rows(&mut self, table: &str, columns: &[String], order: &str) -> Result<Vec<Vec<V>>> {
        let types = self.types(table, columns)?;
        // Text in byte order, as SQLite compares it.
        let order: String = order
            .split(", ")
            .map(|c| match columns.iter().position(|x| x == c).map(|i| types[i]) {
                Some(PgType::Text) => format!("{c} COLLATE \"C\""),
                _ => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let rows = self.0.query(&format!("SELECT {} FROM {table} ORDER BY {order}", columns.join(", ")), &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| match t {
                        PgType::Int => r.get::<_, Option<i64>>(i).map_or(V::Null, V::Int),
                        PgType::Real => r.get::<_, Option<f64>>(i).map_or(V::Null, V::Real),
                        PgType::Text => r.get::<_, Option<String>>(i).map_or(V::Null, V::Text),
                        PgType::Blob => r.get::<_, Option<Vec<u8>>>(i).map_or(V::Null, V::Blob),
                    })
                    .collect()
            })
            .collect())
    }
    fn count(&mut self, table: &str) -> Result<i64> {
        Ok(self.0.query_one(&format!("SELECT count(*) FROM {table}"), &[])?.get(0))
    }
    fn begin(&mut self) -> Result<()> {
        Ok(self.0.batch_execute("BEGIN")?)
    }
    fn insert(&mut self, table: &str, columns: &[String], rows: &[Vec<V>]) -> Result<()> {
        let types = self.types(table, columns)?;
        // Many rows per statement: one round trip per row made large copies slow.
        let per = (60_000 / columns.len().max(1)).clamp(1, 500);
        for chunk in rows.chunks(per) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut n = 0;
            for (r, _) in chunk.iter().enumerate() {
                if r > 0 {
                    sql.push_str(", ");
                }
                let marks: Vec<String> = (0..columns.len())
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect();
                sql.push_str(&format!("({})", marks.join(", ")));
            }
            let params: Vec<Box<dyn postgres::types::ToSql + Sync>> = chunk
                .iter()
                .flat_map(|row| row.iter().zip(&types))
                .map(|(v, t)| -> Box<dyn postgres::types::ToSql + Sync> {
                    match (v, t) {
                        (V::Int(i), PgType::Real) => Box::new(*i as f64),
                        (V::Int(i), _) => Box::new(*i),
                        (V::Real(f), PgType::Int) => Box::new(*f as i64),
                        (V::Real(f), _) => Box::new(*f),
                        (V::Text(s), _) => Box::new(s.clone()),
                        (V::Blob(b), _) => Box::new(b.clone()),
                        (V::Null, PgType::Int) => Box::new(None::<i64>),
                        (V::Null, PgType::Real) => Box::new(None::<f64>),
                        (V::Null, PgType::Text) => Box::new(None::<String>),
                        (V::Null, PgType::Blob) => Box::new(None::<Vec<u8>>),
                    }
                })
                .collect();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
            self.0.execute(&sql, &refs)?;
        }
        // Identity columns continue after the copied ids.
        if columns.iter().any(|c| c == "id") && types[columns.iter().position(|c| c == "id").expect("present")] == PgType::Int {
            let seq: Option<String> = self.0.query_one("SELECT pg_get_serial_sequence($1, 'id')", &[&table])?.get(0);
            if let Some(seq) = seq {
                self.0.execute(&format!("SELECT setval('{seq}', coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"), &[])?;
            }
        }
        Ok(())
    }
    fn finish(&mut self, commit: bool) -> Result<()> {
        Ok(self.0.batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })?)
    }
}

fn side(loc: &Location) -> Result<Box<dyn Side>> {
    // Opening through the store first creates or migrates the schema.
    drop(loc.open()?);
    Ok(match loc {
        Location::Sqlite(p) => {
            let c = rusqlite::Connection::open(p)?;
            c.busy_timeout(std::time::Duration::from_secs(30))?;
            Box::new(Sqlite(c))
        }
        Location::Postgres(url) => Box::new(Postgres(crate::pg_tls::connect(url)?)),
    })
}

/// Copies every table of `from` into the empty database `to` in one transaction, checks row
/// counts and checksums, and commits only when every table agrees.
pub fn copy_database(from: &Location, to: &Location, mut progress: impl FnMut(&str, usize)) -> Result<CopyReport> {
    let mut src = side(from)?;
    let mut dst = side(to)?;
    let filled: Vec<String> = TABLES
        .iter()
        .map(|(t, _)| Ok((t, dst.count(t)?)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} ({n})"))
        .collect();
    if !filled.is_empty() {
        return Err(StoreError::Backend(format!(
            "Das Ziel ist nicht leer: {}. Bitte in eine neue, leere Datenbank kopieren.",
            filled.join(", ")
        )));
    }
    dst.begin()?;
    let mut report = CopyReport { tables: Vec::new() };
    let result = (|| -> Result<()> {
        for (table, order) in TABLES {
            let columns = src.columns(table)?;
            let rows = src.rows(table, &columns, order)?;
            dst.insert(table, &columns, &rows)?;
            let back = dst.rows(table, &columns, order)?;
            let (a, b) = (checksum(&rows), checksum(&back));
            if rows.len() != back.len() || a != b {
                return Err(StoreError::Backend(format!(
                    "Tabelle {table}: Kopie weicht ab ({} Zeilen, Prüfsumme {a}; im Ziel {} Zeilen, {b}) – nichts übernommen",
                    rows.len(),
                    back.len()
                )));
            }
            progress(table, rows.len());
            report.tables.push((table.to_string(), rows.len(), a));
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            dst.finish(true)?;
            Ok(report)
        }
        Err(e) => {
            dst.finish(false).ok();
            Err(e)
        }
    }
}
