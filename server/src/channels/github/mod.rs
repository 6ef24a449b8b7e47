//! GitHub doc-sync: the protocol pieces that do no I/O, shared by both targets. The webhook
//! route, the full sync through the tree/contents APIs and the scheduled job come next
//! (issue 5).
//!
//! # Layout
//! - [`push`]: a `push` delivery read and folded into the Markdown files to fetch and remove.

pub mod push;
