-- sla: the running targets in some states, one row per target (a ticket
-- with several running targets may come more than once), and
-- sla.tickets_in_states (0037) redefined as their distinct tickets.
-- Read-side only.
--
-- GET /v1/tickets?sla= asks first whether few tickets are in the states
-- (services/channel-ingest/tickets_list.c). Counted over
-- sla.tickets_in_states, the answer waited for the DISTINCT, which reads
-- every target in them: 9,300 breached ones took 17 of the 20 ms of a
-- page. Counted over these rows, the count stops at its limit after as
-- many index entries; as a ticket is at most as many rows, fewer rows
-- than the limit is fewer tickets too (more rows but fewer tickets, rare,
-- only picks the other way, whose page is the same).
CREATE FUNCTION sla.targets_in_states(p_states text[], p_now timestamptz)
RETURNS TABLE (ticket_id uuid)
LANGUAGE sql STABLE AS $$
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
                               OR coalesce(o.warn_at, o.due_at) <= p_now))
$$;

-- The states' tickets, each once: 0037's definition, its rows now said once
-- (above).
CREATE OR REPLACE FUNCTION sla.tickets_in_states(p_states text[], p_now timestamptz)
RETURNS TABLE (ticket_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT x.ticket_id FROM sla.targets_in_states(p_states, p_now) x
$$;
