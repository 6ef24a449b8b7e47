//! Slack's Events API (api.slack.com): every request is signed —
//! `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)>`
//! with `X-Slack-Request-Timestamp` no more than 5 minutes from now (replays are refused);
//! `url_verification` is answered with its challenge; an `event_callback` carries one event,
//! deduplicated by `event_id` (Slack retries up to 3 times). The app's own messages
//! (`bot_id`, subtype `bot_message`) are dropped so that replies do not loop.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::model::{Attachment, Inbound, Platform, Sender};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far a request's timestamp may be from now (seconds).
pub const WINDOW_SECS: i64 = 300;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No signature or timestamp.
    Missing,
    /// The timestamp is more than 5 minutes away (a replay, or a wrong clock).
    Stale,
    /// The signature does not sign this body.
    BadSignature,
}

/// The `X-Slack-Signature` value for `body` at `timestamp` (what Slack computes).
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request's signature (constant time) and freshness against `now` (Unix seconds).
///
/// # Errors
/// [`Refused`].
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let (Some(ts), Some(sig)) = (timestamp, signature_header) else {
        return Err(Refused::Missing);
    };
    let when: i64 = ts.trim().parse().map_err(|_| Refused::Missing)?;
    if (now - when).abs() > WINDOW_SECS {
        return Err(Refused::Stale);
    }
    let Some(given) = sig
        .trim()
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return Err(Refused::BadSignature);
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refused::BadSignature)?;
    mac.update(format!("v0:{}:", ts.trim()).as_bytes());
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refused::BadSignature)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    mimetype: Option<String>,
}

/// What a (verified) request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// Answer with this challenge.
    UrlVerification(String),
    /// An event: its id (the dedupe key), and the message it carries, if any to store.
    Event {
        /// `event_id`.
        event_id: String,
        /// The message, or why there is none to store.
        message: Result<Box<Inbound>, &'static str>,
    },
}

/// Reads a verified request's body.
///
/// # Errors
/// A message when the body is not an Events API request.
pub fn read(body: &[u8]) -> Result<Read, String> {
    let e: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("not a Slack event: {e}"))?;
    match e.kind.as_str() {
        "url_verification" => e
            .challenge
            .map(Read::UrlVerification)
            .ok_or_else(|| "url_verification without a challenge".to_owned()),
        "event_callback" => {
            let event_id = e.event_id.ok_or("event_callback without an event_id")?;
            let team = e.team_id.unwrap_or_default();
            let message = match e.event {
                None => Err("no event"),
                Some(ev) if ev.kind != "message" => Err("not a message event"),
                Some(ev) if ev.bot_id.is_some() || ev.subtype.as_deref() == Some("bot_message") => {
                    Err("a bot's message")
                }
                Some(ev) if ev.subtype.is_some() && ev.subtype.as_deref() != Some("file_share") => {
                    Err("an edit, a deletion or a join")
                }
                Some(ev) => match (ev.channel, ev.user, ev.ts) {
                    (Some(channel), Some(user), Some(ts)) => Ok(Box::new(Inbound {
                        platform: Platform::Slack,
                        account: team,
                        sent_at: ts
                            .split('.')
                            .next()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0),
                        platform_id: format!("{channel}:{ts}"),
                        chat: channel,
                        thread: ev.thread_ts,
                        sender: Sender {
                            id: user,
                            name: None,
                        },
                        text: ev.text.unwrap_or_default(),
                        attachments: ev
                            .files
                            .into_iter()
                            .map(|f| Attachment {
                                kind: "file".into(),
                                id: f.id,
                                name: f.name,
                                mime_type: f.mimetype,
                            })
                            .collect(),
                    })),
                    _ => Err("a message without channel, user or ts"),
                },
            };
            Ok(Read::Event { event_id, message })
        }
        other => Err(format!("unknown request type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";

    #[test]
    fn signatures_and_the_five_minute_window() {
        let body = br#"{"type":"url_verification","token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
        let ts = "1531420618";
        let sig = signature(SECRET, ts, body);
        let now = 1_531_420_618;
        assert_eq!(verify(SECRET, Some(ts), Some(&sig), body, now), Ok(()));
        assert_eq!(
            verify(SECRET, Some(ts), Some(&sig), body, now + 300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some(&sig), body, now + 301),
            Err(Refused::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some(&sig), b"{}", now),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify(b"other", Some(ts), Some(&sig), body, now),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify(SECRET, None, Some(&sig), body, now),
            Err(Refused::Missing)
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some("v0=zz"), body, now),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            read(body).unwrap(),
            Read::UrlVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into())
        );
    }

    #[test]
    fn messages_threads_and_the_bots_own() {
        let body = br#"{"token":"x","team_id":"T123ABC456","api_app_id":"A123ABC456","type":"event_callback","event_id":"Ev123ABC456","event_time":1515449522000016,"authorizations":[{"team_id":"T123ABC456","user_id":"U1","is_bot":true}],"event":{"type":"message","channel":"C123ABC456","user":"U123ABC456","text":"Live long and prospect.","ts":"1355517523.000005","thread_ts":"1355517500.000001","channel_type":"channel","event_ts":"1355517523.000005"}}"#;
        let Read::Event { event_id, message } = read(body).unwrap() else {
            panic!()
        };
        assert_eq!(event_id, "Ev123ABC456");
        let m = message.unwrap();
        assert_eq!(m.account, "T123ABC456");
        assert_eq!(m.chat, "C123ABC456");
        assert_eq!(m.thread.as_deref(), Some("1355517500.000001"));
        assert_eq!(m.sent_at, 1_355_517_523);
        assert_eq!(
            m.dedupe_key(),
            "slack:T123ABC456:C123ABC456:1355517523.000005"
        );
        let bot = br#"{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"message","channel":"C1","bot_id":"B1","text":"my own reply","ts":"1.2"}}"#;
        let Read::Event { message, .. } = read(bot).unwrap() else {
            panic!()
        };
        assert_eq!(message, Err("a bot's message"));
        let edit = br#"{"type":"event_callback","team_id":"T1","event_id":"Ev3","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"1.3"}}"#;
        let Read::Event { message, .. } = read(edit).unwrap() else {
            panic!()
        };
        assert!(message.is_err());
        assert!(read(br#"{"type":"app_rate_limited"}"#).is_err());
    }
}
