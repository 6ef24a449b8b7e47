//! WhatsApp contacts, turns, replies (their parts), receipts and media (`wa_*`).

use serde::{Deserialize, Serialize};

use crate::platform::sql::{Row, Sql, SqlError, SqlValue, col_i64, col_opt_string, col_string};

/// The tables of this family.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS wa_contacts (
    project      TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    last_inbound INTEGER NOT NULL,
    PRIMARY KEY (project, wa_id)
);
CREATE TABLE IF NOT EXISTS wa_turns (
    id      INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    wa_id   TEXT NOT NULL,
    role    TEXT NOT NULL,
    text    TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS wa_turns_by_contact ON wa_turns (project, wa_id, id);
CREATE TABLE IF NOT EXISTS wa_outbound (
    project    TEXT NOT NULL,
    inbound_id TEXT NOT NULL,
    part       INTEGER NOT NULL,
    wa_id      TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',
    wamid      TEXT,
    status     TEXT,
    error_code INTEGER,
    PRIMARY KEY (project, inbound_id, part)
);
CREATE INDEX IF NOT EXISTS wa_outbound_by_wamid ON wa_outbound (wamid);
CREATE TABLE IF NOT EXISTS wa_statuses (
    project     TEXT NOT NULL,
    wamid       TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    error_codes TEXT NOT NULL,
    PRIMARY KEY (project, wamid, status)
);
CREATE TABLE IF NOT EXISTS wa_media (
    project   TEXT NOT NULL,
    media_id  TEXT NOT NULL,
    blob_key  TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (project, media_id)
);
";

/// A WhatsApp reply part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundPart {
    /// The message it answers.
    pub inbound_id: String,
    /// Its place in the reply (0, 1, ...).
    pub part: i64,
    /// The recipient.
    pub wa_id: String,
    /// The text.
    pub body: String,
    /// `pending`, `sent`, `expired` (the 24-hour window closed first).
    pub state: String,
    /// Its WhatsApp message id, once sent.
    pub wamid: Option<String>,
    /// The latest receipt (`sent`, `delivered`, `read`, `failed`).
    pub status: Option<String>,
    /// The error code of a `failed` receipt.
    pub error_code: Option<i64>,
}

fn part_from_row(r: &Row) -> Result<OutboundPart, SqlError> {
    Ok(OutboundPart {
        inbound_id: col_string(r, 0)?,
        part: col_i64(r, 1)?,
        wa_id: col_string(r, 2)?,
        body: col_string(r, 3)?,
        state: col_string(r, 4)?,
        wamid: col_opt_string(r, 5),
        status: col_opt_string(r, 6),
        error_code: r.get(7).and_then(SqlValue::as_i64),
    })
}

/// How far along a receipt is: a later receipt never replaces a further one (they can arrive
/// out of order), and `failed` is final.
fn receipt_rank(status: &str) -> i64 {
    match status {
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        "failed" => 4,
        _ => 0,
    }
}

/// WhatsApp contacts, turns, replies (their parts), receipts and media (`wa_*`).
pub struct Whatsapp<'a, S> {
    pub(super) sql: &'a S,
}

