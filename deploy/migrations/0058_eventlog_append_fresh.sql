-- eventlog.append (0056's binary form, which services/libcarebus/eventlog.c
-- calls and 0089's rows form goes through) first tries the batch as all
-- fresh: numbered by its order, inserted, without looking anything up.
--
-- 0056's statement probes the log's two unique indexes for every row, then
-- sorts the batch twice by (scope, key) to find its repeats; the insert then
-- descends the same two indexes again to check the same uniqueness. A batch
-- almost never holds a duplicate, so here the insert's own checks are the
-- only ones: the rows go in with seq = last_seq + their position, inside a
-- block that a unique violation (a key or event id already in the log, or a
-- key repeated in the batch) rolls back, after which the batch goes through
-- 0056's statement (renamed eventlog.append_checked), which returns each
-- duplicate with the first one's id, seq and recorded_at (an event id
-- repeated within one batch without a key is refused there, as before).
-- Both bodies read the rows' columns (json_to_recordset's list): a new
-- column goes into both. A batch with a
-- duplicate costs the attempt more; a fresh one skips the probes and sorts.
-- SQL alone (200 batches, a transaction each, 0056's body and this one
-- alternated on one database, 2-core machine shared): a log of 1.5-2M rows,
-- 100-row batches 64.6-68.1 us a row before, 46.5-65.7 after; 1000-row ones
-- 57.4-69.7 before, 49.4-56.4 after; a new log, 1000-row batches 40.6-50.6
-- before, 29.3-36.6 after, 100-row 50.1-54.9 before, 35.9-46.8 after, 10-row
-- 80.5-118.7 before, 67.3-81.8 after. A batch whose last row is a duplicate:
-- 48-95 before, 80-131 after; one of duplicates only: 26-35 before, 33-45.
--
-- Unchanged: the stream's row is locked first, outside the block (a lock
-- taken inside would go with its rollback; it also gives an all-repeats
-- batch's transaction its id, group_commit.c), so the insert's statement
-- starts with a snapshot that sees every key a concurrent appender
-- committed before releasing it; seq has no gap (the rolled-back attempt
-- leaves no row); recorded_at is clock_timestamp() per row, taken in the
-- rows' order, so it grows with seq; a fresh row's data key goes to
-- privacy.datakeys. Arrays of another length than the rows are refused by
-- append_checked's check.
-- The block is one subtransaction a call; every caller appends once a
-- transaction, far from the 64 a snapshot tracks before overflowing.
ALTER FUNCTION eventlog.append(text, json, bytea[], bytea[]) RENAME TO append_checked;

CREATE FUNCTION eventlog.append(p_stream text, p_rows json, p_payloads bytea[],
                                p_datakeys bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
    v_n int := json_array_length(p_rows);
    v_ids uuid[];
    v_recs timestamptz[];
    v_fresh boolean := false;
BEGIN
    SELECT s.last_seq INTO v_last FROM eventlog.streams s
        WHERE s.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO eventlog.streams (stream) VALUES (p_stream) ON CONFLICT DO NOTHING;
        SELECT s.last_seq INTO v_last FROM eventlog.streams s
            WHERE s.stream = p_stream FOR UPDATE;
    END IF;

    IF v_n > 0 AND v_n = cardinality(p_payloads) AND v_n = cardinality(p_datakeys) THEN
        BEGIN
            WITH input AS MATERIALIZED (
                SELECT t.i::int AS i, t.event_id AS id, t.type, t.idem_scope AS scope,
                       t.idem_key AS key, t.occurred_at AS occ, t.customer_id AS cust,
                       t.ticket_id AS tick, t.payload, t.datakey,
                       v_last + t.i AS new_seq, clock_timestamp() AS rec
                  FROM ROWS FROM (json_to_recordset(p_rows)
                                  AS (event_id uuid, type text, idem_scope text,
                                      idem_key text, occurred_at timestamptz,
                                      customer_id uuid, ticket_id uuid),
                                  unnest(p_payloads), unnest(p_datakeys)) WITH ORDINALITY
                       AS t (event_id, type, idem_scope, idem_key, occurred_at,
                             customer_id, ticket_id, payload, datakey, i)
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
            SELECT array_agg(n.id ORDER BY n.i), array_agg(n.rec ORDER BY n.i)
              INTO v_ids, v_recs FROM input n;
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
          FROM unnest(v_ids, v_recs) WITH ORDINALITY AS t (id, rec, i);
        RETURN;
    END IF;

    RETURN QUERY
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate
      FROM eventlog.append_checked(p_stream, p_rows, p_payloads, p_datakeys) a;
END;
$$;
