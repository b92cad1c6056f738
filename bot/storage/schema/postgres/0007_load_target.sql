-- No table changes: kefu_lock_and_load reads the ticket a moderator's event is about as well,
-- under the turn's lock (p_ticket; functions.sql, applied with this file). Its form without it
-- goes, so that one definition stays.
DROP FUNCTION IF EXISTS kefu_lock_and_load(text, boolean, text, text, text, text);
