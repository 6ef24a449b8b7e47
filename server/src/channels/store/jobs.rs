//! The durable job table (`channel_jobs`): stored before a webhook is acknowledged,
//! deduplicated by a key, claimed with a lease, retried with backoff, kept as `dead` when it
//! cannot succeed; jobs of one `lane` run one at a time, in order.

use serde::{Deserialize, Serialize};

use crate::platform::sql::{Row, Sql, SqlError, SqlValue, col_i64, col_opt_string, col_string};

/// The tables of this family.
pub const SCHEMA: &str = "
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

/// A lane or dedupe key of `project`: both are scoped to their project, so two projects'
/// scheduled keys never collide (each project is polled and synced) and one project's failing
/// lane never holds up another's. (Natively every project's jobs share one table; on Workers
/// each project's object has its own, where the scope changes nothing.)
fn scoped(project: &str, key: &str) -> String {
    format!("{project}/{key}")
}

/// The durable job table (`channel_jobs`): stored before a webhook is acknowledged,
pub struct Jobs<'a, S> {
    pub(super) sql: &'a S,
}

impl<S: Sql> Jobs<'_, S> {
    /// [`SqlError`].
    pub fn enqueue(&self, job: &NewJob<'_>, now: i64) -> Result<bool, SqlError> {
        let n = self.sql.execute(
            "INSERT OR IGNORE INTO channel_jobs
               (project, kind, lane, dedupe, payload, state, attempts, run_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)",
            &[
                job.project.into(),
                job.kind.into(),
                job.lane.as_deref().map(|l| scoped(job.project, l)).into(),
                job.dedupe.as_deref().map(|d| scoped(job.project, d)).into(),
                job.payload.as_str().into(),
                now.into(),
            ],
        )?;
        Ok(n > 0)
    }

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

    /// [`SqlError`].
    pub fn release_all(&self, now: i64) -> Result<u64, SqlError> {
        self.sql.execute(
            "UPDATE channel_jobs SET state = 'pending', run_at = ?1, lease_until = NULL
             WHERE state = 'running'",
            &[now.into()],
        )
    }

    /// [`SqlError`].
    pub fn complete(&self, id: i64, now: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE channel_jobs SET state = 'done', lease_until = NULL, last_error = NULL,
               updated_at = ?2 WHERE id = ?1",
            &[id.into(), now.into()],
        )?;
        Ok(())
    }

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

    /// [`SqlError`].
    pub fn list(
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

    /// [`SqlError`].
    pub fn job_by_dedupe(&self, project: &str, key: &str) -> Result<Option<JobRow>, SqlError> {
        self.sql
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM channel_jobs WHERE project = ?1 AND dedupe = ?2"
                ),
                &[project.into(), scoped(project, key).into()],
            )?
            .first()
            .map(job_from_row)
            .transpose()
    }

    /// [`SqlError`].
    pub fn retry(&self, project: &str, id: i64, now: i64) -> Result<bool, SqlError> {
        Ok(self.sql.execute(
            "UPDATE channel_jobs SET state = 'pending', run_at = ?3, attempts = 0, updated_at = ?3
             WHERE project = ?1 AND id = ?2 AND state = 'dead'",
            &[project.into(), id.into(), now.into()],
        )? > 0)
    }

    /// [`SqlError`].
    pub fn prune(&self, before: i64) -> Result<u64, SqlError> {
        self.sql.execute(
            "DELETE FROM channel_jobs WHERE state = 'done' AND updated_at < ?1",
            &[before.into()],
        )
    }
}
