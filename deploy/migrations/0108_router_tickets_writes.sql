-- router: fewer index entries per ticket written (the router's writes,
-- services/router/store.c). Write-side only: no read changes its plan.
--
-- An insert of a ticket, and each update of it that is not HOT, writes an
-- entry in every index of router.tickets whose predicate the row meets: 8
-- for an open assigned ticket, 9 for a queued one. Index inserts were some
-- 40 % of the router's PostgreSQL CPU (tests/bench/20-router.part.sh).
--
-- The opening event's uniqueness (0003) is an index no statement reads
-- (GET /v1/tickets, the desk, the router, analytics, survey, the privacy
-- jobs: none looks a ticket up by opened_event_id), and the key already
-- holds it: a ticket's id is derived from its opening event's id (route.c,
-- id_derive2), so two tickets opened by one event would have one id. Its
-- entry was one of the 8, a random uuid (a leaf page at a random place).
ALTER TABLE router.tickets DROP CONSTRAINT tickets_opened_event_id_key;

-- Room for a row's next versions on its page. A contact joining a ticket
-- changes no indexed column, but its update is HOT only when the new
-- version fits on the old one's page; the versions before it leave a page
-- only once no transaction may still see them, so a ticket updated in
-- consecutive batches needs room for two. With 60 % full pages (0003), a
-- third of those updates in the router's catch-up found none and wrote
-- every entry again (30,000 contacts of 10,000 customers: 6,616 of 20,000
-- updates HOT, 10,000 of the others changing the priority, an indexed
-- column); at 50 % every one is HOT (10,000; live, 20,000 of 30,000 rather
-- than 13,400). The table is a fifth larger (1,000,000 tickets: 414 ->
-- 501 MB); the lists read it through their indexes, a page per ticket as
-- before (tests/bench/lists.py's lists: 1,073,281 and 1,064,255 pages of
-- the table read). Pages written before keep their fill until rewritten.
ALTER TABLE router.tickets SET (fillfactor = 50);
