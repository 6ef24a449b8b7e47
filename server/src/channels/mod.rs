//! The channels through which people reach the assistant, a module each.
//!
//! # Layout
//! - [`widget_chat`]: the embedded widget's sessions: create, socket, HTTP streaming fallback,
//!   messages, history, and the widget page.
//! - [`admin`]: operators' API: projects and their documents (how docs reach a Worker).

pub mod admin;
pub mod widget_chat;
