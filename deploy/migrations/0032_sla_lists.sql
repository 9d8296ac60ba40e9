-- sla: what the work API's lists and queues read of a ticket's clocks
-- (channel-ingest's GET /v1/tickets filters and sorts by them, GET
-- /v1/queues counts the breaching tickets). Read-side only: an index and
-- the definitions of a ticket's deadline and state, spelled here once.
--
-- A ticket's clock is its running targets (sla.targets, status 'running'):
-- its deadline is the nearest of their due_at, its warning instant the
-- nearest of their warn_at (or due_at, for a target that never warns), and
-- its state at an instant:
--   breached  the deadline has passed
--   warning   the warning instant has passed, the deadline not
--   within    neither
-- A ticket without a running target (solved, closed, pending with its
-- resolution paused, or not tracked) has no deadline and no state.

-- Running targets by deadline: the "due" order walks it, and breaching
-- tickets are its head.
CREATE INDEX targets_running_due ON sla.targets (due_at, ticket_id) WHERE status = 'running';

-- The state of a clock with deadline p_due and warning instant p_warn at
-- p_now (NULL without a deadline). Plain SQL, so that the planner inlines
-- it where it is used.
CREATE FUNCTION sla.clock_state(p_due timestamptz, p_warn timestamptz, p_now timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_due IS NULL THEN NULL
                WHEN p_due <= p_now THEN 'breached'
                WHEN p_warn <= p_now THEN 'warning'
                ELSE 'within' END
$$;

-- One ticket's clock at p_now: one row (deadline, warning instant, state),
-- or none. A set-returning SQL function, so that LATERAL
-- sla.ticket_clock(t.id, now) is inlined into the caller's query (an index
-- probe per ticket) rather than called.
CREATE FUNCTION sla.ticket_clock(p_id uuid, p_now timestamptz)
RETURNS TABLE (due_at timestamptz, warn_at timestamptz, state text)
LANGUAGE sql STABLE AS $$
    SELECT min(s.due_at), min(coalesce(s.warn_at, s.due_at)),
           sla.clock_state(min(s.due_at), min(coalesce(s.warn_at, s.due_at)), p_now)
      FROM sla.targets s
     WHERE s.ticket_id = p_id AND s.status = 'running' AND s.due_at IS NOT NULL
    HAVING count(*) > 0
$$;

-- Every ticket's clock at p_now, for counts over many tickets (a hash join
-- rather than a probe per ticket).
CREATE FUNCTION sla.ticket_clocks(p_now timestamptz)
RETURNS TABLE (ticket_id uuid, due_at timestamptz, warn_at timestamptz, state text)
LANGUAGE sql STABLE AS $$
    SELECT s.ticket_id, min(s.due_at), min(coalesce(s.warn_at, s.due_at)),
           sla.clock_state(min(s.due_at), min(coalesce(s.warn_at, s.due_at)), p_now)
      FROM sla.targets s
     WHERE s.status = 'running' AND s.due_at IS NOT NULL
     GROUP BY s.ticket_id
$$;

-- Each ticket's deadline as one row of its nearest running target, in
-- deadline order through targets_running_due (ties between a ticket's
-- targets go to the first by target and cycle).
CREATE VIEW sla.ticket_deadlines AS
    SELECT s.ticket_id, s.due_at
      FROM sla.targets s
     WHERE s.status = 'running' AND s.due_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM sla.targets o
                        WHERE o.ticket_id = s.ticket_id AND o.status = 'running'
                          AND o.due_at IS NOT NULL
                          AND (o.due_at, o.target, o.cycle) < (s.due_at, s.target, s.cycle));
COMMENT ON VIEW sla.ticket_deadlines IS
    'One row per ticket with a running SLA target: its nearest deadline.';

-- A ticket's clock as a list shows it ("sla" of each item): {"state",
-- "due_at", "warn_at"} at the SLA clock's now, or NULL.
CREATE FUNCTION sla.clock_json(p_due timestamptz, p_warn timestamptz, p_state text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_due IS NOT NULL THEN
        jsonb_build_object('state', p_state, 'due_at', p_due, 'warn_at', p_warn) END
$$;
