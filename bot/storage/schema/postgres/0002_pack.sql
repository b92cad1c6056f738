-- Relays packed within a group's budget: `pack` marks a delivery that may be joined with the
-- packable deliveries queued right behind it in its lane (a user's text-only messages to a
-- ticket's topic), sent as one message in one send slot (bot/outbox.py).
ALTER TABLE outbox ADD COLUMN pack boolean NOT NULL DEFAULT false;
