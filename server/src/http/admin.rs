//! The operators' API: create projects and push their documents, the same on both targets (this
//! is how documents reach a deployed Worker: `outpost push`). Every call carries
//! `Authorization: Bearer <OUTPOST_ADMIN_TOKEN>`; without a configured token the API is off.
//!
//! - `PUT /v1/admin/projects/{project}`: `{secret, allowed_origins, title?, greeting?, accent?,
//!   handoff?, token_max_lifetime_secs?}` (what is left out keeps its value; a new project needs
//!   its secret and origins)
//! - `PUT /v1/admin/projects/{project}/documents`: `{documents: [{path, text, url?, revision?}]}`;
//!   with `Prefer: respond-async` a target that can (Workers: R2 + a Queue) answers 202 and
//!   ingests off the request; others ingest at once (RFC 7240 lets a server ignore the hint)
//! - `DELETE /v1/admin/projects/{project}/documents?path=...`
//! - `PUT /v1/admin/projects/{project}/settings`: `{system_prompt?, ai_search?}` (an empty
//!   string clears; `ai_search` names a Cloudflare AI Search instance, Workers only)
//! - `GET /v1/admin/projects/{project}/stats`
//! - `GET /v1/admin/projects/{project}/usage`: questions, answer pieces (≈ tokens) and provider
//!   failures per day (UTC), the last 90 days with any, and their total

use crate::http::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Admin, AdminProject, project_id};
use super::{AppError, AppState, json_body};
use crate::knowledge::DocumentInput;
use crate::registry::Project;

/// The largest batch of documents one call may carry.
pub const MAX_BATCH: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectBody {
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    greeting: Option<String>,
    #[serde(default)]
    accent: Option<String>,
    #[serde(default)]
    handoff: Option<bool>,
    #[serde(default)]
    token_max_lifetime_secs: Option<u64>,
    #[serde(default)]
    starters: Option<Vec<String>>,
    #[serde(default)]
    locales: Option<std::collections::BTreeMap<String, crate::registry::LocaleText>>,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default)]
    limits: Option<crate::limits::ProjectLimits>,
    /// An object sets the keys; `null` removes them; absent keeps them.
    #[serde(default)]
    turnstile: Option<serde_json::Value>,
}

pub(crate) async fn put_project(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = project_id(&raw)?;
    let b: ProjectBody = json_body(&body)?;
    // What the body leaves out keeps its stored value (a new project's default).
    let existing = state
        .projects
        .get(id.as_str())
        .await
        .map_err(AppError::internal)?;
    if existing.is_none() && b.secret.is_none() {
        return Err(AppError::bad_request(format!(
            "project {id} is new: give its secret (at least 32 characters) and allowed_origins"
        )));
    }
    let mut p = existing.unwrap_or_else(|| Project::new(id.to_string(), "", Vec::new()));
    p.secret = b.secret.unwrap_or(p.secret);
    p.allowed_origins = b.allowed_origins.unwrap_or(p.allowed_origins);
    p.title = b.title.unwrap_or(p.title);
    p.greeting = b.greeting.unwrap_or(p.greeting);
    p.accent = b.accent.unwrap_or(p.accent);
    p.settings.handoff = b.handoff.unwrap_or(p.settings.handoff);
    p.settings.token_max_lifetime_secs = b
        .token_max_lifetime_secs
        .unwrap_or(p.settings.token_max_lifetime_secs);
    p.settings.starters = b.starters.unwrap_or(p.settings.starters);
    p.settings.locales = b.locales.unwrap_or(p.settings.locales);
    p.settings.public = b.public.unwrap_or(p.settings.public);
    p.settings.limits = b.limits.unwrap_or(p.settings.limits);
    match b.turnstile {
        None => {}
        Some(serde_json::Value::Null) => p.settings.turnstile = None,
        Some(keys) => {
            p.settings.turnstile = Some(serde_json::from_value(keys).map_err(|e| {
                AppError::bad_request(format!(
                    "turnstile: {e} (give {{\"site_key\", \"secret\"}}, or null to remove it)"
                ))
            })?);
        }
    }
    p.validate().map_err(AppError::bad_request)?;
    state.projects.put(&p).await.map_err(AppError::internal)?;
    Ok(Json(json!({"project": p.id})))
}

#[derive(Deserialize)]
struct DocumentsBody {
    documents: Vec<DocumentInput>,
}

pub(crate) async fn put_documents(
    AdminProject(p): AdminProject,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, AppError> {
    let b: DocumentsBody = json_body(&body)?;
    if b.documents.len() > MAX_BATCH {
        return Err(AppError::bad_request(format!(
            "at most {MAX_BATCH} documents per call"
        )));
    }
    let wants_async = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "respond-async"));
    if wants_async {
        // Validated now: a refused document is refused in this answer, not later.
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for d in &b.documents {
            match crate::knowledge::prepare_document(d.clone()) {
                // A draft is queued too: ingesting it removes the published version.
                Ok(_) | Err(crate::knowledge::DocumentError::Draft) => ok.push(d.clone()),
                Err(e) => failed.push(crate::http::FailedDocument {
                    path: d.path.clone(),
                    error: e.to_string(),
                }),
            }
        }
        if let Some(queued) = state
            .library
            .ingest_later(&p.id, ok)
            .await
            .map_err(AppError::internal)?
        {
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({"queued": queued, "failed": failed})),
            )
                .into_response());
        }
    }
    let report = state
        .library
        .ingest(&p.id, b.documents)
        .await
        .map_err(AppError::internal)?;
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    #[serde(default)]
    system_prompt: Option<String>,
    #[serde(default)]
    ai_search: Option<String>,
}

pub(crate) async fn put_settings(
    AdminProject(p): AdminProject,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let b: SettingsBody = json_body(&body)?;
    if b.ai_search.as_deref().is_some_and(|s| !s.is_empty()) {
        state
            .library
            .ai_search_available()
            .map_err(AppError::bad_request)?;
    }
    for (key, value) in [
        (crate::rag::prompt::SYSTEM_PROMPT_KEY, b.system_prompt),
        (crate::knowledge::ai_search::SETTING, b.ai_search),
    ] {
        if let Some(v) = value {
            state
                .library
                .set_setting(&p.id, key, v.trim())
                .await
                .map_err(AppError::internal)?;
        }
    }
    Ok(Json(json!({"project": p.id})))
}

#[derive(Deserialize)]
pub(crate) struct PathQuery {
    path: String,
}

pub(crate) async fn delete_document(
    AdminProject(p): AdminProject,
    State(state): State<AppState>,
    Query(q): Query<PathQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let removed = state
        .library
        .remove(&p.id, &q.path)
        .await
        .map_err(AppError::internal)?;
    Ok(Json(json!({"removed": removed})))
}

pub(crate) async fn stats(
    AdminProject(p): AdminProject,
    State(state): State<AppState>,
) -> Result<Json<crate::knowledge::Stats>, AppError> {
    Ok(Json(
        state
            .library
            .stats(&p.id)
            .await
            .map_err(AppError::internal)?,
    ))
}

pub(crate) async fn usage(
    AdminProject(project): AdminProject,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, AppError> {
    let days = state
        .library
        .usage(&project.id)
        .await
        .map_err(AppError::internal)?;
    let total = days.iter().fold(
        crate::knowledge::UsageDay {
            day: "total".into(),
            ..Default::default()
        },
        |mut t, d| {
            t.questions += d.questions;
            t.answer_pieces += d.answer_pieces;
            t.provider_errors += d.provider_errors;
            t.over_budget += d.over_budget;
            t
        },
    );
    Ok(Json(json!({"days": days, "total": total})))
}
