//! Typed messages shared by Outpost's loader, widget and server.
//!
//! Everything that crosses a process boundary is defined here once, so the widget (Wasm), the
//! loader and the server cannot drift apart. This crate has no dependencies beyond `serde`, so it
//! costs the widget's size budget almost nothing.
//!
//! # Layout
//! - [`Citation`]: a source an answer relies on, as shown under the answer.
//! - [`ClientFrame`] / [`ServerFrame`]: the chat session's frames, over a WebSocket or, as a
//!   fallback, HTTP (server frames as Server-Sent Events, client frames as POST bodies).
//! - [`EmbedMessage`]: the `postMessage` frames between the host page's loader and the widget.
//! - [`HistoryItem`], [`Feedback`], [`WidgetConfig`]: request/response types of the widget's
//!   server functions.
//! - [`console`]: what the operators' console sends and receives.
//! - [`ApiError`]: the JSON error body of every HTTP error; [`codes`]: the codes it and the
//!   error frames carry.

pub mod codes;
pub mod console;

mod chat;
mod embed;
mod wire;

pub use wire::{Fields, JsonObject};

pub use chat::*;
pub use embed::*;

use serde::{Deserialize, Serialize};

/// One source an answer relies on: the document and the heading path of the cited passage.
///
/// `n` is the marker used in the answer text (`[1]`, `[2]`, ...), so a client can link the marker
/// to the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The marker number used in the answer text.
    pub n: u32,
    /// The document's path inside the project (for example `docs/security.md`).
    pub path: String,
    /// The document's title (its front matter's `title`, else its first heading, else the file
    /// name).
    pub title: String,
    /// The heading path of the cited passage (`Security > Signing keys`); empty at the top.
    pub heading: String,
    /// Where a reader can open the document, when the project has such a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The revision the passage was indexed at (a commit id for synced repositories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// What the server's renderer puts before each code block of an answer: a copy button, labelled
/// in English; the widget relabels it in the visitor's language.
pub const COPY_BUTTON: &str = "<div class=\"op-code\"><button type=\"button\" class=\"op-copy\" aria-label=\"Copy code\">Copy</button>";

/// Escapes text for use in HTML content and quoted attribute values. One definition for the
/// server's renderer and the widget.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn citation_json_is_pinned() {
        let c = Citation {
            n: 1,
            path: "docs/security.md".into(),
            title: "Security".into(),
            heading: "Security > Signing keys".into(),
            url: None,
            revision: Some("abc123".into()),
        };
        let json = serde_json::to_string(&c).expect("serializes");
        assert_eq!(
            json,
            r#"{"n":1,"path":"docs/security.md","title":"Security","heading":"Security > Signing keys","revision":"abc123"}"#
        );
        let back: Citation = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, c);
    }
}
