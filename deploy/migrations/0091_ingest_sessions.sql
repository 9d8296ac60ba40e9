-- Sessions' API keys (POST /v1/sessions, services/channel-ingest/sessions.c):
-- a key made for an agent who signed in with their password expires; keys
-- made with carebusctl do not (NULL). channel-ingest's key table leaves out
-- the expired ones at its next reload (services/libcarebus/auth.c).
ALTER TABLE ingest.api_keys ADD COLUMN expires_at timestamptz;
