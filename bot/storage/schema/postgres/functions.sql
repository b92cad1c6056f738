-- The functions of the PostgreSQL schema, in their current form: applied (CREATE OR REPLACE)
-- in the transaction of the newest numbered file (bot/storage/postgres/migrate.py), so each
-- function has one definition, here, and none in the numbered files' history.
--
-- A change here needs a new numbered file too (even an empty one): it moves the schema version,
-- so a process of an older Kefu refuses the database instead of putting its older functions
-- back, and the new definitions are applied with it.

-- Reserve one send under several keys at once, each allowing at most limits[i] sends in any
-- windows[i] seconds (a sliding window, exact: Telegram's "20 a minute per group" holds in
-- every minute, not on average). Returns the seconds to wait before sending.
CREATE OR REPLACE FUNCTION kefu_flood_reserve(keys text[], limits integer[], windows double precision[])
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    t       double precision := extract(epoch FROM clock_timestamp());
    send_at double precision := t;
    nth     double precision;
BEGIN
    INSERT INTO flood_keys (key) SELECT k FROM unnest(keys) AS k ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM flood_keys WHERE key = ANY (keys) ORDER BY key FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        nth := NULL;
        SELECT at INTO nth FROM flood_sends WHERE key = keys[i]
        ORDER BY at DESC OFFSET limits[i] - 1 LIMIT 1;
        IF nth IS NOT NULL THEN
            send_at := greatest(send_at, nth + windows[i]);
        END IF;
    END LOOP;
    INSERT INTO flood_sends (key, at) SELECT k, send_at FROM unnest(keys) AS k;
    DELETE FROM flood_sends
    WHERE key = ANY (keys) AND at < t - (SELECT max(w) FROM unnest(windows) AS w);
    RETURN send_at - t;
END
$$;

