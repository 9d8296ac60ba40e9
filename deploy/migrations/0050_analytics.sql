-- analytics' tables: per-ticket and per-customer states, their facts, and
-- the daily KPI sums; the functions the KPI API calls.
--
-- Everything here is derived from the event log alone (times from the
-- events, never now()), so `carebus-analytics --rebuild` rebuilds it
-- exactly. Days are local days of CAREBUS_ANALYTICS_TZ (see settings).
-- Durations are integer milliseconds; sums are exact.
CREATE SCHEMA IF NOT EXISTS analytics;

-- The calendar the derived state was computed with: a different one
-- (another time zone, other opening hours) makes analytics rebuild.
CREATE TABLE analytics.settings (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    tz          text NOT NULL,
    fingerprint text NOT NULL
);

-- A ticket as analytics knows it: its state (canonical JSON, see
-- services/analytics/model.h) and the facts derived from it.
CREATE TABLE analytics.tickets (
    ticket_id                  uuid PRIMARY KEY,
    customer_id                uuid,
    state                      jsonb NOT NULL,
    opened                     boolean NOT NULL,
    created_at                 timestamptz,
    created_day                date,
    channel                    text NOT NULL,
    team                       text NOT NULL,
    agent                      text NOT NULL,
    segment                    text NOT NULL,
    category                   text NOT NULL,
    priority                   text NOT NULL,
    status                     text NOT NULL,
    contacts                   integer NOT NULL,
    public_replies             integer NOT NULL,
    transfers                  integer NOT NULL,
    reopens                    integer NOT NULL,
    escalations                integer NOT NULL,
    first_response_at          timestamptz,
    first_response_day         date,
    first_response_ms          bigint,
    first_response_business_ms bigint,
    solved_at                  timestamptz,
    solved_day                 date,
    resolution_ms              bigint,
    resolution_business_ms     bigint,
    fcr                        boolean,
    sla_first_response_breached boolean NOT NULL,
    sla_resolution_breached    boolean NOT NULL,
    sla_next_response_total    integer NOT NULL,
    sla_next_response_met      integer NOT NULL,
    sla_breaches               integer NOT NULL,
    merged_into                uuid
);
CREATE INDEX tickets_customer ON analytics.tickets (customer_id);
CREATE INDEX tickets_created_day ON analytics.tickets (created_day);

-- A customer: its merge tree (root: the survivor), when it was first seen
-- and its segment and status history.
CREATE TABLE analytics.customers (
    customer_id uuid PRIMARY KEY,
    root        uuid NOT NULL,
    merged_into uuid,
    state       jsonb NOT NULL,
    first_seen  timestamptz,
    segment     text,
    status      text NOT NULL,
    churned_at  timestamptz
);
CREATE INDEX customers_root ON analytics.customers (root);

-- One row per ticket and duration metric (0 first response, 1 the same in
-- business time, 2 resolution, 3 the same in business time): the exact
-- values behind the 90th percentiles, on the day they count, with the
-- ticket's dimensions. bucket: the log-spaced histogram bucket of ms
-- (services/analytics/contrib.h), so that the API reads one bucket only.
CREATE TABLE analytics.samples (
    ticket_id uuid     NOT NULL,
    metric    smallint NOT NULL,
    day       date     NOT NULL,
    ms        bigint   NOT NULL,
    bucket    smallint NOT NULL,
    channel   text     NOT NULL,
    team      text     NOT NULL,
    agent     text     NOT NULL,
    segment   text     NOT NULL,
    category  text     NOT NULL,
    PRIMARY KEY (ticket_id, metric)
);
-- One index per grouping, so that the API's lookup of a key's values within
-- one bucket reads those values only (analytics.kpi_p90); and one by day
-- for bi.kpi_daily.
CREATE INDEX samples_by_day ON analytics.samples (metric, bucket, day) INCLUDE (ms);
CREATE INDEX samples_by_channel ON analytics.samples (metric, bucket, channel, day) INCLUDE (ms);
CREATE INDEX samples_by_team ON analytics.samples (metric, bucket, team, day) INCLUDE (ms);
CREATE INDEX samples_by_agent ON analytics.samples (metric, bucket, agent, day) INCLUDE (ms);
CREATE INDEX samples_by_segment ON analytics.samples (metric, bucket, segment, day) INCLUDE (ms);
CREATE INDEX samples_by_category ON analytics.samples (metric, bucket, category, day) INCLUDE (ms);
CREATE INDEX samples_day ON analytics.samples (metric, day);

