-- Dynamic client registration management (RFC 7591 / RFC 7592): the descriptive
-- metadata kept for a client, and the keyed digest of its registration access token.
-- Clients written by 0001 get empty metadata and no registration token, exactly as the
-- model reads records written before these fields existed.

ALTER TABLE {prefix}clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE {prefix}clients ADD COLUMN registration_key_id TEXT;
ALTER TABLE {prefix}clients ADD COLUMN registration_hash BLOB
    CHECK (registration_hash IS NULL OR length(registration_hash) = 32);
