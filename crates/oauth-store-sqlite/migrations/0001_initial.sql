-- The first schema. `{prefix}` is replaced by the store's table prefix (validated to
-- [a-z0-9_]); every index name carries it too, so two prefixes never collide.
-- Times are Unix seconds; hashes are 32-byte keyed hashes (HMAC-SHA256), never raw
-- credentials; list-valued fields are JSON arrays.

CREATE TABLE {prefix}clients (
    id                TEXT    NOT NULL PRIMARY KEY,
    auth_method       TEXT    NOT NULL,
    secret_key_id     TEXT,
    secret_hash       BLOB    CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    secret_expires_at INTEGER,
    redirect_uris     TEXT    NOT NULL,
    grant_types       TEXT    NOT NULL,
    scope             TEXT,
    name              TEXT,
    created_at        INTEGER NOT NULL,
    CHECK ((secret_key_id IS NULL) = (secret_hash IS NULL))
) STRICT;

-- A grant: what one subject allowed one client. No foreign key to clients: a client
-- identified by a metadata document URL is fetched, never stored.
CREATE TABLE {prefix}grants (
    id           TEXT    NOT NULL PRIMARY KEY,
    subject_kind TEXT    NOT NULL CHECK (subject_kind IN ('user', 'client')),
    user_id      TEXT,
    client_id    TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    resources    TEXT    NOT NULL,
    props        BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    CHECK ((subject_kind = 'user') = (user_id IS NOT NULL))
) STRICT;
CREATE INDEX {prefix}grants_by_user ON {prefix}grants (user_id, created_at, id)
    WHERE user_id IS NOT NULL;
CREATE INDEX {prefix}grants_by_client ON {prefix}grants (client_id);
CREATE INDEX {prefix}grants_by_expiry ON {prefix}grants (expires_at);

-- Codes, and their tombstones once redeemed (consumed_at set) until expires_at.
CREATE TABLE {prefix}codes (
    hash                    BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id                TEXT    NOT NULL REFERENCES {prefix}grants (id) ON DELETE CASCADE,
    client_id               TEXT    NOT NULL,
    redirect_uri            TEXT    NOT NULL,
    redirect_uri_in_request INTEGER NOT NULL CHECK (redirect_uri_in_request IN (0, 1)),
    challenge_method        TEXT,
    challenge               TEXT,
    scope                   TEXT    NOT NULL,
    resources               TEXT    NOT NULL,
    props_key               BLOB,
    grant_expires_at        INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    consumed_at             INTEGER,
    CHECK ((challenge_method IS NULL) = (challenge IS NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX {prefix}codes_by_grant ON {prefix}codes (grant_id);
CREATE INDEX {prefix}codes_by_expiry ON {prefix}codes (expires_at);

CREATE TABLE {prefix}access_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT    NOT NULL REFERENCES {prefix}grants (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    props_key  BLOB,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX {prefix}access_tokens_by_grant ON {prefix}access_tokens (grant_id);
CREATE INDEX {prefix}access_tokens_by_expiry ON {prefix}access_tokens (expires_at);

-- Refresh tokens, and their tombstones once rotated (retired_at set) until expires_at,
-- with the optional sealed grace successor (claimed at most once).
CREATE TABLE {prefix}refresh_tokens (
    hash             BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id         TEXT    NOT NULL REFERENCES {prefix}grants (id) ON DELETE CASCADE,
    client_id        TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    resources        TEXT    NOT NULL,
    props_key        BLOB,
    issued_at        INTEGER NOT NULL,
    grant_expires_at INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    retired_at       INTEGER,
    grace_successor  BLOB,
    grace_until      INTEGER,
    CHECK ((grace_successor IS NULL) = (grace_until IS NULL)),
    CHECK (grace_successor IS NULL OR retired_at IS NOT NULL)
) STRICT, WITHOUT ROWID;
CREATE INDEX {prefix}refresh_tokens_by_grant ON {prefix}refresh_tokens (grant_id);
CREATE INDEX {prefix}refresh_tokens_by_expiry ON {prefix}refresh_tokens (expires_at);

-- One-time markers (sealed authorization tickets, ...).
CREATE TABLE {prefix}once_markers (
    namespace  TEXT    NOT NULL,
    key        BLOB    NOT NULL CHECK (length(key) = 32),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX {prefix}once_markers_by_expiry ON {prefix}once_markers (expires_at);
