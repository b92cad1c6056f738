"""The SQL PostgresStore runs: the SQLite store's statements (bot/storage/sqlite/sql.py) in
PostgreSQL's words. Values always go in as parameters; lists as arrays (`= ANY(%s)`).

A turn's checks run in the server: `kefu_expect` raises (SQLSTATE KFCON: a conflict, KFSEE:
the event was handled) when a guarded statement did not change exactly one row, so a turn's
statements and its COMMIT go in one pipelined round trip and a failed check undoes all of it.
"""

from __future__ import annotations

CONFLICT_STATE = "KFCON"
SEEN_STATE = "KFSEE"


def expect_one(statement: str) -> str:
    """`statement` (named parameters) made to raise in the server unless it changed one row;
    it takes two more parameters: `state` (the SQLSTATE) and `message`."""
    return (
        f"WITH changed AS ({statement.strip()} RETURNING 1) "
        "SELECT kefu_expect((SELECT count(*) FROM changed), %(state)s, %(message)s)"
    )


MARK_SEEN = """
INSERT INTO seen_events (platform, event_id, seen_at) VALUES (%s, %s, %s)
ON CONFLICT (platform, event_id) DO NOTHING
"""

MARK_SEEN_NAMED = """
INSERT INTO seen_events (platform, event_id, seen_at) VALUES (%(platform)s, %(event)s, %(now)s)
ON CONFLICT (platform, event_id) DO NOTHING
"""

IS_SEEN = "SELECT 1 FROM seen_events WHERE platform = %s AND event_id = %s"

GET_USER = "SELECT * FROM users WHERE key = %s"

LOAD_CONVERSATION = "SELECT * FROM conversations WHERE user_key = %s"

UPSERT_USER = """
INSERT INTO users (key, platform, platform_id, display_name, lang, blocked_bot, banned, created_at)
VALUES (%(key)s, %(platform)s, %(platform_id)s, %(display_name)s, %(lang)s, %(blocked_bot)s,
    %(banned)s, %(created_at)s)
ON CONFLICT (key) DO UPDATE SET
    platform = excluded.platform, platform_id = excluded.platform_id,
    display_name = excluded.display_name, lang = excluded.lang
"""

SET_BANNED = "UPDATE users SET banned = %s WHERE key = %s"

SET_BLOCKED_BOT = "UPDATE users SET blocked_bot = %s WHERE key = %s"

REACHABLE = (
    "UPDATE users SET blocked_bot = false WHERE key = %(key)s AND blocked_bot",
    """
    UPDATE tickets SET user_unreachable = false, version = version + 1
    WHERE user_key = %(key)s AND status IN ('open', 'claimed') AND user_unreachable
    """,
)

INSERT_CONVERSATION = """
INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
VALUES (%(user_key)s, %(step)s, %(data)s, %(lang)s, %(version)s, %(updated_at)s)
ON CONFLICT (user_key) DO NOTHING
"""

UPDATE_CONVERSATION = """
UPDATE conversations SET step = %(step)s, data = %(data)s, lang = %(lang)s,
    version = %(version)s, updated_at = %(updated_at)s
WHERE user_key = %(user_key)s AND version = %(version)s - 1
"""

UPSERT_CONVERSATION = """
INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
VALUES (%(user_key)s, %(step)s, %(data)s, %(lang)s, %(version)s, %(updated_at)s)
ON CONFLICT (user_key) DO UPDATE SET
    step = excluded.step, data = excluded.data, lang = excluded.lang,
    version = excluded.version, updated_at = excluded.updated_at
"""

NEXT_TICKET_ID = "SELECT nextval('ticket_ids')"

_TICKET_COLUMNS = """
    id, version, user_key, platform, chat_id, user_name, category, form_id, answers, images,
    status, priority, lang, summary, created_at, claimed_by, claimed_at, first_response_at,
    closed_at, closed_by, close_reason, rating, user_unreachable, last_paged_at, surfaces
"""

