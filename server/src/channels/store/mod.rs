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

use crate::platform::sql::{Sql, SqlError};

mod github;
mod jobs;
mod settings;
mod whatsapp;

pub use github::Github;
pub use jobs::{JobRow, Jobs, NewJob, state};
pub use settings::Settings;
pub use whatsapp::{OutboundPart, Whatsapp};

use super::communicator::store::Communicator;

/// Every channel table, each keyed by a `project` column: what [`ChannelStore::delete_project`]
/// clears. (A test holds it equal to the tables the schema creates.)
pub const PROJECT_TABLES: [&str; 14] = [
    "channel_config",
    "channel_jobs",
    "wa_contacts",
    "wa_turns",
    "wa_outbound",
    "wa_statuses",
    "wa_media",
    "gh_files",
    "gh_head",
    "comm_messages",
    "comm_conversations",
    "comm_drafts",
    "comm_sends",
    "comm_cursors",
];

/// The channel tables over one SQL handle, a small store per table family.
pub struct ChannelStore<S> {
    sql: S,
}

impl<S: Sql> ChannelStore<S> {
    /// [`SqlError`] when the schema cannot be applied.
    pub fn open(sql: S) -> Result<Self, SqlError> {
        let schemas = [
            settings::SCHEMA,
            jobs::SCHEMA,
            whatsapp::SCHEMA,
            github::SCHEMA,
            super::communicator::schema::SCHEMA,
        ];
        for statement in schemas
            .iter()
            .flat_map(|s| s.split(';'))
            .filter(|s| !s.trim().is_empty())
        {
            sql.execute_batch(statement)?;
        }
        Ok(ChannelStore { sql })
    }

    /// Deletes everything the channels keep of `project`: settings, jobs, WhatsApp contacts,
    /// turns and media records, GitHub sync state, the communicator's messages, conversations,
    /// drafts and cursors. Returns the blob keys of its received media, for the caller to
    /// delete from the blob store.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure; nothing is changed then.
    pub fn delete_project(&self, project: &str) -> Result<Vec<String>, SqlError> {
        let blobs = self
            .sql
            .query(
                "SELECT blob_key FROM wa_media WHERE project = ?1",
                &[project.into()],
            )?
            .iter()
            .map(|r| crate::platform::sql::col_string(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        self.sql.transaction(&mut |tx| {
            for table in PROJECT_TABLES {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE project = ?1"),
                    &[project.into()],
                )?;
            }
            Ok(())
        })?;
        Ok(blobs)
    }

    /// Each project's settings per channel.
    pub fn settings(&self) -> Settings<'_, S> {
        Settings { sql: &self.sql }
    }

    /// The durable job table.
    pub fn jobs(&self) -> Jobs<'_, S> {
        Jobs { sql: &self.sql }
    }

    /// WhatsApp contacts, turns, replies, receipts and media.
    pub fn whatsapp(&self) -> Whatsapp<'_, S> {
        Whatsapp { sql: &self.sql }
    }

    /// The GitHub files synced.
    pub fn github(&self) -> Github<'_, S> {
        Github { sql: &self.sql }
    }

    /// The communicator's messages, conversations, drafts and sends.
    pub fn communicator(&self) -> Communicator<'_, S> {
        Communicator { sql: &self.sql }
    }
}
