-- Turns decide outside the write lock (bot/storage/writes.py): a ticket is saved only if its
-- version is still the one it was loaded at, and every save bumps it.
ALTER TABLE tickets ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- Ticket numbers are handed out before the turn that uses them commits (they appear in its
-- replies), so they come from a counter of their own; it starts where AUTOINCREMENT stood.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('ticket', max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0),
    coalesce((SELECT max(id) FROM tickets), 0)
));

-- The outbox's "to the ticket's topic" and "this is the card" become typed columns; they rode
-- in `thread` ("@ticket:<id>") and in the payload ("card") before. Lanes are unchanged.
ALTER TABLE outbox ADD COLUMN to_ticket INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN card INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET to_ticket = 1, thread = '' WHERE thread LIKE '@ticket:%' OR thread = '@ticket';
UPDATE outbox SET card = 1 WHERE json_extract(payload, '$.card') = 1;
