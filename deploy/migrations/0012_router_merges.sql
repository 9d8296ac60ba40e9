-- router: merges a person asks for (two tickets, two customers), unmerges,
-- and customers from a CRM (services/router/merge.h, unmerge.h, import.h).
--
-- A merge can be undone because nothing is forgotten by it: every handle
-- keeps the customer it was first known with (identities.origin_customer_id)
-- and every ticket the customer whose handle opened it
-- (tickets.opened_by_customer_id). A handle and a ticket always belong to
-- the survivor of their origin; router.merges keeps who was merged into
-- whom, so an unmerge gives a customer back what its own merges brought
-- (C merged into B before B was merged into A comes back with B). A merged
-- ticket's messages and notes remember the ticket they were filed on
-- (home_ticket_id, NULL while they are there) and router.ticket_merges
-- which ticket joined which, so that an unmerge also takes apart the ticket
-- merges that would otherwise join two customers.
--
-- Existing rows are backfilled with what is known now (a handle's and a
-- ticket's current customer, no homes, no ticket merges): merges made
-- before this migration unmerge with only that; a rebuild from the log
-- (router.reset(), then a restart) restores the full history. The router
-- always writes the two origins; they stay nullable for rows others load
-- (fixtures, benches): NULL stays with the customer it is filed under.

ALTER TABLE router.identities ADD COLUMN origin_customer_id uuid;
UPDATE router.identities SET origin_customer_id = customer_id;
-- Only the handles that moved with a merge are indexed: the unmerge looks
-- them up, nothing else does, and most handles never move.
CREATE INDEX identities_origin ON router.identities (origin_customer_id)
    WHERE origin_customer_id <> customer_id;

ALTER TABLE router.tickets ADD COLUMN opened_by_customer_id uuid;
UPDATE router.tickets SET opened_by_customer_id = customer_id;
CREATE INDEX tickets_opened_by ON router.tickets (opened_by_customer_id)
    WHERE opened_by_customer_id <> customer_id;

ALTER TABLE router.messages ADD COLUMN home_ticket_id uuid;
CREATE INDEX messages_home ON router.messages (home_ticket_id) WHERE home_ticket_id IS NOT NULL;
ALTER TABLE router.notes ADD COLUMN home_ticket_id uuid;
CREATE INDEX notes_home ON router.notes (home_ticket_id) WHERE home_ticket_id IS NOT NULL;

-- A person's merge: who and why (NULL: a contact or an import revealed
-- it). contact_event_id is then the request's event. A row is deleted when
-- its merge is undone, so that the customer may be merged again.
ALTER TABLE router.merges ADD COLUMN actor text, ADD COLUMN reason text;
CREATE INDEX merges_survivor ON router.merges (survivor_id);

-- One row per ticket merged into another, as it was merged (target_id is
-- the ticket it joined then; tickets.merged_into follows chains to the
-- end). cause_id: the event that merged it (a contact that merged two
-- customers, a customer.merge_requested, a ticket.merge_requested); actor
-- set when a person did. Deleted when an unmerge undoes it.
CREATE TABLE router.ticket_merges (
    source_id uuid PRIMARY KEY REFERENCES router.tickets (id),
    target_id uuid        NOT NULL REFERENCES router.tickets (id),
    cause_id  uuid        NOT NULL,
    actor     text,
    reason    text,
    at        timestamptz NOT NULL
);
CREATE INDEX ticket_merges_target ON router.ticket_merges (target_id);

-- One row per unmerge applied (customer.unmerge_requested, event_id). A
-- contact that names handles of two customers kept apart by an unmerge (or
-- of the customers they are merged into since) merges nobody; a person may
-- (customer.merge_requested).
CREATE TABLE router.unmerges (
    event_id    uuid PRIMARY KEY,
    merged_id   uuid        NOT NULL REFERENCES router.customers (id),
    survivor_id uuid        NOT NULL REFERENCES router.customers (id),
    actor       text,
    reason      text,
    at          timestamptz NOT NULL
);
CREATE INDEX unmerges_merged ON router.unmerges (merged_id);

-- The timeline's notes of an unmerge. (A later migration may replace this
-- list with a check of the spelling alone.)
ALTER TABLE router.notes DROP CONSTRAINT IF EXISTS notes_kind_check;
ALTER TABLE router.notes ADD CONSTRAINT notes_kind_check
    CHECK (kind IN ('customer.merged', 'ticket.merged', 'ticket.transferred', 'ticket.reopened',
                    'ticket.escalated', 'customer.unmerged', 'ticket.unmerged'));

-- Forgets everything the router derived, and its offsets, so that the next
-- start rebuilds it from the log (the rebuild equals the live state). Every
-- table of the schema is derived, so the list is the schema's: a table
-- added later is wiped without another version of this function.
CREATE OR REPLACE FUNCTION router.reset() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', schemaname, tablename), ', ')
               FROM pg_tables WHERE schemaname = 'router');
    DELETE FROM eventlog.offsets WHERE consumer = 'router';
END
$$;
