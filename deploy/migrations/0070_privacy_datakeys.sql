-- Personal data in the log: each event's data key, apart from the event.
--
-- An event whose personal fields are sealed (services/libcarebus/datakey.h)
-- has one row here: its data key wrapped by the master key. The log stays
-- append-only; deleting a row makes that event's personal fields unreadable
-- for every reader and every rebuild ("crypto-shredding"). Readers join on
-- event_id (eventlog.h, EVENTLOG_DATAKEY_JOIN); a missing row reads as
-- erased.
CREATE SCHEMA IF NOT EXISTS privacy;

CREATE TABLE privacy.datakeys (
    event_id   uuid PRIMARY KEY,
    wrapped    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- 0004's rows form of eventlog.append, which also keeps each fresh row's
-- "datakey" (absent or null: nothing sealed) in privacy.datakeys, in the
-- same statement: a sealed event is never committed without its key. A
-- duplicate's key is dropped with its payload (the first one's stays).
CREATE OR REPLACE FUNCTION eventlog.append(p_stream text, p_rows json)
RETURNS TABLE (idx int, event_id uuid, seq bigint, recorded_at timestamptz,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_ids uuid[];
    v_types text[];
    v_scopes text[];
    v_keys text[];
    v_occurred timestamptz[];
    v_customers uuid[];
    v_tickets uuid[];
    v_payloads bytea[];
    v_datakeys bytea[];
BEGIN
    SELECT coalesce(array_agg(t.event_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.type ORDER BY t.i), '{}'),
           coalesce(array_agg(t.idem_scope ORDER BY t.i), '{}'),
           coalesce(array_agg(t.idem_key ORDER BY t.i), '{}'),
           coalesce(array_agg(t.occurred_at ORDER BY t.i), '{}'),
           coalesce(array_agg(t.customer_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.ticket_id ORDER BY t.i), '{}'),
           coalesce(array_agg(t.payload ORDER BY t.i), '{}'),
           coalesce(array_agg(t.datakey ORDER BY t.i), '{}')
      INTO v_ids, v_types, v_scopes, v_keys, v_occurred, v_customers, v_tickets, v_payloads,
           v_datakeys
      FROM ROWS FROM (json_to_recordset(p_rows)
                      AS (event_id uuid, type text, idem_scope text, idem_key text,
                          occurred_at timestamptz, customer_id uuid, ticket_id uuid,
                          payload bytea, datakey bytea)) WITH ORDINALITY
           AS t (event_id, type, idem_scope, idem_key, occurred_at, customer_id, ticket_id,
                 payload, datakey, i);
    RETURN QUERY
    WITH a AS MATERIALIZED (
        SELECT * FROM eventlog.append(p_stream, v_ids, v_types, v_scopes, v_keys,
                                      v_occurred, v_customers, v_tickets, v_payloads)
    ), k AS (
        INSERT INTO privacy.datakeys (event_id, wrapped)
        SELECT a.event_id, v_datakeys[a.idx] FROM a
         WHERE NOT a.duplicate AND v_datakeys[a.idx] IS NOT NULL
    )
    SELECT a.idx, a.event_id, a.seq, a.recorded_at, a.duplicate FROM a ORDER BY a.idx;
END;
$$;

-- survey.answer (0041) with the answer's data key: the rest is 0041's.
DROP FUNCTION survey.answer(uuid, int, int, text, uuid, timestamptz, bytea);
CREATE FUNCTION survey.answer(
    p_survey uuid, p_csat int, p_ces int, p_comment text, p_event_id uuid,
    p_occurred timestamptz, p_payload bytea, p_datakey bytea)
RETURNS TABLE (outcome text, seq bigint, recorded_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s survey.surveys%ROWTYPE;
    r record;
BEGIN
    SELECT * INTO s FROM survey.surveys WHERE id = p_survey FOR UPDATE;
    IF NOT FOUND OR s.status = 'scheduled' THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF s.status = 'answered' OR EXISTS (SELECT 1 FROM survey.answers a
                                         WHERE a.survey_id = p_survey) THEN
        RETURN QUERY SELECT 'answered'::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF s.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO survey.answers (survey_id, csat, ces, comment, answered_at, event_id)
    VALUES (p_survey, p_csat, p_ces, p_comment, p_occurred, p_event_id);
    UPDATE survey.surveys SET status = 'answered', answered_at = p_occurred
     WHERE id = p_survey;
    SELECT * INTO r FROM eventlog.append('survey', json_build_array(json_build_object(
        'event_id', p_event_id, 'type', 'survey.answered', 'occurred_at', p_occurred,
        'customer_id', s.customer_id, 'ticket_id', s.ticket_id, 'payload', p_payload,
        'datakey', p_datakey)));
    RETURN QUERY SELECT 'ok'::text, r.seq,
                        (extract(epoch FROM r.recorded_at) * 1000000)::bigint;
END;
$$;
