//! The one route table: every path of the API, its method, who may call it and the service it
//! belongs to. Both targets build their router from it ([`router`]); a service deployed on its
//! own (`wrangler deploy --env whatsapp`) serves `/health` and its own routes, and answers 404
//! to every other. The platform entries add only what cannot be shared: the socket upgrade and
//! static files (chat), and natively `/metrics`.
//!
//! Who may call a route is also in the handler's arguments ([`super::extract`]); [`Auth`] here
//! says the same for readers and tests, and a test holds the two together.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::{AppError, AppState, admin, channels, console, cors, widget};

/// A part of the product that can be deployed on its own (`OUTPOST_SERVICE`, one
/// `[env.*]` of wrangler.toml each); `outpost` is all of them in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The widget: sessions, its socket and streaming fallback, its page and files.
    Chat,
    /// Answers on WhatsApp.
    Whatsapp,
    /// Documents that follow a GitHub repository.
    Docsync,
    /// The operators' inbox and console.
    Communicator,
    /// Projects, their documents, settings and channels (only in the whole deployment).
    Admin,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 5] = [
        Service::Chat,
        Service::Whatsapp,
        Service::Docsync,
        Service::Communicator,
        Service::Admin,
    ];

    /// The services a deployment named `name` serves (`outpost`: all), or `None` for a name
    /// that is not one.
    pub fn deployment(name: &str) -> Option<&'static [Service]> {
        Some(match name {
            "outpost" => &Service::ALL,
            "chat" => &[Service::Chat],
            "whatsapp" => &[Service::Whatsapp],
            "docsync" => &[Service::Docsync],
            "communicator" => &[Service::Communicator],
            _ => return None,
        })
    }

    /// The deployment names, for messages.
    pub const NAMES: [&'static str; 5] = ["outpost", "chat", "whatsapp", "docsync", "communicator"];
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (health, pages, sign-in).
    Public,
    /// A page of one of the project's allowed origins, as its browser's `Origin` says
    /// ([`super::extract::EmbeddingPage`]): a public project's anonymous visitor tokens.
    Page,
    /// A visitor with the project's identity token ([`super::extract::Visitor`]); the
    /// widget's server functions carry it in their arguments.
    Visitor,
    /// The admin token ([`super::extract::Admin`], [`super::extract::AdminProject`]).
    Admin,
    /// The admin token or a signed-in operator of the project ([`super::console::OperatorOrAdmin`]).
    Operator,
    /// A webhook signed by its platform (checked by its channel against the project's secret).
    Signed,
}

/// One route of the table.
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path, in axum's syntax (`/v1/projects/{project}/sessions`).
    pub path: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// The services that serve it.
    pub services: &'static [Service],
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new<H, T>(
        services: &'static [Service],
        auth: Auth,
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .expect("the table uses GET, POST, PUT and DELETE only");
        Route {
            method,
            path,
            auth,
            services,
            handler: on(filter, handler),
        }
    }

    /// Whether a deployment of `services` serves this route.
    pub fn served_by(&self, services: &[Service]) -> bool {
        self.services.iter().any(|s| services.contains(s))
    }
}

use Auth::{Admin as A, Operator as O, Page as G, Public as P, Signed as S, Visitor as V};
const CHAT: &[Service] = &[Service::Chat];
const WHATSAPP: &[Service] = &[Service::Whatsapp];
const DOCSYNC: &[Service] = &[Service::Docsync];
const COMMUNICATOR: &[Service] = &[Service::Communicator];
const ADMIN: &[Service] = &[Service::Admin];
/// Jobs of every channel: the admin sees them, and the console shows and retries dead sends.
const JOBS: &[Service] = &[Service::Admin, Service::Communicator];

