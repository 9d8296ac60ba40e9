-- survey's tables: surveys, answers, outbound deliveries.
CREATE SCHEMA IF NOT EXISTS survey;

-- A ticket's survey as GET /v1/tickets/{id} shows it:
-- {"status","link","csat","ces","comment"}, or NULL when none was requested.
CREATE FUNCTION survey.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT NULL::jsonb WHERE p_id IS NOT NULL $$;
