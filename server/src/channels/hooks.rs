//! The webhook channels' routes, and what they ask of a project's channel store.
//!
//! The routes are in the one router; each turns its HTTP request into a [`ChannelRequest`] and
//! hands it to [`crate::http::Library::channel`], which runs [`handle`] next to the project's
//! channel tables: in process natively, in the project's `Knowledge` Durable Object on
//! Workers. [`handle`] checks signatures over the raw body before reading anything, stores the
//! work as durable jobs (deduplicated), and answers at once; the job runner does the rest.
//!
//! - `GET /v1/whatsapp/{project}`: Meta's verification handshake.
//! - `POST /v1/whatsapp/{project}`: the signed WhatsApp webhook.
//! - `POST /v1/github/{project}`: the signed GitHub webhook (`ping`, `push`).
//! - Operators (admin token): `PUT|GET|DELETE /v1/admin/projects/{p}/channels/{whatsapp|github}`,
//!   `POST /v1/admin/projects/{p}/sync` (a full GitHub sync, now),
//!   `GET /v1/admin/projects/{p}/jobs?state=dead`, `POST /v1/admin/projects/{p}/jobs/{id}/retry`,
//!   `GET /v1/admin/projects/{p}/whatsapp/messages/{id}` (a message's reply and receipts).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::github::{self, GitHubConfig};
use super::jobs::{Ctx, Job};
use super::store::{ChannelStore, state};
use super::webhook::hub_signature_ok;
use super::whatsapp::{self, WhatsAppConfig};
use crate::http::{AppError, AppState};
use crate::platform::sql::{Sql, SqlError};

/// GitHub sends payloads of up to 25 MB.
const GITHUB_BODY_LIMIT: usize = 25 * 1024 * 1024;

/// What a channel route asks of a project's channel store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChannelRequest {
    /// Meta's `GET` handshake.
    WhatsappVerify {
        /// `hub.mode`.
        mode: String,
        /// `hub.verify_token`.
        token: String,
        /// `hub.challenge`.
        challenge: String,
    },
    /// A WhatsApp webhook delivery.
    WhatsappWebhook {
        /// `X-Hub-Signature-256`.
        signature: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// A GitHub webhook delivery.
    GithubWebhook {
        /// `X-GitHub-Event`.
        event: String,
        /// `X-GitHub-Delivery`.
        delivery: Option<String>,
        /// `X-Hub-Signature-256`.
        signature: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// Sets (`Some`, already validated) or removes a channel's settings.
    Configure {
        /// `whatsapp` or `github`.
        kind: String,
        /// The settings.
        config: Option<Value>,
    },
    /// A channel's settings, secrets masked.
    Settings {
        /// `whatsapp` or `github`.
        kind: String,
    },
    /// A full GitHub sync, now.
    Sync,
    /// Schedules a full GitHub sync (the cron trigger; deduplicated per `slot`).
    ScheduleSync {
        /// The schedule's time slot.
        slot: String,
    },
    /// Jobs, newest first.
    Jobs {
        /// Only those in this state.
        state: Option<String>,
    },
    /// Runs a dead job again.
    RetryJob {
        /// Its id.
        id: i64,
    },
    /// A WhatsApp message's reply parts and receipts.
    Message {
        /// The incoming message's id.
        id: String,
    },
}

/// What the store answered: a status, a body, and whether jobs were queued (the runner is
/// woken then).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelReply {
    /// The HTTP status.
    pub status: u16,
    /// A JSON body, or text for the WhatsApp challenge.
    pub body: ReplyBody,
    /// Whether new jobs wait.
    pub wake: bool,
}

/// A reply's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ReplyBody {
    /// JSON.
    Json(Value),
    /// Plain text.
    Text(String),
}

impl ChannelReply {
    fn json(status: u16, body: Value) -> Self {
        ChannelReply {
            status,
            body: ReplyBody::Json(body),
            wake: false,
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!({"error": {"code": code, "message": message}}))
    }
}

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

fn settings<T: serde::de::DeserializeOwned, S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    kind: &str,
) -> Result<Option<T>, SqlError> {
    Ok(store
        .config(project, kind)?
        .and_then(|raw| serde_json::from_str(&raw).ok()))
}