INSERT_TICKET = f"""
INSERT INTO tickets ({_TICKET_COLUMNS}) VALUES (
    %(id)s, %(version)s, %(user_key)s, %(platform)s, %(chat_id)s, %(user_name)s, %(category)s,
    %(form_id)s, %(answers)s, %(images)s, %(status)s, %(priority)s, %(lang)s, %(summary)s,
    %(created_at)s, %(claimed_by)s, %(claimed_at)s, %(first_response_at)s, %(closed_at)s,
    %(closed_by)s, %(close_reason)s, %(rating)s, %(user_unreachable)s, %(last_paged_at)s,
    %(surfaces)s
)
"""

UPDATE_TICKET = """
UPDATE tickets SET
    user_key = %(user_key)s, platform = %(platform)s, chat_id = %(chat_id)s,
    user_name = %(user_name)s, category = %(category)s, form_id = %(form_id)s,
    answers = %(answers)s, images = %(images)s, status = %(status)s, priority = %(priority)s,
    lang = %(lang)s, summary = %(summary)s, created_at = %(created_at)s,
    claimed_by = %(claimed_by)s, claimed_at = %(claimed_at)s,
    first_response_at = %(first_response_at)s, closed_at = %(closed_at)s,
    closed_by = %(closed_by)s, close_reason = %(close_reason)s, rating = %(rating)s,
    user_unreachable = %(user_unreachable)s, last_paged_at = %(last_paged_at)s,
    surfaces = %(surfaces)s, version = version + 1
WHERE id = %(id)s AND version = %(version)s
"""

TICKET_EXISTS = "SELECT 1 FROM tickets WHERE id = %s"

GET_TICKET = "SELECT * FROM tickets WHERE id = %s"

SET_UNREACHABLE = """
UPDATE tickets SET user_unreachable = %s, version = version + 1
WHERE id = %s AND user_unreachable <> %s
"""

TOUCH_PAGED = "UPDATE tickets SET last_paged_at = %s, version = version + 1 WHERE id = %s"

OPEN_TICKET_FOR = """
SELECT * FROM tickets WHERE user_key = %s AND status IN ('open', 'claimed')
ORDER BY id DESC LIMIT 1
"""

LATEST_TICKET_FOR = "SELECT * FROM tickets WHERE user_key = %s ORDER BY id DESC LIMIT 1"

LIST_TICKETS = "SELECT * FROM tickets ORDER BY id DESC LIMIT %s"

LIST_TICKETS_IN = "SELECT * FROM tickets WHERE status = ANY(%s) ORDER BY id DESC LIMIT %s"

QUEUE = """
SELECT * FROM tickets WHERE status IN ('open', 'claimed') ORDER BY priority DESC, created_at, id
"""

QUEUE_AHEAD = """
SELECT count(*) FROM tickets WHERE status = 'open' AND id <> %(id)s AND (
    priority > %(p)s OR (priority = %(p)s AND (created_at < %(c)s OR
    (created_at = %(c)s AND id < %(id)s))))
"""

# One statement for a message and its attachments (their positions from 0): the message's id
# is needed by the attachments' rows, and a pipelined turn has no round trip to spare.
INSERT_MESSAGE = """
WITH m AS (
    INSERT INTO ticket_messages (ticket_id, author, author_id, author_name, text, created_at)
    VALUES (%(ticket_id)s, %(author)s, %(author_id)s, %(author_name)s, %(text)s, %(created_at)s)
    RETURNING id
), a AS (
    INSERT INTO message_attachments (message_id, position, sha256)
    SELECT m.id, f.n - 1, f.sha
    FROM m, unnest(%(attachments)s::text[]) WITH ORDINALITY AS f (sha, n)
)
SELECT id FROM m
"""

MESSAGES = "SELECT * FROM ticket_messages WHERE ticket_id = %s ORDER BY id"

ATTACHMENTS_OF_TICKET = """
SELECT a.message_id, a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
WHERE m.ticket_id = %s ORDER BY a.message_id, a.position
"""

MESSAGES_AFTER = "SELECT * FROM ticket_messages WHERE id > %s ORDER BY id LIMIT %s"

