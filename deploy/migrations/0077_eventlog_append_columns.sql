-- eventlog.append_columns: 0058's append with each of the batch's columns
-- as an array parameter, which services/libcarebus/eventlog.c sends in
-- binary (uuid[], text[], timestamptz[] and bytea[]: array_recv reads the
-- values as they are).
--
-- 0058's form takes the small columns as JSON rows: a profile of
-- channel-ingest's write connection under load (perf, 2-core machine) spent
-- 13% of its CPU in pg_parse_json and json_to_recordset and 4% more in the
-- uuid and timestamptz input functions the rows' text goes through; none of
-- it is left here. The statement is 0058's fast path otherwise, unchanged:
-- the stream's row locked first, outside the block; the batch tried as all
-- fresh, numbered by its order (seq = last_seq + position, recorded_at
-- clock_timestamp() per row in that order), inserted, a fresh row's data key
-- in privacy.datakeys; a unique violation (a key or event id already in the
-- log, or repeated in the batch) rolls the attempt back, and the batch goes
-- through 0056's eventlog.append_checked (its rows built here as JSON), which
-- returns each duplicate with the first one's id, seq and recorded_at.
-- Arrays of different lengths are refused.
--
-- 0058's (json, bytea[], bytea[]) form, which 0089's rows-only form calls,
-- now turns its rows into these arrays and calls this one: the fast path is
-- written once. The columns are named in three places, each reading or
-- writing the rows: here, 0058's form below and append_checked (0056); a
-- new column goes into all three.
CREATE FUNCTION eventlog.append_columns(p_stream text, p_ids uuid[], p_types text[],
                                        p_scopes text[], p_keys text[],
                                        p_occurred timestamptz[], p_customers uuid[],
                                        p_tickets uuid[], p_payloads bytea[],
                                        p_datakeys bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
    v_n int := coalesce(cardinality(p_ids), 0);
    v_recs timestamptz[];
    v_fresh boolean := false;
BEGIN
    IF v_n <> coalesce(cardinality(p_types), 0) OR v_n <> coalesce(cardinality(p_scopes), 0)
       OR v_n <> coalesce(cardinality(p_keys), 0) OR v_n <> coalesce(cardinality(p_occurred), 0)
       OR v_n <> coalesce(cardinality(p_customers), 0)
       OR v_n <> coalesce(cardinality(p_tickets), 0)
       OR v_n <> coalesce(cardinality(p_payloads), 0)
       OR v_n <> coalesce(cardinality(p_datakeys), 0) THEN
        RAISE EXCEPTION 'eventlog.append_columns: arrays of different lengths (% event ids)', v_n;
    END IF;
    SELECT s.last_seq INTO v_last FROM eventlog.streams s
        WHERE s.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO eventlog.streams (stream) VALUES (p_stream) ON CONFLICT DO NOTHING;
        SELECT s.last_seq INTO v_last FROM eventlog.streams s
            WHERE s.stream = p_stream FOR UPDATE;
    END IF;

    IF v_n > 0 THEN
        BEGIN
            WITH input AS MATERIALIZED (
                SELECT t.i::int AS i, t.id, t.type, t.scope, t.key, t.occ, t.cust, t.tick,
                       t.payload, t.datakey, v_last + t.i AS new_seq, clock_timestamp() AS rec
                  FROM unnest(p_ids, p_types, p_scopes, p_keys, p_occurred, p_customers,
                              p_tickets, p_payloads, p_datakeys) WITH ORDINALITY
                       AS t (id, type, scope, key, occ, cust, tick, payload, datakey, i)
            ), ins AS (
                INSERT INTO eventlog.events AS e (stream, seq, event_id, type, idem_scope,
                                                  idem_key, occurred_at, recorded_at,
                                                  customer_id, ticket_id, payload)
                SELECT p_stream, n.new_seq, n.id, n.type, n.scope, n.key, n.occ, n.rec,
                       n.cust, n.tick, n.payload
                  FROM input n
            ), k AS (
                INSERT INTO privacy.datakeys (event_id, wrapped)
                SELECT n.id, n.datakey FROM input n WHERE n.datakey IS NOT NULL
            )
            SELECT array_agg(n.rec ORDER BY n.i) INTO v_recs FROM input n;
            v_fresh := true;
        EXCEPTION WHEN unique_violation THEN
            NULL; /* a duplicate: append_checked finds which */
        END;
    END IF;
    IF v_fresh THEN
        -- Out of the block: updated by the transaction that locked it, the
        -- row needs no MultiXact for the lock and a subtransaction's update.
        UPDATE eventlog.streams s SET last_seq = v_last + v_n WHERE s.stream = p_stream;
        RETURN QUERY
        SELECT t.i::int, t.id, v_last + t.i, t.rec, false
          FROM unnest(p_ids, v_recs) WITH ORDINALITY AS t (id, rec, i);
        RETURN;
    END IF;

    RETURN QUERY
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate
      FROM eventlog.append_checked(p_stream, (
               SELECT coalesce(json_agg(json_build_object(
                          'event_id', t.id, 'type', t.type, 'idem_scope', t.scope,
                          'idem_key', t.key, 'occurred_at', t.occ, 'customer_id', t.cust,
                          'ticket_id', t.tick) ORDER BY t.i), '[]')
                 FROM unnest(p_ids, p_types, p_scopes, p_keys, p_occurred, p_customers,
                             p_tickets) WITH ORDINALITY
                      AS t (id, type, scope, key, occ, cust, tick, i)),
               p_payloads, p_datakeys) a;
END;
$$;

-- 0058's form (JSON rows, payloads and data keys as arrays) through the one
-- above. Rows and arrays of different lengths are refused there.
CREATE OR REPLACE FUNCTION eventlog.append(p_stream text, p_rows json, p_payloads bytea[],
                                           p_datakeys bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE sql AS $$
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate
      FROM (SELECT coalesce(array_agg(t.event_id ORDER BY t.i), '{}') AS ids,
                   coalesce(array_agg(t.type ORDER BY t.i), '{}') AS types,
                   coalesce(array_agg(t.idem_scope ORDER BY t.i), '{}') AS scopes,
                   coalesce(array_agg(t.idem_key ORDER BY t.i), '{}') AS keys,
                   coalesce(array_agg(t.occurred_at ORDER BY t.i), '{}') AS occ,
                   coalesce(array_agg(t.customer_id ORDER BY t.i), '{}') AS custs,
                   coalesce(array_agg(t.ticket_id ORDER BY t.i), '{}') AS ticks
              FROM ROWS FROM (json_to_recordset(p_rows)
                              AS (event_id uuid, type text, idem_scope text, idem_key text,
                                  occurred_at timestamptz, customer_id uuid,
                                  ticket_id uuid)) WITH ORDINALITY
                   AS t (event_id, type, idem_scope, idem_key, occurred_at, customer_id,
                         ticket_id, i)) r,
           LATERAL eventlog.append_columns(p_stream, r.ids, r.types, r.scopes, r.keys, r.occ,
                                           r.custs, r.ticks, p_payloads, p_datakeys) a
$$;
