//! The webhook's envelope (developers.facebook.com, webhooks/reference/messages): one POST can
//! carry several entries and changes; each change's `value` names the receiving number
//! (`metadata.phone_number_id`, which finds the project) and holds `messages[]` or
//! `statuses[]`. Unknown fields and message types are tolerated.

use serde::Deserialize;

/// What one webhook delivery carries, flattened.
#[derive(Debug, Default, PartialEq)]
pub struct Delivery {
    /// Incoming messages, in order.
    pub messages: Vec<Incoming>,
    /// Status receipts of messages sent.
    pub statuses: Vec<Status>,
}

/// An incoming message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Incoming {
    /// The receiving business number's id (finds the project).
    pub phone_number_id: String,
    /// The sender's WhatsApp id (phone number).
    pub from: String,
    /// The message id (`wamid…`): redeliveries carry the same one.
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// What it says or holds.
    pub body: Body,
}

/// An incoming message's content.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub enum Body {
    /// Text.
    Text(String),
    /// An image, audio or document, by media id.
    Media {
        /// `image`, `audio`, `document`, ...
        kind: String,
        /// The media id to resolve through the Graph API.
        media_id: String,
        /// Its MIME type.
        mime_type: Option<String>,
    },
    /// Anything else (location, contacts, reactions, ...).
    Other(String),
}

/// A status receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The receiving business number's id.
    pub phone_number_id: String,
    /// The sent message's id.
    pub id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The recipient.
    pub recipient_id: Option<String>,
    /// Error codes, for `failed`.
    pub error_codes: Vec<i64>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    metadata: Metadata,
    #[serde(default)]
    messages: Vec<RawMessage>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct RawMessage {
    from: String,
    id: String,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    audio: Option<Media>,
    #[serde(default)]
    document: Option<Media>,
    #[serde(default)]
    video: Option<Media>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    mime_type: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    code: i64,
}

/// Reads a delivery's raw body (after its signature was checked).
///
/// # Errors
/// A message when the body is not a WhatsApp webhook envelope.
pub fn parse(body: &[u8]) -> Result<Delivery, String> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("not a WhatsApp webhook: {e}"))?;
    let mut out = Delivery::default();
    for change in env.entry.into_iter().flat_map(|e| e.changes) {
        if change.field != "messages" {
            continue;
        }
        let number = change.value.metadata.phone_number_id;
        for m in change.value.messages {
            let media = |kind: &str, m: Option<Media>| {
                m.map(|m| Body::Media {
                    kind: kind.to_owned(),
                    media_id: m.id,
                    mime_type: m.mime_type,
                })
            };
            let body = match m.kind.as_str() {
                "text" => m.text.map(|t| Body::Text(t.body)),
                "image" => media("image", m.image),
                "audio" => media("audio", m.audio),
                "document" => media("document", m.document),
                "video" => media("video", m.video),
                _ => None,
            }
            .unwrap_or(Body::Other(m.kind));
            out.messages.push(Incoming {
                phone_number_id: number.clone(),
                from: m.from,
                id: m.id,
                timestamp: m.timestamp.parse().unwrap_or(0),
                body,
            });
        }
        for s in change.value.statuses {
            out.statuses.push(Status {
                phone_number_id: number.clone(),
                id: s.id,
                status: s.status,
                timestamp: s.timestamp.parse().unwrap_or(0),
                recipient_id: s.recipient_id,
                error_codes: s.errors.into_iter().map(|e| e.code).collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official example (webhooks/reference/messages), text message.
    const TEXT: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
 "messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it work offline?"}}]}}]}]}"#;

    #[test]
    fn the_documented_text_message_is_read() {
        let d = parse(TEXT.as_bytes()).unwrap();
        assert_eq!(d.messages.len(), 1);
        let m = &d.messages[0];
        assert_eq!(m.phone_number_id, "106540352242922");
        assert_eq!(m.from, "16505551234");
        assert_eq!(m.timestamp, 1_749_416_383);
        assert_eq!(m.body, Body::Text("Does it work offline?".into()));
        assert!(d.statuses.is_empty());
    }

    #[test]
    fn media_statuses_and_unknown_types_are_read_too() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
          "messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"42"},
          "messages":[
            {"from":"1","id":"wamid.a","timestamp":"10","type":"image","image":{"id":"MEDIA1","mime_type":"image/jpeg","sha256":"x"}},
            {"from":"1","id":"wamid.b","timestamp":"11","type":"location","location":{"latitude":1,"longitude":2}}],
          "statuses":[{"id":"wamid.sent","status":"failed","timestamp":"12","recipient_id":"1","errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}"#;
        let d = parse(body.as_bytes()).unwrap();
        assert_eq!(
            d.messages[0].body,
            Body::Media {
                kind: "image".into(),
                media_id: "MEDIA1".into(),
                mime_type: Some("image/jpeg".into())
            }
        );
        assert_eq!(d.messages[1].body, Body::Other("location".into()));
        assert_eq!(d.statuses[0].status, "failed");
        assert_eq!(d.statuses[0].error_codes, vec![131047]);
        assert!(parse(b"{\"entry\": 3}").is_err());
        assert!(parse(b"not json").is_err());
    }
}