impl<S: Sql> Whatsapp<'_, S> {
    /// [`SqlError`].
    pub fn touch_contact(&self, project: &str, wa_id: &str, at: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "INSERT INTO wa_contacts (project, wa_id, last_inbound) VALUES (?1, ?2, ?3)
             ON CONFLICT(project, wa_id) DO UPDATE
               SET last_inbound = MAX(last_inbound, excluded.last_inbound)",
            &[project.into(), wa_id.into(), at.into()],
        )?;
        Ok(())
    }

    /// [`SqlError`].
    pub fn last_inbound(&self, project: &str, wa_id: &str) -> Result<Option<i64>, SqlError> {
        let rows = self.sql.query(
            "SELECT last_inbound FROM wa_contacts WHERE project = ?1 AND wa_id = ?2",
            &[project.into(), wa_id.into()],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_i64))
    }

    /// [`SqlError`].
    pub fn turns(
        &self,
        project: &str,
        wa_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>, SqlError> {
        let mut rows = self
            .sql
            .query(
                "SELECT role, text FROM wa_turns WHERE project = ?1 AND wa_id = ?2
                 ORDER BY id DESC LIMIT ?3",
                &[project.into(), wa_id.into(), limit.into()],
            )?
            .iter()
            .map(|r| Ok((col_string(r, 0)?, col_string(r, 1)?)))
            .collect::<Result<Vec<_>, SqlError>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// [`SqlError`].
    pub fn reply(&self, project: &str, inbound_id: &str) -> Result<Vec<OutboundPart>, SqlError> {
        self.sql
            .query(
                "SELECT inbound_id, part, wa_id, body, state, wamid, status, error_code
                 FROM wa_outbound WHERE project = ?1 AND inbound_id = ?2 ORDER BY part",
                &[project.into(), inbound_id.into()],
            )?
            .iter()
            .map(part_from_row)
            .collect()
    }

    /// [`SqlError`].
    pub fn save_reply(
        &self,
        project: &str,
        inbound_id: &str,
        wa_id: &str,
        turn: (&str, &str),
        parts: &[String],
        at: i64,
    ) -> Result<(), SqlError> {
        self.sql.transaction(&mut |tx| {
            for (role, text) in [("user", turn.0), ("assistant", turn.1)] {
                tx.execute(
                    "INSERT INTO wa_turns (project, wa_id, role, text, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    &[project.into(), wa_id.into(), role.into(), text.into(), at.into()],
                )?;
            }
            for (i, body) in parts.iter().enumerate() {
                tx.execute(
                    "INSERT OR IGNORE INTO wa_outbound (project, inbound_id, part, wa_id, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    &[
                        project.into(),
                        inbound_id.into(),
                        (i as i64).into(),
                        wa_id.into(),
                        body.as_str().into(),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// [`SqlError`].
    pub fn mark_part(
        &self,
        project: &str,
        inbound_id: &str,
        part: i64,
        wamid: Option<&str>,
    ) -> Result<(), SqlError> {
        let state = if wamid.is_some() { "sent" } else { "expired" };
        self.sql.execute(
            "UPDATE wa_outbound SET state = ?4, wamid = ?5
             WHERE project = ?1 AND inbound_id = ?2 AND part = ?3",
            &[
                project.into(),
                inbound_id.into(),
                part.into(),
                state.into(),
                wamid.into(),
            ],
        )?;
        Ok(())
    }

    /// [`SqlError`].
    pub fn record_status(
        &self,
        project: &str,
        status: &crate::channels::whatsapp::payload::Status,
    ) -> Result<bool, SqlError> {
        let codes = serde_json::to_string(&status.error_codes)
            .map_err(|e| SqlError::Shape(e.to_string()))?;
        let mut new = false;
        self.sql.transaction(&mut |tx| {
            new = tx.execute(
                "INSERT OR IGNORE INTO wa_statuses (project, wamid, status, at, error_codes)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    project.into(),
                    status.id.as_str().into(),
                    status.status.as_str().into(),
                    status.timestamp.into(),
                    codes.as_str().into(),
                ],
            )? > 0;
            let current: Option<String> = tx
                .query(
                    "SELECT status FROM wa_outbound WHERE project = ?1 AND wamid = ?2",
                    &[project.into(), status.id.as_str().into()],
                )?
                .first()
                .and_then(|r| col_opt_string(r, 0));
            if receipt_rank(&status.status) > current.as_deref().map_or(0, receipt_rank) {
                tx.execute(
                    "UPDATE wa_outbound SET status = ?3, error_code = ?4
                     WHERE project = ?1 AND wamid = ?2",
                    &[
                        project.into(),
                        status.id.as_str().into(),
                        status.status.as_str().into(),
                        status.error_codes.first().copied().into(),
                    ],
                )?;
            }
            Ok(())
        })?;
        Ok(new)
    }

    /// [`SqlError`].
    pub fn statuses(&self, project: &str, wamid: &str) -> Result<Vec<String>, SqlError> {
        self.sql
            .query(
                "SELECT status FROM wa_statuses WHERE project = ?1 AND wamid = ?2 ORDER BY rowid",
                &[project.into(), wamid.into()],
            )?
            .iter()
            .map(|r| col_string(r, 0))
            .collect()
    }

    /// [`SqlError`].
    pub fn record_media(
        &self,
        project: &str,
        media_id: &str,
        blob_key: &str,
        mime_type: &str,
        size: i64,
    ) -> Result<(), SqlError> {
        self.sql.execute(
            "INSERT OR REPLACE INTO wa_media (project, media_id, blob_key, mime_type, size)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                project.into(),
                media_id.into(),
                blob_key.into(),
                mime_type.into(),
                size.into(),
            ],
        )?;
        Ok(())
    }
}
