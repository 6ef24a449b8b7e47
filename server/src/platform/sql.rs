//! The SQL port: a small, synchronous interface over SQLite.
//!
//! Synchronous on purpose: both targets' SQLite is synchronous (rusqlite natively, and a Durable
//! Object's `storage().sql()` on Workers), so the knowledge code stays plain functions and the
//! same SQL text runs on both.

use thiserror::Error;

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl SqlValue {
    /// The value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as a float (integers widen).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SqlValue::Real(f) => Some(*f),
            SqlValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as owned text; `NULL` and non-text give `None`.
    pub fn into_string(self) -> Option<String> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as bytes, if it is a blob.
    pub fn as_blob(&self) -> Option<&[u8]> {
        match self {
            SqlValue::Blob(b) => Some(b),
            _ => None,
        }
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_owned())
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// One result row, columns in `SELECT` order.
pub type Row = Vec<SqlValue>;

/// What went wrong in the database.
#[derive(Debug, Error)]
pub enum SqlError {
    /// The database rejected or failed the statement.
    #[error("database error: {0}")]
    Database(String),
    /// A row did not have the shape the query promised.
    #[error("unexpected row shape: {0}")]
    Shape(String),
}

/// A SQLite connection (a file natively, a Durable Object's storage on Workers).
///
/// No `Send`/`Sync` supertraits: the transaction handle borrows a connection that is neither;
/// holders that cross threads ask for `Sql + Send + Sync` themselves.
pub trait Sql {
    /// Runs statements that take no parameters (schema setup). `sql` may hold several statements.
    ///
    /// # Errors
    /// [`SqlError::Database`] when SQLite rejects a statement.
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError>;

    /// Runs one statement and returns the number of rows it changed.
    ///
    /// # Errors
    /// [`SqlError::Database`] when SQLite rejects the statement.
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError>;

    /// Runs one query and returns all its rows.
    ///
    /// # Errors
    /// [`SqlError::Database`] when SQLite rejects the query.
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, SqlError>;

    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    ///
    /// # Errors
    /// The error `work` returned, or [`SqlError::Database`] when the commit fails.
    fn transaction(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), SqlError>,
    ) -> Result<(), SqlError>;

    /// The rowid of the last `INSERT` on this connection.
    fn last_insert_rowid(&self) -> i64;
}

/// Reads column `i` of `row` as an integer.
///
/// # Errors
/// [`SqlError::Shape`] when the column is missing or not an integer.
pub fn col_i64(row: &Row, i: usize) -> Result<i64, SqlError> {
    row.get(i)
        .and_then(SqlValue::as_i64)
        .ok_or_else(|| SqlError::Shape(format!("column {i} is not an integer")))
}

/// Reads column `i` of `row` as a number (a real, or an integer).
///
/// # Errors
/// [`SqlError::Shape`] when the column is missing or not a number.
pub fn col_f64(row: &Row, i: usize) -> Result<f64, SqlError> {
    match row.get(i) {
        Some(SqlValue::Real(f)) => Ok(*f),
        Some(SqlValue::Integer(n)) => Ok(*n as f64),
        _ => Err(SqlError::Shape(format!("column {i} is not a number"))),
    }
}

/// Reads column `i` of `row` as text (`NULL` reads as empty).
///
/// # Errors
/// [`SqlError::Shape`] when the column is missing or neither text nor `NULL`.
pub fn col_string(row: &Row, i: usize) -> Result<String, SqlError> {
    match row.get(i) {
        Some(SqlValue::Text(s)) => Ok(s.clone()),
        Some(SqlValue::Null) => Ok(String::new()),
        _ => Err(SqlError::Shape(format!("column {i} is not text"))),
    }
}

/// Reads column `i` of `row` as optional text.
pub fn col_opt_string(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(SqlValue::as_str).map(str::to_owned)
}
