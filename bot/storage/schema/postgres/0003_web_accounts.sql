-- The web desk's local accounts and the key its sessions are signed with, kept in the store
-- rather than in files of one host's data directory: every process of a deployment, on every
-- host, sees the same ones, they are backed up with the rest and `kefu db copy` moves them.
CREATE TABLE web_accounts (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,  -- argon2id, as argon2-cffi writes it; never the password
    created_at    double precision NOT NULL,
    updated_at    double precision NOT NULL
);

-- One row per key by its use ('session': sessions, CSRF tokens and OAuth2 states).
CREATE TABLE web_keys (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at double precision NOT NULL
);
