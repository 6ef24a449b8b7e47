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

/// Posts `msg` to the host page (to its origin once known), as a JSON object.
pub fn post(msg: &EmbedMessage) {
    let Ok(json) = serde_json::to_string(msg) else {
        return;
    };
    // Every frame carries the channel key; splice it in rather than build a JSON value.
    let json = format!("{{\"channel\":\"{EMBED_CHANNEL}\",{}", &json[1..]);
    let target = HOST_ORIGIN.with(|o| o.borrow().clone());
    let target = match (&target, msg) {
        (Some(o), _) => o.clone(),
        (None, EmbedMessage::Ready) => "*".to_owned(),
        // Nothing but `ready` goes out before the host is known.
        (None, _) => return,
    };
    if let Ok(Some(parent)) = window().parent()
        && let Ok(js) = js_sys::JSON::parse(&json)
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
        let data = ev.data();
        let channel = js_sys::Reflect::get(&data, &"channel".into())
            .ok()
            .and_then(|c| c.as_string());
        if channel.as_deref() != Some(EMBED_CHANNEL) {
            return;
        }
        let Ok(msg) = EmbedMessage::from_fields(&crate::transport::JsFields(data)) else {
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
