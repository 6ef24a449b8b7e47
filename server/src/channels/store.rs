//! What the webhook channels keep, over the SQL port: each project's channel settings, the
//! durable job table, WhatsApp contacts, turns, replies and receipts, and the GitHub files
//! synced. Natively these tables live in the main SQLite file (all projects, a `project`
//! column); on Workers in each project's `Knowledge` Durable Object (one project). The SQL is
//! the same.
//!
//! The job table gives both targets the same semantics: a job is stored before the webhook is
//! acknowledged, deduplicated by a key (a WhatsApp message id, a GitHub delivery id), claimed
//! with a lease (a process that dies mid-job leaves it to be claimed again once the lease
//! ends), retried with backoff, and kept as `dead` (listed, retriable by an operator) when it
//! cannot succeed. Jobs of one `lane` (one WhatsApp user, one repository) run one at a time, in
//! order.
//!
//! Change counts are only compared with zero: a Durable Object's `rowsWritten` counts index
//! entries too, so one inserted row may count as several.

use serde::{Deserialize, Serialize};

use crate::platform::sql::{Row, Sql, SqlError, SqlValue, col_i64, col_opt_string, col_string};

/// The schema, applied at open (idempotent).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS channel_config (
    project TEXT NOT NULL,
    kind    TEXT NOT NULL,
    config  TEXT NOT NULL,
    PRIMARY KEY (project, kind)
);
CREATE TABLE IF NOT EXISTS channel_jobs (
    id          INTEGER PRIMARY KEY,
    project     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    lane        TEXT,
    dedupe      TEXT UNIQUE,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS channel_jobs_due ON channel_jobs (state, run_at);
CREATE INDEX IF NOT EXISTS channel_jobs_by_lane ON channel_jobs (lane, state, id);
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
CREATE TABLE IF NOT EXISTS gh_files (
    project   TEXT NOT NULL,
    path      TEXT NOT NULL,
    sha       TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (project, path)
);
";

/// A job's state.
pub mod state {
    /// Waiting for its `run_at`.
    pub const PENDING: &str = "pending";
    /// Claimed by a runner until its lease ends.
    pub const RUNNING: &str = "running";
    /// Done.
    pub const DONE: &str = "done";
    /// Failed for good (or too often): kept for an operator.
    pub const DEAD: &str = "dead";
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    /// Its id.
    pub id: i64,
    /// The project.
    pub project: String,
    /// What kind of work (`whatsapp_message`, `github_push`, `github_sync`).
    pub kind: String,
    /// Its payload (JSON).
    pub payload: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    /// How many times it was claimed.
    pub attempts: i64,
    /// When it may next run (Unix ms).
    pub run_at: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

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

/// The channel tables over a SQL handle.
pub struct ChannelStore<S> {
    sql: S,
}

const JOB_COLUMNS: &str = "id, project, kind, payload, state, attempts, run_at, last_error";

fn job_from_row(r: &Row) -> Result<JobRow, SqlError> {
    Ok(JobRow {
        id: col_i64(r, 0)?,
        project: col_string(r, 1)?,
        kind: col_string(r, 2)?,
        payload: col_string(r, 3)?,
        state: col_string(r, 4)?,
        attempts: col_i64(r, 5)?,
        run_at: col_i64(r, 6)?,
        last_error: col_opt_string(r, 7),
    })
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

/// A new job's description.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// The project.
    pub project: &'a str,
    /// Its kind.
    pub kind: &'a str,
    /// Jobs of one lane run one at a time, in order.
    pub lane: Option<String>,
    /// A key that makes a second enqueue of the same work a no-op.
    pub dedupe: Option<String>,
    /// Its payload (JSON).
    pub payload: String,
}

impl<S: Sql> ChannelStore<S> {
    /// Opens the tables over `sql`, creating them when missing.
    ///
    /// # Errors
    /// [`SqlError`] when the schema cannot be applied.
    pub fn open(sql: S) -> Result<Self, SqlError> {
        for statement in SCHEMA
            .split(';')
            .chain(super::communicator::schema::SCHEMA.split(';'))
            .filter(|s| !s.trim().is_empty())
        {
            sql.execute_batch(statement)?;
        }
        Ok(ChannelStore { sql })
    }

    /// The SQL handle (the communicator's tables share it).
    pub(crate) fn sql(&self) -> &S {
        &self.sql
    }

    /// A project's settings for one channel (`whatsapp`, `github`), as JSON.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn config(&self, project: &str, kind: &str) -> Result<Option<String>, SqlError> {
        let rows = self.sql.query(
            "SELECT config FROM channel_config WHERE project = ?1 AND kind = ?2",
            &[project.into(), kind.into()],
        )?;
        rows.first().map(|r| col_string(r, 0)).transpose()
    }

    /// Sets (or, with `None`, removes) a project's settings for one channel.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn set_config(
        &self,
        project: &str,
        kind: &str,
        config: Option<&str>,
    ) -> Result<(), SqlError> {
        match config {
            Some(c) => self.sql.execute(
                "INSERT INTO channel_config (project, kind, config) VALUES (?1, ?2, ?3)
                 ON CONFLICT(project, kind) DO UPDATE SET config = excluded.config",
                &[project.into(), kind.into(), c.into()],
            )?,
            None => self.sql.execute(
                "DELETE FROM channel_config WHERE project = ?1 AND kind = ?2",
                &[project.into(), kind.into()],
            )?,
        };
        Ok(())
    }

    /// Stores a job to run at `now` (ms); `false` when its dedupe key was seen before.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn enqueue(&self, job: &NewJob<'_>, now: i64) -> Result<bool, SqlError> {
        let n = self.sql.execute(
            "INSERT OR IGNORE INTO channel_jobs
               (project, kind, lane, dedupe, payload, state, attempts, run_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)",
            &[
                job.project.into(),
                job.kind.into(),
                job.lane.clone().into(),
                job.dedupe.clone().into(),
                job.payload.as_str().into(),
                now.into(),
            ],
        )?;
        Ok(n > 0)
    }

    /// Claims the next due job (pending and due, or running with its lease ended) whose lane
    /// has no job running, for `lease` ms.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn claim(&self, now: i64, lease: i64) -> Result<Option<JobRow>, SqlError> {
        let mut claimed = None;
        self.sql.transaction(&mut |tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM channel_jobs j
                     WHERE ((j.state = 'pending' AND j.run_at <= ?1)
                            OR (j.state = 'running' AND j.lease_until < ?1))
                       AND (j.lane IS NULL OR NOT EXISTS (
                            SELECT 1 FROM channel_jobs o
                            WHERE o.lane = j.lane AND o.id <> j.id AND (
                              (o.state = 'running' AND o.lease_until >= ?1)
                              OR (o.state IN ('pending', 'running') AND o.id < j.id))))
                     ORDER BY j.run_at, j.id LIMIT 1"
                ),
                &[now.into()],
            )?;
            let Some(row) = rows.first() else {
                return Ok(());
            };
            let mut job = job_from_row(row)?;
            tx.execute(
                "UPDATE channel_jobs SET state = 'running', attempts = attempts + 1,
                   lease_until = ?2, updated_at = ?3 WHERE id = ?1",
                &[job.id.into(), (now + lease).into(), now.into()],
            )?;
            job.state = state::RUNNING.into();
            job.attempts += 1;
            claimed = Some(job);
            Ok(())
        })?;
        Ok(claimed)
    }

    /// Returns every running job to the queue at once: for a process that owns the table
    /// alone (the native server at start), jobs it held when it died need not wait out their
    /// lease. The number returned.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn release_all(&self, now: i64) -> Result<u64, SqlError> {
        self.sql.execute(
            "UPDATE channel_jobs SET state = 'pending', run_at = ?1, lease_until = NULL
             WHERE state = 'running'",
            &[now.into()],
        )
    }

    /// Marks a job done.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn complete(&self, id: i64, now: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE channel_jobs SET state = 'done', lease_until = NULL, last_error = NULL,
               updated_at = ?2 WHERE id = ?1",
            &[id.into(), now.into()],
        )?;
        Ok(())
    }

    /// Records a failure: to run again at `retry_at` (ms), or `dead` when `None`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn fail(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), SqlError> {
        match retry_at {
            Some(at) => self.sql.execute(
                "UPDATE channel_jobs SET state = 'pending', run_at = ?2, lease_until = NULL,
                   last_error = ?3, updated_at = ?4 WHERE id = ?1",
                &[id.into(), at.into(), error.into(), now.into()],
            )?,
            None => self.sql.execute(
                "UPDATE channel_jobs SET state = 'dead', lease_until = NULL, last_error = ?2,
                   updated_at = ?3 WHERE id = ?1",
                &[id.into(), error.into(), now.into()],
            )?,
        };
        Ok(())
    }

    /// When the next job becomes claimable (ms), if any job is waiting or running.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn next_due(&self) -> Result<Option<i64>, SqlError> {
        let rows = self.sql.query(
            "SELECT MIN(CASE state WHEN 'pending' THEN run_at ELSE lease_until END)
             FROM channel_jobs WHERE state IN ('pending', 'running')",
            &[],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_i64))
    }

    /// A project's jobs in `state` (all states when `None`), newest first, at most `limit`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn jobs(
        &self,
        project: &str,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<JobRow>, SqlError> {
        self.sql
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM channel_jobs
                     WHERE project = ?1 AND (?2 IS NULL OR state = ?2)
                     ORDER BY id DESC LIMIT ?3"
                ),
                &[project.into(), state.into(), limit.into()],
            )?
            .iter()
            .map(job_from_row)
            .collect()
    }

    /// The job stored under dedupe key `key`, if any.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn job_by_dedupe(&self, project: &str, key: &str) -> Result<Option<JobRow>, SqlError> {
        self.sql
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM channel_jobs WHERE project = ?1 AND dedupe = ?2"
                ),
                &[project.into(), key.into()],
            )?
            .first()
            .map(job_from_row)
            .transpose()
    }

    /// Puts a project's dead job back in the queue, to run now; whether there was one.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn retry(&self, project: &str, id: i64, now: i64) -> Result<bool, SqlError> {
        Ok(self.sql.execute(
            "UPDATE channel_jobs SET state = 'pending', run_at = ?3, attempts = 0, updated_at = ?3
             WHERE project = ?1 AND id = ?2 AND state = 'dead'",
            &[project.into(), id.into(), now.into()],
        )? > 0)
    }

    /// Forgets jobs done before `before` (ms). Their dedupe keys go with them, so `before`
    /// must be older than the longest redelivery window (Meta retries for 7 days).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn prune(&self, before: i64) -> Result<u64, SqlError> {
        self.sql.execute(
            "DELETE FROM channel_jobs WHERE state = 'done' AND updated_at < ?1",
            &[before.into()],
        )
    }

    /// Records a message from `wa_id` at `at` (Unix s): its 24-hour window starts again.
    ///
    /// # Errors
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

    /// When `wa_id` last wrote (Unix s).
    ///
    /// # Errors
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

    /// The last `limit` turns with `wa_id`, oldest first: `(role, text)`.
    ///
    /// # Errors
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

    /// The reply to message `inbound_id`, part by part.
    ///
    /// # Errors
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

    /// Stores a reply to `inbound_id` (its parts, to send) and the turn it makes (the
    /// question and the answer), at once.
    ///
    /// # Errors
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

    /// Marks a reply part sent (`wamid`) or expired (`None`: the window closed).
    ///
    /// # Errors
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

    /// Records a receipt for a sent message, once per `(wamid, status)`; the reply part it
    /// belongs to shows the furthest receipt. Whether it was new.
    ///
    /// # Errors
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

    /// The receipts recorded for `wamid`, in arrival order.
    ///
    /// # Errors
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

    /// Records a media file stored in the blob store.
    ///
    /// # Errors
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

    /// The files synced from GitHub: path → blob sha.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn synced_files(
        &self,
        project: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, SqlError> {
        self.sql
            .query(
                "SELECT path, sha FROM gh_files WHERE project = ?1",
                &[project.into()],
            )?
            .iter()
            .map(|r| Ok((col_string(r, 0)?, col_string(r, 1)?)))
            .collect()
    }

    /// Records a file synced at `commit` (or, with `None`, forgets it).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn set_synced(
        &self,
        project: &str,
        path: &str,
        synced: Option<(&str, &str)>,
    ) -> Result<(), SqlError> {
        match synced {
            Some((sha, commit)) => self.sql.execute(
                "INSERT INTO gh_files (project, path, sha, commit_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(project, path) DO UPDATE SET sha = excluded.sha,
                   commit_id = excluded.commit_id",
                &[project.into(), path.into(), sha.into(), commit.into()],
            )?,
            None => self.sql.execute(
                "DELETE FROM gh_files WHERE project = ?1 AND path = ?2",
                &[project.into(), path.into()],
            )?,
        };
        Ok(())
    }
}