ATTACHMENTS_AFTER = """
SELECT message_id, sha256 FROM message_attachments
WHERE message_id IN (SELECT id FROM ticket_messages WHERE id > %s ORDER BY id LIMIT %s)
ORDER BY message_id, position
"""

FIRST_RESPONSES = """
SELECT first_response_at - created_at AS waited FROM tickets WHERE first_response_at IS NOT NULL
ORDER BY first_response_at DESC, id DESC LIMIT %s
"""

ACTIVE_MODERATORS = """
SELECT count(*) FROM (
    SELECT author_id AS who FROM ticket_messages
    WHERE created_at >= %(t)s AND author IN ('moderator', 'note') AND author_id <> ''
    UNION
    SELECT claimed_by FROM tickets WHERE claimed_at >= %(t)s AND claimed_by <> ''
    UNION
    SELECT closed_by FROM tickets
    WHERE closed_at >= %(t)s AND closed_by <> '' AND substr(closed_by, 1, 5) <> 'user:'
) AS who
"""

SET_THREAD = """
INSERT INTO ticket_threads (ticket_id, platform, chat_id, thread) VALUES (%s, %s, %s, %s)
ON CONFLICT (ticket_id, platform) DO UPDATE SET
    chat_id = excluded.chat_id, thread = excluded.thread
"""

THREAD_OF = "SELECT chat_id, thread FROM ticket_threads WHERE ticket_id = %s AND platform = %s"

TICKET_BY_THREAD = """
SELECT ticket_id FROM ticket_threads WHERE platform = %s AND chat_id = %s AND thread = %s
ORDER BY ticket_id DESC LIMIT 1
"""

CLEAR_THREAD = "DELETE FROM ticket_threads WHERE ticket_id = %s AND platform = %s"

INSERT_FILE = """
INSERT INTO files (sha256, mime, size, width, height, path, created_at)
VALUES (%(sha256)s, %(mime)s, %(size)s, %(width)s, %(height)s, %(path)s, %(created_at)s)
ON CONFLICT (sha256) DO NOTHING
"""

GET_FILE = "SELECT * FROM files WHERE sha256 = %s"

INSERT_UPLOAD = "INSERT INTO uploads (user_key, sha256) VALUES (%s, %s) ON CONFLICT DO NOTHING"

SET_SNIPPET = """
INSERT INTO snippets (name, text) VALUES (%s, %s)
ON CONFLICT (name) DO UPDATE SET text = excluded.text
"""

GET_SNIPPET = "SELECT text FROM snippets WHERE name = %s"

LIST_SNIPPETS = "SELECT name, text FROM snippets ORDER BY name"

INSERT_FEEDBACK = """
INSERT INTO article_feedback (article_id, query, solved, created_at) VALUES (%s, %s, %s, %s)
"""

INSERT_MISS = """
INSERT INTO search_misses (query, norm, created_at, kb, kind, article_id)
VALUES (%(query)s, %(norm)s, %(created_at)s, %(kb)s, %(kind)s, %(article_id)s)
"""

# Sorted as SQLite sorts: byte order (C collation), whatever the database's locale.
ARTICLE_STATS = """
SELECT article_id, count(*) FILTER (WHERE solved) AS solved,
    count(*) FILTER (WHERE NOT solved) AS unsolved
FROM article_feedback GROUP BY article_id
ORDER BY count(*) FILTER (WHERE solved)::float8 / count(*), count(*) DESC,
    article_id COLLATE "C"
LIMIT %s
"""

TOP_MISSES = """
SELECT norm, count(*) AS n FROM search_misses WHERE kind = 'nothing'
GROUP BY norm ORDER BY n DESC, norm COLLATE "C" LIMIT %s
"""

_MISS_COLUMNS = "id, query, kind, article_id, kb, created_at"

RECENT_MISSES = f"""
SELECT {_MISS_COLUMNS} FROM search_misses AS m
WHERE kb = %s AND NOT EXISTS (
    SELECT 1 FROM search_examples AS e WHERE e.kb = m.kb AND e.query = m.query
)
ORDER BY id DESC LIMIT %s
"""

