-- survey.answer appends through eventlog.append's rows form (0004); the
-- rest is 0040's.
CREATE OR REPLACE FUNCTION survey.answer(
    p_survey uuid, p_csat int, p_ces int, p_comment text, p_event_id uuid,
    p_occurred timestamptz, p_payload bytea)
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
        'customer_id', s.customer_id, 'ticket_id', s.ticket_id, 'payload', p_payload)));
    RETURN QUERY SELECT 'ok'::text, r.seq,
                        (extract(epoch FROM r.recorded_at) * 1000000)::bigint;
END;
$$;
