//! Sending an approved reply back where the conversation came from: Telegram's `sendMessage`,
//! Slack's `chat.postMessage` (in the conversation's thread), WhatsApp through the Graph API,
//! and a push source's `reply_url`. Each answers the platform's message id for a part, or a
//! [`JobError`] saying whether to retry (rate limits at the time they name, server errors with
//! backoff; refusals are not retried and land in the dead-letter view).

use serde_json::{Value, json};

use crate::channels::jobs::{JobError, Retry};
use crate::platform::http::{HttpClient, HttpRequest};

/// Telegram's `text` limit (characters after entity parsing; we send plain text).
pub const TELEGRAM_MAX: usize = 4096;
/// What we keep a Slack message under (Slack advises 4,000 characters, truncates at 40,000).
pub const SLACK_MAX: usize = 4000;
/// WhatsApp's text body limit.
pub const WHATSAPP_MAX: usize = 4096;

fn now_ms() -> i64 {
    crate::platform::now_millis() as i64
}

/// Sends one text with Telegram's Bot API; the message id.
///
/// # Errors
/// [`JobError`]: 429 retried at `retry_after`, 5xx with backoff, the rest not retried.
pub async fn telegram(
    http: &dyn HttpClient,
    base: &str,
    token: &str,
    chat: &str,
    thread: Option<&str>,
    text: &str,
) -> Result<String, JobError> {
    let mut body = json!({"chat_id": chat, "text": text});
    if let Some(t) = thread.and_then(|t| t.parse::<i64>().ok()) {
        body["message_thread_id"] = json!(t);
    }
    let resp = http
        .send(HttpRequest::post_json(
            format!("{base}/bot{token}/sendMessage"),
            &body,
        ))
        .await?;
    let status = resp.status;
    let raw = resp.bytes().await?;
    let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    if status == 200 && v["ok"] == true {
        return v["result"]["message_id"]
            .as_i64()
            .map(|id| id.to_string())
            .ok_or_else(|| JobError::transient("sendMessage: no message_id in the answer"));
    }
    let description = v["description"].as_str().unwrap_or("").to_owned();
    let message = format!("Telegram sendMessage answered {status}: {description}");
    let retry = match (status, v["parameters"]["retry_after"].as_i64()) {
        (429, Some(s)) => Retry::At(now_ms() + s * 1000),
        (429, None) => Retry::Backoff,
        (s, _) if s >= 500 => Retry::Backoff,
        _ => Retry::Never,
    };
    Err(JobError { message, retry })
}

/// Slack errors worth another try (docs.slack.dev/reference/methods/chat.postMessage).
const SLACK_TRANSIENT: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Posts one text with `chat.postMessage`, in `thread_ts` when given; the message's `ts`.
///
/// # Errors
/// [`JobError`]: 429 retried at `Retry-After`, transient Slack errors with backoff, the rest
/// (`channel_not_found`, `not_in_channel`, `invalid_auth`, …) not retried.
pub async fn slack(
    http: &dyn HttpClient,
    base: &str,
    token: &str,
    channel: &str,
    thread_ts: Option<&str>,
    text: &str,
) -> Result<String, JobError> {
    let mut body = json!({"channel": channel, "text": text});
    if let Some(t) = thread_ts {
        body["thread_ts"] = json!(t);
    }
    let resp = http
        .send(
            HttpRequest::post_json(format!("{base}/chat.postMessage"), &body)
                .header("authorization", format!("Bearer {token}")),
        )
        .await?;
    let status = resp.status;
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let raw = resp.bytes().await?;
    let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    if status == 200 && v["ok"] == true {
        return v["ts"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| JobError::transient("chat.postMessage: no ts in the answer"));
    }
    let error = v["error"].as_str().unwrap_or("").to_owned();
    let message = format!("Slack chat.postMessage answered {status}: {error}");
    let retry = match retry_after {
        Some(s) if status == 429 || error == "ratelimited" => Retry::At(now_ms() + s * 1000),
        _ if status == 429 || status >= 500 || SLACK_TRANSIENT.contains(&error.as_str()) => {
            Retry::Backoff
        }
        _ => Retry::Never,
    };
    Err(JobError { message, retry })
}

/// Posts a reply to a push source's `reply_url`, signed with its token like a GitHub webhook
/// (`X-Hub-Signature-256`); the source's id for it (or the conversation's, when it gives none).
///
/// # Errors
/// [`JobError`]: 429 and 5xx retried, other statuses not.
pub async fn push(
    http: &dyn HttpClient,
    url: &str,
    token: &str,
    reply: &Value,
) -> Result<String, JobError> {
    let body = reply.to_string();
    let req = HttpRequest {
        method: "POST".into(),
        url: url.to_owned(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (
                "x-hub-signature-256".into(),
                crate::channels::webhook::hub_signature(token.as_bytes(), body.as_bytes()),
            ),
        ],
        body: body.into_bytes(),
    };
    let resp = http.send(req).await?;
    let status = resp.status;
    let raw = resp.bytes().await?;
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        return Ok(v["id"].as_str().unwrap_or("accepted").to_owned());
    }
    let message = format!(
        "the push source's reply_url answered {status}: {}",
        String::from_utf8_lossy(&raw)
            .chars()
            .take(200)
            .collect::<String>()
    );
    Err(JobError {
        message,
        retry: if status == 429 || status >= 500 {
            Retry::Backoff
        } else {
            Retry::Never
        },
    })
}