GET_MISS = f"SELECT {_MISS_COLUMNS} FROM search_misses WHERE id = %s"

INSERT_EXAMPLE = """
INSERT INTO search_examples (kb, query, article_id, added_by, created_at)
VALUES (%(kb)s, %(query)s, %(article_id)s, %(added_by)s, %(created_at)s)
ON CONFLICT (kb, query, article_id) DO NOTHING
"""

EXAMPLES_AFTER = "SELECT * FROM search_examples WHERE kb = %s AND id > %s ORDER BY id"

FORGET_ATTACHMENTS = """
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id
JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = %s AND m.author = 'user'
"""

TICKET_IMAGES_OF_USER = "SELECT images FROM tickets WHERE user_key = %s"

UPLOADS_OF_USER = "SELECT sha256 FROM uploads WHERE user_key = %s"

_USER_MESSAGES = """
SELECT m.id FROM ticket_messages AS m JOIN tickets AS t ON t.id = m.ticket_id
WHERE t.user_key = %(key)s AND m.author = 'user'
"""

FORGET_STEPS = (
    """
    UPDATE outbox SET payload = '{}'
    WHERE status IN ('sent', 'dead') AND (
        ticket_id IN (SELECT id FROM tickets WHERE user_key = %(key)s)
        OR (chat_kind = 'private' AND (platform, chat_id) IN (
            SELECT platform, chat_id FROM tickets WHERE user_key = %(key)s
            UNION SELECT platform, platform_id FROM users WHERE key = %(key)s
        ))
    )
    """,
    f"DELETE FROM message_attachments WHERE message_id IN ({_USER_MESSAGES})",
    f"UPDATE ticket_messages SET text = '', author_name = '' WHERE id IN ({_USER_MESSAGES})",
    """
    UPDATE tickets SET user_name = '', answers = '[]', images = '[]', summary = ''
    WHERE user_key = %(key)s
    """,
    "DELETE FROM conversations WHERE user_key = %(key)s",
    "DELETE FROM uploads WHERE user_key = %(key)s",
    "DELETE FROM users WHERE key = %(key)s",
)

ORPHAN_FILES = """
SELECT sha256, path FROM files
WHERE sha256 = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM message_attachments AS a WHERE a.sha256 = files.sha256)
  AND NOT EXISTS (SELECT 1 FROM tickets AS t WHERE t.images ? files.sha256)
  AND NOT EXISTS (SELECT 1 FROM uploads AS u WHERE u.sha256 = files.sha256)
ORDER BY path COLLATE "C"
"""

DELETE_FILES = "DELETE FROM files WHERE sha256 = ANY(%s)"

_EXPIRED = "SELECT id FROM tickets WHERE status = 'closed' AND closed_at < %(before)s"
EXPIRED_IMAGES = f"SELECT images FROM tickets WHERE id IN ({_EXPIRED})"
EXPIRED_ATTACHMENTS = f"""
SELECT a.sha256 FROM message_attachments AS a
JOIN ticket_messages AS m ON m.id = a.message_id WHERE m.ticket_id IN ({_EXPIRED})
"""
EXPIRE_STEPS = (
    f"""DELETE FROM message_attachments WHERE message_id IN (
        SELECT id FROM ticket_messages WHERE ticket_id IN ({_EXPIRED}))""",
    f"UPDATE tickets SET images = '[]' WHERE id IN ({_EXPIRED})",
)
DELETE_UPLOADS_OF = "DELETE FROM uploads WHERE sha256 = ANY(%s)"

# The outbox. A lane's head blocks the rest of its lane while it waits for its retry time
# and while it is under way: here (`skip`) or in another live node (`claimed_by`).

