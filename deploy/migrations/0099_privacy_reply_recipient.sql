-- An erased customer's replies read "[erased]" as their recipient, also
-- those sent without one.
--
-- router.erase (0095) redacted a reply's recipient with privacy.redact,
-- which leaves an empty one empty. A rebuild of the router reads the
-- erased customer's contacts with "[erased]" where their handles were, so
-- it addresses a reply sent before the erasure to nobody (recipient '',
-- route.c emit_outbound) where the live router had addressed it to the
-- handle: after the erasure the live row read "[erased]" and the rebuilt
-- one ''. Now every reply of the customer's (recipient not NULL: the
-- messages the router sent) reads "[erased]" after it, in both. Inbound
-- messages and notes keep a NULL recipient. The rows of customers erased
-- before it are mended at the end.

-- 0095's, with the recipient of every reply redacted.
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
                               recipient = CASE WHEN recipient IS NOT NULL THEN privacy.erased() END,
                               attachments = privacy.redact_attachments(attachments)
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

-- The customers erased before this migration: their replies sent without a
-- recipient read "[erased]" too, as a rebuild now makes them (the log's
-- customer.erased names the customer asked for; router.erase erased it and
-- those merged into it). One pass over router.messages.
UPDATE router.messages m SET recipient = privacy.erased()
  FROM router.customers c
 WHERE m.recipient = '' AND c.id = m.customer_id
   AND EXISTS (SELECT 1 FROM eventlog.events e
                WHERE e.customer_id IN (c.id, c.merged_into) AND e.type = 'customer.erased');