/// Answers `request` for `project` (see the module docs). Only [`ChannelRequest::Sync`] goes
/// out (to GitHub); the rest is this store's work.
///
/// # Errors
/// [`SqlError`] when the store fails.
pub async fn handle<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    request: ChannelRequest,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let now = crate::platform::now_millis() as i64;
    let not_configured = |kind: &str| {
        ChannelReply::error(
            404,
            "channel_not_configured",
            &format!("This project has no {kind} channel."),
        )
    };
    match request {
        ChannelRequest::WhatsappVerify {
            mode,
            token,
            challenge,
        } => {
            let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
                return Ok(not_configured("WhatsApp"));
            };
            if mode == "subscribe" && super::webhook::same_secret(&token, &cfg.verify_token) {
                Ok(ChannelReply {
                    status: 200,
                    body: ReplyBody::Text(challenge),
                    wake: false,
                })
            } else {
                Ok(ChannelReply::error(
                    403,
                    "verification_failed",
                    "The verify token does not match.",
                ))
            }
        }
        ChannelRequest::WhatsappWebhook { signature, body } => {
            let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
                return Ok(not_configured("WhatsApp"));
            };
            let body = B64.decode(body).unwrap_or_default();
            if !hub_signature_ok(cfg.app_secret.as_bytes(), &body, signature.as_deref()) {
                return Ok(bad_signature());
            }
            let delivery = match whatsapp::payload::parse(&body) {
                Ok(d) => d,
                Err(e) => return Ok(ChannelReply::error(400, "bad_payload", &e)),
            };
            let mut queued = 0;
            let mut duplicates = 0;
            for m in delivery.messages {
                if m.phone_number_id != cfg.phone_number_id {
                    tracing::warn!(project, number = %m.phone_number_id, "a message to another number is not this project's: ignored");
                    continue;
                }
                store.touch_contact(project, &m.from, m.timestamp)?;
                let (lane, dedupe) = (format!("wa:{}", m.from), format!("wa:{}", m.id));
                if (Job::WhatsappMessage { message: m }).enqueue(
                    store,
                    project,
                    Some(lane),
                    Some(dedupe),
                    now,
                )? {
                    queued += 1;
                } else {
                    duplicates += 1;
                }
            }
            let mut receipts = 0;
            for s in delivery
                .statuses
                .iter()
                .filter(|s| s.phone_number_id == cfg.phone_number_id)
            {
                if store.record_status(project, s)? {
                    receipts += 1;
                }
            }
            Ok(ChannelReply {
                status: 200,
                body: ReplyBody::Json(
                    json!({"queued": queued, "duplicates": duplicates, "receipts": receipts}),
                ),
                wake: queued > 0,
            })
        }
        ChannelRequest::GithubWebhook {
            event,
            delivery,
            signature,
            body,
        } => {
            let Some(cfg) = settings::<GitHubConfig, S>(store, project, github::KIND)? else {
                return Ok(not_configured("GitHub"));
            };
            let body = B64.decode(body).unwrap_or_default();
            if !hub_signature_ok(cfg.webhook_secret.as_bytes(), &body, signature.as_deref()) {
                return Ok(bad_signature());
            }
            github_delivery(
                store,
                project,
                &cfg,
                &event,
                delivery.as_deref(),
                &body,
                now,
            )
        }
        ChannelRequest::Configure { kind, config } => {
            let raw = config.map(|c| c.to_string());
            store.set_config(project, &kind, raw.as_deref())?;
            Ok(ChannelReply::json(200, json!({"ok": true})))
        }
        ChannelRequest::Settings { kind } => {
            let redacted = match kind.as_str() {
                whatsapp::KIND => {
                    settings::<WhatsAppConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                github::KIND => {
                    settings::<GitHubConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                _ => None,
            };
            Ok(match redacted {
                Some(v) => ChannelReply::json(200, v),
                None => not_configured(&kind),
            })
        }
        ChannelRequest::Sync => {
            if store.config(project, github::KIND)?.is_none() {
                return Ok(not_configured("GitHub"));
            }
            Ok(match github::sync::full_sync(ctx).await {
                Ok(report) => ChannelReply::json(200, json!(report)),
                Err(e) => ChannelReply::error(502, "sync_failed", &e.message),
            })
        }
        ChannelRequest::ScheduleSync { slot } => {
            if store.config(project, github::KIND)?.is_none() {
                return Ok(not_configured("GitHub"));
            }
            let new = Job::GithubSync.enqueue(
                store,
                project,
                Some("github".into()),
                Some(format!("gh-sync:{slot}")),
                now,
            )?;
            Ok(ChannelReply {
                wake: new,
                ..ChannelReply::json(202, json!({"queued": new}))
            })
        }
        ChannelRequest::Jobs { state } => {
            let jobs = store.jobs(project, state.as_deref(), 200)?;
            Ok(ChannelReply::json(200, json!({"jobs": jobs})))
        }
        ChannelRequest::RetryJob { id } => Ok(if store.retry(project, id, now)? {
            ChannelReply {
                wake: true,
                ..ChannelReply::json(202, json!({"queued": true}))
            }
        } else {
            ChannelReply::error(404, "not_found", "There is no dead job with this id.")
        }),
        ChannelRequest::Message { id } => {
            let parts = store.reply(project, &id)?;
            let mut out = Vec::new();
            for p in parts {
                let receipts = match &p.wamid {
                    Some(w) => store.statuses(project, w)?,
                    None => Vec::new(),
                };
                out.push(json!({"part": p, "receipts": receipts}));
            }
            let job = store
                .job_by_dedupe(project, &format!("wa:{id}"))?
                .map(|j| json!({"id": j.id, "state": j.state, "attempts": j.attempts, "last_error": j.last_error}));
            Ok(ChannelReply::json(200, json!({"reply": out, "job": job})))
        }
    }
}

