-- Who uploaded which file, so that /forget can remove uploads that never reached a ticket.
CREATE TABLE uploads (
    user_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (user_key, sha256)
);
CREATE INDEX uploads_by_file ON uploads (sha256);