/// Every route of the API (the platform-only ones aside: see the module docs).
#[rustfmt::skip]
pub fn table() -> Vec<Route> {
    let (get, post, put, delete) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    vec![
        // The widget.
        Route::new(CHAT, P, get.clone(), "/widget/{project}", widget::page::widget_page),
        Route::new(CHAT, G, post.clone(), "/v1/projects/{project}/visitor_token", widget::public::visitor_token),
        Route::new(CHAT, V, post.clone(), "/v1/projects/{project}/sessions", widget::create_session),
        Route::new(CHAT, V, post.clone(), "/v1/projects/{project}/sessions/{session}/messages", widget::post_message),
        Route::new(CHAT, V, get.clone(), "/v1/projects/{project}/sessions/{session}/events", widget::events),
        Route::new(CHAT, V, get.clone(), "/v1/projects/{project}/sessions/{session}/history", widget::history),
        Route::new(CHAT, V, post.clone(), "/api/{*function}", widget::server_fns::handle),
        // WhatsApp.
        Route::new(WHATSAPP, S, get.clone(), "/v1/whatsapp/{project}", channels::whatsapp_verify),
        Route::new(WHATSAPP, S, post.clone(), "/v1/whatsapp/{project}", channels::whatsapp_webhook),
        Route::new(WHATSAPP, A, get.clone(), "/v1/admin/projects/{project}/whatsapp/messages/{id}", channels::message),
        // GitHub doc-sync.
        Route::new(DOCSYNC, S, post.clone(), "/v1/github/{project}", channels::github_webhook),
        Route::new(DOCSYNC, A, post.clone(), "/v1/admin/projects/{project}/sync", channels::sync_now),
        // The communicator and its console.
        Route::new(COMMUNICATOR, S, post.clone(), "/v1/telegram/{project}", channels::telegram_webhook),
        Route::new(COMMUNICATOR, S, post.clone(), "/v1/slack/{project}", channels::slack_event),
        Route::new(COMMUNICATOR, S, post.clone(), "/v1/communicator/{project}/messages", channels::push_messages),
        Route::new(COMMUNICATOR, O, get.clone(), "/v1/admin/projects/{project}/inbox", channels::inbox),
        Route::new(COMMUNICATOR, O, get.clone(), "/v1/admin/projects/{project}/conversations/{id}", channels::conversation),
        Route::new(COMMUNICATOR, O, post.clone(), "/v1/admin/projects/{project}/conversations/{id}/draft", channels::regenerate),
        Route::new(COMMUNICATOR, O, post.clone(), "/v1/admin/projects/{project}/conversations/{id}/approve", channels::approve),
        Route::new(COMMUNICATOR, P, get.clone(), "/console", console::page),
        Route::new(COMMUNICATOR, P, post.clone(), "/v1/console/login", console::login),
        Route::new(COMMUNICATOR, P, post.clone(), "/v1/console/logout", console::logout),
        Route::new(COMMUNICATOR, O, get.clone(), "/v1/console/me", console::me),
        Route::new(COMMUNICATOR, A, put.clone(), "/v1/admin/operators/{name}", console::put_operator),
        Route::new(COMMUNICATOR, A, get.clone(), "/v1/admin/operators/{name}", console::get_operator),
        Route::new(COMMUNICATOR, A, delete.clone(), "/v1/admin/operators/{name}", console::delete_operator),
        // Jobs of every channel.
        Route::new(JOBS, O, get.clone(), "/v1/admin/projects/{project}/jobs", channels::list_jobs),
        Route::new(JOBS, O, post.clone(), "/v1/admin/projects/{project}/jobs/{id}/retry", channels::retry_job),
        // Projects, documents, settings and channels.
        Route::new(ADMIN, A, put.clone(), "/v1/admin/projects/{project}", admin::put_project),
        Route::new(ADMIN, A, put.clone(), "/v1/admin/projects/{project}/documents", admin::put_documents),
        Route::new(ADMIN, A, delete.clone(), "/v1/admin/projects/{project}/documents", admin::delete_document),
        Route::new(ADMIN, A, get.clone(), "/v1/admin/projects/{project}/stats", admin::stats),
        Route::new(ADMIN, A, get.clone(), "/v1/admin/projects/{project}/usage", admin::usage),
        Route::new(ADMIN, A, put.clone(), "/v1/admin/projects/{project}/settings", admin::put_settings),
        Route::new(ADMIN, A, put.clone(), "/v1/admin/projects/{project}/channels/{kind}", channels::put_channel),
        Route::new(ADMIN, A, get, "/v1/admin/projects/{project}/channels/{kind}", channels::get_channel),
        Route::new(ADMIN, A, delete, "/v1/admin/projects/{project}/channels/{kind}", channels::delete_channel),
    ]
}

/// The router of a deployment serving `services`: `/health`, the routes of the table those
/// services serve, and `platform` (the entry's own routes, already limited to the services it
/// serves); everything else answers 404 with the usual JSON error.
pub fn router(state: AppState, services: &[Service], platform: Router<AppState>) -> Router {
    let mut app = Router::new().route("/health", axum::routing::get(super::health));
    for route in table() {
        if route.served_by(services) {
            app = app.route(route.path, route.handler);
        }
    }
    app.merge(platform)
        .fallback(|| async { AppError::not_found("this page") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::cors,
        ))
        .with_state(state)
}
