//! The channels through which people reach the assistant, a module each.
//!
//! # Layout
//! - [`widget_chat`]: the embedded widget's sessions: create, socket, HTTP streaming fallback,
//!   messages, history.

pub mod widget_chat;
