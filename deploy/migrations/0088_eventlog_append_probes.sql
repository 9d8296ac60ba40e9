-- eventlog.append in one statement over its rows, whatever the log's size.
--
-- 0070's rows form turned the JSON into arrays (nine sorted aggregates) for
-- 0001's statement, whose duplicate checks were joins that the planner
-- hashed for a batch of a few hundred rows or more: two sequential scans of
-- all of eventlog.events per batch, so an append cost more the longer the
-- log grew (a 10,000-row batch against a 214,000-row log: 546 ms, 283 of
-- them scanning the log). Here each row probes the log's two unique indexes
-- (LATERAL ... LIMIT 1 is never turned into a join), and the batch's own
-- repeats, numbering and outcomes are window functions over the rows in
-- their order: no join of the batch with itself, so no plan depends on an
-- estimate of the batch's size, and the rows are read from the JSON once.
--
-- Unchanged: the stream's row lock is taken first, in its own statement, so
-- the second starts with a snapshot that sees every key a concurrent
-- appender committed before releasing it; an element whose (scope, key) or
-- event id is in the log, or whose key repeats an earlier element, is not
-- inserted and comes back as a duplicate with the first one's id and seq;
-- a fresh row's "datakey" goes to privacy.datakeys in the same statement.
-- recorded_at is given per row (clock_timestamp(), the column's default)
-- rather than read back from the insert, taken as the rows are numbered in
-- their order: it grows with seq within a batch, as 0085 made it.
CREATE OR REPLACE FUNCTION eventlog.append(p_stream text, p_rows json)
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
BEGIN
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
                              occurred_at timestamptz, customer_id uuid, ticket_id uuid,
                              payload bytea, datakey bytea)) WITH ORDINALITY
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

-- 0001's arrays form (0085's body; integrators' and tests' scripts call it) appends
-- through the rows form above, the one implementation.
CREATE OR REPLACE FUNCTION eventlog.append(
    p_stream text, p_ids uuid[], p_types text[], p_scopes text[], p_keys text[],
    p_occurred timestamptz[], p_customers uuid[], p_tickets uuid[], p_payloads bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE sql AS $$
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate
      FROM eventlog.append(p_stream, (
               SELECT coalesce(json_agg(json_build_object(
                          'event_id', t.id, 'type', t.type, 'idem_scope', t.scope,
                          'idem_key', t.key, 'occurred_at', t.occ, 'customer_id', t.cust,
                          'ticket_id', t.tick, 'payload', t.payload) ORDER BY t.i), '[]')
                 FROM unnest(p_ids, p_types, p_scopes, p_keys, p_occurred, p_customers,
                             p_tickets, p_payloads) WITH ORDINALITY
                      AS t (id, type, scope, key, occ, cust, tick, payload, i))) a
$$;
