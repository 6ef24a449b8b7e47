//! Sessions and their frames in SQL (a SQLite file natively; the session's own Durable Object
//! storage on Workers). The SQL is the same on both.

use outpost_protocol::ServerFrame;

use crate::platform::sql::{Sql, SqlError, SqlValue, col_i64, col_string};

/// The schema, applied at open (idempotent).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id         TEXT PRIMARY KEY,
    project    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS frames (
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback (
    session_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    helpful    INTEGER NOT NULL,
    comment    TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, message_id)
) WITHOUT ROWID;
";

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionOwner {
    /// The project.
    pub project: String,
    /// The visitor (`sub` of their token).
    pub subject: String,
}

/// Sessions over a SQL handle.
pub struct SessionStore<S> {
    sql: S,
}

impl<S: Sql> SessionStore<S> {
    /// Opens the store, creating its tables when new.
    ///
    /// # Errors
    /// [`SqlError`] when the schema cannot be applied.
    pub fn open(sql: S) -> Result<Self, SqlError> {
        sql.execute_batch(SCHEMA)?;
        Ok(SessionStore { sql })
    }

    /// Deletes every session of `project` with its frames and feedback; returns how many
    /// sessions there were.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure; nothing is changed then.
    pub fn delete_project(&self, project: &str) -> Result<u64, SqlError> {
        let mut sessions = 0;
        self.sql.transaction(&mut |tx| {
            for table in ["frames", "feedback"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE session_id IN (SELECT id FROM sessions WHERE project = ?1)"
                    ),
                    &[project.into()],
                )?;
            }
            sessions = tx.execute("DELETE FROM sessions WHERE project = ?1", &[project.into()])?;
            Ok(())
        })?;
        Ok(sessions)
    }

    /// Records a new session `id` (chosen by the caller, random) for `owner`.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure or a duplicate id.
    pub fn create(&self, id: &str, owner: &SessionOwner, now_unix: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "INSERT INTO sessions (id, project, subject, created_at) VALUES (?1, ?2, ?3, ?4)",
            &[
                id.into(),
                owner.project.as_str().into(),
                owner.subject.as_str().into(),
                SqlValue::Integer(now_unix),
            ],
        )?;
        Ok(())
    }

    /// Who owns session `id`, if it exists.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn owner(&self, id: &str) -> Result<Option<SessionOwner>, SqlError> {
        let rows = self.sql.query(
            "SELECT project, subject FROM sessions WHERE id = ?1",
            &[id.into()],
        )?;
        rows.first()
            .map(|r| {
                Ok(SessionOwner {
                    project: col_string(r, 0)?,
                    subject: col_string(r, 1)?,
                })
            })
            .transpose()
    }

    /// Every stored frame of session `id`, in sequence order.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure or a frame that does not parse.
    pub fn frames(&self, id: &str) -> Result<Vec<ServerFrame>, SqlError> {
        let rows = self.sql.query(
            "SELECT seq, body FROM frames WHERE session_id = ?1 ORDER BY seq",
            &[id.into()],
        )?;
        rows.iter()
            .map(|r| {
                let seq = col_i64(r, 0)?;
                serde_json::from_str(&col_string(r, 1)?)
                    .map_err(|e| SqlError::Shape(format!("frame {seq} of session {id}: {e}")))
            })
            .collect()
    }

    /// Records (or replaces) a visitor's rating of an answer of session `id`; `false` (and
    /// nothing stored) when `fb.message_id` names no finished answer of it.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn record_feedback(
        &self,
        id: &str,
        fb: &outpost_protocol::Feedback,
        now_unix: i64,
    ) -> Result<bool, SqlError> {
        let answer = self.sql.query(
            "SELECT 1 FROM frames WHERE session_id = ?1 AND json_extract(body, '$.id') = ?2
               AND json_extract(body, '$.type') = 'answer_end' LIMIT 1",
            &[id.into(), fb.message_id.as_str().into()],
        )?;
        if answer.is_empty() {
            return Ok(false);
        }
        self.sql.execute(
            "INSERT INTO feedback (session_id, message_id, helpful, comment, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(session_id, message_id) DO UPDATE SET helpful = excluded.helpful,
               comment = excluded.comment, created_at = excluded.created_at",
            &[
                id.into(),
                fb.message_id.as_str().into(),
                SqlValue::Integer(i64::from(fb.helpful)),
                fb.comment.clone().into(),
                SqlValue::Integer(now_unix),
            ],
        )?;
        Ok(true)
    }

    /// Appends a conversation frame (it must carry a `seq`).
    ///
    /// # Errors
    /// [`SqlError`] on a database failure, a frame without `seq`, or a `seq` already stored.
    pub fn append(&self, id: &str, frame: &ServerFrame) -> Result<(), SqlError> {
        let seq = frame
            .seq()
            .ok_or_else(|| SqlError::Shape("only conversation frames are stored".into()))?;
        let body = serde_json::to_string(frame).map_err(|e| SqlError::Shape(e.to_string()))?;
        self.sql.execute(
            "INSERT INTO frames (session_id, seq, body) VALUES (?1, ?2, ?3)",
            &[id.into(), SqlValue::Integer(seq as i64), body.into()],
        )?;
        Ok(())
    }
}
