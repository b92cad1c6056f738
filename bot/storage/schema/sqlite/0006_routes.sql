-- Routes: each ticket keeps the moderator chats it was given when it was opened (a JSON list
-- of [platform, chat id]); [] for tickets opened before routes, which take the default route.
ALTER TABLE tickets ADD COLUMN surfaces TEXT NOT NULL DEFAULT '[]';

-- How busy a moderator chat has been lately (what it sent in the last minute, and what waits):
-- a new ticket goes to the least busy group of its route.
CREATE INDEX outbox_sent_by_chat ON outbox (platform, chat_id, sent_at) WHERE status = 'sent';
