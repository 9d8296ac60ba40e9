-- The event log: the truth behind the bus, shared by every service.
--
-- Each producer appends to its own stream. eventlog.streams holds the last
-- sequence of each stream; eventlog.append takes that row's lock, which is
-- held until commit, so sequences are gap-free and in commit order: a reader
-- that sees seq N of a stream has seen all below it.
CREATE SCHEMA IF NOT EXISTS eventlog;

CREATE TABLE eventlog.streams (
    stream   text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE eventlog.events (
    stream      text        NOT NULL,
    seq         bigint      NOT NULL,
    event_id    uuid        NOT NULL UNIQUE,
    type        text        NOT NULL,
    idem_scope  text,
    idem_key    text,
    occurred_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    customer_id uuid,
    ticket_id   uuid,
    payload     bytea       NOT NULL,
    PRIMARY KEY (stream, seq),
    CHECK ((idem_scope IS NULL) = (idem_key IS NULL))
);
-- XXX: a time-partitioned log would need the partition column in this key;
-- until then the log is one table and the key is global.
CREATE UNIQUE INDEX events_idem ON eventlog.events (idem_scope, idem_key)
    WHERE idem_key IS NOT NULL;
CREATE INDEX events_customer ON eventlog.events (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX events_ticket ON eventlog.events (ticket_id) WHERE ticket_id IS NOT NULL;

COMMENT ON TABLE eventlog.events IS
    'Every accepted event, once. payload is the protobuf carebus.v1.Envelope '
    '(stream and seq are the columns'' values).';

-- How far each consumer has applied each stream, written in the same
-- transaction as the state it derived.
CREATE TABLE eventlog.offsets (
    consumer   text   NOT NULL,
    stream     text   NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream)
);

-- Appends a batch to a stream; one statement, so one round trip.
--
-- Inputs are parallel arrays, one element per event, in order. An element
-- whose (scope, key) is already in the log, or repeats an earlier element of
-- the batch, is not inserted: the existing event's id and seq come back with
-- duplicate = true. Everything runs after the stream's row lock is taken, and
-- each statement of a PL/pgSQL function takes a fresh snapshot under READ
-- COMMITTED, so a concurrent appender's committed keys are seen.
CREATE FUNCTION eventlog.append(
    p_stream text, p_ids uuid[], p_types text[], p_scopes text[], p_keys text[],
    p_occurred timestamptz[], p_customers uuid[], p_tickets uuid[], p_payloads bytea[])
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
    v_new bigint;
BEGIN
    INSERT INTO eventlog.streams AS s (stream) VALUES (p_stream)
        ON CONFLICT (stream) DO NOTHING;
    SELECT s.last_seq INTO v_last FROM eventlog.streams s
        WHERE s.stream = p_stream FOR UPDATE;

    -- A per-session scratch table (created once; emptied at commit).
    IF to_regclass('pg_temp.eventlog_batch') IS NULL THEN
        CREATE TEMP TABLE eventlog_batch (
            idx int, id uuid, type text, scope text, key text, occurred timestamptz,
            customer uuid, ticket uuid, payload bytea, seq bigint, dup_of int,
            old_id uuid, old_seq bigint, old_recorded timestamptz) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM eventlog_batch;

    INSERT INTO eventlog_batch (idx, id, type, scope, key, occurred, customer, ticket, payload)
    SELECT t.i::int, t.id, t.type, t.scope, t.key, t.occ, t.cust, t.tick, t.payload
      FROM unnest(p_ids, p_types, p_scopes, p_keys, p_occurred, p_customers, p_tickets,
                  p_payloads) WITH ORDINALITY
           AS t(id, type, scope, key, occ, cust, tick, payload, i);

    -- Keys already in the log.
    UPDATE eventlog_batch b SET old_id = e.event_id, old_seq = e.seq,
           old_recorded = e.recorded_at
      FROM eventlog.events e
     WHERE b.key IS NOT NULL AND e.idem_scope = b.scope AND e.idem_key = b.key;
    -- Ids already in the log (a replayed consumer re-emitting a derived event).
    UPDATE eventlog_batch b SET old_id = e.event_id, old_seq = e.seq,
           old_recorded = e.recorded_at
      FROM eventlog.events e
     WHERE b.old_id IS NULL AND e.event_id = b.id;
    -- Repeats within the batch point at the first element with that key.
    UPDATE eventlog_batch b SET dup_of = f.first
      FROM (SELECT scope, key, min(idx) AS first FROM eventlog_batch
             WHERE key IS NOT NULL AND old_id IS NULL GROUP BY scope, key) f
     WHERE b.key IS NOT NULL AND b.old_id IS NULL AND b.scope = f.scope
       AND b.key = f.key AND b.idx <> f.first;

    UPDATE eventlog_batch b SET seq = v_last + n.rn
      FROM (SELECT x.idx, row_number() OVER (ORDER BY x.idx) AS rn FROM eventlog_batch x
             WHERE x.old_id IS NULL AND x.dup_of IS NULL) n
     WHERE b.idx = n.idx;
    SELECT coalesce(max(b.seq), v_last) INTO v_new FROM eventlog_batch b;

    INSERT INTO eventlog.events (stream, seq, event_id, type, idem_scope, idem_key,
                                 occurred_at, customer_id, ticket_id, payload)
    SELECT p_stream, b.seq, b.id, b.type, b.scope, b.key, b.occurred, b.customer,
           b.ticket, b.payload
      FROM eventlog_batch b WHERE b.seq IS NOT NULL ORDER BY b.seq;

    IF v_new > v_last THEN
        UPDATE eventlog.streams s SET last_seq = v_new WHERE s.stream = p_stream;
    END IF;

    RETURN QUERY
    SELECT b.idx,
           coalesce(b.old_id, f.id, b.id),
           coalesce(b.old_seq, f.seq, b.seq),
           coalesce(b.old_recorded, e.recorded_at),
           (b.seq IS NULL)
      FROM eventlog_batch b
      LEFT JOIN eventlog_batch f ON f.idx = b.dup_of
      LEFT JOIN eventlog.events e ON e.stream = p_stream
            AND e.seq = coalesce(f.seq, b.seq)
     ORDER BY b.idx;
END;
$$;
