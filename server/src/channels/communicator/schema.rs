//! The communicator's tables (applied with the other channel tables by
//! [`crate::channels::store::ChannelStore::open`]).

/// The communicator's schema (applied with the channel tables).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS comm_messages (
    id           INTEGER PRIMARY KEY,
    project      TEXT NOT NULL,
    dedupe       TEXT NOT NULL UNIQUE,
    platform     TEXT NOT NULL,
    account      TEXT NOT NULL,
    chat         TEXT NOT NULL,
    thread       TEXT,
    sender_id    TEXT NOT NULL,
    sender_name  TEXT,
    body         TEXT NOT NULL,
    attachments  TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    platform_id  TEXT NOT NULL,
    direction    TEXT NOT NULL,
    conversation INTEGER,
    received_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS comm_messages_by_conversation ON comm_messages (conversation, sent_at, id);
CREATE INDEX IF NOT EXISTS comm_messages_by_platform_id ON comm_messages (project, platform, account, platform_id);
CREATE TABLE IF NOT EXISTS comm_conversations (
    id           INTEGER PRIMARY KEY,
    project      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    account      TEXT NOT NULL,
    chat         TEXT NOT NULL,
    thread       TEXT,
    contact      TEXT NOT NULL,
    first_at     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    messages     INTEGER NOT NULL,
    last_message INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'open',
    category     TEXT,
    priority     INTEGER,
    summary      TEXT,
    needs_reply  INTEGER,
    language     TEXT,
    analyzer     TEXT,
    analysis_note TEXT,
    analyzed_upto INTEGER
);
CREATE INDEX IF NOT EXISTS comm_conversations_by_chat ON comm_conversations (project, platform, account, chat, thread, last_at);
CREATE INDEX IF NOT EXISTS comm_conversations_inbox ON comm_conversations (project, priority, last_at);
CREATE TABLE IF NOT EXISTS comm_drafts (
    id           INTEGER PRIMARY KEY,
    project      TEXT NOT NULL,
    conversation INTEGER NOT NULL,
    body         TEXT NOT NULL,
    note         TEXT,
    model        TEXT NOT NULL,
    citations    TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    approved_at  INTEGER,
    edited       INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE INDEX IF NOT EXISTS comm_drafts_by_conversation ON comm_drafts (conversation, id);
CREATE TABLE IF NOT EXISTS comm_sends (
    draft       INTEGER NOT NULL,
    part        INTEGER NOT NULL,
    project     TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    platform_id TEXT,
    PRIMARY KEY (draft, part)
);
CREATE TABLE IF NOT EXISTS comm_cursors (
    project TEXT NOT NULL,
    source  TEXT NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (project, source)
);
";
