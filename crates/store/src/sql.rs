//! The SQL both backends share, written once.
//!
//! Statements are written in SQLite's form with numbered placeholders (`?1`, `?2`, …) and
//! standard SQL otherwise; [`Sql`] runs them on an SQLite connection as they are and on a
//! PostgreSQL connection with `$1`, `$2`, … ([`pg_placeholders`]). Parameters and results are
//! [`Val`]s. What really differs between the backends stays in the two `impl Sql` below and
//! in [`crate::postgres::pg_dialect`] (the schema): how a new row's id comes back, and how
//! many new values are written at once (multi-row INSERTs in SQLite, binary COPY in
//! PostgreSQL). Everything written against [`Sql`] behaves the same on both.

use crate::{Result, StoreError};
use std::fmt::Write as _;

/// A parameter or a result cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Val {
    pub fn int(&self) -> i64 {
        match self {
            Val::Int(i) => *i,
            Val::Real(r) => *r as i64,
            _ => 0,
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        (!matches!(self, Val::Null)).then(|| self.int())
    }
    pub fn opt_real(&self) -> Option<f64> {
        match self {
            Val::Real(r) => Some(*r),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn text(&self) -> String {
        self.opt_text().unwrap_or_default()
    }
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    pub fn opt_blob(&self) -> Option<Vec<u8>> {
        match self {
            Val::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Val::Int(v as i64)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(v as i64)
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Self {
        Val::Int(v as i64)
    }
}
impl From<&Vec<u8>> for Val {
    fn from(v: &Vec<u8>) -> Self {
        Val::Blob(v.clone())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// Parameters for [`Sql`]: `vals![a, b, c]`.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Val::from($v)),*][..] };
}
pub(crate) use vals;

/// One new value row: variable id, year, area id, number, symbol code, value_meta id.
pub(crate) type NewValue = (i64, i32, i64, Option<f64>, Option<&'static str>, Option<i64>);

/// The few SQL words that differ between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Orders text by bytes, as SQLite always does (PostgreSQL would follow the locale).
    pub fn collate_bytes(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => r#"COLLATE "C""#,
        }
    }

    /// The current time as the stored text timestamps (UTC, ISO 8601).
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            Dialect::Postgres => crate::postgres::NOW,
        }
    }

    /// Whole seconds from a stored text timestamp (`YYYY-MM-DDTHH:MM:SSZ`) until now.
    pub fn seconds_since(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(strftime('%s', 'now') AS INTEGER) - CAST(strftime('%s', {column}) AS INTEGER)"),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM now() - CAST({column} AS timestamptz)) AS BIGINT)"),
        }
    }
}

/// A connection or transaction of either backend.
pub(crate) trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    /// Calls `each` with every result row, in order.
    fn each(&mut self, sql: &str, params: &[Val], each: &mut dyn FnMut(&[Val]) -> Result<()>) -> Result<()>;
    /// Runs an `INSERT` into a table with an `id` key; the new row's id.
    fn insert(&mut self, sql: &str, params: &[Val]) -> Result<i64>;
    /// Writes new rows of `value` (the bulk path of a data import).
    fn insert_values(&mut self, rows: &[NewValue], import_id: i64) -> Result<()>;
    /// Before writing `rows` values into a table of `stored` values: whether the backend
    /// dropped an index to rebuild it afterwards ([`Sql::bulk_written`]).
    fn bulk_start(&mut self, rows: usize, stored: i64) -> Result<bool>;
    fn bulk_written(&mut self) -> Result<()>;

    /// All result rows.
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(r.to_vec());
            Ok(())
        })?;
        Ok(out)
    }
    /// The first result row, if any.
    fn row(&mut self, sql: &str, params: &[Val]) -> Result<Option<Vec<Val>>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

/// `?N` → `$N` outside string literals.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

// ---- SQLite ----

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(*i),
            Val::Real(r) => ValueRef::Real(*r),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
            Val::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Val {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(r) => Val::Real(r),
        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
    }
}

/// Deliveries larger than this are written as bulk in SQLite (the per-area index rebuilt,
/// foreign-key lookups off).
pub(crate) const BULK_ROWS: usize = 50_000;
/// New values per multi-row INSERT in SQLite.
const INSERT_ROWS: usize = 128;

/// On `&Connection`: rusqlite reads and writes through shared references (a transaction
/// derefs to its connection).
impl Sql for &rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        Ok(self.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn each(&mut self, sql: &str, params: &[Val], each: &mut dyn FnMut(&[Val]) -> Result<()>) -> Result<()> {
        let mut st = self.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        let mut buf = Vec::with_capacity(n);
        while let Some(r) = rows.next()? {
            buf.clear();
            for i in 0..n {
                buf.push(from_sqlite(r.get_ref(i)?));
            }
            each(&buf)?;
        }
        Ok(())
    }

    fn insert(&mut self, sql: &str, params: &[Val]) -> Result<i64> {
        self.exec(sql, params)?;
        Ok(self.last_insert_rowid())
    }

    fn insert_values(&mut self, rows: &[NewValue], import_id: i64) -> Result<()> {
        // Many rows per statement (prepared once per size): far fewer round trips through
        // the VDBE than one INSERT per value.
        for chunk in rows.chunks(INSERT_ROWS) {
            let mut sql = String::from("INSERT INTO value (variable_id, year, area_id, value, symbol, import_id, meta_id) VALUES ");
            for i in 0..chunk.len() {
                let _ = write!(sql, "{}(?, ?, ?, ?, ?, ?, ?)", if i > 0 { ", " } else { "" });
            }
            let mut st = self.prepare_cached(&sql)?;
            let mut i = 1;
            for (vid, year, aid, v, s, meta) in chunk {
                st.raw_bind_parameter(i, vid)?;
                st.raw_bind_parameter(i + 1, year)?;
                st.raw_bind_parameter(i + 2, aid)?;
                st.raw_bind_parameter(i + 3, v)?;
                st.raw_bind_parameter(i + 4, s)?;
                st.raw_bind_parameter(i + 5, import_id)?;
                st.raw_bind_parameter(i + 6, meta)?;
                i += 7;
            }
            st.raw_execute()?;
        }
        Ok(())
    }

    fn bulk_start(&mut self, rows: usize, stored: i64) -> Result<bool> {
        // A large delivery rebuilds the per-area index afterwards (one sort) instead of
        // updating it row by row in random order; DDL is transactional in SQLite.
        let rebuild = rows > BULK_ROWS && rows as i64 > stored / 2;
        if rebuild {
            self.execute_batch("DROP INDEX value_area")?;
        }
        Ok(rebuild)
    }

    fn bulk_written(&mut self) -> Result<()> {
        Ok(self.execute_batch("CREATE INDEX value_area ON value(area_id)")?)
    }
}

