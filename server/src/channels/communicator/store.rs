//! The communicator's tables, next to the other channel tables (same SQL handle, same SQL on
//! both targets): messages (stored once per platform id), conversations with their analysis,
//! drafts, and the parts of each reply sent.

use serde::{Deserialize, Serialize};

use super::analysis::Analysis;
pub use super::model::MessageRow;
use super::model::{Attachment, Inbound, Platform, Sender};
use crate::platform::sql::{Row, Sql, SqlError, SqlValue, col_i64, col_opt_string, col_string};

/// A draft's state.
pub mod draft_state {
    /// Written, waiting for the operator.
    pub const DRAFT: &str = "draft";
    /// Replaced by a newer draft.
    pub const SUPERSEDED: &str = "superseded";
    /// Approved: being sent.
    pub const APPROVED: &str = "approved";
    /// Every part sent.
    pub const SENT: &str = "sent";
    /// Kept for the operator to pass on (a push source without a reply URL).
    pub const RECORDED: &str = "recorded";
}

pub use outpost_protocol::console::{Conversation, Draft, SendPart};

/// An inbox filter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InboxFilter {
    /// Only this platform.
    pub platform: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only `open` or `replied` conversations.
    pub state: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
}

const MESSAGE_COLUMNS: &str = "id, direction, platform, account, chat, thread, sender_id, sender_name, body, attachments, sent_at, platform_id, conversation";
const CONVERSATION_COLUMNS: &str = "id, platform, account, chat, thread, contact, first_at, last_at, messages, last_message, state, category, priority, summary, needs_reply, language, analyzer, analysis_note, analyzed_upto";
const DRAFT_COLUMNS: &str =
    "id, conversation, body, note, model, citations, state, created_at, edited, error";

fn opt_i64(r: &Row, i: usize) -> Option<i64> {
    r.get(i).and_then(SqlValue::as_i64)
}

fn message_from_row(r: &Row) -> Result<MessageRow, SqlError> {
    let attachments: Vec<Attachment> =
        serde_json::from_str(&col_string(r, 9)?).map_err(|e| SqlError::Shape(e.to_string()))?;
    Ok(MessageRow {
        id: col_i64(r, 0)?,
        direction: col_string(r, 1)?,
        message: Inbound {
            platform: Platform::from_name(&col_string(r, 2)?),
            account: col_string(r, 3)?,
            chat: col_string(r, 4)?,
            thread: col_opt_string(r, 5),
            sender: Sender {
                id: col_string(r, 6)?,
                name: col_opt_string(r, 7),
            },
            text: col_string(r, 8)?,
            attachments,
            sent_at: col_i64(r, 10)?,
            platform_id: col_string(r, 11)?,
        },
        conversation: opt_i64(r, 12),
    })
}

fn conversation_from_row(r: &Row) -> Result<Conversation, SqlError> {
    let analysis = match (col_opt_string(r, 11), opt_i64(r, 12)) {
        (Some(category), Some(priority)) => Some(Analysis {
            category,
            priority: priority as u8,
            summary: col_string(r, 13)?,
            needs_reply: opt_i64(r, 14).unwrap_or(0) != 0,
            language: col_opt_string(r, 15),
            analyzer: col_string(r, 16)?,
            note: col_opt_string(r, 17),
        }),
        _ => None,
    };
    Ok(Conversation {
        id: col_i64(r, 0)?,
        platform: col_string(r, 1)?,
        account: col_string(r, 2)?,
        chat: col_string(r, 3)?,
        thread: col_opt_string(r, 4),
        contact: col_string(r, 5)?,
        first_at: col_i64(r, 6)?,
        last_at: col_i64(r, 7)?,
        messages: col_i64(r, 8)?,
        last_message: col_i64(r, 9)?,
        state: col_string(r, 10)?,
        analysis,
        analyzed_upto: opt_i64(r, 18),
    })
}

