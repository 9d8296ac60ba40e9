-- eventlog.append's rows-only form (courier's statement, integrators' and
-- tests' scripts) through 0056's, the one body: the payloads and data keys
-- the rows carry as "\\x..." hex are taken out into the arrays 0056 reads
-- (json_to_recordset ignores them there), in the rows' order. 0088's body,
-- which this replaces, differed from 0056's only in where it read them.
CREATE OR REPLACE FUNCTION eventlog.append(p_stream text, p_rows json)
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE sql AS $$
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate
      FROM eventlog.append(p_stream, p_rows,
               (SELECT coalesce(array_agg(t.payload ORDER BY t.i), '{}')
                  FROM ROWS FROM (json_to_recordset(p_rows) AS (payload bytea)) WITH ORDINALITY
                       AS t (payload, i)),
               (SELECT coalesce(array_agg(t.datakey ORDER BY t.i), '{}')
                  FROM ROWS FROM (json_to_recordset(p_rows) AS (datakey bytea)) WITH ORDINALITY
                       AS t (datakey, i))) a
$$;