INSERT_OUTBOX = """
INSERT INTO outbox (
    key, platform, chat_id, thread, lane, chat_kind, ticket_id, to_ticket, card, pack, payload,
    status, attempts, next_at, last_error, created_at, sent_at, maybe_doubled, inflight_at
) VALUES (
    %(key)s, %(platform)s, %(chat_id)s, %(thread)s, %(lane)s, %(chat_kind)s, %(ticket_id)s,
    %(to_ticket)s, %(card)s, %(pack)s, %(payload)s, %(status)s, %(attempts)s, %(next_at)s,
    %(last_error)s, %(created_at)s, %(sent_at)s, %(maybe_doubled)s, %(inflight_at)s
)
ON CONFLICT (key) DO NOTHING
"""

INSERT_OUTBOX_ID = INSERT_OUTBOX + " RETURNING id"

OUTBOX_ID = "SELECT id FROM outbox WHERE key = %s"

# The claimer of an item in flight is this node, or none, or a node that went silent.
_CLAIMABLE = """(o.claimed_by IN ('', %(me)s) OR NOT EXISTS (
    SELECT 1 FROM nodes AS n WHERE n.id = o.claimed_by
      AND n.seen_at > clock_timestamp() - make_interval(secs => %(ttl)s)))"""
_HEAD = """NOT EXISTS (
    SELECT 1 FROM outbox AS p
    WHERE p.status = 'pending' AND p.platform = o.platform AND p.chat_id = o.chat_id
      AND p.lane = o.lane AND p.id < o.id)"""

DUE = f"""
SELECT * FROM outbox AS o
WHERE o.status = 'pending' AND o.platform = ANY(%(platforms)s) AND o.next_at <= %(now)s
  AND o.id <> ALL(%(skip)s) AND {_HEAD} AND {_CLAIMABLE}
ORDER BY o.id LIMIT %(limit)s
"""

# The claim: a compare-and-set on each row (concurrent claims of one item wait for each other
# on its row lock, and the second finds it taken); a lane's head only.
CLAIM = f"""
UPDATE outbox AS o SET inflight_at = %(now)s, claimed_by = %(me)s
WHERE o.id = ANY(%(ids)s) AND o.status = 'pending' AND {_HEAD} AND {_CLAIMABLE}
RETURNING o.id
"""

# A claimed delivery to a ticket's topic comes with the topic as it is now (the send asks for
# it next: PostgresTicketStore.thread_of), a round trip less.
_TOPIC = "t.chat_id AS topic_chat, t.thread AS topic"
_TOPIC_JOIN = """LEFT JOIN ticket_threads AS t
    ON o.to_ticket AND t.ticket_id = o.ticket_id AND t.platform = o.platform"""

# due() and the claim in one statement: rows another process is claiming right now are skipped
# (their lanes are held: a later item's predecessor is still pending).
# Due lane heads claimed for this process, with the sends recorded since the last claim (perhaps
# none: MARK_SENT_MANY's arrays, named) written by the same statement, a statement less for
# them. The claim reads the snapshot from before they are marked, so an item marked here does
# not count as pending (its lane's next item is the head now).
SENT_AND_CLAIM = f"""
WITH sent AS (
    UPDATE outbox AS o SET status = 'sent', sent_at = s.at, maybe_doubled = s.doubled,
        inflight_at = NULL, claimed_by = ''
    FROM unnest(%(sent)s::bigint[], %(sent_at)s::float8[], %(doubled)s::boolean[])
        AS s (id, at, doubled)
    WHERE o.id = s.id
), due AS (
    SELECT o.id, o.inflight_at AS was, {_TOPIC} FROM outbox AS o {_TOPIC_JOIN}
    WHERE o.status = 'pending' AND o.platform = ANY(%(platforms)s) AND o.next_at <= %(now)s
      AND o.id <> ALL(%(skip)s) AND o.id <> ALL(%(sent)s) AND NOT EXISTS (
        SELECT 1 FROM outbox AS p
        WHERE p.status = 'pending' AND p.platform = o.platform AND p.chat_id = o.chat_id
          AND p.lane = o.lane AND p.id < o.id AND p.id <> ALL(%(sent)s))
      AND {_CLAIMABLE}
    ORDER BY o.id LIMIT %(limit)s
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox AS o SET inflight_at = %(now)s, claimed_by = %(me)s
FROM due WHERE o.id = due.id
RETURNING o.*, due.was, due.topic_chat, due.topic"""