fn draft_from_row(r: &Row) -> Result<Draft, SqlError> {
    Ok(Draft {
        id: col_i64(r, 0)?,
        conversation: col_i64(r, 1)?,
        body: col_string(r, 2)?,
        note: col_opt_string(r, 3),
        model: col_string(r, 4)?,
        citations: serde_json::from_str(&col_string(r, 5)?).unwrap_or_default(),
        state: col_string(r, 6)?,
        created_at: col_i64(r, 7)?,
        edited: col_i64(r, 8)? != 0,
        error: col_opt_string(r, 9),
    })
}

/// The communicator's tables over the channel tables' SQL handle.
pub struct Communicator<'a, S> {
    pub(crate) sql: &'a S,
}

impl<S: Sql> Communicator<'_, S> {
    /// Stores a message once: its id, or `None` when the same platform id was stored before.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn store_message(
        &self,
        project: &str,
        m: &Inbound,
        direction: &str,
        conversation: Option<i64>,
        now: i64,
    ) -> Result<Option<i64>, SqlError> {
        let attachments =
            serde_json::to_string(&m.attachments).map_err(|e| SqlError::Shape(e.to_string()))?;
        let rows = self.sql.query(
            "INSERT OR IGNORE INTO comm_messages
               (project, dedupe, platform, account, chat, thread, sender_id, sender_name, body,
                attachments, sent_at, platform_id, direction, conversation, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             RETURNING id",
            &[
                project.into(),
                format!("{project}|{}", m.dedupe_key()).into(),
                m.platform.as_str().into(),
                m.account.as_str().into(),
                m.chat.as_str().into(),
                m.thread.clone().into(),
                m.sender.id.as_str().into(),
                m.sender.name.clone().into(),
                m.text.as_str().into(),
                attachments.into(),
                m.sent_at.into(),
                m.platform_id.as_str().into(),
                direction.into(),
                conversation.into(),
                now.into(),
            ],
        )?;
        rows.first().map(|r| col_i64(r, 0)).transpose()
    }

    /// A message of `project`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn message(&self, project: &str, id: i64) -> Result<Option<MessageRow>, SqlError> {
        let rows = self.sql.query(
            &format!("SELECT {MESSAGE_COLUMNS} FROM comm_messages WHERE project = ?1 AND id = ?2"),
            &[project.into(), id.into()],
        )?;
        rows.first().map(message_from_row).transpose()
    }

    /// The conversation that holds the message with `platform_id` in that chat, if any.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn conversation_of(
        &self,
        project: &str,
        m: &Inbound,
        platform_id: &str,
    ) -> Result<Option<i64>, SqlError> {
        let rows = self.sql.query(
            "SELECT conversation FROM comm_messages
             WHERE project = ?1 AND platform = ?2 AND account = ?3 AND platform_id = ?4
               AND conversation IS NOT NULL LIMIT 1",
            &[
                project.into(),
                m.platform.as_str().into(),
                m.account.as_str().into(),
                platform_id.into(),
            ],
        )?;
        Ok(rows.first().and_then(|r| opt_i64(r, 0)))
    }

    /// The conversation of the chat (and thread) `m` belongs to: the thread's, whatever its
    /// age; without a thread, the chat's latest one whose last message is at most `gap_secs`
    /// before `m`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn find_conversation(
        &self,
        project: &str,
        m: &Inbound,
        gap_secs: i64,
    ) -> Result<Option<i64>, SqlError> {
        let rows = match &m.thread {
            Some(t) => self.sql.query(
                "SELECT id FROM comm_conversations
                 WHERE project = ?1 AND platform = ?2 AND account = ?3 AND chat = ?4 AND thread = ?5
                 ORDER BY last_at DESC LIMIT 1",
                &[
                    project.into(),
                    m.platform.as_str().into(),
                    m.account.as_str().into(),
                    m.chat.as_str().into(),
                    t.as_str().into(),
                ],
            )?,
            None => self.sql.query(
                "SELECT id FROM comm_conversations
                 WHERE project = ?1 AND platform = ?2 AND account = ?3 AND chat = ?4
                   AND thread IS NULL AND last_at >= ?5 AND first_at <= ?6
                 ORDER BY last_at DESC LIMIT 1",
                &[
                    project.into(),
                    m.platform.as_str().into(),
                    m.account.as_str().into(),
                    m.chat.as_str().into(),
                    (m.sent_at - gap_secs).into(),
                    (m.sent_at + gap_secs).into(),
                ],
            )?,
        };
        Ok(rows.first().and_then(|r| opt_i64(r, 0)))
    }

    /// Starts a conversation with message `id` (`m`), which it then holds.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn start_conversation(&self, project: &str, id: i64, m: &Inbound) -> Result<i64, SqlError> {
        let contact = m.sender.name.clone().unwrap_or_else(|| m.sender.id.clone());
        let mut conv = 0;
        self.sql.transaction(&mut |tx| {
            let rows = tx.query(
                "INSERT INTO comm_conversations
                   (project, platform, account, chat, thread, contact, first_at, last_at, messages,
                    last_message, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8, 'open') RETURNING id",
                &[
                    project.into(),
                    m.platform.as_str().into(),
                    m.account.as_str().into(),
                    m.chat.as_str().into(),
                    m.thread.clone().into(),
                    contact.as_str().into(),
                    m.sent_at.into(),
                    id.into(),
                ],
            )?;
            conv = rows
                .first()
                .map(|r| col_i64(r, 0))
                .transpose()?
                .unwrap_or(0);
            tx.execute(
                "UPDATE comm_messages SET conversation = ?2 WHERE id = ?1",
                &[id.into(), conv.into()],
            )?;
            Ok(())
        })?;
        Ok(conv)
    }

    /// Adds message `id` (sent at `sent_at`, `inbound` or not) to conversation `conv`; an
    /// incoming message reopens it.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn join_conversation(
        &self,
        conv: i64,
        id: i64,
        sent_at: i64,
        inbound: bool,
    ) -> Result<(), SqlError> {
        self.sql.transaction(&mut |tx| {
            tx.execute(
                "UPDATE comm_messages SET conversation = ?2 WHERE id = ?1",
                &[id.into(), conv.into()],
            )?;
            tx.execute(
                "UPDATE comm_conversations SET messages = messages + 1,
                   last_at = MAX(last_at, ?2), first_at = MIN(first_at, ?2),
                   last_message = MAX(last_message, ?3),
                   state = CASE WHEN ?4 = 1 THEN 'open' ELSE state END
                 WHERE id = ?1",
                &[
                    conv.into(),
                    sent_at.into(),
                    id.into(),
                    i64::from(inbound).into(),
                ],
            )?;
            Ok(())
        })
    }

    /// A conversation of `project`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn conversation(&self, project: &str, id: i64) -> Result<Option<Conversation>, SqlError> {
        let rows = self.sql.query(
            &format!(
                "SELECT {CONVERSATION_COLUMNS} FROM comm_conversations WHERE project = ?1 AND id = ?2"
            ),
            &[project.into(), id.into()],
        )?;
        rows.first().map(conversation_from_row).transpose()
    }

    /// A conversation's messages, oldest first (the last `limit`).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn conversation_messages(
        &self,
        conv: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, SqlError> {
        let rows = self.sql.query(
            &format!(
                "SELECT * FROM (SELECT {MESSAGE_COLUMNS} FROM comm_messages WHERE conversation = ?1
                 ORDER BY sent_at DESC, id DESC LIMIT ?2) ORDER BY sent_at, id"
            ),
            &[conv.into(), limit.into()],
        )?;
        rows.iter().map(message_from_row).collect()
    }

    /// Records a conversation's analysis, made from the messages up to `upto`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn save_analysis(&self, conv: i64, a: &Analysis, upto: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE comm_conversations SET category = ?2, priority = ?3, summary = ?4,
               needs_reply = ?5, language = ?6, analyzer = ?7, analysis_note = ?8, analyzed_upto = ?9
             WHERE id = ?1",
            &[
                conv.into(),
                a.category.as_str().into(),
                i64::from(a.priority).into(),
                a.summary.as_str().into(),
                i64::from(a.needs_reply).into(),
                a.language.clone().into(),
                a.analyzer.as_str().into(),
                a.note.clone().into(),
                upto.into(),
            ],
        )?;
        Ok(())
    }

    /// The inbox: conversations by priority (1 first; not yet analysed last), then newest.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn inbox(&self, project: &str, f: &InboxFilter) -> Result<Vec<Conversation>, SqlError> {
        let rows = self.sql.query(
            &format!(
                "SELECT {CONVERSATION_COLUMNS} FROM comm_conversations
                 WHERE project = ?1 AND (?2 IS NULL OR platform = ?2) AND (?3 IS NULL OR category = ?3)
                   AND (?4 IS NULL OR state = ?4)
                 ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, COALESCE(priority, 6), last_at DESC, id DESC
                 LIMIT ?5"
            ),
            &[
                project.into(),
                f.platform.clone().into(),
                f.category.clone().into(),
                f.state.clone().into(),
                f.limit.unwrap_or(100).clamp(1, 500).into(),
            ],
        )?;
        rows.iter().map(conversation_from_row).collect()
    }

    /// Stores a new draft for `conv`, replacing (superseding) any waiting one; its id.
    ///
    /// # Errors
    /// [`SqlError`].
    #[allow(clippy::too_many_arguments)]
    pub fn save_draft(
        &self,
        project: &str,
        conv: i64,
        body: &str,
        note: Option<&str>,
        model: &str,
        citations: &[outpost_protocol::Citation],
        now: i64,
    ) -> Result<i64, SqlError> {
        let mut id = 0;
        self.sql.transaction(&mut |tx| {
            tx.execute(
                "UPDATE comm_drafts SET state = 'superseded' WHERE conversation = ?1 AND state = 'draft'",
                &[conv.into()],
            )?;
            let rows = tx.query(
                "INSERT INTO comm_drafts (project, conversation, body, note, model, citations, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7) RETURNING id",
                &[
                    project.into(),
                    conv.into(),
                    body.into(),
                    note.map(str::to_owned).into(),
                    model.into(),
                    serde_json::to_string(citations)
                        .map_err(|e| SqlError::Shape(e.to_string()))?
                        .into(),
                    now.into(),
                ],
            )?;
            id = rows.first().map(|r| col_i64(r, 0)).transpose()?.unwrap_or(0);
            Ok(())
        })?;
        Ok(id)
    }

    /// A conversation's drafts, newest first.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn drafts(&self, conv: i64) -> Result<Vec<Draft>, SqlError> {
        let rows = self.sql.query(
            &format!(
                "SELECT {DRAFT_COLUMNS} FROM comm_drafts WHERE conversation = ?1 ORDER BY id DESC LIMIT 20"
            ),
            &[conv.into()],
        )?;
        rows.iter().map(draft_from_row).collect()
    }

    /// A draft of `project`.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn draft(&self, project: &str, id: i64) -> Result<Option<Draft>, SqlError> {
        let rows = self.sql.query(
            &format!("SELECT {DRAFT_COLUMNS} FROM comm_drafts WHERE project = ?1 AND id = ?2"),
            &[project.into(), id.into()],
        )?;
        rows.first().map(draft_from_row).transpose()
    }

    /// Approves the waiting draft `id` (with the operator's edited text, if any); `false` when
    /// it is not waiting any more (superseded, or approved already).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn approve_draft(
        &self,
        project: &str,
        id: i64,
        edited: Option<&str>,
        now: i64,
    ) -> Result<bool, SqlError> {
        let n = self.sql.execute(
            "UPDATE comm_drafts SET state = 'approved', approved_at = ?3,
               edited = CASE WHEN ?4 IS NULL OR ?4 = body THEN 0 ELSE 1 END,
               body = COALESCE(?4, body)
             WHERE project = ?1 AND id = ?2 AND state = 'draft'",
            &[
                project.into(),
                id.into(),
                now.into(),
                edited.map(str::to_owned).into(),
            ],
        )?;
        Ok(n > 0)
    }

    /// Sets a draft's state, and its last error (cleared with `None`).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn mark_draft(&self, id: i64, state: &str, error: Option<&str>) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE comm_drafts SET state = ?2, error = ?3 WHERE id = ?1",
            &[id.into(), state.into(), error.map(str::to_owned).into()],
        )?;
        Ok(())
    }

    /// Records a send failure on the draft (shown in the console), keeping its state.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn draft_error(&self, id: i64, error: &str) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE comm_drafts SET error = ?2 WHERE id = ?1",
            &[id.into(), error.into()],
        )?;
        Ok(())
    }

    /// Marks a conversation replied.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn mark_replied(&self, conv: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE comm_conversations SET state = 'replied' WHERE id = ?1",
            &[conv.into()],
        )?;
        Ok(())
    }

    /// Stores a reply's parts (once: a second call keeps the first ones).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn save_parts(&self, project: &str, draft: i64, parts: &[String]) -> Result<(), SqlError> {
        self.sql.transaction(&mut |tx| {
            for (i, p) in parts.iter().enumerate() {
                tx.execute(
                    "INSERT OR IGNORE INTO comm_sends (draft, part, project, body, state)
                     VALUES (?1, ?2, ?3, ?4, 'pending')",
                    &[
                        draft.into(),
                        (i as i64).into(),
                        project.into(),
                        p.as_str().into(),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// A reply's parts, in order.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn parts(&self, draft: i64) -> Result<Vec<SendPart>, SqlError> {
        let rows = self.sql.query(
            "SELECT part, body, state, platform_id FROM comm_sends WHERE draft = ?1 ORDER BY part",
            &[draft.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(SendPart {
                    part: col_i64(r, 0)?,
                    body: col_string(r, 1)?,
                    state: col_string(r, 2)?,
                    platform_id: col_opt_string(r, 3),
                })
            })
            .collect()
    }

    /// Marks a part sent, with the platform's id for it.
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn mark_part_sent(
        &self,
        draft: i64,
        part: i64,
        platform_id: Option<&str>,
    ) -> Result<(), SqlError> {
        self.sql.execute(
            "UPDATE comm_sends SET state = 'sent', platform_id = ?3 WHERE draft = ?1 AND part = ?2",
            &[
                draft.into(),
                part.into(),
                platform_id.map(str::to_owned).into(),
            ],
        )?;
        Ok(())
    }

    /// A source's cursor (Telegram's last `update_id`).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn cursor(&self, project: &str, source: &str) -> Result<Option<i64>, SqlError> {
        let rows = self.sql.query(
            "SELECT value FROM comm_cursors WHERE project = ?1 AND source = ?2",
            &[project.into(), source.into()],
        )?;
        Ok(rows.first().and_then(|r| opt_i64(r, 0)))
    }

    /// Moves a source's cursor forward (never back).
    ///
    /// # Errors
    /// [`SqlError`].
    pub fn set_cursor(&self, project: &str, source: &str, value: i64) -> Result<(), SqlError> {
        self.sql.execute(
            "INSERT INTO comm_cursors (project, source, value) VALUES (?1, ?2, ?3)
             ON CONFLICT(project, source) DO UPDATE SET value = MAX(value, excluded.value)",
            &[project.into(), source.into(), value.into()],
        )?;
        Ok(())
    }
}
