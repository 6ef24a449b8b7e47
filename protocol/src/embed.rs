//! The `postMessage` frames between the host page's loader (`embed.js`) and the widget iframe.
//!
//! The loader is emitted by a Rust build step (crate `outpost-embed`) that takes the frame type
//! names from these enums, so the loader, the widget and the server cannot disagree.
//!
//! Handshake: the widget posts `ready` once its Wasm runs (an iframe's `load` event fires before
//! that, so a config posted on `load` would be lost); the loader answers with `config`.

use serde::{Deserialize, Serialize};

/// Every `postMessage` frame carries this key with this value, so that both sides ignore the
/// unrelated messages other scripts post.
pub const EMBED_CHANNEL: &str = "outpost";

/// A frame between the loader and the widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EmbedMessage {
    /// Widget → loader: the widget runs and waits for its configuration.
    Ready,
    /// Loader → widget: the project and the visitor's identity token.
    Config {
        /// The project id from `data-project`.
        project: String,
        /// The identity token (a JWT from the site's backend, or a public project's anonymous
        /// one), if there is one yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Why there is no token, when the loader could not get a public project's: the
        /// server's sentence, shown in the panel.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Loader → widget: a new identity token (`Outpost.identify(token)`).
    Identify {
        /// The new token.
        token: String,
    },
    /// Either way: open (`true`) or close (`false`) the panel.
    Toggle {
        /// Whether the panel is open.
        open: bool,
    },
    /// Widget → loader: the project's accent, for the bubble (kept by the loader for the next
    /// page of the site).
    Accent {
        /// A CSS colour.
        accent: String,
    },
    /// Widget → loader: something the host page may want to know (unread answers while closed).
    Unread {
        /// Unread answers.
        count: u32,
    },
    /// Widget → loader: an error the site should hear about (for example a rejected token).
    Error {
        /// Machine-readable cause.
        code: String,
        /// A sentence for a person.
        message: String,
    },
    /// A public project that wants a challenge (Turnstile): loader → widget page without a
    /// token ("render the challenge"); widget page → loader with the solved challenge's answer,
    /// which the loader sends when it asks for the visitor's token.
    Challenge {
        /// The answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

impl EmbedMessage {
    /// The `type` tag of every variant, in declaration order: what the loader is built against.
    pub fn type_names() -> Vec<&'static str> {
        vec![
            "ready",
            "config",
            "identify",
            "toggle",
            "accent",
            "unread",
            "error",
            "challenge",
        ]
    }
}

/// The `<meta name>` under which the widget page lists the origins allowed to embed it
/// (space-separated, as in the project's settings; `*` for any).
pub const ORIGINS_META: &str = "outpost-origins";

/// Whether a `config` posted from `origin` may configure the widget page of `page_project`,
/// whose allowed embedders are `allowed` (space-separated origins, `*` for any): the sender's
/// origin must be one of them, and the config must name the page's own project (a widget never
/// switches to another project, whose own embedders may differ).
pub fn config_accepted(origin: &str, allowed: &str, page_project: &str, project: &str) -> bool {
    let origin_ok = allowed
        .split_ascii_whitespace()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin));
    origin_ok && project == page_project
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_comes_from_an_allowed_origin_and_names_the_pages_project() {
        let allowed = "https://docs.acme.example http://127.0.0.1:9/";
        assert!(config_accepted(
            "https://docs.acme.example",
            allowed,
            "acme",
            "acme"
        ));
        assert!(config_accepted(
            "http://127.0.0.1:9",
            allowed,
            "acme",
            "acme"
        ));
        assert!(!config_accepted(
            "https://evil.example",
            allowed,
            "acme",
            "acme"
        ));
        assert!(!config_accepted(
            "https://docs.acme.example",
            allowed,
            "acme",
            "globex"
        ));
        assert!(!config_accepted(
            "https://docs.acme.example",
            "",
            "acme",
            "acme"
        ));
        assert!(config_accepted(
            "https://anyone.example",
            "*",
            "acme",
            "acme"
        ));
    }

    #[test]
    fn embed_frames_are_pinned() {
        let cases = [
            (EmbedMessage::Ready, r#"{"type":"ready"}"#),
            (
                EmbedMessage::Config {
                    project: "acme".into(),
                    token: Some("t".into()),
                    error: None,
                },
                r#"{"type":"config","project":"acme","token":"t"}"#,
            ),
            (
                EmbedMessage::Identify { token: "t".into() },
                r#"{"type":"identify","token":"t"}"#,
            ),
            (
                EmbedMessage::Toggle { open: true },
                r#"{"type":"toggle","open":true}"#,
            ),
            (
                EmbedMessage::Accent {
                    accent: "rgb(170, 51, 0)".into(),
                },
                r#"{"type":"accent","accent":"rgb(170, 51, 0)"}"#,
            ),
            (
                EmbedMessage::Unread { count: 2 },
                r#"{"type":"unread","count":2}"#,
            ),
            (
                EmbedMessage::Error {
                    code: "unauthorized".into(),
                    message: "m".into(),
                },
                r#"{"type":"error","code":"unauthorized","message":"m"}"#,
            ),
            (
                EmbedMessage::Challenge {
                    token: Some("0.a".into()),
                },
                r#"{"type":"challenge","token":"0.a"}"#,
            ),
        ];
        let mut names = Vec::new();
        for (frame, json) in cases {
            assert_eq!(serde_json::to_string(&frame).unwrap(), json);
            assert_eq!(serde_json::from_str::<EmbedMessage>(json).unwrap(), frame);
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            names.push(v["type"].as_str().unwrap().to_owned());
        }
        assert_eq!(names, EmbedMessage::type_names());
    }
}
