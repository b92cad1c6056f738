-- A send in flight: the outbox sets `inflight_at` (when its batch started) on the items it is
-- about to hand to the platform, committed before the first of them goes out; recording the
-- outcome (sent, retry, dead) clears it. An item still pending with it set was being sent when
-- its process died: the platform may have taken it, so the next try is counted as maybe doubled.
ALTER TABLE outbox ADD COLUMN inflight_at REAL;
