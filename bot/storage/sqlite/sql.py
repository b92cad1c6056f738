"""The SQL SqliteStore runs. Values always go in as parameters; an IN list goes in as one JSON
array parameter, read with json_each, so no statement text is ever assembled."""

MARK_SEEN = """
INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?)
ON CONFLICT (platform, event_id) DO NOTHING
"""

GET_USER = "SELECT * FROM users WHERE key = ?"

LOAD_CONVERSATION = "SELECT * FROM conversations WHERE user_key = ?"

# The user's own fields; `banned` (moderators) and `blocked_bot` (deliveries) have their own.
UPSERT_USER = """
INSERT INTO users (key, platform, platform_id, display_name, lang, blocked_bot, banned, created_at)
VALUES (:key, :platform, :platform_id, :display_name, :lang, :blocked_bot, :banned, :created_at)
ON CONFLICT (key) DO UPDATE SET
    platform = excluded.platform, platform_id = excluded.platform_id,
    display_name = excluded.display_name, lang = excluded.lang
"""

SET_BANNED = "UPDATE users SET banned = ? WHERE key = ?"

SET_BLOCKED_BOT = "UPDATE users SET blocked_bot = ? WHERE key = ?"

# They wrote to us: deliveries to them work again, and their open ticket says so.
REACHABLE = (
    "UPDATE users SET blocked_bot = 0 WHERE key = :key AND blocked_bot = 1",
    """
    UPDATE tickets SET user_unreachable = 0, version = version + 1
    WHERE user_key = :key AND status IN ('open', 'claimed') AND user_unreachable = 1
    """,
)

# A conversation saved by a turn: created (version 1) or moved on from the version it was
# loaded at; no row changed means another turn saved it first (a Conflict).
INSERT_CONVERSATION = """
INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
VALUES (:user_key, :step, :data, :lang, :version, :updated_at)
ON CONFLICT (user_key) DO NOTHING
"""

UPDATE_CONVERSATION = """
UPDATE conversations SET step = :step, data = :data, lang = :lang, version = :version,
    updated_at = :updated_at
WHERE user_key = :user_key AND version = :version - 1
"""

UPSERT_CONVERSATION = """
INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
VALUES (:user_key, :step, :data, :lang, :version, :updated_at)
ON CONFLICT (user_key) DO UPDATE SET
    step = excluded.step, data = excluded.data, lang = excluded.lang,
    version = excluded.version, updated_at = excluded.updated_at
"""

NEXT_TICKET_ID = "UPDATE counters SET value = value + 1 WHERE name = 'ticket' RETURNING value"

INSERT_TICKET = """
INSERT INTO tickets (
    id, version, user_key, platform, chat_id, user_name, category, form_id, answers, images,
    status, priority, lang, summary, created_at, claimed_by, claimed_at, first_response_at,
    closed_at, closed_by, close_reason, rating, user_unreachable, last_paged_at, surfaces
) VALUES (
    :id, :version, :user_key, :platform, :chat_id, :user_name, :category, :form_id, :answers,
    :images, :status, :priority, :lang, :summary, :created_at, :claimed_by, :claimed_at,
    :first_response_at, :closed_at, :closed_by, :close_reason, :rating, :user_unreachable,
    :last_paged_at, :surfaces
)
"""

UPDATE_TICKET = """
UPDATE tickets SET
    user_key = :user_key, platform = :platform, chat_id = :chat_id, user_name = :user_name,
    category = :category, form_id = :form_id, answers = :answers, images = :images,
    status = :status, priority = :priority, lang = :lang, summary = :summary,
    created_at = :created_at, claimed_by = :claimed_by, claimed_at = :claimed_at,
    first_response_at = :first_response_at, closed_at = :closed_at, closed_by = :closed_by,
    close_reason = :close_reason, rating = :rating, user_unreachable = :user_unreachable,
    last_paged_at = :last_paged_at, surfaces = :surfaces, version = version + 1
WHERE id = :id AND version = :version
"""

TICKET_EXISTS = "SELECT 1 FROM tickets WHERE id = ?"

SET_UNREACHABLE = """
UPDATE tickets SET user_unreachable = ?, version = version + 1
WHERE id = ? AND user_unreachable <> ?
"""

TOUCH_PAGED = "UPDATE tickets SET last_paged_at = ?, version = version + 1 WHERE id = ?"

OPEN_TICKET_FOR = """
SELECT * FROM tickets WHERE user_key = ? AND status IN ('open', 'claimed')
ORDER BY id DESC LIMIT 1
"""

