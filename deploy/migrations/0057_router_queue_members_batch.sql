-- router: a batch's new tickets enter router.queue_members (0014, 0016) in
-- one statement, not one PL/pgSQL call and one upsert per ticket.
--
-- The router inserts a batch's new tickets with one statement; 0014's row
-- trigger ran router.queue_members_sync once per ticket, each running its
-- own INSERT ... ON CONFLICT (a catch-up opens thousands of tickets a
-- batch). The insert trigger is now per statement, over the statement's new
-- rows, like 0016's queue_members_touched. What a ticket's row in
-- queue_members holds is said once, in router.queue_members_put, which the
-- row trigger of updates (0014's WHEN: an assignment, a status, ...) calls
-- too; deletes are unchanged. Only the cost changes: the rows written are
-- the same, so a rebuild still ends equal.
CREATE FUNCTION router.queue_members_put(p_rows router.tickets[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO router.queue_members AS m
           (ticket_id, team, assignee, status, queued_at, held_at, updated_at)
    SELECT n.id, n.team, n.assignee, n.status, n.queued_at,
           coalesce(n.assigned_at, n.created_at), n.updated_at
      FROM unnest(p_rows) n
     WHERE n.status IN ('open', 'pending')
    ON CONFLICT (ticket_id) DO UPDATE
       SET team = excluded.team, assignee = excluded.assignee, status = excluded.status,
           queued_at = excluded.queued_at, held_at = excluded.held_at,
           updated_at = excluded.updated_at;
$$;

CREATE OR REPLACE FUNCTION router.queue_members_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.status NOT IN ('open', 'pending') THEN
        DELETE FROM router.queue_members WHERE ticket_id = OLD.id;
    ELSE
        PERFORM router.queue_members_put(ARRAY[NEW]);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION router.queue_members_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM router.queue_members_put(ARRAY(SELECT ROW(n.*)::router.tickets
                                             FROM queue_members_inserted n));
    RETURN NULL;
END;
$$;

DROP TRIGGER queue_members_inserted ON router.tickets;
CREATE TRIGGER queue_members_inserted AFTER INSERT ON router.tickets
    REFERENCING NEW TABLE AS queue_members_inserted
    FOR EACH STATEMENT EXECUTE FUNCTION router.queue_members_insert();
