-- sla: each ticket's running targets by ticket, with what its clock reads
-- (deadline, target, cycle, warning instant), in the index. Read-side
-- only.
--
-- A ticket's nearest deadline (sla.ticket_deadlines, 0032) asks whether
-- the ticket has an earlier running target; with only the key
-- (targets_pkey: ticket, target, cycle) each answer read the target's row,
-- so PostgreSQL rather hashed every running target of the desk first: GET
-- /v1/tickets?due_from=..&due_to=.. over 1,000,000 tickets hashed 10,000
-- targets to check the 283 due that day (13 of its 17 ms). Here each
-- check is an index-only probe; a ticket's clock
-- (sla.ticket_clock, one per listed ticket) reads it too.
CREATE INDEX targets_running_ticket ON sla.targets (ticket_id, due_at, target, cycle)
    INCLUDE (warn_at) WHERE status = 'running' AND due_at IS NOT NULL;
