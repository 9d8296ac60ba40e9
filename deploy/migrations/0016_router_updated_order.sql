-- router: the "updated" order of GET /v1/tickets (newest activity first;
-- services/channel-ingest/tickets_list.c) through indexes, without an index
-- on router.tickets.updated_at.
--
-- Every contact that joins a ticket changes its updated_at; an index on that
-- column (even a partial or BRIN one: PostgreSQL 15 compares every indexed
-- column to decide) would turn each of those HOT updates, which write no
-- index entry, into one that writes an entry in every index of the table.
-- So the order is kept in two places that the common update leaves alone:
--   - an active ticket (open or pending) by router.queue_members.updated_at,
--     a copy its triggers keep: the joined contact's update costs one row
--     of that small table and two entries of its indexes, not fifteen;
--   - a settled one (solved or closed) by router.tickets.settled_at, a
--     stored column the database computes: its update time while settled,
--     NULL while active, so an active ticket's update leaves it (NULL) and
--     stays HOT; a settled ticket changes rarely (a tag, a close).
-- Every ticket is in exactly one of the two (status is one of the four), and
-- both are pure functions of router.tickets, so a rebuild still ends equal.
-- The list reads the newest of each and merges them.

ALTER TABLE router.queue_members ADD COLUMN updated_at timestamptz;
UPDATE router.queue_members m SET updated_at = t.updated_at
  FROM router.tickets t WHERE t.id = m.ticket_id;
ALTER TABLE router.queue_members ALTER COLUMN updated_at SET NOT NULL;
COMMENT ON COLUMN router.queue_members.updated_at IS 'the ticket''s updated_at';
CREATE INDEX queue_members_updated ON router.queue_members (updated_at, ticket_id);

-- The row triggers of 0014 (assignments, statuses, inserts) write the
-- column with the rest; its WHEN still ignores updated_at, so that a joined
-- contact does not run this per row.
CREATE OR REPLACE FUNCTION router.queue_members_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.status NOT IN ('open', 'pending') THEN
        DELETE FROM router.queue_members WHERE ticket_id = OLD.id;
    ELSE
        INSERT INTO router.queue_members AS m
               (ticket_id, team, assignee, status, queued_at, held_at, updated_at)
        VALUES (NEW.id, NEW.team, NEW.assignee, NEW.status, NEW.queued_at,
                coalesce(NEW.assigned_at, NEW.created_at), NEW.updated_at)
        ON CONFLICT (ticket_id) DO UPDATE
           SET team = excluded.team, assignee = excluded.assignee, status = excluded.status,
               queued_at = excluded.queued_at, held_at = excluded.held_at,
               updated_at = excluded.updated_at;
    END IF;
    RETURN NULL;
END;
$$;

-- The joined contacts: once per statement (the router updates a batch's
-- tickets in one), set-based, after the row triggers. The look-up is by key
-- ("= ANY(array)": an index probe whatever the statistics of a table that a
-- burst outgrows), and rows whose time did not change are left alone.
CREATE FUNCTION router.queue_members_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE router.queue_members m SET updated_at = n.updated_at
      FROM queue_members_new n
     WHERE m.ticket_id = ANY (ARRAY(SELECT x.id FROM queue_members_new x))
       AND n.id = m.ticket_id AND m.updated_at IS DISTINCT FROM n.updated_at;
    RETURN NULL;
END;
$$;
CREATE TRIGGER queue_members_touched AFTER UPDATE ON router.tickets
    REFERENCING NEW TABLE AS queue_members_new
    FOR EACH STATEMENT EXECUTE FUNCTION router.queue_members_touch();

ALTER TABLE router.tickets ADD COLUMN settled_at timestamptz
    GENERATED ALWAYS AS (CASE WHEN status IN ('solved', 'closed') THEN updated_at END) STORED;
COMMENT ON COLUMN router.tickets.settled_at IS
    'updated_at while solved or closed, else NULL (the "updated" order''s index; 0016)';
CREATE INDEX tickets_list_settled ON router.tickets (settled_at, id) WHERE settled_at IS NOT NULL;
