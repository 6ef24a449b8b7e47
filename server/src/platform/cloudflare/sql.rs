//! The SQL port over a Durable Object's SQLite (`ctx.storage.sql`), and D1 rows read into the
//! same row type so the cross-project SQL is shared too.

use std::cell::Cell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use worker::{SqlStorage, SqlStorageValue};

use crate::platform::sql::{Row, Sql, SqlError, SqlValue};

/// A Durable Object's SQLite database.
pub struct DoSql {
    sql: SqlStorage,
    /// `ctx.storage`, for `transactionSync` (not wrapped by the `worker` crate).
    storage: JsValue,
    last_rowid: Cell<i64>,
}

impl DoSql {
    /// The database of the object whose state is `state`.
    pub fn new(state: &worker::State) -> Self {
        let storage = state.storage();
        DoSql {
            sql: storage.sql(),
            storage: AsRef::<JsValue>::as_ref(storage.as_raw()).clone(),
            last_rowid: Cell::new(0),
        }
    }
}

fn to_storage(v: &SqlValue) -> SqlStorageValue {
    match v {
        SqlValue::Null => SqlStorageValue::Null,
        SqlValue::Integer(i) => SqlStorageValue::Integer(*i),
        SqlValue::Real(f) => SqlStorageValue::Float(*f),
        SqlValue::Text(s) => SqlStorageValue::String(s.clone()),
        SqlValue::Blob(b) => SqlStorageValue::Blob(b.clone()),
    }
}

/// A value read back from JavaScript.
pub fn from_storage(v: SqlStorageValue) -> SqlValue {
    match v {
        SqlStorageValue::Null => SqlValue::Null,
        SqlStorageValue::Boolean(b) => SqlValue::Integer(i64::from(b)),
        SqlStorageValue::Integer(i) => SqlValue::Integer(i),
        SqlStorageValue::Float(f) => SqlValue::Real(f),
        SqlStorageValue::String(s) => SqlValue::Text(s),
        SqlStorageValue::Blob(b) => SqlValue::Blob(b),
    }
}

fn db(e: impl std::fmt::Display) -> SqlError {
    SqlError::Database(e.to_string())
}

impl Sql for DoSql {
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        // `exec` runs every statement of a script when it has no bindings.
        let cursor = self.sql.exec(sql, None).map_err(db)?;
        for row in cursor.raw() {
            row.map_err(db)?;
        }
        Ok(())
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        let cursor = self
            .sql
            .exec(sql, params.iter().map(to_storage).collect::<Vec<_>>())
            .map_err(db)?;
        for row in cursor.raw() {
            row.map_err(db)?;
        }
        let written = cursor.rows_written() as u64;
        if sql
            .trim_start()
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("insert"))
        {
            let id = self
                .sql
                .exec("SELECT last_insert_rowid()", None)
                .map_err(db)?
                .raw()
                .next()
                .and_then(|r| r.ok())
                .and_then(|r| r.into_iter().next())
                .map(from_storage)
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            self.last_rowid.set(id);
        }
        Ok(written)
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, SqlError> {
        let cursor = self
            .sql
            .exec(sql, params.iter().map(to_storage).collect::<Vec<_>>())
            .map_err(db)?;
        cursor
            .raw()
            .map(|r| {
                r.map(|r| r.into_iter().map(from_storage).collect())
                    .map_err(db)
            })
            .collect()
    }

    fn transaction(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        // A Durable Object's SQLite refuses BEGIN/COMMIT; `storage.transactionSync(fn)` runs
        // `fn` in a transaction and rolls back when it throws. The `worker` crate does not wrap
        // it, hence the call through `Reflect`.
        let f: js_sys::Function = js_sys::Reflect::get(&self.storage, &"transactionSync".into())
            .map_err(|_| db("transactionSync is missing"))?
            .dyn_into()
            .map_err(|_| db("transactionSync is not a function"))?;
        let mut outcome: Result<(), SqlError> = Ok(());
        {
            let outcome_ref = &mut outcome;
            let mut body = || -> Result<JsValue, JsValue> {
                match work(self) {
                    Ok(()) => Ok(JsValue::UNDEFINED),
                    Err(e) => {
                        *outcome_ref = Err(e);
                        Err(JsValue::from_str("rolled back"))
                    }
                }
            };
            let body: &mut dyn FnMut() -> Result<JsValue, JsValue> = &mut body;
            // SAFETY: `transactionSync` calls the closure synchronously and keeps no reference
            // to it after returning; the closure is dropped (below) before `body` goes out of
            // scope, so the extended lifetime is never observed.
            let body: &'static mut dyn FnMut() -> Result<JsValue, JsValue> =
                unsafe { std::mem::transmute(body) };
            let closure =
                Closure::wrap(Box::new(body) as Box<dyn FnMut() -> Result<JsValue, JsValue>>);
            let called = f.call1(&self.storage, closure.as_ref());
            drop(closure);
            if let Err(e) = called
                && outcome.is_ok()
            {
                return Err(db(format!("{e:?}")));
            }
        }
        outcome
    }

    fn last_insert_rowid(&self) -> i64 {
        self.last_rowid.get()
    }
}

/// Reads D1's raw rows (arrays of JavaScript values) as port rows.
pub fn d1_rows(rows: Vec<Vec<JsValue>>) -> Result<Vec<Row>, SqlError> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| SqlStorageValue::try_from(v).map(from_storage).map_err(db))
                .collect()
        })
        .collect()
}

/// Port values as D1 bindings.
pub fn d1_params(params: &[SqlValue]) -> Vec<JsValue> {
    params.iter().map(|v| to_storage(v).into()).collect()
}