fn bad_signature() -> ChannelReply {
    ChannelReply::error(
        401,
        "bad_signature",
        "The X-Hub-Signature-256 header does not sign this body.",
    )
}

/// A verified GitHub delivery: `ping` answered, a `push` to the configured branch queued once
/// per delivery id.
fn github_delivery<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    cfg: &GitHubConfig,
    event: &str,
    delivery: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<ChannelReply, SqlError> {
    match event {
        "ping" => {
            return Ok(ChannelReply::json(200, json!({"ok": true, "pong": true})));
        }
        "push" => {}
        other => {
            return Ok(ChannelReply::json(
                202,
                json!({"ignored": format!("{other} events are not used")}),
            ));
        }
    }
    let Some(delivery) = delivery.filter(|d| !d.is_empty() && d.len() <= 100) else {
        return Ok(ChannelReply::error(
            400,
            "bad_request",
            "X-GitHub-Delivery is missing.",
        ));
    };
    let changes = match github::push::changes(body, &cfg.prefix) {
        Ok(c) => c,
        Err(e) => return Ok(ChannelReply::error(400, "bad_payload", &e)),
    };
    if !changes.repository.eq_ignore_ascii_case(&cfg.repository)
        || changes.branch.as_deref() != Some(cfg.branch.as_str())
    {
        return Ok(ChannelReply::json(
            202,
            json!({"ignored": format!("not a push to {} {}", cfg.repository, cfg.branch)}),
        ));
    }
    let job = if changes.needs_full_sync {
        Job::GithubSync
    } else if changes.upsert.is_empty() && changes.removed.is_empty() {
        return Ok(ChannelReply::json(
            202,
            json!({"ignored": "no Markdown file under the prefix changed"}),
        ));
    } else {
        Job::GithubPush {
            commit: changes.commit,
            upsert: changes.upsert.into_iter().collect(),
            removed: changes.removed.into_iter().collect(),
        }
    };
    let new = job.enqueue(
        store,
        project,
        Some("github".into()),
        Some(format!("gh:{delivery}")),
        now,
    )?;
    Ok(ChannelReply {
        wake: new,
        ..ChannelReply::json(202, json!({"queued": new, "duplicate": !new}))
    })
}

