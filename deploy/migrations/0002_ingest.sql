-- channel-ingest's own tables.
CREATE SCHEMA IF NOT EXISTS ingest;

-- Integrator API keys, stored as SHA-256 of the key (never the key).
CREATE TABLE ingest.api_keys (
    id         uuid PRIMARY KEY,
    name       text        NOT NULL,
    key_hash   bytea       NOT NULL UNIQUE,
    channels   text[],      -- NULL: every channel
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
