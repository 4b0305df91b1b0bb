-- Bedside's store. Raw message content is never stored: flags keep redacted excerpts only. The one
-- exception, the author's own text returned by DM when their message is removed, lives in an
-- outbox payload until that DM is delivered, and is erased then.

CREATE TABLE handled (
    message_id  INTEGER PRIMARY KEY,      -- a message Bedside has decided about (idempotency)
    channel_id  INTEGER NOT NULL,
    handled_at  INTEGER NOT NULL
);
CREATE INDEX handled_at ON handled(handled_at);

CREATE TABLE flags (
    id                INTEGER PRIMARY KEY,
    message_id        INTEGER NOT NULL UNIQUE,
    guild_id          INTEGER,
    channel_id        INTEGER NOT NULL,
    author_id         INTEGER NOT NULL,
    labels            TEXT NOT NULL,      -- comma-separated label names
    rules             TEXT NOT NULL,      -- comma-separated rule ids
    severity          TEXT NOT NULL,
    excerpt           TEXT NOT NULL,      -- redacted
    status            TEXT NOT NULL CHECK (status IN ('open', 'resolved_by_edit', 'dismissed', 'confirmed', 'removed')),
    alert_channel_id  INTEGER,
    alert_message_id  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    resolved_at       INTEGER
);
CREATE INDEX flags_created ON flags(created_at);

CREATE TABLE dismissals (
    flag_id  INTEGER NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
    rule     TEXT NOT NULL,
    by       TEXT NOT NULL CHECK (by IN ('author', 'staff')),
    at       INTEGER NOT NULL
);

CREATE TABLE acknowledgements (
    message_id  INTEGER PRIMARY KEY,
    guild_id    INTEGER,
    channel_id  INTEGER NOT NULL,
    author_id   INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('praise', 'complaint', 'suggestion')),
    replied     INTEGER NOT NULL,         -- 1: a public reply was sent; 0: shared with staff only
    created_at  INTEGER NOT NULL
);
CREATE INDEX acknowledgements_cooldown ON acknowledgements(author_id, channel_id, created_at);

CREATE TABLE channel_activity (
    channel_id          INTEGER PRIMARY KEY,
    guild_id            INTEGER,
    last_post_at        INTEGER,
    last_staff_post_at  INTEGER,
    last_message_id     INTEGER,          -- catch-up after downtime reads after this one
    last_reminder_at    INTEGER
);

CREATE TABLE tips_used (
    tip_id      TEXT NOT NULL,
    channel_id  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,       -- dm, alert, reply, share, remove, resolve, reminder
    message_id       INTEGER,             -- the message that caused it
    payload          TEXT NOT NULL,       -- JSON; emptied once sent
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    done_at          INTEGER,
    UNIQUE (kind, message_id)
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
