-- Kefu's first schema. Times are UTC epoch seconds (REAL); booleans are 0/1.
-- Applied once, in one transaction, by bot.storage.sqlite; tracked with PRAGMA user_version.

CREATE TABLE users (
    key          TEXT PRIMARY KEY,
    platform     TEXT NOT NULL,
    platform_id  TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL DEFAULT '',
    blocked_bot  INTEGER NOT NULL DEFAULT 0,
    banned       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL DEFAULT 0
);

CREATE TABLE conversations (
    user_key   TEXT PRIMARY KEY,
    step       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',  -- JSON object
    lang       TEXT NOT NULL DEFAULT '',
    version    INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL DEFAULT 0
);

CREATE TABLE seen_events (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at  REAL NOT NULL,
    PRIMARY KEY (platform, event_id)
) WITHOUT ROWID;

-- AUTOINCREMENT: a ticket number (#id) is never handed out twice.
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_key          TEXT NOT NULL,
    platform          TEXT NOT NULL,
    chat_id           TEXT NOT NULL,
    user_name         TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT '',
    form_id           TEXT NOT NULL DEFAULT '',
    answers           TEXT NOT NULL DEFAULT '[]',  -- JSON [[label, answer], ...]
    images            TEXT NOT NULL DEFAULT '[]',  -- JSON [sha256, ...]
    status            TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'closed')),
    priority          INTEGER NOT NULL DEFAULT 0,
    lang              TEXT NOT NULL DEFAULT '',
    summary           TEXT NOT NULL DEFAULT '',
    created_at        REAL NOT NULL,
    claimed_by        TEXT NOT NULL DEFAULT '',
    claimed_at        REAL,
    first_response_at REAL,
    closed_at         REAL,
    closed_by         TEXT NOT NULL DEFAULT '',
    close_reason      TEXT NOT NULL DEFAULT '',
    rating            INTEGER,
    user_unreachable  INTEGER NOT NULL DEFAULT 0,
    last_paged_at     REAL
);
CREATE INDEX tickets_user ON tickets (user_key, id);
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_first_response ON tickets (first_response_at)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX tickets_claimed ON tickets (claimed_at) WHERE claimed_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE ticket_messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    author      TEXT NOT NULL CHECK (author IN ('user', 'moderator', 'note', 'system')),
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);
CREATE INDEX ticket_messages_created ON ticket_messages (created_at);

CREATE TABLE message_attachments (
    message_id INTEGER NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;
CREATE INDEX message_attachments_sha256 ON message_attachments (sha256);

CREATE TABLE files (
    sha256     TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    path       TEXT NOT NULL,  -- relative to the data directory
    created_at REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE ticket_threads (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    platform  TEXT NOT NULL,
    chat_id   TEXT NOT NULL,
    thread    TEXT NOT NULL,
    PRIMARY KEY (ticket_id, platform)
) WITHOUT ROWID;
CREATE INDEX ticket_threads_topic ON ticket_threads (platform, chat_id, thread);

-- `lane` is the destination within (platform, chat_id): the thread, except that "@ticket"
-- is one lane per ticket (each ticket has its own topic). Deliveries in a lane go in id order.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    thread        TEXT NOT NULL DEFAULT '',
    lane          TEXT NOT NULL,
    chat_kind     TEXT NOT NULL DEFAULT 'private',
    ticket_id     INTEGER,
    payload       TEXT NOT NULL,  -- JSON object: a serialised Reply
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       REAL NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL DEFAULT 0,
    sent_at       REAL,
    maybe_doubled INTEGER NOT NULL DEFAULT 0
);
-- (status, id): due() walks pending items oldest first and stops at `limit` lane heads;
-- measured ~100x faster than (status, platform, next_at) with 10,000 pending in 500 lanes.
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_lane ON outbox (platform, chat_id, lane, id) WHERE status = 'pending';

CREATE TABLE snippets (
    name TEXT PRIMARY KEY,
    text TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE article_feedback (
    id         INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    query      TEXT NOT NULL,
    solved     INTEGER NOT NULL,
    created_at REAL NOT NULL
);

-- `norm` is the query folded for grouping: lower case, whitespace runs collapsed, trimmed.
CREATE TABLE search_misses (
    id         INTEGER PRIMARY KEY,
    query      TEXT NOT NULL,
    norm       TEXT NOT NULL,
    created_at REAL NOT NULL
);
