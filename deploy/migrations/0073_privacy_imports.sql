-- A customer a CRM imported is erased with their import.
--
-- customer.imported names its customer by handles only (no customer_id in
-- the envelope: the router places it, services/router/import.h), so
-- router.erase (0071) found no import among a customer's events, and the
-- import's name, phone, e-mail and attributes stayed readable in the log
-- after the erasure (and came back with a rebuild). The router now records
-- where each import went, and router.erase destroys those imports' data
-- keys with the customer's other events'.
--
-- XXX: imports the router applied before this migration have no row: an
-- erasure reaches them only after a rebuild of the router (router.reset(),
-- README "Running two of each"), which fills the table from the log.
CREATE TABLE router.imports (
    event_id    uuid PRIMARY KEY,
    customer_id uuid NOT NULL
);
CREATE INDEX imports_customer ON router.imports (customer_id);

-- 0071's, with the imports.
CREATE OR REPLACE FUNCTION router.erase(p_customer uuid)
RETURNS TABLE (customer_ids uuid[], keys_destroyed bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
    v_keys bigint;
BEGIN
    SELECT array_agg(c.id ORDER BY c.id) INTO v_ids FROM router.customers c
     WHERE c.id = p_customer OR c.merged_into = p_customer;
    IF v_ids IS NULL OR NOT p_customer = ANY (v_ids) THEN
        RETURN QUERY SELECT NULL::uuid[], 0::bigint;
        RETURN;
    END IF;
    WITH ev AS (
        SELECT e.event_id FROM eventlog.events e WHERE e.customer_id = ANY (v_ids)
        UNION
        SELECT e.event_id FROM eventlog.events e
         WHERE e.ticket_id IN (SELECT t.id FROM router.tickets t
                                WHERE t.customer_id = ANY (v_ids))
        UNION
        SELECT m.event_id FROM router.messages m WHERE m.customer_id = ANY (v_ids)
        UNION
        SELECT i.event_id FROM router.imports i WHERE i.customer_id = ANY (v_ids)
    ), d AS (
        DELETE FROM privacy.datakeys k USING ev WHERE k.event_id = ev.event_id RETURNING 1
    )
    SELECT count(*) INTO v_keys FROM d;
    UPDATE router.customers SET name = privacy.redact(name), attributes = '{}'
     WHERE id = ANY (v_ids);
    -- A handle is the customer's own: gone with them (a later contact from
    -- it is a new customer).
    DELETE FROM router.identities WHERE customer_id = ANY (v_ids);
    UPDATE router.messages SET text = privacy.redact(text), subject = privacy.redact(subject),
                               recipient = privacy.redact(recipient)
     WHERE customer_id = ANY (v_ids);
    -- The words of the texts that classified and prioritised the tickets
    -- go with the texts; the category and priority stay.
    UPDATE router.tickets SET subject = privacy.redact(subject),
                              category_phrase = privacy.redact(category_phrase),
                              urgent_word = privacy.redact(urgent_word)
     WHERE customer_id = ANY (v_ids);
    RETURN QUERY SELECT v_ids, v_keys;
END;
$$;
