//! The Graph API calls the WhatsApp channel makes (developers.facebook.com, Cloud API): send a
//! text (`POST /{phone_number_id}/messages`), mark a message read (same endpoint,
//! `status: "read"`), and download media (`GET /{media_id}` for a short-lived URL, then the URL,
//! both with the bearer token). Errors are read from Graph's
//! `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` and classified:
//! throttling and server errors are retried, the rest are not.

use serde_json::json;

use crate::channels::jobs::{JobError, Retry};
use crate::platform::http::{HttpClient, HttpRequest, HttpResponse};

/// The largest media file kept (bytes); WhatsApp documents may be up to 100 MB.
pub const MAX_MEDIA_BYTES: usize = 25 * 1024 * 1024;

/// Graph error codes that mean "slow down" (rate limits and pair rate limits).
const THROTTLED: [i64; 6] = [4, 80007, 130429, 131048, 131056, 613];

/// A Graph API client for one business number.
pub struct Graph<'a> {
    /// The API base with its version (`https://graph.facebook.com/v21.0`).
    pub base: &'a str,
    /// The bearer token.
    pub token: &'a str,
    /// Outbound HTTP.
    pub http: &'a dyn HttpClient,
}

/// A Graph error body's code and message, if the body is one.
fn graph_error(body: &[u8]) -> Option<(i64, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    Some((
        e.get("code")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0),
        e.get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned(),
    ))
}

/// Reads a response: its body when 2xx, else a [`JobError`] naming the Graph error code.
async fn read(what: &str, resp: HttpResponse) -> Result<Vec<u8>, JobError> {
    let status = resp.status;
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let body = resp.bytes().await?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let (code, message) = graph_error(&body).unwrap_or((0, String::new()));
    let text = format!("{what}: Graph API answered {status}, error code {code}: {message}");
    let retry = if status == 429 || status >= 500 || THROTTLED.contains(&code) {
        match retry_after {
            Some(s) => Retry::At(crate::platform::now_millis() as i64 + s * 1000),
            None => Retry::Backoff,
        }
    } else {
        Retry::Never
    };
    Err(JobError {
        message: text,
        retry,
    })
}

impl Graph<'_> {
    fn post(&self, path: &str, body: &serde_json::Value) -> HttpRequest {
        HttpRequest::post_json(format!("{}/{path}", self.base), body)
            .header("authorization", format!("Bearer {}", self.token))
    }

    fn get(&self, url: String) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url,
            headers: vec![("authorization".into(), format!("Bearer {}", self.token))],
            body: Vec::new(),
        }
    }

    /// Sends `body` as a text message to `to`; the sent message's id.
    ///
    /// # Errors
    /// [`JobError`] (retriable when Graph throttles or fails).
    pub async fn send_text(
        &self,
        phone_number_id: &str,
        to: &str,
        body: &str,
    ) -> Result<String, JobError> {
        let req = self.post(
            &format!("{phone_number_id}/messages"),
            &json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": false, "body": body},
            }),
        );
        let body = read("send", self.http.send(req).await?).await?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| JobError::transient(format!("send: unreadable answer: {e}")))?;
        v["messages"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| JobError::transient("send: the answer names no message id"))
    }

    /// Marks `message_id` (and the chat's earlier messages) read.
    ///
    /// # Errors
    /// [`JobError`].
    pub async fn mark_read(&self, phone_number_id: &str, message_id: &str) -> Result<(), JobError> {
        let req = self.post(
            &format!("{phone_number_id}/messages"),
            &json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id}),
        );
        read("mark read", self.http.send(req).await?)
            .await
            .map(|_| ())
    }

    /// Downloads media `media_id`: its bytes and MIME type.
    ///
    /// # Errors
    /// [`JobError`]; a file over [`MAX_MEDIA_BYTES`] is refused for good.
    pub async fn media(&self, media_id: &str) -> Result<(Vec<u8>, String), JobError> {
        let meta = read(
            "media lookup",
            self.http
                .send(self.get(format!("{}/{media_id}", self.base)))
                .await?,
        )
        .await?;
        let v: serde_json::Value = serde_json::from_slice(&meta)
            .map_err(|e| JobError::transient(format!("media lookup: unreadable answer: {e}")))?;
        let url = v["url"]
            .as_str()
            .ok_or_else(|| JobError::transient("media lookup: no url"))?;
        if v["file_size"]
            .as_u64()
            .is_some_and(|n| n as usize > MAX_MEDIA_BYTES)
        {
            return Err(JobError::permanent(format!(
                "media {media_id} is larger than {MAX_MEDIA_BYTES} bytes"
            )));
        }
        let mime = v["mime_type"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = read(
            "media download",
            self.http.send(self.get(url.to_owned())).await?,
        )
        .await?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(JobError::permanent(format!(
                "media {media_id} is larger than {MAX_MEDIA_BYTES} bytes"
            )));
        }
        Ok((bytes, mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_are_read_from_the_documented_shape() {
        let body = br#"{"error":{"message":"(#131009) Parameter value is not valid","type":"OAuthException","code":131009,"error_subcode":2494010,"fbtrace_id":"A1b2"}}"#;
        assert_eq!(
            graph_error(body),
            Some((131009, "(#131009) Parameter value is not valid".into()))
        );
        assert_eq!(graph_error(b"<html>bad gateway</html>"), None);
    }
}
