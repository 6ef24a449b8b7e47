//! Emits the loader that host pages include with `<script src=".../embed.js">`.
//!
//! The loader's behaviour is a JavaScript template (`loader.js`) whose postMessage frame names
//! are filled in here from [`outpost_protocol::EmbedMessage`], so the loader, the widget and the
//! server share one definition of the frames; comments and indentation are then stripped (the
//! template is written compactly; a real minifier was tried: `minify-js` 0.6 panics on `else if`
//! chains). Written this way rather than compiled from Rust to Wasm because the host page must pay
//! under 3 kB gzipped before the chat opens: a wasm-bindgen loader alone is ~8 kB.
//!
//! # Layout
//! - [`loader_js`]: the minified loader.

use outpost_protocol::{EMBED_CHANNEL, EmbedMessage, codes};

/// The loader template.
const TEMPLATE: &str = include_str!("loader.js");

/// Why the loader could not be emitted.
#[derive(Debug, PartialEq, Eq)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmitError {}

/// The loader with the protocol's names filled in, not yet minified.
///
/// # Errors
/// [`EmitError`] when the template uses a frame name the protocol does not define.
pub fn loader_source() -> Result<String, EmitError> {
    let mut js = TEMPLATE
        .replace("%channel%", EMBED_CHANNEL)
        .replace("%frame_refused%", codes::FRAME_REFUSED)
        .replace("%unavailable%", codes::UNAVAILABLE)
        .replace("%challenge_required%", codes::CHALLENGE_REQUIRED)
        .replace("%not_public%", codes::NOT_PUBLIC)
        .replace("%token_expired%", codes::TOKEN_EXPIRED);
    for name in EmbedMessage::type_names() {
        js = js.replace(&format!("%{name}%"), name);
    }
    // Any placeholder left names a frame the protocol lacks.
    for (i, part) in js.split('"').enumerate() {
        if i % 2 == 1 && part.len() > 2 && part.starts_with('%') && part.ends_with('%') {
            return Err(EmitError(format!(
                "the loader uses {part}, which outpost-protocol does not define"
            )));
        }
    }
    Ok(js)
}

/// The loader as served: the source without comment lines and indentation. Line breaks are
/// kept, so automatic semicolon insertion reads it exactly as the template.
///
/// # Errors
/// [`EmitError`] when the template is inconsistent with the protocol.
pub fn loader_js() -> Result<String, EmitError> {
    let source = loader_source()?;
    let lines: Vec<&str> = source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    Ok(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_the_loader_uses_comes_from_the_protocol() {
        let js = loader_source().expect("emits");
        assert!(!js.contains("\"%"), "no placeholder left");
        for name in [
            "ready", "config", "toggle", "accent", "unread", "error", "identify",
        ] {
            assert!(js.contains(&format!("\"{name}\"")), "{name}");
        }
        assert!(js.contains(&format!("\"{EMBED_CHANNEL}\"")));
    }

    #[test]
    fn the_loader_is_stripped_of_comments_and_indentation() {
        let js = loader_js().expect("emits");
        assert!(
            js.len() < loader_source().unwrap().len(),
            "{} bytes",
            js.len()
        );
        assert!(
            !js.lines()
                .any(|l| l.starts_with(' ') || l.starts_with("//"))
        );
        assert!(js.contains("attachShadow") && js.contains("Outpost"));
    }

    #[test]
    fn the_loader_sets_no_inline_style_strings() {
        let js = loader_source().unwrap();
        assert!(
            !js.contains("setAttribute(\"style\"")
                && !js.contains(".style.cssText")
                && !js.contains("createElement(\"style\")")
        );
    }
}
