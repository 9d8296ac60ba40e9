-- eventlog.append takes its batch as rows: one JSON array of objects keyed
-- by eventlog.events' column names (event_id, type, idem_scope, idem_key,
-- occurred_at, customer_id, ticket_id, payload as "\x..." hex), the one way
-- every service hands a batch to PostgreSQL (services/libcarebus/rowset.h;
-- the C side's description is eventlog.c's).
--
-- The rows become the parallel arrays of 0001's eventlog.append, which
-- stays the one implementation: planned for each call, its unnest() of
-- constant arrays is estimated at the batch's true size, which keeps its
-- joins hashed. A json_to_recordset() there is estimated at 100 rows
-- whatever the batch, and a batch of 1,000 then took five times as long.
CREATE FUNCTION eventlog.append(p_stream text, p_rows json)
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
    v_types text[];
    v_scopes text[];
    v_keys text[];
    v_occurred timestamptz[];
    v_customers uuid[];
    v_tickets uuid[];
    v_payloads bytea[];
BEGIN
    SELECT coalesce(array_agg(t.event_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.type ORDER BY t.i), '{}'),
           coalesce(array_agg(t.idem_scope ORDER BY t.i), '{}'),
           coalesce(array_agg(t.idem_key ORDER BY t.i), '{}'),
           coalesce(array_agg(t.occurred_at ORDER BY t.i), '{}'),
           coalesce(array_agg(t.customer_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.ticket_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.payload ORDER BY t.i), '{}')
      INTO v_ids, v_types, v_scopes, v_keys, v_occurred, v_customers, v_tickets, v_payloads
      FROM ROWS FROM (json_to_recordset(p_rows)
                      AS (event_id uuid, type text, idem_scope text, idem_key text,
                          occurred_at timestamptz, customer_id uuid, ticket_id uuid,
                          payload bytea)) WITH ORDINALITY
           AS t (event_id, type, idem_scope, idem_key, occurred_at, customer_id, ticket_id,
                 payload, i);
    RETURN QUERY SELECT * FROM eventlog.append(p_stream, v_ids, v_types, v_scopes, v_keys,
                                               v_occurred, v_customers, v_tickets, v_payloads);
END;
$$;
