-- Each moderator's latest display name, by key (`telegram:5012345`, `web:local:amy`): tickets
-- keep the key (names change, two moderators may share one), the web desk and the reports show
-- the name. A moderator's turn writes it with its other writes, when it is new or changed.
CREATE TABLE moderators (
    key        text PRIMARY KEY,
    name       text NOT NULL,
    updated_at double precision NOT NULL  -- when this name was first seen
);
