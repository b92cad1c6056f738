-- No table changes: kefu_commit_turn checks its guarded writes inline and skips its loops
-- when a turn has no tickets or messages to write (functions.sql, applied with this file).
SELECT 1;