-- Surveys and SLA events as the tickets' states hold them (for BI).
CREATE TABLE analytics.surveys (
    survey_id    text PRIMARY KEY,
    ticket_id    uuid NOT NULL,
    customer_id  uuid,
    channel      text NOT NULL,
    requested_at timestamptz,
    answered_at  timestamptz,
    csat         smallint,
    ces          smallint,
    comment      text
);
CREATE INDEX surveys_ticket ON analytics.surveys (ticket_id);

CREATE TABLE analytics.sla_events (
    event_id             text PRIMARY KEY,
    ticket_id            uuid NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('warning', 'breach', 'escalation')),
    target               text NOT NULL,
    at                   timestamptz NOT NULL,
    due_at               timestamptz,
    remaining_business_s bigint
);
CREATE INDEX sla_events_ticket ON analytics.sla_events (ticket_id);

-- The KPI sums: one row per local day and dimension value. dim 0 is the
-- day's total (key ''), then 1 channel, 2 team, 3 agent, 4 segment,
-- 5 category (key '' for "not known", e.g. a ticket not yet classified).
-- bl_* and cust_active are deltas: backlog at the end of day D and active
-- customers at the start of day D are their sums over the days <= D.
-- *_hist: histograms packed into one numeric, 6 decimal digits per bucket
-- (bucket b is digits [6b, 6b+6) from the right), so SUM() adds them.
CREATE TABLE analytics.daily (
    dim               smallint NOT NULL,
    day               date     NOT NULL,
    key               text     NOT NULL,
    contacts          bigint NOT NULL DEFAULT 0,
    tickets_created   bigint NOT NULL DEFAULT 0,
    ticket_contacts   bigint NOT NULL DEFAULT 0,
    tickets_solved    bigint NOT NULL DEFAULT 0,
    fcr_solved        bigint NOT NULL DEFAULT 0,
    fr_count          bigint NOT NULL DEFAULT 0,
    fr_sum_ms         bigint NOT NULL DEFAULT 0,
    frb_sum_ms        bigint NOT NULL DEFAULT 0,
    res_count         bigint NOT NULL DEFAULT 0,
    res_sum_ms        bigint NOT NULL DEFAULT 0,
    resb_sum_ms       bigint NOT NULL DEFAULT 0,
    surveys_requested bigint NOT NULL DEFAULT 0,
    surveys_answered  bigint NOT NULL DEFAULT 0,
    csat_answers      bigint NOT NULL DEFAULT 0,
    csat_positive     bigint NOT NULL DEFAULT 0,
    ces_answers       bigint NOT NULL DEFAULT 0,
    ces_sum           bigint NOT NULL DEFAULT 0,
    sla_fr_total      bigint NOT NULL DEFAULT 0,
    sla_fr_met        bigint NOT NULL DEFAULT 0,
    sla_nr_total      bigint NOT NULL DEFAULT 0,
    sla_nr_met        bigint NOT NULL DEFAULT 0,
    sla_res_total     bigint NOT NULL DEFAULT 0,
    sla_res_met       bigint NOT NULL DEFAULT 0,
    sla_breaches      bigint NOT NULL DEFAULT 0,
    bl_open_1d        bigint NOT NULL DEFAULT 0,
    bl_open_3d        bigint NOT NULL DEFAULT 0,
    bl_open_7d        bigint NOT NULL DEFAULT 0,
    bl_open_older     bigint NOT NULL DEFAULT 0,
    bl_pending_1d     bigint NOT NULL DEFAULT 0,
    bl_pending_3d     bigint NOT NULL DEFAULT 0,
    bl_pending_7d     bigint NOT NULL DEFAULT 0,
    bl_pending_older  bigint NOT NULL DEFAULT 0,
    cust_active       bigint NOT NULL DEFAULT 0,
    cust_churned      bigint NOT NULL DEFAULT 0,
    fr_hist           numeric NOT NULL DEFAULT 0,
    frb_hist          numeric NOT NULL DEFAULT 0,
    res_hist          numeric NOT NULL DEFAULT 0,
    resb_hist         numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, day, key)
);

