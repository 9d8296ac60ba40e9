-- router: fewer and smaller index entries per ticket write, the lists
-- reading the same orders (services/channel-ingest/tickets_list.c).
--
-- An update that changes an indexed column (a status, an assignment: every
-- step of a ticket's life but a joined contact) writes an entry in every
-- index of router.tickets whose predicate the new row meets; so does an
-- insert. Three of those indexes held entries no list needs:
--   - tickets_list_status (status, queue key) held every ticket. Open and
--     pending ones are walked through tickets_list_active (it carries the
--     status), closed ones (nearly all the rest) met at once by a walk of
--     tickets_list_queue; only solved ones, few and recent (the queue
--     order meets them late), need their own index: a partial one, written
--     when a ticket is solved and left when it is closed.
--   - tickets_list_assignee held every ticket of an agent, the active ones
--     also in tickets_list_assignee_active: it now holds the settled ones,
--     and an agent's list reads both (the offline timer the active one).
--   - tickets_tags held an entry for every untagged ticket (GIN keeps a
--     placeholder for an empty array): partial now, the list's tag filter
--     says "tags <> '{}'" so that PostgreSQL may read it.
DROP INDEX router.tickets_list_status;
CREATE INDEX tickets_list_solved ON router.tickets ((-priority_rank), created_at, id)
    WHERE status = 'solved';
DROP INDEX router.tickets_list_assignee;
CREATE INDEX tickets_list_assignee_settled ON router.tickets (assignee, (-priority_rank), created_at, id)
    WHERE status IN ('solved', 'closed');
DROP INDEX router.tickets_tags;
CREATE INDEX tickets_tags ON router.tickets USING gin (tags) WHERE tags <> '{}';