# A turn's load in one statement: the user, their conversation, their open or claimed ticket
# (NULL columns where there is none) and whether the event was seen; one statement instead of
# four is ~10 µs less per turn (the rows are split by bot.storage.sqlite.rows.split_turn).
LOAD_TURN = """
SELECT u.*, c.*, t.*,
    EXISTS (SELECT 1 FROM seen_events WHERE platform = :platform AND event_id = :event) AS seen
FROM (SELECT 1) AS one
LEFT JOIN users AS u ON u.key = :key
LEFT JOIN conversations AS c ON c.user_key = :conversation
LEFT JOIN tickets AS t ON t.id = (
    SELECT id FROM tickets WHERE user_key = :key AND status IN ('open', 'claimed')
    ORDER BY id DESC LIMIT 1
)
"""

LATEST_TICKET_FOR = "SELECT * FROM tickets WHERE user_key = ? ORDER BY id DESC LIMIT 1"

LIST_TICKETS = "SELECT * FROM tickets ORDER BY id DESC LIMIT ?"

LIST_TICKETS_IN = """
SELECT * FROM tickets WHERE status IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT ?
"""

QUEUE = """
SELECT * FROM tickets WHERE status IN ('open', 'claimed')
ORDER BY priority DESC, created_at, id
"""

QUEUE_AHEAD = """
SELECT COUNT(*) FROM tickets WHERE status = 'open' AND id != ? AND (
    priority > ? OR (priority = ? AND (created_at < ? OR (created_at = ? AND id < ?))))
"""

INSERT_MESSAGE = """
INSERT INTO ticket_messages (ticket_id, author, author_id, author_name, text, created_at)
VALUES (:ticket_id, :author, :author_id, :author_name, :text, :created_at)
"""

# Runs right after INSERT_MESSAGE: last_insert_rowid() is that message's id, and inserts into
# a WITHOUT ROWID table (this one) leave it unchanged. `key` is the position in the JSON array.
INSERT_ATTACHMENTS = """
INSERT INTO message_attachments (message_id, position, sha256)
SELECT last_insert_rowid(), key, value FROM json_each(?)
"""

MESSAGES = "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id"

ATTACHMENTS_OF_TICKET = """
SELECT a.message_id, a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
WHERE m.ticket_id = ? ORDER BY a.message_id, a.position
"""

MESSAGES_AFTER = "SELECT * FROM ticket_messages WHERE id > ? ORDER BY id LIMIT ?"

ATTACHMENTS_AFTER = """
SELECT message_id, sha256 FROM message_attachments
WHERE message_id IN (SELECT id FROM ticket_messages WHERE id > ? ORDER BY id LIMIT ?)
ORDER BY message_id, position
"""

FIRST_RESPONSES = """
SELECT first_response_at - created_at FROM tickets WHERE first_response_at IS NOT NULL
ORDER BY first_response_at DESC, id DESC LIMIT ?
"""

# Moderators only: closed_by is "user:<key>" when the user closed the ticket.
ACTIVE_MODERATORS = """
SELECT COUNT(*) FROM (
    SELECT author_id AS who FROM ticket_messages
    WHERE created_at >= ? AND author IN ('moderator', 'note') AND author_id <> ''
    UNION
    SELECT claimed_by FROM tickets WHERE claimed_at >= ? AND claimed_by <> ''
    UNION
    SELECT closed_by FROM tickets
    WHERE closed_at >= ? AND closed_by <> '' AND substr(closed_by, 1, 5) <> 'user:'
)
"""

SET_THREAD = """
INSERT INTO ticket_threads (ticket_id, platform, chat_id, thread) VALUES (?, ?, ?, ?)
ON CONFLICT (ticket_id, platform) DO UPDATE SET
    chat_id = excluded.chat_id, thread = excluded.thread
"""

THREAD_OF = "SELECT chat_id, thread FROM ticket_threads WHERE ticket_id = ? AND platform = ?"

TICKET_BY_THREAD = """
SELECT ticket_id FROM ticket_threads WHERE platform = ? AND chat_id = ? AND thread = ?
ORDER BY ticket_id DESC LIMIT 1
"""

INSERT_FILE = """
INSERT INTO files (sha256, mime, size, width, height, path, created_at)
VALUES (:sha256, :mime, :size, :width, :height, :path, :created_at)
ON CONFLICT (sha256) DO NOTHING
"""

INSERT_OUTBOX = """
INSERT INTO outbox (
    key, platform, chat_id, thread, lane, chat_kind, ticket_id, to_ticket, card, pack, payload,
    status, attempts, next_at, last_error, created_at, sent_at, maybe_doubled, inflight_at
) VALUES (
    :key, :platform, :chat_id, :thread, :lane, :chat_kind, :ticket_id, :to_ticket, :card,
    :pack, :payload, :status, :attempts, :next_at, :last_error, :created_at, :sent_at,
    :maybe_doubled, :inflight_at
)
ON CONFLICT (key) DO NOTHING
"""  # no RETURNING: rowcount and lastrowid say the same, and RETURNING costs ~13 µs

