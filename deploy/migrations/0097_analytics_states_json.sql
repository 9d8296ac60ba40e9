-- The tickets' and customers' states are kept as json (their text as
-- carebus-analytics wrote it: services/analytics/rows.c, compact with
-- sorted keys) rather than jsonb: the live path writes every changed
-- ticket's state each batch and reads it back as text only, and jsonb
-- parsed each one on the way in and printed it on the way out (the
-- costliest part of writing a ticket's row). Rows written before keep
-- jsonb's spelling of the same JSON until next written; a rebuild spells
-- them as the live path does.
ALTER TABLE analytics.tickets ALTER COLUMN state TYPE json USING state::json;
ALTER TABLE analytics.customers ALTER COLUMN state TYPE json USING state::json;

-- As 0071's, on json; it now returns the tickets whose states it
-- redacted, with their new text (jsonb's spelling), which analytics then
-- writes in its own (services/analytics/store.c), so that the state after
-- an erasure is the text a rebuild writes.
DROP FUNCTION analytics.erase(uuid[]);
CREATE FUNCTION analytics.erase(p_ids uuid[]) RETURNS TABLE (ticket_id uuid, state text)
LANGUAGE sql AS $$
    UPDATE analytics.surveys SET comment = privacy.redact(comment)
     WHERE customer_id = ANY (p_ids);
    UPDATE analytics.tickets t
       SET state = jsonb_set(t.state::jsonb, '{sv}', (
           SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.e -> 6) = 'string'
                                          THEN jsonb_set(x.e, '{6}',
                                                         to_jsonb(privacy.redact(x.e ->> 6)))
                                          ELSE x.e END ORDER BY x.o), '[]'::jsonb)
             FROM jsonb_array_elements(t.state::jsonb -> 'sv') WITH ORDINALITY AS x (e, o)))::json
     WHERE t.customer_id = ANY (p_ids) AND json_typeof(t.state -> 'sv') = 'array'
    RETURNING t.ticket_id, t.state::text;
$$;