-- A turn's guarded statements (bot/storage/postgres/sql.py): raise unless exactly one row
-- changed, with the SQLSTATE that tells a conflict (KFCON) from a redelivery (KFSEE).
CREATE OR REPLACE FUNCTION kefu_expect(changed bigint, state text, message text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF changed <> 1 THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
    END IF;
    RETURN true;
END
$$;

-- A turn's writes in one statement (bot/storage/postgres/turns.py builds `w`): atomic, and
-- refused as a whole (SQLSTATE KFSEE: its event was handled; KFCON: a record it saves moved
-- on since it was loaded) before anything of it is kept.
CREATE OR REPLACE FUNCTION kefu_commit_turn(w jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    at_now  double precision := (w->>'now')::double precision;
    r       jsonb;
    changed bigint;
    mid     bigint;
BEGIN
    IF w->'seen' IS NOT NULL THEN
        INSERT INTO seen_events (platform, event_id, seen_at)
        VALUES (w->'seen'->>0, w->'seen'->>1, at_now) ON CONFLICT (platform, event_id) DO NOTHING;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 1 THEN  -- (inline, not kefu_expect: a statement and a call less a turn)
            RAISE EXCEPTION USING ERRCODE = 'KFSEE',
                MESSAGE = 'event ' || (w->>'seen') || ' was handled before';
        END IF;
    END IF;
    IF w->'user' IS NOT NULL THEN
        INSERT INTO users SELECT * FROM jsonb_populate_record(NULL::users, w->'user')
        ON CONFLICT (key) DO UPDATE SET
            platform = excluded.platform, platform_id = excluded.platform_id,
            display_name = excluded.display_name, lang = excluded.lang;
    END IF;
    -- The moderator who acted, by the name their platform gives now (only when it changed).
    IF w->'moderator' IS NOT NULL THEN
        INSERT INTO moderators (key, name, updated_at)
        VALUES (w->'moderator'->>0, w->'moderator'->>1, at_now)
        ON CONFLICT (key) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
        WHERE moderators.name IS DISTINCT FROM excluded.name;
    END IF;
    IF coalesce(w->>'reachable', '') <> '' THEN
        UPDATE users SET blocked_bot = false WHERE key = w->>'reachable' AND blocked_bot;
        UPDATE tickets SET user_unreachable = false, version = version + 1
        WHERE user_key = w->>'reachable' AND status IN ('open', 'claimed') AND user_unreachable;
    END IF;
    r := w->'conversation';
    IF r IS NOT NULL THEN
        IF (r->>'version')::integer = 1 THEN
            INSERT INTO conversations (user_key, step, data, lang, version, updated_at)
            VALUES (r->>'user_key', r->>'step', r->'data', r->>'lang', 1, at_now)
            ON CONFLICT (user_key) DO NOTHING;
        ELSE
            UPDATE conversations SET step = r->>'step', data = r->'data', lang = r->>'lang',
                version = (r->>'version')::integer, updated_at = at_now
            WHERE user_key = r->>'user_key' AND version = (r->>'version')::integer - 1;
        END IF;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'KFCON', MESSAGE = 'conversation ' || (r->>'user_key');
        END IF;
    END IF;
    IF jsonb_array_length(w->'new_tickets') > 0 THEN
        INSERT INTO tickets
        SELECT * FROM jsonb_populate_recordset(NULL::tickets, w->'new_tickets');
    END IF;
    -- (a FOR over an empty array still runs its query: asked only when there is something)
    IF jsonb_array_length(w->'tickets') > 0 THEN
        FOR r IN SELECT * FROM jsonb_array_elements(w->'tickets') LOOP
            UPDATE tickets AS d SET
                user_key = s.user_key, platform = s.platform, chat_id = s.chat_id,
                user_name = s.user_name, category = s.category, form_id = s.form_id,
                answers = s.answers, images = s.images, status = s.status, priority = s.priority,
                lang = s.lang, summary = s.summary, created_at = s.created_at,
                claimed_by = s.claimed_by, claimed_at = s.claimed_at,
                first_response_at = s.first_response_at, closed_at = s.closed_at,
                closed_by = s.closed_by, close_reason = s.close_reason, rating = s.rating,
                user_unreachable = s.user_unreachable, last_paged_at = s.last_paged_at,
                surfaces = s.surfaces, version = d.version + 1
            FROM jsonb_populate_record(NULL::tickets, r) AS s
            WHERE d.id = s.id AND d.version = s.version;
            GET DIAGNOSTICS changed = ROW_COUNT;
            IF changed <> 1 THEN
                RAISE EXCEPTION USING ERRCODE = 'KFCON', MESSAGE = 'ticket #' || (r->>'id');
            END IF;
        END LOOP;
    END IF;
    IF jsonb_array_length(w->'messages') > 0 THEN
        FOR r IN SELECT * FROM jsonb_array_elements(w->'messages') LOOP
            INSERT INTO ticket_messages (
                ticket_id, author, author_id, author_name, text, created_at
            )
            VALUES ((r->>'ticket_id')::bigint, r->>'author', r->>'author_id', r->>'author_name',
                    r->>'text', (r->>'created_at')::double precision)
            RETURNING ticket_messages.id INTO mid;
            INSERT INTO message_attachments (message_id, position, sha256)
            SELECT mid, a.pos - 1, a.sha
            FROM jsonb_array_elements_text(r->'attachments') WITH ORDINALITY AS a (sha, pos);
        END LOOP;
    END IF;
    IF jsonb_array_length(w->'outbox') > 0 THEN
        INSERT INTO outbox (
            key, platform, chat_id, thread, lane, chat_kind, ticket_id, to_ticket, card,
            pack, payload, status, attempts, next_at, last_error, created_at, sent_at,
            maybe_doubled, inflight_at
        )
        SELECT key, platform, chat_id, thread, lane, chat_kind, ticket_id, to_ticket, card,
            pack, payload, status, attempts, next_at, last_error, created_at, sent_at,
            maybe_doubled, inflight_at
        FROM jsonb_populate_recordset(NULL::outbox, w->'outbox')
        ON CONFLICT (key) DO NOTHING;
        -- Other processes are woken (at COMMIT: a hint, never needed) only for deliveries to a
        -- platform the committing process does not send itself (`here`): its own outbox,
        -- woken after the turn, claims the rest; a NOTIFY would wake every process to look.
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(w->'outbox') AS o
                   WHERE NOT coalesce(w->'here', '[]') ? (o->>'platform')) THEN
            PERFORM pg_notify('kefu_outbox', '');
        END IF;
    END IF;
    -- (each kind of write only when the turn has some: a statement costs even when empty)
    IF jsonb_array_length(w->'feedback') > 0 THEN
        INSERT INTO article_feedback (article_id, query, solved, created_at)
        SELECT f.article_id, f.query, f.solved, at_now
        FROM jsonb_to_recordset(w->'feedback') AS f (article_id text, query text, solved boolean);
    END IF;
    IF jsonb_array_length(w->'misses') > 0 THEN
        INSERT INTO search_misses (query, norm, created_at, kb, kind, article_id)
        SELECT m.query, m.norm, m.created_at, m.kb, m.kind, m.article_id
        FROM jsonb_populate_recordset(NULL::search_misses, w->'misses') AS m;
    END IF;
    IF jsonb_array_length(w->'snippets') > 0 THEN
        INSERT INTO snippets (name, text)
        SELECT s.name, s.text FROM jsonb_to_recordset(w->'snippets') AS s (name text, text text)
        ON CONFLICT (name) DO UPDATE SET text = excluded.text;
    END IF;
    IF jsonb_array_length(w->'banned') > 0 THEN
        UPDATE users SET banned = b.banned
        FROM jsonb_to_recordset(w->'banned') AS b (key text, banned boolean)
        WHERE users.key = b.key;
    END IF;
    IF jsonb_array_length(w->'retry_dead') > 0 THEN
        UPDATE outbox SET status = 'pending', next_at = at_now
        WHERE status = 'dead' AND id IN (
            SELECT value::bigint FROM jsonb_array_elements_text(w->'retry_dead'));
    END IF;
    IF jsonb_array_length(w->'moved_threads') > 0 THEN
        DELETE FROM ticket_threads AS d
        USING jsonb_to_recordset(w->'moved_threads') AS m (ticket_id bigint, platform text)
        WHERE d.ticket_id = m.ticket_id AND d.platform = m.platform;
    END IF;
    -- The turn's conversation lock, when its commit ends the turn (`unlock`); tests record
    -- the turn's time under the lock first (`audit`: tests/reliability/cluster.py).
    IF (w->>'audit')::boolean THEN
        INSERT INTO turn_audit (key, node, during) VALUES (w->>'unlock', w->>'node',
            tstzrange(current_setting('kefu.locked_at')::timestamptz, clock_timestamp()));
    END IF;
    IF w->>'unlock' IS NOT NULL THEN
        PERFORM pg_advisory_unlock(hashtextextended(w->>'unlock', 0));
    END IF;
END
$$;

-- A turn's load (bot/storage/postgres/turns.py) under its conversation's session advisory lock,
-- in one statement: the lock first, then the records, read after it is held (in a function,
-- each query takes its snapshot when it starts). `audit` (tests only) keeps the lock's time;
-- `p_ticket`, when given, is a ticket the turn reads too (a moderator's event is about it).
CREATE OR REPLACE FUNCTION kefu_lock_and_load(
    p_lock text, p_audit boolean, p_user text, p_conv text, p_platform text, p_event text,
    p_ticket bigint
) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_lock(hashtextextended(p_lock, 0));
    IF p_audit THEN
        PERFORM set_config('kefu.locked_at', clock_timestamp()::text, false);
    END IF;
    RETURN jsonb_build_object(
        'user', (SELECT to_jsonb(u) FROM users AS u WHERE u.key = p_user),
        'ticket', (SELECT to_jsonb(t) FROM tickets AS t
                   WHERE t.user_key = p_user AND t.status IN ('open', 'claimed')
                   ORDER BY t.id DESC LIMIT 1),
        'conversation', (SELECT to_jsonb(c) FROM conversations AS c WHERE c.user_key = p_conv),
        'seen', EXISTS (SELECT 1 FROM seen_events AS s
                        WHERE s.platform = p_platform AND s.event_id = p_event),
        'target', (SELECT to_jsonb(t) FROM tickets AS t WHERE t.id = p_ticket));
END
$$;
