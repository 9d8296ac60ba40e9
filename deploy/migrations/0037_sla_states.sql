-- sla: the tickets whose clock is in some states at an instant, read
-- through the running deadlines' index (targets_running_due) rather than by
-- grouping every running target (sla.ticket_clocks): what GET
-- /v1/tickets?sla= reads as a set (services/channel-ingest/tickets_list.c).
-- Read-side only. The states are sla.clock_state's (0032), restated on
-- single targets, since a ticket's deadline is its nearest running one and
-- its warning instant the nearest of coalesce(warn_at, due_at), never
-- after that target's due_at:
--   breached  some running target's due_at has passed;
--   warning   some running target warns at or before now and is due after
--             it, and none is breached;
--   within    some running target is due after now, and none warns or is
--             due at or before now.
-- Only the running targets due after now (those not breached, usually a
-- desk's few) are read for warning and within, each probing its ticket's
-- other targets by key.
CREATE FUNCTION sla.tickets_in_states(p_states text[], p_now timestamptz)
RETURNS TABLE (ticket_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT x.ticket_id FROM (
        SELECT s.ticket_id FROM sla.targets s
         WHERE 'breached' = ANY (p_states) AND s.status = 'running' AND s.due_at <= p_now
        UNION ALL
        SELECT s.ticket_id FROM sla.targets s
         WHERE 'warning' = ANY (p_states) AND s.status = 'running' AND s.due_at > p_now
           AND coalesce(s.warn_at, s.due_at) <= p_now
           AND NOT EXISTS (SELECT 1 FROM sla.targets o
                            WHERE o.ticket_id = s.ticket_id AND o.status = 'running'
                              AND o.due_at <= p_now)
        UNION ALL
        SELECT s.ticket_id FROM sla.targets s
         WHERE 'within' = ANY (p_states) AND s.status = 'running' AND s.due_at > p_now
           AND NOT EXISTS (SELECT 1 FROM sla.targets o
                            WHERE o.ticket_id = s.ticket_id AND o.status = 'running'
                              AND (o.due_at <= p_now
                                   OR coalesce(o.warn_at, o.due_at) <= p_now))) x
$$;