OUTBOX_ID = "SELECT id FROM outbox WHERE key = ?"

# A lane's head blocks the rest of the lane even while it waits for its retry time, or while
# it is under way (skipped: the caller sends it already).
DUE = """
SELECT * FROM outbox AS o
WHERE o.status = 'pending' AND o.platform IN (SELECT value FROM json_each(?))
  AND o.next_at <= ? AND o.id NOT IN (SELECT value FROM json_each(?))
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS p
    WHERE p.status = 'pending' AND p.platform = o.platform AND p.chat_id = o.chat_id
      AND p.lane = o.lane AND p.id < o.id
  )
ORDER BY o.id LIMIT ?
"""

# What waits behind a lane's head, in lane order (the outbox_lane index).
QUEUED_BEHIND = """
SELECT * FROM outbox
WHERE status = 'pending' AND platform = ? AND chat_id = ? AND lane = ? AND id > ?
ORDER BY id LIMIT ?
"""

# A run behind a head, in id order up to the first item that is no longer pending.
CLAIM_RUN = """
WITH run AS (
    SELECT j.value AS id,
        MIN(coalesce(o.status = 'pending', 0)) OVER (ORDER BY j.value) AS ok
    FROM json_each(:ids) AS j LEFT JOIN outbox AS o ON o.id = j.value
)
UPDATE outbox SET inflight_at = :now
WHERE id IN (SELECT id FROM run WHERE ok)
RETURNING id
"""

# One statement for a whole batch (ids as a JSON array): each id is a primary-key lookup.
MARK_INFLIGHT = """
UPDATE outbox SET inflight_at = ?
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'
RETURNING id
"""

# An outcome recorded: the send is no longer in flight.
MARK_SENT = """
UPDATE outbox SET status = 'sent', sent_at = ?, maybe_doubled = ?, inflight_at = NULL
WHERE id = ?
"""

# Sends recorded together: [[id, sent_at, maybe_doubled], …] as JSON.
MARK_SENT_MANY = """
UPDATE outbox SET status = 'sent', sent_at = s.at, maybe_doubled = s.doubled, inflight_at = NULL
FROM (SELECT value ->> 0 AS id, value ->> 1 AS at, value ->> 2 AS doubled
      FROM json_each(?)) AS s
WHERE outbox.id = s.id
"""

MARK_RETRY = """
UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,
    maybe_doubled = maybe_doubled OR ?, inflight_at = NULL
WHERE id = ?
"""

MARK_DEAD = "UPDATE outbox SET status = 'dead', last_error = ?, inflight_at = NULL WHERE id = ?"

RETRY_DEAD = "UPDATE outbox SET status = 'pending', next_at = ? WHERE id = ? AND status = 'dead'"

OUTBOX_ITEMS = "SELECT * FROM outbox ORDER BY id LIMIT ?"

OUTBOX_ITEMS_IN = """
SELECT * FROM outbox WHERE status IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?
"""

SET_SNIPPET = """
INSERT INTO snippets (name, text) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET text = excluded.text
"""

INSERT_FEEDBACK = """
INSERT INTO article_feedback (article_id, query, solved, created_at) VALUES (?, ?, ?, ?)
"""

INSERT_MISS = """
INSERT INTO search_misses (query, norm, created_at, kb, kind, article_id)
VALUES (:query, :norm, :created_at, :kb, :kind, :article_id)
"""

ARTICLE_STATS = """
SELECT article_id, SUM(solved), COUNT(*) - SUM(solved) FROM article_feedback
GROUP BY article_id
ORDER BY CAST(SUM(solved) AS REAL) / COUNT(*), COUNT(*) DESC, article_id
LIMIT ?
"""

TOP_MISSES = """
SELECT norm, COUNT(*) AS n FROM search_misses WHERE kind = 'nothing'
GROUP BY norm ORDER BY n DESC, norm LIMIT ?
"""

RECENT_MISSES = """
SELECT id, query, kind, article_id, kb, created_at FROM search_misses AS m
WHERE kb = ? AND NOT EXISTS (
    SELECT 1 FROM search_examples AS e WHERE e.kb = m.kb AND e.query = m.query
)
ORDER BY id DESC LIMIT ?
"""

GET_MISS = "SELECT id, query, kind, article_id, kb, created_at FROM search_misses WHERE id = ?"

INSERT_EXAMPLE = """
INSERT INTO search_examples (kb, query, article_id, added_by, created_at)
VALUES (:kb, :query, :article_id, :added_by, :created_at)
ON CONFLICT (kb, query, article_id) DO NOTHING
"""

