-- No table changes: kefu_commit_turn NOTIFYs the other processes only of deliveries to a
-- platform the committing process does not send itself (functions.sql, applied with this file).
SELECT 1;