-- Applies one event's changes (the live path): rows to upsert as JSON,
-- sample rows to replace per ticket, and deltas to add to the daily sums
-- (analytics.apply_daily).
CREATE FUNCTION analytics.apply(doc jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Each part only when the document has rows for it: most events change
    -- one ticket and a few sums.
    IF jsonb_array_length(doc->'tickets') > 0 THEN
    INSERT INTO analytics.tickets AS t
    SELECT * FROM jsonb_populate_recordset(NULL::analytics.tickets, doc->'tickets')
    ON CONFLICT (ticket_id) DO UPDATE SET
        customer_id = excluded.customer_id, state = excluded.state, opened = excluded.opened,
        created_at = excluded.created_at, created_day = excluded.created_day,
        channel = excluded.channel, team = excluded.team, agent = excluded.agent,
        segment = excluded.segment, category = excluded.category,
        priority = excluded.priority, status = excluded.status,
        contacts = excluded.contacts, public_replies = excluded.public_replies,
        transfers = excluded.transfers, reopens = excluded.reopens,
        escalations = excluded.escalations, first_response_at = excluded.first_response_at,
        first_response_day = excluded.first_response_day,
        first_response_ms = excluded.first_response_ms,
        first_response_business_ms = excluded.first_response_business_ms,
        solved_at = excluded.solved_at, solved_day = excluded.solved_day,
        resolution_ms = excluded.resolution_ms,
        resolution_business_ms = excluded.resolution_business_ms, fcr = excluded.fcr,
        sla_first_response_breached = excluded.sla_first_response_breached,
        sla_resolution_breached = excluded.sla_resolution_breached,
        sla_next_response_total = excluded.sla_next_response_total,
        sla_next_response_met = excluded.sla_next_response_met,
        sla_breaches = excluded.sla_breaches, merged_into = excluded.merged_into;
    END IF;

    IF jsonb_array_length(doc->'customers') > 0 THEN
    INSERT INTO analytics.customers AS c
    SELECT * FROM jsonb_populate_recordset(NULL::analytics.customers, doc->'customers')
    ON CONFLICT (customer_id) DO UPDATE SET
        root = excluded.root, merged_into = excluded.merged_into, state = excluded.state,
        first_seen = excluded.first_seen, segment = excluded.segment,
        status = excluded.status, churned_at = excluded.churned_at;
    END IF;

    IF jsonb_array_length(doc->'replaced') > 0 THEN
    DELETE FROM analytics.samples s
     WHERE s.ticket_id IN (SELECT (jsonb_array_elements_text(doc->'replaced'))::uuid)
       AND NOT EXISTS (SELECT 1 FROM jsonb_populate_recordset(NULL::analytics.samples,
                                                              doc->'samples') n
                        WHERE n.ticket_id = s.ticket_id AND n.metric = s.metric);
    INSERT INTO analytics.samples AS s
    SELECT * FROM jsonb_populate_recordset(NULL::analytics.samples, doc->'samples')
    ON CONFLICT (ticket_id, metric) DO UPDATE SET
        day = excluded.day, ms = excluded.ms, bucket = excluded.bucket,
        channel = excluded.channel, team = excluded.team, agent = excluded.agent,
        segment = excluded.segment, category = excluded.category;

    DELETE FROM analytics.surveys s
     WHERE s.ticket_id IN (SELECT (jsonb_array_elements_text(doc->'replaced'))::uuid)
       AND s.survey_id NOT IN (SELECT n.survey_id FROM jsonb_populate_recordset(
                                   NULL::analytics.surveys, doc->'surveys') n);
    INSERT INTO analytics.surveys AS s
    SELECT * FROM jsonb_populate_recordset(NULL::analytics.surveys, doc->'surveys')
    ON CONFLICT (survey_id) DO UPDATE SET
        ticket_id = excluded.ticket_id, customer_id = excluded.customer_id,
        channel = excluded.channel, requested_at = excluded.requested_at,
        answered_at = excluded.answered_at, csat = excluded.csat, ces = excluded.ces,
        comment = excluded.comment;

    INSERT INTO analytics.sla_events
    SELECT * FROM jsonb_populate_recordset(NULL::analytics.sla_events, doc->'sla')
    ON CONFLICT (event_id) DO NOTHING;
    END IF;

    PERFORM analytics.apply_daily(doc);
END;
$$;

-- Adds one event's deltas to the daily sums (hist deltas as two packed
-- numerics, added and subtracted). Rows of the sums that end all zero are
-- deleted (doc->>'prune'), so that the table equals a rebuild's.
CREATE FUNCTION analytics.apply_daily(doc jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_array_length(doc->'daily') > 0 THEN
    WITH d AS (
        SELECT * FROM jsonb_to_recordset(doc->'daily') AS x(
            dim smallint, day date, key text, contacts bigint, tickets_created bigint,
            ticket_contacts bigint, tickets_solved bigint, fcr_solved bigint, fr_count bigint,
            fr_sum_ms bigint, frb_sum_ms bigint, res_count bigint, res_sum_ms bigint,
            resb_sum_ms bigint, surveys_requested bigint, surveys_answered bigint,
            csat_answers bigint, csat_positive bigint, ces_answers bigint, ces_sum bigint,
            sla_fr_total bigint, sla_fr_met bigint, sla_nr_total bigint, sla_nr_met bigint,
            sla_res_total bigint, sla_res_met bigint, sla_breaches bigint, bl_open_1d bigint,
            bl_open_3d bigint, bl_open_7d bigint, bl_open_older bigint, bl_pending_1d bigint,
            bl_pending_3d bigint, bl_pending_7d bigint, bl_pending_older bigint,
            cust_active bigint, cust_churned bigint,
            fr_hist_add numeric, fr_hist_sub numeric, frb_hist_add numeric,
            frb_hist_sub numeric, res_hist_add numeric, res_hist_sub numeric,
            resb_hist_add numeric, resb_hist_sub numeric)
    )
    INSERT INTO analytics.daily AS a
    SELECT dim, day, key, contacts, tickets_created, ticket_contacts, tickets_solved, fcr_solved,
           fr_count, fr_sum_ms, frb_sum_ms, res_count, res_sum_ms, resb_sum_ms,
           surveys_requested, surveys_answered, csat_answers, csat_positive, ces_answers,
           ces_sum, sla_fr_total, sla_fr_met, sla_nr_total, sla_nr_met, sla_res_total,
           sla_res_met, sla_breaches, bl_open_1d, bl_open_3d, bl_open_7d, bl_open_older,
           bl_pending_1d, bl_pending_3d, bl_pending_7d, bl_pending_older, cust_active,
           cust_churned, fr_hist_add - fr_hist_sub, frb_hist_add - frb_hist_sub,
           res_hist_add - res_hist_sub, resb_hist_add - resb_hist_sub
      FROM d
    ON CONFLICT (dim, day, key) DO UPDATE SET
        contacts = a.contacts + excluded.contacts,
        tickets_created = a.tickets_created + excluded.tickets_created,
        ticket_contacts = a.ticket_contacts + excluded.ticket_contacts,
        tickets_solved = a.tickets_solved + excluded.tickets_solved,
        fcr_solved = a.fcr_solved + excluded.fcr_solved,
        fr_count = a.fr_count + excluded.fr_count,
        fr_sum_ms = a.fr_sum_ms + excluded.fr_sum_ms,
        frb_sum_ms = a.frb_sum_ms + excluded.frb_sum_ms,
        res_count = a.res_count + excluded.res_count,
        res_sum_ms = a.res_sum_ms + excluded.res_sum_ms,
        resb_sum_ms = a.resb_sum_ms + excluded.resb_sum_ms,
        surveys_requested = a.surveys_requested + excluded.surveys_requested,
        surveys_answered = a.surveys_answered + excluded.surveys_answered,
        csat_answers = a.csat_answers + excluded.csat_answers,
        csat_positive = a.csat_positive + excluded.csat_positive,
        ces_answers = a.ces_answers + excluded.ces_answers,
        ces_sum = a.ces_sum + excluded.ces_sum,
        sla_fr_total = a.sla_fr_total + excluded.sla_fr_total,
        sla_fr_met = a.sla_fr_met + excluded.sla_fr_met,
        sla_nr_total = a.sla_nr_total + excluded.sla_nr_total,
        sla_nr_met = a.sla_nr_met + excluded.sla_nr_met,
        sla_res_total = a.sla_res_total + excluded.sla_res_total,
        sla_res_met = a.sla_res_met + excluded.sla_res_met,
        sla_breaches = a.sla_breaches + excluded.sla_breaches,
        bl_open_1d = a.bl_open_1d + excluded.bl_open_1d,
        bl_open_3d = a.bl_open_3d + excluded.bl_open_3d,
        bl_open_7d = a.bl_open_7d + excluded.bl_open_7d,
        bl_open_older = a.bl_open_older + excluded.bl_open_older,
        bl_pending_1d = a.bl_pending_1d + excluded.bl_pending_1d,
        bl_pending_3d = a.bl_pending_3d + excluded.bl_pending_3d,
        bl_pending_7d = a.bl_pending_7d + excluded.bl_pending_7d,
        bl_pending_older = a.bl_pending_older + excluded.bl_pending_older,
        cust_active = a.cust_active + excluded.cust_active,
        cust_churned = a.cust_churned + excluded.cust_churned,
        fr_hist = a.fr_hist + excluded.fr_hist,
        frb_hist = a.frb_hist + excluded.frb_hist,
        res_hist = a.res_hist + excluded.res_hist,
        resb_hist = a.resb_hist + excluded.resb_hist;
    END IF;

    IF (doc->>'prune')::boolean THEN
        DELETE FROM analytics.daily a
         USING jsonb_to_recordset(doc->'daily') AS x(dim smallint, day date, key text)
         WHERE a.dim = x.dim AND a.day = x.day AND a.key = x.key
           AND a.contacts = 0 AND a.tickets_created = 0 AND a.ticket_contacts = 0
           AND a.tickets_solved = 0 AND a.fcr_solved = 0 AND a.fr_count = 0
           AND a.fr_sum_ms = 0 AND a.frb_sum_ms = 0 AND a.res_count = 0
           AND a.res_sum_ms = 0 AND a.resb_sum_ms = 0 AND a.surveys_requested = 0
           AND a.surveys_answered = 0 AND a.csat_answers = 0 AND a.csat_positive = 0
           AND a.ces_answers = 0 AND a.ces_sum = 0 AND a.sla_fr_total = 0
           AND a.sla_fr_met = 0 AND a.sla_nr_total = 0 AND a.sla_nr_met = 0
           AND a.sla_res_total = 0 AND a.sla_res_met = 0 AND a.sla_breaches = 0
           AND a.bl_open_1d = 0 AND a.bl_open_3d = 0 AND a.bl_open_7d = 0
           AND a.bl_open_older = 0 AND a.bl_pending_1d = 0 AND a.bl_pending_3d = 0
           AND a.bl_pending_7d = 0 AND a.bl_pending_older = 0 AND a.cust_active = 0
           AND a.cust_churned = 0 AND a.fr_hist = 0 AND a.frb_hist = 0 AND a.res_hist = 0
           AND a.resb_hist = 0;
    END IF;
END;
$$;

-- a / b * scale as float8, NULL when b is 0 (a KPI without data is NULL).
CREATE FUNCTION analytics.ratio(a numeric, b numeric, scale float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b = 0 OR b IS NULL THEN NULL
                ELSE (scale * a::float8) / b::float8 END
$$;

-- The 90th percentile of n sorted values from the two around its rank,
-- exactly as percentile_cont(0.9) computes it (same float8 steps).
CREATE FUNCTION analytics.lerp90(lo bigint, hi bigint, n bigint) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT lo::float8 + ((0.9::float8 * (n - 1)::float8 - floor(0.9::float8 * (n - 1)::float8))
                         * (hi::float8 - lo::float8))
$$;

-- The KPI sums of a period, grouped: p_group -1 per day (key: the date),
-- 0 the whole period (key ''), 1..5 per dimension value (see daily.dim).
-- The KPIs that are ratios are computed here, with analytics.ratio, as
-- bi.kpi_daily computes them; the 90th percentiles are the API's second
-- step (analytics.kpi_p90), from the packed histograms returned here.
CREATE FUNCTION analytics.kpi_sums(p_from date, p_to date, p_group smallint)
RETURNS TABLE (
    key text, contacts bigint, tickets_created bigint, tickets_solved bigint, fcr_pct float8,
    csat_pct float8, ces_avg float8, survey_response_pct float8,
    first_response_avg_s float8, first_response_business_avg_s float8,
    resolution_avg_s float8, resolution_business_avg_s float8,
    sla_compliance_pct float8, sla_first_response_pct float8, sla_next_response_pct float8,
    sla_resolution_pct float8, sla_breaches bigint, backlog_open bigint,
    backlog_pending bigint, backlog_1d bigint, backlog_3d bigint, backlog_7d bigint,
    backlog_older bigint, churn_pct float8, contacts_per_ticket float8,
    fr_count bigint, res_count bigint,
    fr_hist text, frb_hist text, res_hist text, resb_hist text)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH keys AS (
        -- the rows: every day of the period, or every key with data in
        -- it or a backlog at its end
        SELECT d::date::text AS k FROM generate_series(p_from, p_to, interval '1 day') d
         WHERE p_group = -1
        UNION
        SELECT '' WHERE p_group = 0
        UNION
        SELECT a.key FROM analytics.daily a
         WHERE p_group > 0 AND a.dim = p_group AND a.day <= p_to
         GROUP BY a.key
        HAVING bool_or(a.day >= p_from)
            OR sum(a.bl_open_1d + a.bl_open_3d + a.bl_open_7d + a.bl_open_older
                   + a.bl_pending_1d + a.bl_pending_3d + a.bl_pending_7d
                   + a.bl_pending_older) <> 0
    ), rows AS (
        SELECT CASE WHEN p_group = -1 THEN a.day::text ELSE a.key END AS k, a.*
          FROM analytics.daily a
         WHERE a.dim = greatest(p_group, 0) AND a.day <= p_to
    ), per AS (
        SELECT r.k,
               sum(r.contacts) FILTER (WHERE r.day >= p_from) AS contacts,
               sum(r.tickets_created) FILTER (WHERE r.day >= p_from) AS tickets_created,
               sum(r.ticket_contacts) FILTER (WHERE r.day >= p_from) AS ticket_contacts,
               sum(r.tickets_solved) FILTER (WHERE r.day >= p_from) AS tickets_solved,
               sum(r.fcr_solved) FILTER (WHERE r.day >= p_from) AS fcr_solved,
               sum(r.fr_count) FILTER (WHERE r.day >= p_from) AS fr_count,
               sum(r.fr_sum_ms) FILTER (WHERE r.day >= p_from) AS fr_sum_ms,
               sum(r.frb_sum_ms) FILTER (WHERE r.day >= p_from) AS frb_sum_ms,
               sum(r.res_count) FILTER (WHERE r.day >= p_from) AS res_count,
               sum(r.res_sum_ms) FILTER (WHERE r.day >= p_from) AS res_sum_ms,
               sum(r.resb_sum_ms) FILTER (WHERE r.day >= p_from) AS resb_sum_ms,
               sum(r.surveys_requested) FILTER (WHERE r.day >= p_from) AS surveys_requested,
               sum(r.surveys_answered) FILTER (WHERE r.day >= p_from) AS surveys_answered,
               sum(r.csat_answers) FILTER (WHERE r.day >= p_from) AS csat_answers,
               sum(r.csat_positive) FILTER (WHERE r.day >= p_from) AS csat_positive,
               sum(r.ces_answers) FILTER (WHERE r.day >= p_from) AS ces_answers,
               sum(r.ces_sum) FILTER (WHERE r.day >= p_from) AS ces_sum,
               sum(r.sla_fr_total) FILTER (WHERE r.day >= p_from) AS sla_fr_total,
               sum(r.sla_fr_met) FILTER (WHERE r.day >= p_from) AS sla_fr_met,
               sum(r.sla_nr_total) FILTER (WHERE r.day >= p_from) AS sla_nr_total,
               sum(r.sla_nr_met) FILTER (WHERE r.day >= p_from) AS sla_nr_met,
               sum(r.sla_res_total) FILTER (WHERE r.day >= p_from) AS sla_res_total,
               sum(r.sla_res_met) FILTER (WHERE r.day >= p_from) AS sla_res_met,
               sum(r.sla_breaches) FILTER (WHERE r.day >= p_from) AS sla_breaches,
               sum(r.cust_churned) FILTER (WHERE r.day >= p_from) AS cust_churned,
               sum(r.fr_hist) FILTER (WHERE r.day >= p_from) AS fr_hist,
               sum(r.frb_hist) FILTER (WHERE r.day >= p_from) AS frb_hist,
               sum(r.res_hist) FILTER (WHERE r.day >= p_from) AS res_hist,
               sum(r.resb_hist) FILTER (WHERE r.day >= p_from) AS resb_hist
          FROM rows r
         WHERE p_group <> -1
         GROUP BY r.k
        UNION ALL
        SELECT r.k, r.contacts, r.tickets_created, r.ticket_contacts, r.tickets_solved,
               r.fcr_solved, r.fr_count, r.fr_sum_ms, r.frb_sum_ms, r.res_count, r.res_sum_ms,
               r.resb_sum_ms, r.surveys_requested, r.surveys_answered, r.csat_answers,
               r.csat_positive, r.ces_answers, r.ces_sum, r.sla_fr_total, r.sla_fr_met,
               r.sla_nr_total, r.sla_nr_met, r.sla_res_total, r.sla_res_met, r.sla_breaches,
               r.cust_churned, r.fr_hist, r.frb_hist, r.res_hist, r.resb_hist
          FROM rows r
         WHERE p_group = -1 AND r.day >= p_from
    ), pre AS (
        -- deltas summed up to each row's instant: the period's end (its
        -- start for active customers), or each day's end (start)
        SELECT r.k,
               sum(r.bl_open_1d + r.bl_pending_1d) AS bl_1d,
               sum(r.bl_open_3d + r.bl_pending_3d) AS bl_3d,
               sum(r.bl_open_7d + r.bl_pending_7d) AS bl_7d,
               sum(r.bl_open_older + r.bl_pending_older) AS bl_older,
               sum(r.bl_pending_1d + r.bl_pending_3d + r.bl_pending_7d + r.bl_pending_older)
                   AS bl_pending,
               sum(r.cust_active) FILTER (WHERE r.day <= p_from) AS active
          FROM rows r
         WHERE p_group <> -1
         GROUP BY r.k
        UNION ALL
        -- per day: one running sum over every day from the first with data
        -- (days without a row carry the previous day's values)
        SELECT c.k, c.bl_1d, c.bl_3d, c.bl_7d, c.bl_older, c.bl_pending, c.active
          FROM (SELECT s.d::date::text AS k, s.d::date AS day,
                       sum(coalesce(x.bl_1d, 0)) OVER w AS bl_1d,
                       sum(coalesce(x.bl_3d, 0)) OVER w AS bl_3d,
                       sum(coalesce(x.bl_7d, 0)) OVER w AS bl_7d,
                       sum(coalesce(x.bl_older, 0)) OVER w AS bl_older,
                       sum(coalesce(x.bl_pending, 0)) OVER w AS bl_pending,
                       sum(coalesce(x.active, 0)) OVER w AS active
                  FROM generate_series(least(p_from, (SELECT min(r.day) FROM rows r)), p_to,
                                       interval '1 day') AS s (d)
                  LEFT JOIN (SELECT r.day,
                                    r.bl_open_1d + r.bl_pending_1d AS bl_1d,
                                    r.bl_open_3d + r.bl_pending_3d AS bl_3d,
                                    r.bl_open_7d + r.bl_pending_7d AS bl_7d,
                                    r.bl_open_older + r.bl_pending_older AS bl_older,
                                    r.bl_pending_1d + r.bl_pending_3d + r.bl_pending_7d
                                        + r.bl_pending_older AS bl_pending,
                                    r.cust_active AS active
                               FROM rows r) x ON x.day = s.d::date
                 WHERE p_group = -1
                WINDOW w AS (ORDER BY s.d)) c
         WHERE c.day >= p_from
    )
    SELECT k.k,
           coalesce(p.contacts, 0)::bigint, coalesce(p.tickets_created, 0)::bigint,
           coalesce(p.tickets_solved, 0)::bigint,
           analytics.ratio(p.fcr_solved, p.tickets_solved, 100),
           analytics.ratio(p.csat_positive, p.csat_answers, 100),
           analytics.ratio(p.ces_sum, p.ces_answers, 1),
           analytics.ratio(p.surveys_answered, p.surveys_requested, 100),
           analytics.ratio(p.fr_sum_ms, p.fr_count * 1000, 1),
           analytics.ratio(p.frb_sum_ms, p.fr_count * 1000, 1),
           analytics.ratio(p.res_sum_ms, p.res_count * 1000, 1),
           analytics.ratio(p.resb_sum_ms, p.res_count * 1000, 1),
           analytics.ratio(p.sla_fr_met + p.sla_nr_met + p.sla_res_met,
                           p.sla_fr_total + p.sla_nr_total + p.sla_res_total, 100),
           analytics.ratio(p.sla_fr_met, p.sla_fr_total, 100),
           analytics.ratio(p.sla_nr_met, p.sla_nr_total, 100),
           analytics.ratio(p.sla_res_met, p.sla_res_total, 100),
           coalesce(p.sla_breaches, 0)::bigint,
           coalesce(q.bl_1d + q.bl_3d + q.bl_7d + q.bl_older, 0)::bigint,
           coalesce(q.bl_pending, 0)::bigint,
           coalesce(q.bl_1d, 0)::bigint, coalesce(q.bl_3d, 0)::bigint,
           coalesce(q.bl_7d, 0)::bigint, coalesce(q.bl_older, 0)::bigint,
           CASE WHEN p_group IN (-1, 0, 4) THEN analytics.ratio(p.cust_churned, q.active, 100) END,
           analytics.ratio(p.ticket_contacts, p.tickets_created, 1),
           coalesce(p.fr_count, 0)::bigint, coalesce(p.res_count, 0)::bigint,
           coalesce(p.fr_hist, 0)::text, coalesce(p.frb_hist, 0)::text,
           coalesce(p.res_hist, 0)::text, coalesce(p.resb_hist, 0)::text
      FROM keys k
      LEFT JOIN per p ON p.k = k.k
      LEFT JOIN pre q ON q.k = k.k
     ORDER BY k.k
$$;

-- The 90th percentiles (seconds) of a period's duration metrics, per key:
-- for each (metric, key), the caller found from the summed histogram the
-- buckets holding the two values around the rank (blo/olo: bucket and
-- offset within it of the lower one; bhi/ohi of the upper one); each is
-- then one index probe that reads that key's values of that bucket only.
-- blo = -1 asks for the plain percentile_cont (a histogram field
-- overflowed). Dynamic SQL names the grouping's column, so that the
-- planner picks its index; the column comes from a fixed list.
CREATE FUNCTION analytics.kpi_p90(p_from date, p_to date, p_group smallint,
                                  p_metric smallint[], p_key text[], p_n bigint[],
                                  p_blo smallint[], p_olo bigint[], p_bhi smallint[],
                                  p_ohi bigint[])
RETURNS TABLE (metric smallint, key text, p90_s float8)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
    col text := (ARRAY['channel', 'team', 'agent', 'segment', 'category'])[p_group];
    match text;
    keyexpr text;
BEGIN
    IF p_group = -1 THEN
        match := 's.day = w.key::date';
        keyexpr := 's.day::text';
    ELSIF p_group = 0 THEN
        match := 'true';
        keyexpr := $k$''$k$;
    ELSIF col IS NOT NULL THEN
        match := format('s.%I = w.key', col);
        keyexpr := format('s.%I', col);
    ELSE
        RAISE EXCEPTION 'analytics.kpi_p90: no grouping %', p_group;
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH want AS (
            SELECT * FROM unnest($3, $4, $5, $6, $7, $8, $9)
                          AS w(metric, key, n, blo, olo, bhi, ohi)
        )
        SELECT w.metric, w.key, analytics.lerp90(lo.ms, hi.ms, w.n) / 1000::float8
          FROM want w
         CROSS JOIN LATERAL (
                SELECT s.ms FROM analytics.samples s
                 WHERE s.metric = w.metric AND s.bucket = w.blo
                   AND s.day BETWEEN $1 AND $2 AND %1$s
                 ORDER BY s.ms OFFSET w.olo LIMIT 1) lo
         CROSS JOIN LATERAL (
                SELECT s.ms FROM analytics.samples s
                 WHERE s.metric = w.metric AND s.bucket = w.bhi
                   AND s.day BETWEEN $1 AND $2 AND %1$s
                 ORDER BY s.ms OFFSET w.ohi LIMIT 1) hi
         WHERE w.blo >= 0
        UNION ALL
        SELECT w.metric, w.key, f.p / 1000::float8
          FROM (SELECT s.metric, %2$s AS key,
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms) AS p
                  FROM analytics.samples s
                 WHERE s.metric IN (SELECT w2.metric FROM want w2 WHERE w2.blo < 0)
                   AND s.day BETWEEN $1 AND $2
                 GROUP BY 1, 2) f
          JOIN want w ON w.blo < 0 AND w.metric = f.metric AND w.key = f.key
    $q$, match, keyexpr)
    USING p_from, p_to, p_metric, p_key, p_n, p_blo, p_olo, p_bhi, p_ohi;
END;
$$;

-- Per day and channel, the contacts of a period (the dashboard's chart).
CREATE FUNCTION analytics.contacts_by_channel(p_from date, p_to date)
RETURNS TABLE (day date, channel text, contacts bigint)
LANGUAGE sql STABLE AS $$
    SELECT a.day, a.key, a.contacts FROM analytics.daily a
     WHERE a.dim = 1 AND a.day BETWEEN p_from AND p_to AND a.contacts <> 0
     ORDER BY a.day, a.key
$$;
