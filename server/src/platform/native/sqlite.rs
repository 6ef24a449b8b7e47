//! The SQL port over a rusqlite connection to one SQLite file (WAL mode).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

use crate::platform::sql::{Row, Sql, SqlError, SqlValue};

/// One SQLite file. The connection is behind a mutex: SQLite serializes writers anyway, and
/// statements here are short.
pub struct SqliteFile {
    conn: Mutex<Connection>,
}

impl SqliteFile {
    /// Opens (creating if needed) the database at `path` in WAL mode.
    ///
    /// # Errors
    /// [`SqlError::Database`] when the file cannot be opened or configured.
    pub fn open(path: &Path) -> Result<Self, SqlError> {
        let conn = Connection::open(path).map_err(db)?;
        // Owner-only before the first write: SQLite gives its -wal and -shm files the database
        // file's permissions.
        super::fs::private_file(path)
            .map_err(|e| SqlError::Database(format!("{}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(db)?;
        Ok(SqliteFile {
            conn: Mutex::new(conn),
        })
    }

    /// An in-memory database, for tests and benchmarks that need no file.
    ///
    /// # Errors
    /// [`SqlError::Database`] when SQLite cannot allocate it.
    pub fn in_memory() -> Result<Self, SqlError> {
        let conn = Connection::open_in_memory().map_err(db)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(db)?;
        Ok(SqliteFile {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself intact (SQLite rolls back
        // an unfinished transaction), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn db(e: rusqlite::Error) -> SqlError {
    SqlError::Database(e.to_string())
}

fn to_value(v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(f) => Value::Real(*f),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
    }
}

fn from_ref(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

/// The port over a borrowed connection; used directly and inside transactions.
struct Conn<'a>(&'a Connection);

impl Sql for Conn<'_> {
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        self.0.execute_batch(sql).map_err(db)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let n = stmt
            .execute(params_from_iter(params.iter().map(to_value)))
            .map_err(db)?;
        Ok(n as u64)
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, SqlError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(to_value)))
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let mut r = Vec::with_capacity(width);
            for i in 0..width {
                r.push(from_ref(row.get_ref(i).map_err(db)?));
            }
            out.push(r);
        }
        Ok(out)
    }

    fn transaction(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        self.0.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        match work(self) {
            Ok(()) => self.0.execute_batch("COMMIT").map_err(db),
            Err(e) => {
                // The original error matters more than a failed rollback.
                let _ = self.0.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn last_insert_rowid(&self) -> i64 {
        self.0.last_insert_rowid()
    }
}

impl Sql for SqliteFile {
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        Conn(&self.lock()).execute_batch(sql)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        Conn(&self.lock()).execute(sql, params)
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, SqlError> {
        Conn(&self.lock()).query(sql, params)
    }

    fn transaction(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        Conn(&self.lock()).transaction(work)
    }

    fn last_insert_rowid(&self) -> i64 {
        self.lock().last_insert_rowid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_sqlite_has_fts5() {
        let db = SqliteFile::in_memory().expect("opens");
        db.execute_batch("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61');")
            .expect("fts5 is compiled in");
        db.execute("INSERT INTO t(body) VALUES (?1)", &["rotating keys".into()])
            .expect("inserts");
        let rows = db
            .query("SELECT bm25(t) FROM t WHERE t MATCH ?1", &["rotate".into()])
            .expect("matches through the porter stemmer");
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn failed_transaction_rolls_back() {
        let db = SqliteFile::in_memory().expect("opens");
        db.execute_batch("CREATE TABLE t(x INTEGER);")
            .expect("creates");
        let r = db.transaction(&mut |tx| {
            tx.execute("INSERT INTO t VALUES (1)", &[])?;
            Err(SqlError::Database("boom".into()))
        });
        assert!(r.is_err());
        let rows = db.query("SELECT count(*) FROM t", &[]).expect("counts");
        assert_eq!(rows[0][0], SqlValue::Integer(0));
    }
}
