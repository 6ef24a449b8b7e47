//! The channels through which people reach the assistant, a module each.
//!
//! # Layout
//! - [`widget_chat`]: the embedded widget's sessions: create, socket, HTTP streaming fallback,
//!   messages, history, and the widget page.
//! - [`admin`]: operators' API: projects and their documents (how docs reach a Worker).
//! - [`webhook`]: the `X-Hub-Signature-256` check shared by webhook channels.
//! - [`whatsapp`]: WhatsApp's webhook payloads and message formatting (routes: issue 5).
//! - [`github`]: GitHub push deliveries folded into files to re-index (routes: issue 5).

pub mod admin;
pub mod github;
pub mod webhook;
pub mod whatsapp;
pub mod widget_chat;
