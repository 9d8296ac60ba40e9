-- sla: the tickets whose clock is breached at an instant, for counts over
-- many tickets (GET /v1/queues' "breaching"). sla.clock_state calls a
-- clock breached when its deadline, the nearest running one, has passed:
-- the same as any running deadline having passed, which is a range of the
-- running deadlines' index (targets_running_due) rather than every
-- running target grouped by ticket (sla.ticket_clocks).
CREATE FUNCTION sla.breached_tickets(p_now timestamptz)
RETURNS TABLE (ticket_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT s.ticket_id FROM sla.targets s
     WHERE s.status = 'running' AND s.due_at <= p_now
$$;
