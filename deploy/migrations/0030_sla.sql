-- sla-monitor's tables: policies, calendars, per-ticket targets and timers.
CREATE SCHEMA IF NOT EXISTS sla;

-- A ticket's SLA targets as GET /v1/tickets/{id} shows them: a JSON array of
-- {"target","due_at","achieved_at","remaining_business_secs","breached"},
-- empty while sla-monitor has no targets for the ticket.
CREATE FUNCTION sla.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT '[]'::jsonb WHERE p_id IS NOT NULL $$;
