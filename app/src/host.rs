//! The postMessage handshake with the loader on the host page.
//!
//! The widget posts `ready` once its Wasm runs (to any origin: it carries nothing secret); the
//! loader answers with `config` from the parent window, whose origin the widget then keeps: every
//! later message goes only to that origin, and only messages from the parent window are read.

use std::cell::RefCell;

use leptos::prelude::*;
use outpost_protocol::{EMBED_CHANNEL, EmbedMessage};
use wasm_bindgen::JsValue;
use web_sys::MessageEvent;

thread_local! {
    static HOST_ORIGIN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Posts `msg` to the host page (to its origin once known).
pub fn post(msg: &EmbedMessage) {
    let Ok(mut v) = serde_json::to_value(msg) else {
        return;
    };
    v["channel"] = EMBED_CHANNEL.into();
    let target = HOST_ORIGIN.with(|o| o.borrow().clone());
    let target = match (&target, msg) {
        (Some(o), _) => o.clone(),
        (None, EmbedMessage::Ready) => "*".to_owned(),
        // Nothing but `ready` goes out before the host is known.
        (None, _) => return,
    };
    if let Ok(Some(parent)) = window().parent()
        && let Ok(js) = js_sys::JSON::parse(&v.to_string())
    {
        let _ = parent.post_message(&js, &target);
    }
}

/// Listens for the loader's messages and calls `on_message` with each valid one.
pub fn listen(on_message: impl Fn(EmbedMessage) + 'static) {
    let handle = window_event_listener(leptos::ev::message, move |ev: MessageEvent| {
        let Ok(Some(parent)) = window().parent() else {
            return;
        };
        // Only the window that embeds us may talk to us.
        let from_parent = ev
            .source()
            .is_some_and(|s| JsValue::from(s) == JsValue::from(parent));
        if !from_parent {
            return;
        }
        let Ok(text) = js_sys::JSON::stringify(&ev.data()) else {
            return;
        };
        let Some(text) = text.as_string() else { return };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            return;
        };
        if v["channel"] != EMBED_CHANNEL {
            return;
        }
        let Ok(msg) = serde_json::from_value::<EmbedMessage>(v) else {
            return;
        };
        if matches!(msg, EmbedMessage::Config { .. }) {
            HOST_ORIGIN.with(|o| *o.borrow_mut() = Some(ev.origin()));
        }
        on_message(msg);
    });
    // The widget lives as long as its page.
    std::mem::forget(handle);
}
