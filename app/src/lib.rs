//! Outpost's front end: the chat widget, a Leptos app compiled to Wasm and shown in an iframe
//! on the host page, and the server functions it calls.
//!
//! Features: `csr` builds the widget for the browser; `ssr` builds the server side of the server
//! functions, which the `outpost-server` crate serves.
//!
//! # Layout
//! - [`api`]: server functions (widget config, history, feedback) and, with `ssr`, the backend
//!   port the server implements.
//! - `widget` (csr): the components.
//! - `transport` (csr): the session connection: WebSocket with heartbeat and reconnect, HTTP
//!   streaming fallback, offline queue.
//! - `host` (csr): the postMessage handshake with the loader.
//! - `console` (feature `console`, a separate Wasm build): the operators' console.
//! - [`sse`]: the Server-Sent Events reader of the HTTP streaming fallback.

pub mod api;
pub mod sse;
pub mod strings;

#[cfg(all(feature = "csr", not(feature = "console")))]
mod calls;
#[cfg(feature = "console")]
mod console;
#[cfg(all(feature = "csr", not(feature = "console")))]
mod host;
#[cfg(feature = "csr")]
mod net;
#[cfg(all(feature = "csr", not(feature = "console")))]
mod transport;
#[cfg(all(feature = "csr", not(feature = "console")))]
mod widget;

/// Starts the widget when its Wasm module is instantiated.
#[cfg(all(feature = "csr", not(feature = "console")))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(widget::Widget);
}

/// Starts the operators' console (a build of its own: the widget's Wasm stays small).
#[cfg(feature = "console")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(console::Console);
}
