-- One project's knowledge. Natively each project has its own SQLite file; on Workers each
-- project has its own Durable Object. A query can therefore only ever see one project's rows:
-- isolation by construction, not by a WHERE clause someone could forget.
CREATE TABLE IF NOT EXISTS documents (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    url          TEXT,
    revision     TEXT,
    indexed_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL,
    ord         INTEGER NOT NULL,
    heading     TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, ord);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, body, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, heading, body) VALUES (new.id, new.heading, new.body);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, heading, body)
        VALUES ('delete', old.id, old.heading, old.body);
END;
CREATE TABLE IF NOT EXISTS embeddings (
    chunk_id INTEGER PRIMARY KEY,
    model    TEXT NOT NULL,
    vector   BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    day             TEXT PRIMARY KEY,
    questions       INTEGER NOT NULL DEFAULT 0,
    answer_pieces   INTEGER NOT NULL DEFAULT 0,
    provider_errors INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS over_budget (
    day       TEXT PRIMARY KEY,
    questions INTEGER NOT NULL DEFAULT 0
);
