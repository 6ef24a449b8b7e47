//! The widget's calls of its server functions (`/api/*`, see [`crate::api`]): the same endpoints,
//! JSON bodies and answers, made with the browser's `fetch` and read with its JSON parser.
//! server_fn's own client would bring serde's JSON (de)serializers and its HTTP client into the
//! widget's Wasm, tens of kilobytes for three calls.

use outpost_protocol::{Feedback, Fields, HistoryItem, JsonObject, WidgetConfig};

use crate::api::History;
use crate::transport::{JsFields, api_error, fetch};

/// A failed call: the server's error code and message.
pub type CallError = (String, String);

/// The error of a call that got no usable answer.
pub fn unavailable() -> CallError {
    (
        outpost_protocol::codes::UNAVAILABLE.into(),
        crate::strings::t(crate::strings::key::UNAVAILABLE),
    )
}

/// POSTs `body` to the server function `endpoint`; its answer, parsed.
async fn call(endpoint: &str, body: String) -> Result<JsFields, CallError> {
    let origin = leptos::prelude::window()
        .location()
        .origin()
        .unwrap_or_default();
    let resp = fetch(
        "POST",
        &format!("{origin}/api/{endpoint}"),
        "",
        Some(&body),
        None,
    )
    .await
    .map_err(|_| unavailable())?;
    let text = crate::net::response_text(&resp).await;
    if !resp.ok() {
        return Err(api_error(&text).unwrap_or_else(unavailable));
    }
    js_sys::JSON::parse(&text)
        .map(JsFields)
        .map_err(|_| unavailable())
}

fn session_body(project: &str, session: &str, token: &str) -> JsonObject {
    JsonObject::new()
        .string("project", project)
        .string("session", session)
        .string("token", token)
}

/// The project's title, greeting, accent and whether a person can take over.
pub async fn widget_config(project: &str) -> Result<WidgetConfig, CallError> {
    let body = JsonObject::new().string("project", project).finish();
    let f = call("widget_config", body).await?;
    WidgetConfig::from_fields(&f).map_err(|_| unavailable())
}

/// The conversation so far of `session`.
pub async fn history(project: &str, session: &str, token: &str) -> Result<History, CallError> {
    let f = call("history", session_body(project, session, token).finish()).await?;
    Ok(History {
        items: f
            .list("items")
            .iter()
            .filter_map(|i| HistoryItem::from_fields(i).ok())
            .collect(),
        last_seq: f.number("last_seq").ok_or_else(unavailable)?,
        handed_off: f.boolean("handed_off").unwrap_or(false),
    })
}

/// Records the visitor's rating of an answer.
pub async fn send_feedback(
    project: &str,
    session: &str,
    token: &str,
    feedback: &Feedback,
) -> Result<(), CallError> {
    let body = session_body(project, session, token)
        .raw("feedback", &feedback.to_json())
        .finish();
    call("feedback", body).await.map(|_| ())
}
