-- router: router.queue_members (0014, 0016, 0057, 0082) kept by one
-- statement trigger, for inserts and updates alike, not one PL/pgSQL call
-- per changed ticket.
--
-- An update of router.tickets ran 0014's row trigger for each ticket whose
-- queue columns changed (an assignment, a status): a PL/pgSQL call running
-- 0057's SQL function, planned again at each call, with its INSERT ... ON
-- CONFLICT or a DELETE; then 0016's statement trigger copied every
-- ticket's updated_at. An update of 5,000 tickets that assigns them spent
-- 930 ms of backend CPU, 250 ms now; an insert no longer builds an array
-- of whole ticket rows to hand to that function. One statement trigger now
-- does it set-based over the statement's new rows: a settled ticket's row
-- leaves; an active ticket's row is updated where it differs from the
-- ticket (compared with the row queue_members has, not with the ticket's
-- old row, which is then not captured: for a joined contact, the commonest
-- update, this is 0082's statement, costing the same). Then the active
-- tickets' rows are inserted: after an insert, always (where a leftover
-- row differs, it is mended); after an update, only when it rewrote fewer
-- rows than the statement has active tickets (one had no row: a reopened
-- ticket; or one was already equal), and ON CONFLICT DO NOTHING, since the
-- rows present are equal by then (DO UPDATE would lock each of them). What
-- a ticket's row holds is said here alone: 0057's router.queue_members_put
-- goes, and the delete trigger (unchanged) only deletes. Planned at each
-- call, joins by probes of the primary key, as 0082 explains. The rows'
-- contents are the same as before (a row already equal is not written
-- again), so a rebuild still ends equal.
CREATE FUNCTION router.queue_members_write() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    v_updated bigint;
    v_active bigint;
    v_conflict text := 'DO UPDATE
                SET team = excluded.team, assignee = excluded.assignee,
                    status = excluded.status, queued_at = excluded.queued_at,
                    held_at = excluded.held_at, updated_at = excluded.updated_at
              WHERE (m.team, m.assignee, m.status, m.queued_at, m.held_at, m.updated_at)
                    IS DISTINCT FROM (excluded.team, excluded.assignee, excluded.status,
                                      excluded.queued_at, excluded.held_at, excluded.updated_at)';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'DELETE FROM router.queue_members m USING queue_members_new n
                  WHERE m.ticket_id = n.id AND n.status NOT IN (''open'', ''pending'')';
        EXECUTE 'UPDATE router.queue_members m
                    SET team = n.team, assignee = n.assignee, status = n.status,
                        queued_at = n.queued_at, held_at = coalesce(n.assigned_at, n.created_at),
                        updated_at = n.updated_at
                   FROM queue_members_new n
                  WHERE m.ticket_id = n.id AND n.status IN (''open'', ''pending'')
                    AND (m.team, m.assignee, m.status, m.queued_at, m.held_at, m.updated_at)
                        IS DISTINCT FROM (n.team, n.assignee, n.status, n.queued_at,
                                          coalesce(n.assigned_at, n.created_at), n.updated_at)';
        GET DIAGNOSTICS v_updated = ROW_COUNT;
        EXECUTE 'SELECT count(*) FROM queue_members_new n
                  WHERE n.status IN (''open'', ''pending'')' INTO v_active;
        -- Every active ticket had its row (the common case: each changed
        -- its updated_at); else the insert below adds the missing ones,
        -- leaving the others (equal now) unlocked.
        IF v_updated = v_active THEN
            RETURN NULL;
        END IF;
        v_conflict := 'DO NOTHING';
    END IF;
    EXECUTE 'INSERT INTO router.queue_members AS m
                    (ticket_id, team, assignee, status, queued_at, held_at, updated_at)
             SELECT n.id, n.team, n.assignee, n.status, n.queued_at,
                    coalesce(n.assigned_at, n.created_at), n.updated_at
               FROM queue_members_new n
              WHERE n.status IN (''open'', ''pending'')
             ON CONFLICT (ticket_id) ' || v_conflict;
    RETURN NULL;
END;
$$;

DROP TRIGGER queue_members_inserted ON router.tickets;
DROP TRIGGER queue_members_updated ON router.tickets;
DROP TRIGGER queue_members_touched ON router.tickets;
CREATE TRIGGER queue_members_inserted AFTER INSERT ON router.tickets
    REFERENCING NEW TABLE AS queue_members_new
    FOR EACH STATEMENT EXECUTE FUNCTION router.queue_members_write();
CREATE TRIGGER queue_members_updated AFTER UPDATE ON router.tickets
    REFERENCING NEW TABLE AS queue_members_new
    FOR EACH STATEMENT EXECUTE FUNCTION router.queue_members_write();

CREATE OR REPLACE FUNCTION router.queue_members_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM router.queue_members WHERE ticket_id = OLD.id;
    RETURN NULL;
END;
$$;
DROP FUNCTION router.queue_members_insert();
DROP FUNCTION router.queue_members_touch();
DROP FUNCTION router.queue_members_put(router.tickets[]);
