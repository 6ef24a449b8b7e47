//! The channels' HTTP side: each webhook delivery and each operator's call on a project's
//! channels becomes a [`ChannelRequest`] for [`crate::channels::hooks::handle`], run next to
//! the project's channel tables ([`super::Library::channel`]). The routes are declared in
//! [`super::routes`].
//!
//! - `GET /v1/whatsapp/{project}`: Meta's verification handshake; `POST`: the signed webhook.
//! - `POST /v1/github/{project}`: the signed GitHub webhook (`ping`, `push`).
//! - `POST /v1/telegram/{project}`, `POST /v1/slack/{project}`,
//!   `POST /v1/communicator/{project}/messages`: the communicator's sources.
//! - Operators: channel settings, a GitHub sync now, jobs and their retry, a WhatsApp message's
//!   reply and receipts, the communicator's inbox, conversations, drafts and approval.

use crate::http::extract::{Path, Query};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use outpost_protocol::console;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::console::OperatorOrAdmin;
use super::extract::AdminProject;
use super::{AppError, AppState, json_body};
use crate::channels::communicator::store::InboxFilter;
use crate::channels::communicator::{self as comm, PushConfig, SlackConfig, TelegramConfig};
use crate::channels::github::{self, GitHubConfig};
use crate::channels::hooks::{ChannelReply, ChannelRequest, ReplyBody};
use crate::channels::store::state;
use crate::channels::whatsapp::{self, WhatsAppConfig};

/// GitHub sends payloads of up to 25 MB.
pub const GITHUB_BODY_LIMIT: usize = 25 * 1024 * 1024;

impl IntoResponse for ChannelReply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.body {
            ReplyBody::Json(v) => (status, axum::Json(v)).into_response(),
            ReplyBody::Text(t) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                t,
            )
                .into_response(),
        }
    }
}

pub(crate) async fn telegram_webhook(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    call(
        &state,
        &project,
        ChannelRequest::TelegramWebhook {
            secret: header_str(&headers, comm::telegram::SECRET_HEADER),
            body: B64.encode(&body),
        },
    )
    .await
}

pub(crate) async fn slack_event(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    call(
        &state,
        &project,
        ChannelRequest::SlackEvent {
            timestamp: header_str(&headers, comm::slack::TIMESTAMP_HEADER),
            signature: header_str(&headers, comm::slack::SIGNATURE_HEADER),
            body: B64.encode(&body),
        },
    )
    .await
}

pub(crate) async fn push_messages(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    let token = super::bearer_token(&headers).map(str::to_owned);
    call(
        &state,
        &project,
        ChannelRequest::PushMessages {
            token,
            body: B64.encode(&body),
        },
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    platform: Option<String>,
    category: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
}

pub(crate) async fn inbox(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<InboxQuery>,
) -> Result<ChannelReply, AppError> {
    if let Some(s) = &q.state
        && s != "open"
        && s != "replied"
    {
        return Err(AppError::bad_request("state must be open or replied"));
    }
    let filter = InboxFilter {
        platform: q.platform.filter(|p| !p.is_empty()),
        category: q.category.filter(|c| !c.is_empty()),
        state: q.state,
        limit: q.limit,
    };
    let mut reply = authorized(&state, &project, ChannelRequest::Inbox { filter }).await?;
    // The operators see when the daily budget turns visitors away.
    let p = super::project(&state, &project).await?;
    if let (Some(daily), ReplyBody::Json(body)) =
        (p.settings.limits.daily_questions, &mut reply.body)
    {
        let today = crate::knowledge::utc_day(crate::platform::now_unix());
        let days = state
            .library
            .usage(&project)
            .await
            .map_err(AppError::internal)?;
        let day = days
            .into_iter()
            .find(|d| d.day == today)
            .unwrap_or_default();
        body["budget"] = serde_json::to_value(outpost_protocol::console::BudgetToday {
            daily_questions: daily,
            answered: day.questions,
            refused: day.over_budget,
        })
        .map_err(AppError::internal)?;
    }
    Ok(reply)
}

pub(crate) async fn conversation(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
) -> Result<ChannelReply, AppError> {
    authorized(&state, &project, ChannelRequest::Conversation { id }).await
}

/// The longest note an operator may give a regeneration.
const MAX_NOTE: usize = 1000;
/// The longest reply an operator may approve.
const MAX_REPLY: usize = 20_000;

pub(crate) async fn regenerate(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    let b: console::Regenerate = if body.is_empty() {
        console::Regenerate::default()
    } else {
        json_body(&body)?
    };
    let note = b
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AppError::bad_request(format!(
            "note must have at most {MAX_NOTE} characters"
        )));
    }
    authorized(&state, &project, ChannelRequest::Regenerate { id, note }).await
}