QUEUED_BEHIND = """
SELECT * FROM outbox
WHERE status = 'pending' AND platform = %(platform)s AND chat_id = %(chat_id)s
  AND lane = %(lane)s AND id > %(head)s
ORDER BY id LIMIT %(limit)s
"""

# A run behind a head, claimed as a compare-and-set on each row (in id order, so that two
# claimers lock them in the same order), and only up to the first that is not free: a gap
# would join messages that are not next to each other.
CLAIM_RUN = f"""
WITH want AS (
    SELECT o.id, (o.status = 'pending' AND {_CLAIMABLE}) AS free
    FROM outbox AS o WHERE o.id = ANY(%(ids)s) ORDER BY o.id FOR UPDATE OF o
), run AS (
    SELECT i.id, bool_and(coalesce(w.free, false)) OVER (ORDER BY i.id) AS ok
    FROM unnest(%(ids)s::bigint[]) AS i (id) LEFT JOIN want AS w ON w.id = i.id
)
UPDATE outbox AS o SET inflight_at = %(now)s, claimed_by = %(me)s
FROM run WHERE o.id = run.id AND run.ok
RETURNING o.id
"""

# Sends recorded together: one statement for the deliveries that ended in the same moment.
MARK_SENT_MANY = """
UPDATE outbox AS o SET status = 'sent', sent_at = s.at, maybe_doubled = s.doubled,
    inflight_at = NULL, claimed_by = ''
FROM unnest(%s::bigint[], %s::float8[], %s::boolean[]) AS s (id, at, doubled)
WHERE o.id = s.id
"""

MARK_SENT = """
UPDATE outbox SET status = 'sent', sent_at = %s, maybe_doubled = %s, inflight_at = NULL,
    claimed_by = ''
WHERE id = %s
"""

MARK_RETRY = """
UPDATE outbox SET attempts = attempts + 1, next_at = %s, last_error = %s,
    maybe_doubled = maybe_doubled OR %s, inflight_at = NULL, claimed_by = ''
WHERE id = %s
"""

MARK_DEAD = """
UPDATE outbox SET status = 'dead', last_error = %s, inflight_at = NULL, claimed_by = ''
WHERE id = %s
"""

RETRY_DEAD = """
UPDATE outbox SET status = 'pending', next_at = %s WHERE id = %s AND status = 'dead'
"""

OUTBOX_ITEMS = "SELECT * FROM outbox ORDER BY id LIMIT %s"

OUTBOX_ITEMS_IN = "SELECT * FROM outbox WHERE status = ANY(%s) ORDER BY id LIMIT %s"

OUTBOX_ITEM = "SELECT * FROM outbox WHERE id = %s"

# What each of some chats sent in the last minute, and what waits for them.
RECENT_SENDS = """
SELECT chat_id, count(*) AS n FROM outbox
WHERE platform = %s AND chat_id = ANY(%s)
  AND (status = 'pending' OR (status = 'sent' AND sent_at >= %s))
GROUP BY chat_id
"""

WAITING = """
SELECT chat_id, count(*) AS n FROM outbox
WHERE status = 'pending' AND platform = %s AND chat_id = ANY(%s)
GROUP BY chat_id
"""

BACKLOG = """
SELECT platform, chat_id, count(*) AS n, min(created_at) AS oldest FROM outbox
WHERE status = 'pending'
GROUP BY platform, chat_id ORDER BY min(created_at), platform COLLATE "C", chat_id COLLATE "C"
"""

NOTIFY_OUTBOX = "SELECT pg_notify('kefu_outbox', '')"

# The delivery log's retention (bot.scheduler).
PRUNE_SENT = "DELETE FROM outbox WHERE status = 'sent' AND sent_at < %s"
PRUNE_SEEN = "DELETE FROM seen_events WHERE seen_at < %s"
