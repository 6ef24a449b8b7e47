//! Machine-readable error codes the server sends and the widget and console act on: one
//! definition each, so a code cannot be spelt two ways. They appear as `code` in
//! [`crate::ServerFrame::Error`], [`crate::ServerFrame::AnswerError`] and [`crate::ApiError`].

/// The language model or the embedder failed (unreachable, refused, cut off).
pub const PROVIDER_ERROR: &str = "provider_error";
/// The project's knowledge could not be read (its store, or the AI Search instance it names).
pub const KNOWLEDGE_ERROR: &str = "knowledge_error";
/// The server's configuration cannot answer (a provider needs a binding or key it lacks).
pub const CONFIGURATION_ERROR: &str = "configuration_error";
/// An answer was cut off by a restart of the session; the visitor may retry.
pub const INTERRUPTED: &str = "interrupted";
/// A frame of the conversation could not be stored; nothing after it was sent.
pub const STORAGE_ERROR: &str = "storage_error";
/// The session cannot be reached right now.
pub const UNAVAILABLE: &str = "unavailable";
/// A frame that is not one of the protocol's, or not allowed at this point.
pub const BAD_FRAME: &str = "bad_frame";
/// A frame larger than [`crate::MAX_CLIENT_FRAME_BYTES`].
pub const TOO_LARGE: &str = "too_large";
/// A socket's first frame must be `hello` with the token.
pub const HELLO_FIRST: &str = "hello_first";
/// A socket did not say `hello` within the deadline (a few seconds) and is closed.
pub const HELLO_TIMEOUT: &str = "hello_timeout";
/// A visitor has opened as many sessions as one may.
pub const TOO_MANY_SESSIONS: &str = "too_many_sessions";
/// Too many sockets are open from one address, or in all.
pub const TOO_MANY_SOCKETS: &str = "too_many_sockets";
/// A request that is not understood.
pub const BAD_REQUEST: &str = "bad_request";
/// The session (or another named thing) does not exist, or is not the caller's.
pub const NOT_FOUND: &str = "not_found";
/// Too many requests: wait `retry_after` seconds.
pub const RATE_LIMITED: &str = "rate_limited";
/// The project answered all the questions its daily budget allows; `retry_after` is the
/// seconds until the budget renews (midnight UTC).
pub const DAILY_BUDGET_SPENT: &str = "daily_budget_spent";
/// The project hands out no anonymous visitor tokens: its site signs its visitors' tokens.
pub const NOT_PUBLIC: &str = "not_public";
/// The project wants a solved challenge (Turnstile) before it hands out a visitor token.
pub const CHALLENGE_REQUIRED: &str = "challenge_required";
/// The challenge's answer did not verify.
pub const CHALLENGE_FAILED: &str = "challenge_failed";
/// A visitor asked for a person where nobody can take over (the project turned it off, or it
/// has no operator and no channel); the assistant goes on answering.
pub const HANDOFF_UNAVAILABLE: &str = "handoff_unavailable";
/// No identity token was given.
pub const MISSING_TOKEN: &str = "missing_token";
/// The identity token expires more than 24 hours after it is used: mint shorter-lived ones.
pub const TOKEN_TOO_LONG_LIVED: &str = "token_too_long_lived";
/// The identity token has expired: mint a new one.
pub const TOKEN_EXPIRED: &str = "token_expired";
/// The identity token is not valid yet (its `nbf` is ahead of the server's clock).
pub const TOKEN_NOT_YET_VALID: &str = "token_not_yet_valid";
/// The identity token's signature, audience or shape is wrong.
pub const INVALID_TOKEN: &str = "invalid_token";
/// The identity token is for another project.
pub const WRONG_PROJECT: &str = "wrong_project";
/// An empty question.
pub const EMPTY_QUESTION: &str = "empty_question";
/// A question longer than [`crate::MAX_QUESTION_CHARS`].
pub const TOO_LONG: &str = "too_long";
/// `retry` with no failed answer to retry.
pub const NOTHING_TO_RETRY: &str = "nothing_to_retry";

// The HTTP API's and the channels' own codes.

/// Something failed on the server's side; the detail is in its log.
pub const INTERNAL: &str = "internal";

/// The admin API is off: the server has no `OUTPOST_ADMIN_TOKEN`.
pub const ADMIN_DISABLED: &str = "admin_disabled";

/// The admin token is missing or wrong.
pub const INVALID_ADMIN_TOKEN: &str = "invalid_admin_token";

/// Sign in (the console), or use the admin token.
pub const UNAUTHORIZED: &str = "unauthorized";

/// Signed in, but not allowed this (another project's inbox).
pub const FORBIDDEN: &str = "forbidden";

/// A cookie-authenticated `POST` must be JSON.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";

/// The console is off: the server has no `OUTPOST_ADMIN_TOKEN`.
pub const CONSOLE_DISABLED: &str = "console_disabled";

/// The operator's name or password is wrong.
pub const BAD_CREDENTIALS: &str = "bad_credentials";

/// A browser request from an origin the project does not list.
pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";

/// The socket endpoint speaks WebSocket only.
pub const UPGRADE_REQUIRED: &str = "upgrade_required";

/// A webhook body that is not the platform's documented shape.
pub const BAD_PAYLOAD: &str = "bad_payload";

/// A webhook whose signature (or its timestamp) does not verify.
pub const BAD_SIGNATURE: &str = "bad_signature";

/// A Telegram webhook without the configured secret token.
pub const BAD_SECRET_TOKEN: &str = "bad_secret_token";

/// The project has no settings for this channel.
pub const CHANNEL_NOT_CONFIGURED: &str = "channel_not_configured";

/// The draft was already approved, sent or replaced.
pub const DRAFT_NOT_WAITING: &str = "draft_not_waiting";

/// A GitHub sync could not finish; the message says why.
pub const SYNC_FAILED: &str = "sync_failed";

/// Meta's verification handshake with a wrong token or mode.
pub const VERIFICATION_FAILED: &str = "verification_failed";

/// The loader's `error` event: the browser refused the widget's frame or the widget never
/// started (most often: the host page's origin is not among the project's allowed origins).
pub const FRAME_REFUSED: &str = "frame_refused";