pub(crate) async fn approve(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    let b: console::Approve = json_body(&body)?;
    if let Some(t) = &b.text
        && (t.trim().is_empty() || t.chars().count() > MAX_REPLY)
    {
        return Err(AppError::bad_request(format!(
            "text must have 1 to {MAX_REPLY} characters"
        )));
    }
    authorized(
        &state,
        &project,
        ChannelRequest::Approve {
            id,
            draft: b.draft,
            text: b.text.map(|t| t.trim().to_owned()),
        },
    )
    .await
}

async fn call(
    state: &AppState,
    project: &str,
    request: ChannelRequest,
) -> Result<ChannelReply, AppError> {
    crate::http::project(state, project).await?;
    state
        .library
        .channel(project, request)
        .await
        .map_err(AppError::internal)
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(Deserialize)]
pub(crate) struct VerifyQuery {
    #[serde(rename = "hub.mode", default)]
    mode: String,
    #[serde(rename = "hub.verify_token", default)]
    token: String,
    #[serde(rename = "hub.challenge", default)]
    challenge: String,
}

pub(crate) async fn whatsapp_verify(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<VerifyQuery>,
) -> Result<ChannelReply, AppError> {
    call(
        &state,
        &project,
        ChannelRequest::WhatsappVerify {
            mode: q.mode,
            token: q.token,
            challenge: q.challenge,
        },
    )
    .await
}

pub(crate) async fn whatsapp_webhook(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    call(
        &state,
        &project,
        ChannelRequest::WhatsappWebhook {
            signature: header_str(&headers, "x-hub-signature-256"),
            body: B64.encode(&body),
        },
    )
    .await
}

/// A GitHub delivery. Everything that can be checked before the body is read is checked
/// first, so an unauthenticated sender cannot make the server read (and encode) up to 25 MB:
/// the signature header's shape, the declared length, that the project exists and has the
/// GitHub channel. The signature itself is then checked over the raw body by the channel.
pub(crate) async fn github_webhook(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<ChannelReply, AppError> {
    let signature = header_str(&headers, "x-hub-signature-256");
    let well_formed = signature
        .as_deref()
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            outpost_protocol::codes::BAD_SIGNATURE,
            "The X-Hub-Signature-256 header is missing or is not sha256=<64 hex digits>.",
        ));
    }
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > GITHUB_BODY_LIMIT) {
        return Err(too_large());
    }
    crate::http::project(&state, &project).await?;
    let has_github = state
        .projects
        .with_channel(github::KIND)
        .await
        .map_err(AppError::internal)?
        .contains(&project);
    if !has_github {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            outpost_protocol::codes::NOT_FOUND,
            "This project has no GitHub channel.",
        ));
    }
    let body = axum::body::to_bytes(body, GITHUB_BODY_LIMIT)
        .await
        .map_err(|_| too_large())?;
    authorized(
        &state,
        &project,
        ChannelRequest::GithubWebhook {
            event: header_str(&headers, "x-github-event").unwrap_or_default(),
            delivery: header_str(&headers, "x-github-delivery"),
            signature,
            body: Vec::from(body),
        },
    )
    .await
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        outpost_protocol::codes::TOO_LARGE,
        "GitHub's payloads are at most 25 MB.",
    )
}

