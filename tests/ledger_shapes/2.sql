-- Shape 2 of the ledger: its SQL in publisher/ledger.py from 554d315 (intent_clock added)
-- until the ledger's version was kept; PRAGMA user_version was left 0.
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    due_at TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    intent_at TEXT,
    intent_clock TEXT,
    step TEXT,
    remote_id TEXT,
    container_id TEXT,
    permalink TEXT,
    last_error TEXT,
    content_hash TEXT,
    payload TEXT,
    forced INTEGER NOT NULL DEFAULT 0,
    published_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (slug, channel)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_delivery ON events (delivery_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the attempt log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the attempt log is append-only'); END;
