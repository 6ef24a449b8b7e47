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
