//! The Worker's `fetch` event: the one router (as natively) with the Workers-only route (the
//! WebSocket upgrade, handed to the session's Durable Object). Static files (`embed.js`,
//! `/widget/pkg/*`) are served by `[assets]` before the Worker runs.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt;
use worker::send::{SendFuture, SendWrapper};
use worker::{Context, Env};

use super::calls::SessionCall;
use super::directory::D1Projects;
use super::hub::{DoHub, call};
use super::knowledge_object::{DoGate, DoLibrary};
use super::limits;
use crate::chat::HubError;
use crate::config::Deployment;
use crate::http::{AppError, AppState, Service, project, router};

fn state(env: &Env) -> worker::Result<AppState> {
    let deployment = Deployment::from_lookup(|k| super::env_value(env, k));
    let service = deployment.service;
    let service = Service::NAMES
        .iter()
        .find(|s| **s == service)
        .copied()
        .ok_or_else(|| {
            worker::Error::RustError(format!(
                "OUTPOST_SERVICE: unknown service {service:?} (one of {})",
                Service::NAMES.join(", ")
            ))
        })?;
    Ok(AppState {
        projects: Arc::new(D1Projects::from_env(env)?),
        hub: Arc::new(DoHub::new(env.clone())),
        limits: limits(env),
        gate: Arc::new(DoGate(SendWrapper(env.clone()))),
        // One isolate per request: nothing else waits on its CPU.
        hashing: Arc::new(crate::passwords::Inline),
        library: Arc::new(DoLibrary(SendWrapper(env.clone()))),
        admin_token: deployment.admin_token.map(Arc::from),
        service,
        turnstile: crate::turnstile::Siteverify::new(
            Arc::new(super::fetch::FetchClient),
            super::config(env).map_or_else(
                |_| "https://challenges.cloudflare.com".to_owned(),
                |c| c.channels.turnstile_url,
            ),
        ),
    })
}

/// The app: the routes of the table this deployment serves, and with the chat the socket
/// route (handed to the session's object). The widget's files are `[assets]`.
pub fn app(state: AppState, env: Env) -> Router {
    let services = Service::deployment(state.service).unwrap_or(&Service::ALL);
    let mut platform = Router::new();
    if services.contains(&Service::Chat) {
        let env = SendWrapper(env);
        let socket_state = state.clone();
        platform = platform.route(
            "/v1/projects/{project}/sessions/{session}/socket",
            get(move |Path((p, s)): Path<(String, String)>, req: Request| {
                let state = socket_state.clone();
                let env = env.clone();
                SendFuture::new(async move {
                    socket(&state, &env, &p, &s, req)
                        .await
                        .unwrap_or_else(IntoResponse::into_response)
                })
            }),
        );
    }
    router(state, services, platform)
}

/// Hands a WebSocket upgrade to the session's object, with the project (the object checks the
/// token in the first frame, as natively).
async fn socket(
    state: &AppState,
    env: &Env,
    project_id: &str,
    session: &str,
    req: Request,
) -> Result<Response, AppError> {
    let project = project(state, project_id).await?;
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            outpost_protocol::codes::UPGRADE_REQUIRED,
            "This endpoint speaks WebSocket.",
        ));
    }
    // A made-up session id never reaches (or creates) an object.
    if !crate::http::widget::authentic_session(state, &project.id, session).await? {
        return Err(AppError::not_found("the session"));
    }
    let addr = req
        .extensions()
        .get::<crate::http::extract::ClientAddr>()
        .map(|a| a.0.clone());
    let resp = match call(env, session, &SessionCall::Socket { project, addr }).await {
        Ok(r) => r,
        Err(HubError::NotFound) => return Err(AppError::not_found("the session")),
        Err(e) => return Err(e.into()),
    };
    let resp: worker::HttpResponse = resp.try_into().map_err(AppError::internal)?;
    Ok(resp.map(axum::body::Body::new))
}

/// The ingestion queue's consumer: each message is one document stored in R2.
#[worker::event(queue)]
async fn queue(
    batch: worker::MessageBatch<super::knowledge_object::IngestJob>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    use worker::MessageExt;
    for message in batch.messages()? {
        match super::knowledge_object::run_job(&env, message.body()).await {
            Ok(()) => message.ack(),
            Err(e) => {
                worker::console_error!("ingestion job {} failed: {e}", message.body().key);
                message.retry();
            }
        }
    }
    Ok(())
}

/// The cron trigger: queues a full GitHub sync for every project that syncs its docs (one
/// per project and schedule slot; the project's Knowledge object runs it from its alarm).
#[worker::event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let state = match state(&env) {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("scheduled sync: {e}");
            return;
        }
    };
    use crate::channels::hooks::ChannelRequest;
    let slot = format!("{}", event.schedule() as i64);
    // The every-minute trigger polls Telegram bots; the half-hourly one also syncs GitHub docs.
    let mut work: Vec<(&str, ChannelRequest)> = vec![(
        crate::channels::communicator::TELEGRAM,
        ChannelRequest::PollTelegram { slot: slot.clone() },
    )];
    if event.cron() != TELEGRAM_CRON {
        work.push((
            crate::channels::github::KIND,
            ChannelRequest::ScheduleSync { slot: slot.clone() },
        ));
    }
    for (kind, request) in work {
        let projects = match state.projects.with_channel(kind).await {
            Ok(p) => p,
            Err(e) => {
                worker::console_error!("scheduled {kind}: cannot list projects: {e}");
                continue;
            }
        };
        for p in projects {
            if let Err(e) = state.library.channel(&p, request.clone()).await {
                worker::console_error!("scheduled {kind} of {p}: {e}");
            }
        }
    }
}

/// The cron trigger that only polls Telegram (wrangler.toml `[triggers]`).
const TELEGRAM_CRON: &str = "* * * * *";

#[worker::event(fetch)]
async fn fetch(
    req: worker::HttpRequest,
    env: Env,
    _ctx: Context,
) -> worker::Result<axum::http::Response<axum::body::Body>> {
    let state = state(&env)?;
    let mut req = req;
    let addr = req
        .headers()
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned();
    req.extensions_mut()
        .insert(crate::http::extract::ClientAddr(addr));
    let resp = app(state, env).oneshot(req).await;
    Ok(match resp {
        Ok(r) => r,
        Err(never) => match never {},
    })
}
