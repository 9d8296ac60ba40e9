-- eventlog.append with the payloads (and data keys) as bytea[] parameters,
-- sent in binary by services/libcarebus/eventlog.c, beside the rows' other
-- columns as JSON.
--
-- 0088's rows form carries each payload inside the JSON as "\\x..." hex: the
-- server lexes every hex digit (copied character by character) and decodes
-- it again, about three quarters of the document being payload. Here the
-- payloads arrive as their bytes (array_recv) and the JSON holds only the
-- small columns. p_payloads[i] and p_datakeys[i] belong to the i-th element
-- of p_rows (a NULL data key: nothing sealed), zipped with it by ROWS FROM
-- (an array subscript per row would walk the array from its start each
-- time); arrays of another length are refused. Everything else is 0088's statement, unchanged: the stream's row
-- lock first, per-row probes of the log's unique indexes, duplicates (in the
-- log or earlier in the batch) returned with the first one's id and seq,
-- recorded_at growing with seq, a fresh row's data key in privacy.datakeys.
--
-- 0088's rows-only form (courier's statement and scripts use it) calls this
-- one from 0089 on: on a new database 0088 runs after this migration and
-- redefines it with a body of its own, which 0089 then replaces.
CREATE OR REPLACE FUNCTION eventlog.append(p_stream text, p_rows json, p_payloads bytea[],
                                           p_datakeys bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
BEGIN
    IF json_array_length(p_rows) IS DISTINCT FROM coalesce(cardinality(p_payloads), 0)
       OR json_array_length(p_rows) IS DISTINCT FROM coalesce(cardinality(p_datakeys), 0) THEN
        RAISE EXCEPTION 'eventlog.append: % rows but % payloads and % data keys',
            json_array_length(p_rows), cardinality(p_payloads), cardinality(p_datakeys);
    END IF;
    SELECT s.last_seq INTO v_last FROM eventlog.streams s
        WHERE s.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO eventlog.streams (stream) VALUES (p_stream) ON CONFLICT DO NOTHING;
        SELECT s.last_seq INTO v_last FROM eventlog.streams s
            WHERE s.stream = p_stream FOR UPDATE;
    END IF;

    RETURN QUERY
    WITH input AS (
        SELECT t.i::int AS i, t.event_id AS id, t.type, t.idem_scope AS scope,
               t.idem_key AS key, t.occurred_at AS occ, t.customer_id AS cust,
               t.ticket_id AS tick, t.payload, t.datakey
          FROM ROWS FROM (json_to_recordset(p_rows)
                          AS (event_id uuid, type text, idem_scope text, idem_key text,
                              occurred_at timestamptz, customer_id uuid, ticket_id uuid),
                          unnest(p_payloads), unnest(p_datakeys)) WITH ORDINALITY
               AS t (event_id, type, idem_scope, idem_key, occurred_at, customer_id,
                     ticket_id, payload, datakey, i)
    ), marked AS (
        -- A null key is its own group: it repeats nothing.
        SELECT n.*, coalesce(ek.event_id, ei.event_id) AS old_id,
               coalesce(ek.seq, ei.seq) AS old_seq,
               coalesce(ek.recorded_at, ei.recorded_at) AS old_recorded,
               row_number() OVER (PARTITION BY n.scope, n.key,
                                  CASE WHEN n.key IS NULL THEN n.i END
                                  ORDER BY n.i) = 1 AS first
          FROM input n
          LEFT JOIN LATERAL (SELECT e.event_id, e.seq, e.recorded_at FROM eventlog.events e
                              WHERE n.key IS NOT NULL AND e.idem_scope = n.scope
                                AND e.idem_key = n.key
                              LIMIT 1) ek ON true
          LEFT JOIN LATERAL (SELECT e.event_id, e.seq, e.recorded_at FROM eventlog.events e
                              WHERE e.event_id = n.id
                              LIMIT 1) ei ON true
    ), numbered AS MATERIALIZED (
        SELECT m.*, (m.old_id IS NULL AND m.first) AS fresh,
               CASE WHEN m.old_id IS NULL AND m.first THEN
                   v_last + count(*) FILTER (WHERE m.old_id IS NULL AND m.first)
                                      OVER (ORDER BY m.i)
               END AS new_seq,
               CASE WHEN m.old_id IS NULL AND m.first THEN clock_timestamp() END AS rec
          FROM marked m
    ), ins AS (
        INSERT INTO eventlog.events AS e (stream, seq, event_id, type, idem_scope, idem_key,
                                          occurred_at, recorded_at, customer_id, ticket_id,
                                          payload)
        SELECT p_stream, n.new_seq, n.id, n.type, n.scope, n.key, n.occ, n.rec, n.cust,
               n.tick, n.payload
          FROM numbered n WHERE n.fresh
    ), k AS (
        INSERT INTO privacy.datakeys (event_id, wrapped)
        SELECT n.id, n.datakey FROM numbered n WHERE n.fresh AND n.datakey IS NOT NULL
    ), upd AS (
        UPDATE eventlog.streams s
           SET last_seq = (SELECT max(n.new_seq) FROM numbered n WHERE n.fresh)
         WHERE s.stream = p_stream AND EXISTS (SELECT 1 FROM numbered n WHERE n.fresh)
    ), resolved AS (
        -- A repeat within the batch gets its group's first row (when that
        -- one is fresh: one found in the log gives its repeats the same).
        SELECT n.i, n.old_id, n.old_seq, n.old_recorded, n.fresh,
               first_value(CASE WHEN n.fresh THEN n.id END) OVER w AS g_id,
               first_value(n.new_seq) OVER w AS g_seq,
               first_value(n.rec) OVER w AS g_rec
          FROM numbered n
        WINDOW w AS (PARTITION BY n.scope, n.key, CASE WHEN n.key IS NULL THEN n.i END
                     ORDER BY n.i)
    )
    SELECT r.i, coalesce(r.old_id, r.g_id), coalesce(r.old_seq, r.g_seq),
           coalesce(r.old_recorded, r.g_rec), NOT r.fresh
      FROM resolved r
     ORDER BY r.i;
END;
$$;
