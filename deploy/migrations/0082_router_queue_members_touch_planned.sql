-- router: the joined contacts' touch of router.queue_members (0016) costs
-- one look-up per ticket of the statement, planned for the rows it has.
--
-- 0016's statement joined the statement's new rows to queue_members by key
-- and also required "ticket_id = ANY (every key of the statement)", meant to
-- make the look-up an index probe whatever the statistics. PL/pgSQL plans a
-- statement without parameters once a session (a generic plan) with the
-- sizes of that moment: a router started on a young database (a few rows in
-- the transition table and in queue_members) kept a nested loop whose inner
-- index scan carried both conditions, so every one of the n probes sorted
-- the n keys of the array again: n^2 log n per statement. In the pipeline
-- bench a batch of 250 tickets spent 50 ms there, and a batch of 6,672 (the
-- router behind after slower batches, a catch-up) 23 s: the router fell
-- further behind with each batch.
--
-- The statement is now run by EXECUTE, so planned at each call for the
-- transition table's real row count and the table's size (its pages now,
-- rows per page of its last ANALYZE), and it joins by key alone: each row
-- of the statement finds its queue_members row by one probe of the primary
-- key. Hash and merge joins are off while the function runs (its SET
-- clauses; the caller's settings are back once it returns): with them the
-- planner's default costs preferred hashing the whole of queue_members
-- (40,000 rows) to probing it for a batch of 250 (16 ms against 1 ms), and
-- the nested loops left cost the statement's rows times the table's
-- (either way round) but the probes, so a probe is what it picks unless
-- the table is a few rows. Measured on a table grown from 300 rows to
-- 40,000 after the session's first touch of 2 rows (as a router started on
-- a young database sees it), the ticket update with its touch of 250,
-- 1,000 and 4,000 rows: 14, 240 and 5,200 ms before, 8, 30 and 90 ms now.
-- Planning costs ~0.1 ms a statement, once a batch. The rows written are
-- the same, so a rebuild still ends equal.
CREATE OR REPLACE FUNCTION router.queue_members_touch() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
    EXECUTE 'UPDATE router.queue_members m SET updated_at = n.updated_at
               FROM queue_members_new n
              WHERE m.ticket_id = n.id AND m.updated_at IS DISTINCT FROM n.updated_at';
    RETURN NULL;
END;
$$;
