-- Learning from use. Misses are kept per knowledge base (`kb`), with what ended them: the search
-- found nothing ('nothing'), the user said an article did not solve it ('not_solved'), or asked
-- for a person right after one ('handoff'); `article_id` is the article shown, if any.
ALTER TABLE search_misses ADD COLUMN kb TEXT NOT NULL DEFAULT '';
ALTER TABLE search_misses ADD COLUMN kind TEXT NOT NULL DEFAULT 'nothing';
ALTER TABLE search_misses ADD COLUMN article_id TEXT NOT NULL DEFAULT '';
CREATE INDEX search_misses_kb ON search_misses (kb, id);

-- A query a moderator attached to the article that answers it: the search learns from it.
CREATE TABLE search_examples (
    id         INTEGER PRIMARY KEY,
    kb         TEXT NOT NULL,
    query      TEXT NOT NULL,
    article_id TEXT NOT NULL,
    added_by   TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (kb, query, article_id)
);
