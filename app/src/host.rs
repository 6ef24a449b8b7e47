//! The postMessage handshake with the loader on the host page.
//!
//! The widget posts `ready` once its Wasm runs (to any origin: it carries nothing secret); the
//! loader answers with `config` from the parent window, whose origin the widget then keeps: every
//! later message goes only to that origin, and only messages from the parent window are read.
//! A `config` counts only from one of the project's allowed origins (the page lists them) and
//! only for the page's own project: the widget never switches project.

use std::cell::RefCell;

use leptos::prelude::*;
use outpost_protocol::{EMBED_CHANNEL, EmbedMessage, ORIGINS_META, config_accepted};
use wasm_bindgen::JsValue;
use web_sys::MessageEvent;

thread_local! {
    static HOST_ORIGIN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Posts `msg` to the host page (to its origin once known), as a JSON object.
pub fn post(msg: &EmbedMessage) {
    let json = msg.to_json();
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

/// The project this page is the widget of (`/widget/{project}`).
pub fn page_project() -> String {
    window()
        .location()
        .pathname()
        .ok()
        .and_then(|p| {
            p.strip_prefix("/widget/")
                .map(|rest| rest.split('/').next().unwrap_or("").to_owned())
        })
        .unwrap_or_default()
}

/// The origins allowed to embed this page, as the server listed them.
fn allowed_origins() -> String {
    document()
        .query_selector(&format!("meta[name=\"{ORIGINS_META}\"]"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .unwrap_or_default()
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
        if let EmbedMessage::Config { project, .. } = &msg {
            if !config_accepted(&ev.origin(), &allowed_origins(), &page_project(), project) {
                return;
            }
            HOST_ORIGIN.with(|o| *o.borrow_mut() = Some(ev.origin()));
        }
        on_message(msg);
    });
    // The widget lives as long as its page.
    std::mem::forget(handle);
}
