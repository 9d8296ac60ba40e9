-- survey's tables: surveys, answers, outbound deliveries, its generated secret.
--
-- Surveys are derived from the log: ids are name-based (one survey per
-- ticket), times come from events, and the survey stream's own events
-- (survey.requested, survey.answered) rebuild requested and answered
-- surveys on a replay. Deliveries are side effects, created once with the
-- survey.requested event that they carry (never on a replay: the event is
-- already in the log then), and kept until delivered or given up, so that a
-- restart loses none.
CREATE SCHEMA IF NOT EXISTS survey;

-- The link-signing secret generated at first start when
-- CAREBUS_SURVEY_SECRET is unset (a warning says so); name 'secret'.
CREATE TABLE survey.settings (
    name       text PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- status: scheduled (waiting for its due time; deleted if the ticket is
-- reopened first), requested (survey.requested emitted), answered.
-- "expired" is requested with expires_at in the past: computed, not stored.
CREATE TABLE survey.surveys (
    id                 uuid PRIMARY KEY,
    ticket_id          uuid        NOT NULL UNIQUE,
    customer_id        uuid,
    trigger_event_id   uuid        NOT NULL,
    status             text        NOT NULL
                       CHECK (status IN ('scheduled', 'requested', 'answered')),
    due_at             timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    channel            text,
    handle             text,
    language           text        NOT NULL CHECK (language IN ('vi', 'en')),
    link               text,
    text               text,
    requested_event_id uuid,
    requested_at       timestamptz,
    answered_at        timestamptz
);
CREATE INDEX surveys_due ON survey.surveys (due_at) WHERE status = 'scheduled';
CREATE INDEX surveys_customer ON survey.surveys (customer_id, due_at);

CREATE TABLE survey.answers (
    survey_id   uuid PRIMARY KEY REFERENCES survey.surveys (id),
    csat        smallint CHECK (csat BETWEEN 1 AND 5),
    ces         smallint CHECK (ces BETWEEN 1 AND 7),
    comment     text,
    answered_at timestamptz NOT NULL,
    event_id    uuid        NOT NULL UNIQUE,
    CHECK (csat IS NOT NULL OR ces IS NOT NULL)
);

-- One row per (survey.requested event, webhook URL). id is the delivery id
-- receivers deduplicate on (X-Carebus-Delivery), body the exact bytes sent
-- and signed on every attempt. A pending row is claimed for one attempt by
-- setting lease_until; a crash mid-attempt lets the lease run out.
CREATE TABLE survey.deliveries (
    id           uuid PRIMARY KEY,
    event_id     uuid        NOT NULL,
    url          text        NOT NULL,
    body         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     int         NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    deadline     timestamptz NOT NULL,
    lease_until  timestamptz,
    last_status  int,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX deliveries_due ON survey.deliveries (next_at) WHERE status = 'pending';

-- A ticket's survey as GET /v1/tickets/{id} shows it, or NULL when none:
-- {"status": "scheduled|requested|answered|expired", "link", "csat", "ces",
--  "comment", "id", "language", "requested_at", "expires_at", "answered_at"}.
CREATE FUNCTION survey.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'status', CASE WHEN a.survey_id IS NOT NULL THEN 'answered'
                       WHEN s.status = 'scheduled' THEN 'scheduled'
                       WHEN s.expires_at <= now() THEN 'expired'
                       ELSE 'requested' END,
        'link', s.link, 'csat', a.csat, 'ces', a.ces, 'comment', a.comment,
        'id', s.id, 'language', s.language,
        'due_at', s.due_at, 'requested_at', s.requested_at,
        'expires_at', s.expires_at, 'answered_at', a.answered_at)
      FROM survey.surveys s LEFT JOIN survey.answers a ON a.survey_id = s.id
     WHERE s.ticket_id = p_id
$$;

-- Stores an answer and appends its survey.answered event (p_payload, the
-- packed envelope) to the survey stream in one transaction; nothing changes
-- unless the outcome is 'ok'. Outcomes: ok, unknown (no such requested
-- survey), answered (a second answer), expired. The survey's row lock
-- orders two racing answers: the second sees 'answered'.
CREATE FUNCTION survey.answer(
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
    SELECT * INTO r FROM eventlog.append(
        'survey', ARRAY[p_event_id], ARRAY['survey.answered'], ARRAY[NULL::text],
        ARRAY[NULL::text], ARRAY[p_occurred], ARRAY[s.customer_id], ARRAY[s.ticket_id],
        ARRAY[p_payload]);
    RETURN QUERY SELECT 'ok'::text, r.seq,
                        (extract(epoch FROM r.recorded_at) * 1000000)::bigint;
END;
$$;