/// The channel routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/whatsapp/{project}",
            get(whatsapp_verify).post(whatsapp_webhook),
        )
        .route(
            "/v1/github/{project}",
            post(github_webhook).layer(DefaultBodyLimit::max(GITHUB_BODY_LIMIT)),
        )
        .route(
            "/v1/admin/projects/{project}/channels/{kind}",
            get(get_channel).put(put_channel).delete(delete_channel),
        )
        .route("/v1/admin/projects/{project}/sync", post(sync_now))
        .route("/v1/admin/projects/{project}/jobs", get(list_jobs))
        .route(
            "/v1/admin/projects/{project}/jobs/{id}/retry",
            post(retry_job),
        )
        .route(
            "/v1/admin/projects/{project}/whatsapp/messages/{id}",
            get(message),
        )
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
struct VerifyQuery {
    #[serde(rename = "hub.mode", default)]
    mode: String,
    #[serde(rename = "hub.verify_token", default)]
    token: String,
    #[serde(rename = "hub.challenge", default)]
    challenge: String,
}

async fn whatsapp_verify(
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

async fn whatsapp_webhook(
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

async fn github_webhook(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    call(
        &state,
        &project,
        ChannelRequest::GithubWebhook {
            event: header_str(&headers, "x-github-event").unwrap_or_default(),
            delivery: header_str(&headers, "x-github-delivery"),
            signature: header_str(&headers, "x-hub-signature-256"),
            body: B64.encode(&body),
        },
    )
    .await
}

/// An operator's call on a project's channel store.
async fn operated(
    state: &AppState,
    headers: &HeaderMap,
    project: &str,
    request: ChannelRequest,
) -> Result<ChannelReply, AppError> {
    super::admin::operated_project(state, headers, project).await?;
    state
        .library
        .channel(project, request)
        .await
        .map_err(AppError::internal)
}

fn kind(raw: &str) -> Result<&'static str, AppError> {
    match raw {
        whatsapp::KIND => Ok(whatsapp::KIND),
        github::KIND => Ok(github::KIND),
        _ => Err(AppError::not_found("this channel")),
    }
}

async fn put_channel(
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ChannelReply, AppError> {
    super::admin::operated_project(&state, &headers, &project).await?;
    let kind = kind(&raw_kind)?;
    let bad = |e: &dyn std::fmt::Display| AppError::bad_request(format!("{kind} settings: {e}"));
    let config = match kind {
        whatsapp::KIND => {
            let c: WhatsAppConfig = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
            c.validate().map_err(|e| bad(&e))?;
            serde_json::to_value(c)
        }
        _ => {
            let c: GitHubConfig = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
            c.validate().map_err(|e| bad(&e))?;
            serde_json::to_value(c)
        }
    }
    .map_err(AppError::internal)?;
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

async fn get_channel(
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    let kind = kind(&raw_kind)?.to_owned();
    operated(
        &state,
        &headers,
        &project,
        ChannelRequest::Settings { kind },
    )
    .await
}

async fn delete_channel(
    State(state): State<AppState>,
    Path((project, raw_kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    let kind = kind(&raw_kind)?;
    let reply = operated(
        &state,
        &headers,
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

async fn sync_now(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    operated(&state, &headers, &project, ChannelRequest::Sync).await
}

#[derive(Deserialize)]
struct JobsQuery {
    state: Option<String>,
}

async fn list_jobs(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<JobsQuery>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    if let Some(s) = &q.state
        && ![state::PENDING, state::RUNNING, state::DONE, state::DEAD].contains(&s.as_str())
    {
        return Err(AppError::bad_request(
            "state must be pending, running, done or dead",
        ));
    }
    operated(
        &state,
        &headers,
        &project,
        ChannelRequest::Jobs { state: q.state },
    )
    .await
}

async fn retry_job(
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    operated(&state, &headers, &project, ChannelRequest::RetryJob { id }).await
}

async fn message(
    State(state): State<AppState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<ChannelReply, AppError> {
    operated(&state, &headers, &project, ChannelRequest::Message { id }).await
}
