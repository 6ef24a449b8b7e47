//! WhatsApp (Meta WhatsApp Cloud API): the protocol pieces that do no I/O, shared by both
//! targets. The routes, the job that answers and the Graph API client come next (issue 5).
//!
//! # Layout
//! - [`payload`]: the webhook's envelope: messages (text, media), status receipts, the
//!   receiving number.
//! - [`format`]: an answer's Markdown as WhatsApp text, split at the 4096-character limit on
//!   paragraph or sentence boundaries.

pub mod format;
pub mod payload;
