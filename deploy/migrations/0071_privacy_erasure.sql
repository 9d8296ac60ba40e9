-- Erasing a customer: their events' data keys destroyed, their rows redacted.
--
-- The router runs router.erase for customer.erasure_requested, in its
-- consumer's transaction (services/router/erase.c), and announces the
-- customers it erased with customer.erased; every other service runs its
-- schema's erase function for that event in its own consumer's transaction.
-- So an erasure is applied once per service, also across a kill -9, and a
-- rebuild from the log reads the same: the destroyed keys make the events'
-- personal fields read privacy.erased(), the text every redacted column
-- gets. Counts, times, scores and ids stay: the reports do not change.

-- What a redacted field reads: datakey.h's DATAKEY_ERASED (a unit test
-- compares them).
CREATE FUNCTION privacy.erased() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '[erased]'::text $$;

-- v, redacted: NULL and '' stay as they are (nothing was there).
CREATE FUNCTION privacy.redact(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR v = '' THEN v ELSE privacy.erased() END
$$;

-- The customer and every customer merged into it; their events' data keys
-- (the events naming them or their tickets, and the contacts the router
-- put on their history) deleted; the router's rows redacted. Returns the
-- customers erased (NULL for an unknown customer) and how many keys went.
CREATE FUNCTION router.erase(p_customer uuid)
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

-- The survey service's rows of these customers: where the invitation went,
-- its text, the answers' comments (scores and times stay).
CREATE FUNCTION survey.erase(p_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE survey.answers a SET comment = privacy.redact(a.comment)
      FROM survey.surveys s WHERE s.id = a.survey_id AND s.customer_id = ANY (p_ids);
    UPDATE survey.surveys SET handle = privacy.redact(handle), text = privacy.redact(text)
     WHERE customer_id = ANY (p_ids);
$$;

-- courier's deliveries to these customers, once done: the recipient, the
-- message, a webhook's body. XXX: a delivery still pending or being sent
-- keeps them until courier is done with it (its engine owns those rows);
-- a later erasure of the same customer redacts it.
CREATE FUNCTION courier.erase(p_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE courier.deliveries
       SET recipient = privacy.redact(recipient), body = privacy.redact(body), message = NULL
     WHERE customer_id = ANY (p_ids) AND status IN ('sent', 'failed');
$$;

-- analytics' survey rows (bi.surveys' comments), and the comments in the
-- tickets' states: "sv" holds a ticket's surveys, each an array whose 7th
-- element is the comment (services/analytics/model.c, model_ticket_json).
CREATE FUNCTION analytics.erase(p_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE analytics.surveys SET comment = privacy.redact(comment)
     WHERE customer_id = ANY (p_ids);
    UPDATE analytics.tickets t
       SET state = jsonb_set(t.state, '{sv}', (
           SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.e -> 6) = 'string'
                                          THEN jsonb_set(x.e, '{6}',
                                                         to_jsonb(privacy.redact(x.e ->> 6)))
                                          ELSE x.e END ORDER BY x.o), '[]'::jsonb)
             FROM jsonb_array_elements(t.state -> 'sv') WITH ORDINALITY AS x (e, o)))
     WHERE t.customer_id = ANY (p_ids) AND jsonb_typeof(t.state -> 'sv') = 'array';
$$;
