-- Access: what each API key may do, and the secret that signs sessions.
--
-- scopes: the names of services/libcarebus/scope.h (ingest, read, agent,
-- supervisor, admin); a name a build does not know is ignored by it, never
-- granted. agent_id: the agent an `agent` key acts as (its replies, notes,
-- status changes and transfers are that agent's); NULL for other keys.
--
-- Keys made before scopes keep what they could do: post contacts and calls
-- (ingest), read everything (read), and act on any ticket in the name of
-- whichever agent a request names (agent, bound to no agent: carebusctl
-- makes no such key any more; an integrator's desk gets supervisor).
ALTER TABLE ingest.api_keys
    ADD COLUMN scopes   text[],
    ADD COLUMN agent_id text;
UPDATE ingest.api_keys SET scopes = '{ingest,read,agent}';
ALTER TABLE ingest.api_keys
    -- carebusctl's default (KEYSPEC_DEFAULT_SCOPES in services/libcarebus/keyspec.h).
    ALTER COLUMN scopes SET DEFAULT '{ingest,read}',
    ALTER COLUMN scopes SET NOT NULL,
    ADD CHECK (agent_id IS NULL OR 'agent' = ANY (scopes)),
    ADD CHECK (agent_id IS NULL OR length(agent_id) BETWEEN 1 AND 128);

-- Settings every HTTP service shares, beside public.carebus_migrations
-- (services/libcarebus: session.c keeps 'session_secret' here, made by the
-- first service that needs it). Secrets: no role but the services' own
-- reads them (bi_reader has no rights on schema public).
CREATE TABLE IF NOT EXISTS public.carebus_settings (
    name       text PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON public.carebus_settings FROM PUBLIC;
