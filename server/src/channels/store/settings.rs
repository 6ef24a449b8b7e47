//! Each project's settings per channel (`channel_config`).

use crate::platform::sql::{Sql, SqlError, col_string};

/// The tables of this family.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS channel_config (
    project TEXT NOT NULL,
    kind    TEXT NOT NULL,
    config  TEXT NOT NULL,
    PRIMARY KEY (project, kind)
);
";

/// Each project's settings per channel (`channel_config`).
pub struct Settings<'a, S> {
    pub(super) sql: &'a S,
}

impl<S: Sql> Settings<'_, S> {
    /// [`SqlError`].
    pub fn config(&self, project: &str, kind: &str) -> Result<Option<String>, SqlError> {
        let rows = self.sql.query(
            "SELECT config FROM channel_config WHERE project = ?1 AND kind = ?2",
            &[project.into(), kind.into()],
        )?;
        rows.first().map(|r| col_string(r, 0)).transpose()
    }

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
}