/// A call on a project's channel store by a caller already authorized.
async fn authorized(
    state: &AppState,
    project: &str,
    request: ChannelRequest,
) -> Result<ChannelReply, AppError> {
    state
        .library
        .channel(project, request)
        .await
        .map_err(AppError::internal)
}

fn kind(raw: &str) -> Result<&'static str, AppError> {
    [
        whatsapp::KIND,
        github::KIND,
        comm::TELEGRAM,
        comm::SLACK,
        comm::PUSH,
        comm::KIND,
    ]
    .into_iter()
    .find(|k| *k == raw)
    .ok_or_else(|| AppError::not_found("this channel"))
}

/// Reads and validates a channel's settings.
fn read_settings<T: serde::de::DeserializeOwned + Serialize>(
    body: &[u8],
    validate: impl Fn(&T) -> Result<(), String>,
) -> Result<Value, String> {
    let c: T = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    validate(&c)?;
    serde_json::to_value(c).map_err(|e| e.to_string())
}

pub(crate) async fn put_channel(
    _: AdminProject,
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    let kind = kind(&raw_kind)?;
    let config = match kind {
        whatsapp::KIND => read_settings(&body, WhatsAppConfig::validate),
        github::KIND => read_settings(&body, GitHubConfig::validate),
        comm::TELEGRAM => read_settings(&body, TelegramConfig::validate),
        comm::SLACK => read_settings(&body, SlackConfig::validate),
        comm::PUSH => read_settings(&body, PushConfig::validate),
        _ => read_settings(&body, comm::CommunicatorConfig::validate),
    }
    .map_err(|e| AppError::bad_request(format!("{kind} settings: {e}")))?;
    let reply = state
        .library
        .channel(
            &project,
            ChannelRequest::Configure {
                kind: kind.into(),
                config: Some(config),
            },
        )
        .await
        .map_err(AppError::internal)?;
    state
        .projects
        .set_channel(&project, kind, true)
        .await
        .map_err(AppError::internal)?;
    Ok(reply)
}

pub(crate) async fn get_channel(
    _: AdminProject,
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
) -> Result<ChannelReply, AppError> {
    let kind = kind(&raw_kind)?.to_owned();
    authorized(&state, &project, ChannelRequest::Settings { kind }).await
}

pub(crate) async fn delete_channel(
    _: AdminProject,
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
) -> Result<ChannelReply, AppError> {
    let kind = kind(&raw_kind)?;
    let reply = authorized(
        &state,
        &project,
        ChannelRequest::Configure {
            kind: kind.into(),
            config: None,
        },
    )
    .await?;
    state
        .projects
        .set_channel(&project, kind, false)
        .await
        .map_err(AppError::internal)?;
    Ok(reply)
}

pub(crate) async fn sync_now(
    _: AdminProject,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<ChannelReply, AppError> {
    authorized(&state, &project, ChannelRequest::Sync).await
}

#[derive(Deserialize)]
pub(crate) struct JobsQuery {
    state: Option<String>,
}

pub(crate) async fn list_jobs(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<JobsQuery>,
) -> Result<ChannelReply, AppError> {
    if let Some(s) = &q.state
        && ![state::PENDING, state::RUNNING, state::DONE, state::DEAD].contains(&s.as_str())
    {
        return Err(AppError::bad_request(
            "state must be pending, running, done or dead",
        ));
    }
    authorized(&state, &project, ChannelRequest::Jobs { state: q.state }).await
}

pub(crate) async fn retry_job(
    _: OperatorOrAdmin,
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
) -> Result<ChannelReply, AppError> {
    authorized(&state, &project, ChannelRequest::RetryJob { id }).await
}

pub(crate) async fn message(
    _: AdminProject,
    State(state): State<AppState>,
    Path((project, id)): Path<(String, String)>,
) -> Result<ChannelReply, AppError> {
    authorized(&state, &project, ChannelRequest::Message { id }).await
}
