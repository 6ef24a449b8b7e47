//! The GitHub files synced, with their blob and commit (`gh_files`).

use crate::platform::sql::{Sql, SqlError, col_string};

/// The tables of this family.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gh_files (
    project   TEXT NOT NULL,
    path      TEXT NOT NULL,
    sha       TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (project, path)
);
CREATE TABLE IF NOT EXISTS gh_head (
    project   TEXT PRIMARY KEY,
    pushed_at INTEGER NOT NULL,
    commit_id TEXT NOT NULL
);
";

/// The GitHub files synced, with their blob and commit (`gh_files`).
pub struct Github<'a, S> {
    pub(super) sql: &'a S,
}

impl<S: Sql> Github<'_, S> {
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

    /// The newest push accepted: when it was pushed (Unix seconds) and its commit.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn last_push(&self, project: &str) -> Result<Option<(i64, String)>, SqlError> {
        self.sql
            .query(
                "SELECT pushed_at, commit_id FROM gh_head WHERE project = ?1",
                &[project.into()],
            )?
            .first()
            .map(|r| Ok((crate::platform::sql::col_i64(r, 0)?, col_string(r, 1)?)))
            .transpose()
    }

    /// Records the newest push accepted.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn set_last_push(
        &self,
        project: &str,
        pushed_at: i64,
        commit: &str,
    ) -> Result<(), SqlError> {
        self.sql.execute(
            "INSERT INTO gh_head (project, pushed_at, commit_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(project) DO UPDATE SET pushed_at = excluded.pushed_at,
               commit_id = excluded.commit_id",
            &[project.into(), pushed_at.into(), commit.into()],
        )?;
        Ok(())
    }

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
