-- router: the open and pending tickets as GET /v1/queues counts them
-- (services/channel-ingest/queues.c), kept beside router.tickets.
--
-- /v1/queues read every active ticket of router.tickets: one heap page per
-- ticket, the active ones being spread over the whole table (tens of
-- milliseconds at ten thousand of them). router.queue_members holds their
-- few columns the counts need, densely, so the counts are one scan of a
-- small table. Triggers on router.tickets keep it, in the transaction that
-- writes the tickets (the router's). A pure function of router.tickets, so
-- a rebuild (router.reset() truncates every table of the schema, this one
-- too) ends equal, and it needs no event of its own.
CREATE TABLE router.queue_members (
    ticket_id uuid PRIMARY KEY,
    team      text,
    assignee  text,
    status    text NOT NULL, -- open or pending
    queued_at timestamptz,
    held_at   timestamptz NOT NULL
);
COMMENT ON TABLE router.queue_members IS
    'The open and pending tickets of router.tickets: what GET /v1/queues counts (kept by triggers).';
COMMENT ON COLUMN router.queue_members.held_at IS
    'since when its assignee holds it: assigned_at, else created_at';

-- Row triggers whose WHEN is checked by the executor before anything runs:
-- an update that leaves the queue's columns alone (a contact joining a
-- ticket, the commonest) costs nothing more; one that changes them (an
-- assignment, a status) one statement here, beside the index entries
-- such an update writes anyway.
CREATE FUNCTION router.queue_members_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.status NOT IN ('open', 'pending') THEN
        DELETE FROM router.queue_members WHERE ticket_id = OLD.id;
    ELSE
        INSERT INTO router.queue_members AS m
        VALUES (NEW.id, NEW.team, NEW.assignee, NEW.status, NEW.queued_at,
                coalesce(NEW.assigned_at, NEW.created_at))
        ON CONFLICT (ticket_id) DO UPDATE
           SET team = excluded.team, assignee = excluded.assignee, status = excluded.status,
               queued_at = excluded.queued_at, held_at = excluded.held_at;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER queue_members_inserted AFTER INSERT ON router.tickets
    FOR EACH ROW WHEN (NEW.status IN ('open', 'pending'))
    EXECUTE FUNCTION router.queue_members_sync();
CREATE TRIGGER queue_members_updated AFTER UPDATE ON router.tickets
    FOR EACH ROW
    WHEN ((OLD.team, OLD.assignee, OLD.status, OLD.queued_at, OLD.assigned_at, OLD.created_at)
          IS DISTINCT FROM
          (NEW.team, NEW.assignee, NEW.status, NEW.queued_at, NEW.assigned_at, NEW.created_at))
    EXECUTE FUNCTION router.queue_members_sync();
CREATE TRIGGER queue_members_deleted AFTER DELETE ON router.tickets
    FOR EACH ROW WHEN (OLD.status IN ('open', 'pending'))
    EXECUTE FUNCTION router.queue_members_sync();

INSERT INTO router.queue_members
SELECT id, team, assignee, status, queued_at, coalesce(assigned_at, created_at)
  FROM router.tickets WHERE status IN ('open', 'pending');