EXAMPLES_AFTER = "SELECT * FROM search_examples WHERE kb = ? AND id > ? ORDER BY id"

FORGET_ATTACHMENTS = """
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = ? AND m.author = 'user'
"""

_USER_MESSAGES = """
SELECT m.id FROM ticket_messages AS m JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = :key AND m.author = 'user'
"""

# In order: outbox copies of the user's words (delivered or dead) lose their payload, the
# user's messages lose text, name and attachments, their tickets lose what they wrote; the
# rows, statuses and times stay so queue statistics stay right.
FORGET_STEPS = (
    """
    UPDATE outbox SET payload = '{}'
    WHERE status IN ('sent', 'dead') AND (
        ticket_id IN (SELECT id FROM tickets WHERE user_key = :key)
        OR (chat_kind = 'private' AND (platform, chat_id) IN (
            SELECT platform, chat_id FROM tickets WHERE user_key = :key
            UNION SELECT platform, platform_id FROM users WHERE key = :key
        ))
    )
    """,
    f"DELETE FROM message_attachments WHERE message_id IN ({_USER_MESSAGES})",
    f"UPDATE ticket_messages SET text = '', author_name = '' WHERE id IN ({_USER_MESSAGES})",
    """
    UPDATE tickets SET user_name = '', answers = '[]', images = '[]', summary = ''
    WHERE user_key = :key
    """,
    "DELETE FROM conversations WHERE user_key = :key",
    "DELETE FROM uploads WHERE user_key = :key",
    "DELETE FROM users WHERE key = :key",
)

# Files among the candidates (a JSON array) that no ticket or message refers to any more.
ORPHAN_FILES = """
SELECT sha256, path FROM files
WHERE sha256 IN (SELECT value FROM json_each(?))
  AND NOT EXISTS (SELECT 1 FROM message_attachments AS a WHERE a.sha256 = files.sha256)
  AND NOT EXISTS (
    SELECT 1 FROM tickets AS t, json_each(t.images) AS j WHERE j.value = files.sha256
  )
  AND NOT EXISTS (SELECT 1 FROM uploads AS u WHERE u.sha256 = files.sha256)
ORDER BY path
"""

DELETE_FILES = "DELETE FROM files WHERE sha256 IN (SELECT value FROM json_each(?))"

INSERT_UPLOAD = "INSERT INTO uploads (user_key, sha256) VALUES (?, ?) ON CONFLICT DO NOTHING"


_EXPIRED = "SELECT id FROM tickets WHERE status = 'closed' AND closed_at < ?"
EXPIRED_IMAGES = f"SELECT images FROM tickets WHERE id IN ({_EXPIRED})"
EXPIRED_ATTACHMENTS = f"""
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id WHERE m.ticket_id IN ({_EXPIRED})
"""
# Retention: closed tickets keep their words and times, not their files.
EXPIRE_STEPS = (
    f"""DELETE FROM message_attachments WHERE message_id IN (
        SELECT id FROM ticket_messages WHERE ticket_id IN ({_EXPIRED}))""",
    f"UPDATE tickets SET images = '[]' WHERE id IN ({_EXPIRED})",
)
DELETE_UPLOADS_OF = "DELETE FROM uploads WHERE sha256 IN (SELECT value FROM json_each(?))"

IS_SEEN = "SELECT 1 FROM seen_events WHERE platform = ? AND event_id = ?"

TICKET_IMAGES_OF_USER = "SELECT images FROM tickets WHERE user_key = ?"

UPLOADS_OF_USER = "SELECT sha256 FROM uploads WHERE user_key = ?"

CLEAR_THREAD = "DELETE FROM ticket_threads WHERE ticket_id = ? AND platform = ?"

# What each of some chats sent in the last minute, and what waits for them.
RECENT_SENDS = """
SELECT platform, chat_id, COUNT(*) FROM outbox
WHERE platform = ? AND chat_id IN (SELECT value FROM json_each(?))
  AND (status = 'pending' OR (status = 'sent' AND sent_at >= ?))
GROUP BY platform, chat_id
"""

BACKLOG = """
SELECT platform, chat_id, COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'
GROUP BY platform, chat_id ORDER BY MIN(created_at), platform, chat_id
"""

WAITING = """
SELECT chat_id, COUNT(*) FROM outbox
WHERE status = 'pending' AND platform = ? AND chat_id IN (SELECT value FROM json_each(?))
GROUP BY chat_id
"""

# The delivery log's retention (bot.scheduler): sent deliveries and seen event ids that are
# old enough that no redelivery can come for them.
PRUNE_SENT = "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?"
PRUNE_SEEN = "DELETE FROM seen_events WHERE seen_at < ?"
