//! The operators' console API: what `/v1/console/*` and the communicator's
//! `/v1/admin/projects/{project}/{inbox,conversations}` routes take and answer. The server builds
//! these values and the console (`app`) reads them, so neither can rename a field alone.

use serde::{Deserialize, Serialize};

use crate::Citation;

/// `POST /v1/console/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The operator's name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// `GET /v1/console/me`: the signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The operator's name.
    pub name: String,
    /// The projects they operate (that still exist).
    pub projects: Vec<ProjectRef>,
}

/// A project as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// `GET …/inbox`: conversations, open ones first, then by priority and recency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// The conversations.
    pub conversations: Vec<InboxItem>,
    /// Today's answers against the project's daily budget, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetToday>,
}

/// A project's daily budget today (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetToday {
    /// The most questions it answers in a day.
    pub daily_questions: u32,
    /// The questions it answered today.
    pub answered: u64,
    /// The questions it declined today because the budget was spent.
    pub refused: u64,
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    /// The conversation.
    pub conversation: Conversation,
    /// Its newest draft, if any.
    pub draft: Option<DraftRef>,
}

/// A draft by id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftRef {
    /// Its id.
    pub id: i64,
    /// See [`Draft::state`].
    pub state: String,
}

/// A conversation with its analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: i64,
    /// The platform (`telegram`, `slack`, `whatsapp`, `push`, `widget`).
    pub platform: String,
    /// The operator's account there.
    pub account: String,
    /// The chat.
    pub chat: String,
    /// The thread, where there is one.
    pub thread: Option<String>,
    /// Who the operator talks with (the first sender's name or id).
    pub contact: String,
    /// The first message's time (Unix seconds).
    pub first_at: i64,
    /// The last message's time (Unix seconds).
    pub last_at: i64,
    /// How many messages it holds.
    pub messages: i64,
    /// The newest message's id.
    pub last_message: i64,
    /// `open`, or `replied` once a reply was sent.
    pub state: String,
    /// The analysis, once made.
    pub analysis: Option<Analysis>,
    /// Up to which message it was analysed.
    pub analyzed_upto: Option<i64>,
}

/// A conversation's analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// One of the project's categories.
    pub category: String,
    /// 1 (most urgent) to 5 (least).
    pub priority: u8,
    /// A sentence or two.
    pub summary: String,
    /// Whether the contact waits for an answer.
    pub needs_reply: bool,
    /// The contact's language, in English ("Spanish"), when known.
    pub language: Option<String>,
    /// Who analysed: the model's name, or the offline analyzer.
    pub analyzer: String,
    /// Why the offline analysis stands in for the model's, if it does.
    pub note: Option<String>,
}

/// `GET …/conversations/{id}`: a conversation, its messages, its drafts and the delivery of
/// the approved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// Its messages, oldest first (the newest 200).
    pub messages: Vec<Message>,
    /// Its drafts, newest first.
    pub drafts: Vec<Draft>,
    /// The newest approved draft's delivery, once there is one.
    pub delivery: Option<Delivery>,
}

/// A stored message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: i64,
    /// `in` (received) or `out` (sent by the operator or the assistant).
    pub direction: String,
    /// The platform.
    pub platform: String,
    /// The operator's account there.
    pub account: String,
    /// The chat.
    pub chat: String,
    /// The thread, where the platform has threads.
    pub thread: Option<String>,
    /// Who wrote it.
    pub sender: Sender,
    /// The text (a caption for a file; empty when there is none).
    pub text: String,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// When it was sent (Unix seconds).
    pub sent_at: i64,
    /// The platform's id for it.
    pub platform_id: String,
    /// Its conversation, once grouped.
    pub conversation: Option<i64>,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// The platform's id for them.
    pub id: String,
    /// A name to show, when the platform gives one.
    pub name: Option<String>,
}

/// A file attached to a message, by the platform's reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `photo`, `document`, `audio`, `file`, ...
    pub kind: String,
    /// The platform's id for the file.
    pub id: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Its MIME type, when known.
    pub mime_type: Option<String>,
}

/// A draft reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Its id.
    pub id: i64,
    /// The conversation it answers.
    pub conversation: i64,
    /// The text.
    pub body: String,
    /// The operator's note it was written with ("shorter"), if any.
    pub note: Option<String>,
    /// The model that wrote it.
    pub model: String,
    /// The sources it cites.
    pub citations: Vec<Citation>,
    /// `draft`, `superseded`, `approved`, `sent`, `recorded`.
    pub state: String,
    /// When written (Unix seconds).
    pub created_at: i64,
    /// Whether the operator edited it before approving.
    pub edited: bool,
    /// The last send failure, if any.
    pub error: Option<String>,
}

/// The delivery of an approved draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The draft's id.
    pub draft: i64,
    /// The draft's state (`approved`, `sent`, `recorded`).
    pub state: String,
    /// The last send failure, if any.
    pub error: Option<String>,
    /// The parts it is sent in.
    pub parts: Vec<DeliveredPart>,
    /// The job that sends it, once queued.
    pub job: Option<JobRef>,
}

/// A part of a delivery and the platform's receipts for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredPart {
    /// The part.
    pub part: SendPart,
    /// The platform's receipts (`sent`, `delivered`, `read`), oldest first.
    pub receipts: Vec<String>,
}

/// A sent (or to be sent) part of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPart {
    /// Its place (0, 1, ...).
    pub part: i64,
    /// The text.
    pub body: String,
    /// `pending` or `sent`.
    pub state: String,
    /// The platform's id for the sent message.
    pub platform_id: Option<String>,
}

/// A background job as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    /// Its id (for `POST …/jobs/{id}/retry`).
    pub id: i64,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    /// How often it was tried.
    pub attempts: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// `POST …/conversations/{id}/draft`: write a new draft, optionally with a note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regenerate {
    /// What the operator wants changed ("shorter").
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST …/conversations/{id}/approve`: send a draft, optionally edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The draft's id.
    pub draft: i64,
    /// The text to send instead of the draft's.
    #[serde(default)]
    pub text: Option<String>,
}
