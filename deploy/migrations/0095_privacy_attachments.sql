-- Erasing a customer reaches their messages' attachments.
--
-- The router keeps each message's attachments as the timeline shows them
-- (router.messages.attachments: [{name, content_type, size, url,
-- media_id}], empty fields left out; services/router/route.c,
-- attachments_json), in plain text, and router.erase (0071, 0073) left
-- them: an erased customer's file names, URLs and provider media ids stayed
-- readable in router.messages, on GET /v1/tickets/{id}, its timeline pages
-- and the export, all of which read that column. Now they read "[erased]",
-- as the texts do.
--
-- What is redacted is what the log seals (services/libcarebus/personal.c:
-- an attachment's name, url and media_id); content_type and size stay, as
-- counts and times do, so the desk still shows a file of that type and size
-- on the message. A field that was not there stays absent. That is exactly
-- what a rebuild of the router reads from the log once the events' data
-- keys are gone (each sealed field opens as "[erased]", an empty one is not
-- sealed and attachments_json leaves it out), so the rebuilt router equals
-- the live one. The rows are the ones whose text is redacted: the
-- customer's contacts, and the replies and notes on their tickets (all
-- carry the customer's id).
--
-- Other copies: router.notes holds no attachment; courier.erase (0071)
-- already drops a done delivery's message (where a reply's attachments
-- travel), and 0072 gives up pending ones; analytics and survey keep none.

-- a, an attachments array, with each element's name, url and media_id
-- redacted (privacy.redact); NULL and anything not an array as they are.
CREATE FUNCTION privacy.redact_attachments(a jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(a) IS DISTINCT FROM 'array' THEN a ELSE (
        SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.e) = 'object' THEN
                   x.e || jsonb_strip_nulls(jsonb_build_object(
                       'name', to_jsonb(privacy.redact(x.e ->> 'name')),
                       'url', to_jsonb(privacy.redact(x.e ->> 'url')),
                       'media_id', to_jsonb(privacy.redact(x.e ->> 'media_id'))))
                   ELSE x.e END ORDER BY x.o), '[]'::jsonb)
          FROM jsonb_array_elements(a) WITH ORDINALITY AS x (e, o)) END
$$;

-- 0073's, with the attachments.
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
                               recipient = privacy.redact(recipient),
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