// ---- PostgreSQL ----

impl postgres::types::ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        // The server decides each parameter's type from the statement; a value is written
        // in that type (an integer into a text column as its digits, as SQLite would).
        match self {
            Val::Null => Ok(postgres::types::IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => (*i as i16).to_sql(ty, out),
                Type::INT4 => (*i as i32).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Real(r) => match *ty {
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => r.to_string().to_sql(ty, out),
                _ => r.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::INT8 | Type::INT4 | Type::INT2 => {
                    let i: i64 = s.parse().map_err(|_| format!("„{s}“ ist keine ganze Zahl"))?;
                    Val::Int(i).to_sql(ty, out)
                }
                _ => s.as_str().to_sql(ty, out),
            },
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn from_pg(r: &postgres::Row, i: usize) -> Result<Val> {
    use postgres::types::Type;
    let ty = r.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| Val::Int(v as i64)),
        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|v| Val::Int(v as i64)),
        Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|v| Val::Int(v as i64)),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Val::Real),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map(|v| Val::Real(v as f64)),
        Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Blob),
        Type::NUMERIC => {
            return Err(StoreError::Backend(format!("Spalte {}: NUMERIC bitte in SQL umwandeln", r.columns()[i].name())));
        }
        _ => r.try_get::<_, Option<String>>(i)?.map(Val::Text),
    };
    Ok(v.unwrap_or(Val::Null))
}

fn pg_params(params: &[Val]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
}

macro_rules! pg_sql {
    ($t:ty) => {
        impl Sql for $t {
            fn dialect(&self) -> Dialect {
                Dialect::Postgres
            }

            fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
                Ok(self.execute(pg_placeholders(sql).as_str(), &pg_params(params))?)
            }

            fn each(&mut self, sql: &str, params: &[Val], each: &mut dyn FnMut(&[Val]) -> Result<()>) -> Result<()> {
                let mut buf = Vec::new();
                for r in self.query(pg_placeholders(sql).as_str(), &pg_params(params))? {
                    buf.clear();
                    for i in 0..r.len() {
                        buf.push(from_pg(&r, i)?);
                    }
                    each(&buf)?;
                }
                Ok(())
            }

            fn insert(&mut self, sql: &str, params: &[Val]) -> Result<i64> {
                let sql = format!("{} RETURNING id", pg_placeholders(sql));
                Ok(self.query_one(sql.as_str(), &pg_params(params))?.get(0))
            }

            fn insert_values(&mut self, rows: &[NewValue], import_id: i64) -> Result<()> {
                // One binary COPY stream instead of statements of many rows.
                use postgres::binary_copy::BinaryCopyInWriter;
                use postgres::types::Type;
                if rows.is_empty() {
                    return Ok(());
                }
                let sink =
                    self.copy_in("COPY value (variable_id, year, area_id, value, symbol, import_id, meta_id) FROM STDIN (FORMAT binary)")?;
                let mut w =
                    BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::INT8, Type::FLOAT8, Type::TEXT, Type::INT8, Type::INT8]);
                for (vid, year, aid, v, s, meta) in rows {
                    w.write(&[vid, &(*year as i64), aid, v, s, &import_id, meta])?;
                }
                w.finish()?;
                Ok(())
            }

            fn bulk_start(&mut self, _rows: usize, _stored: i64) -> Result<bool> {
                Ok(false)
            }

            fn bulk_written(&mut self) -> Result<()> {
                Ok(())
            }
        }
    };
}
pg_sql!(postgres::Client);
pg_sql!(postgres::Transaction<'_>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_dollars_outside_literals() {
        assert_eq!(pg_placeholders("SELECT ?1, '?2' FROM t WHERE a = ?12 AND b = ?"), "SELECT $1, '?2' FROM t WHERE a = $12 AND b = ?");
    }

    #[test]
    fn sqlite_rows_come_back_as_vals() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut c = &conn;
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL)").unwrap();
        let id = c.insert("INSERT INTO t (a, b) VALUES (?1, ?2)", vals!["x", 1.5]).unwrap();
        c.insert("INSERT INTO t (a, b) VALUES (?1, ?2)", vals![None::<&str>, None::<f64>]).unwrap();
        let rows = c.rows("SELECT id, a, b FROM t ORDER BY id", vals![]).unwrap();
        assert_eq!(rows[0], vec![Val::Int(id), Val::Text("x".into()), Val::Real(1.5)]);
        assert_eq!(rows[1][1..], [Val::Null, Val::Null]);
    }
}
