-- The KPI SQL is written from the tables that define the KPIs, never by
-- hand: services/analytics/kpi.def (the KPIs) and contrib.h (the measures of
-- analytics.daily). carebus-analytics writes, at start:
--   * the API's period query, sent as a parameterised statement: the
--     hand-written analytics.kpi_sums() goes;
--   * bi.kpi_daily's definition and its columns' comments, and the bi
--     comments that list the schema's enum values;
--   * analytics.apply_daily(), the live path's additions to the daily sums
--     (named columns, so that a measure's column may come last);
-- and applies those definitions under the migrations' lock whenever their
-- text changes (public.carebus_derived). A new KPI is then its kpi.def line and,
-- when it needs a new measure, a migration adding that column (nothing
-- restated), after which analytics rebuilds the sums once: settings.measures
-- records the measures the sums were computed with.
DROP FUNCTION analytics.kpi_sums(date, date, smallint);

ALTER TABLE analytics.settings ADD COLUMN measures text;

-- analytics.apply_daily() as carebus-analytics writes it today, so that the
-- function exists from the migrations on, before any analytics starts; from
-- then on analytics keeps it current (a new measure's column included).
CREATE OR REPLACE FUNCTION analytics.apply_daily(doc jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    IF jsonb_array_length(doc->'daily') > 0 THEN
    WITH d AS (
        SELECT * FROM jsonb_to_recordset(doc->'daily') AS x(
            dim smallint, day date, key text, contacts bigint, tickets_created bigint, ticket_contacts bigint, tickets_solved bigint, fcr_solved bigint, fr_count bigint, fr_sum_ms bigint, frb_sum_ms bigint, res_count bigint, res_sum_ms bigint, resb_sum_ms bigint, surveys_requested bigint, surveys_answered bigint, csat_answers bigint, csat_positive bigint, ces_answers bigint, ces_sum bigint, sla_fr_total bigint, sla_fr_met bigint, sla_nr_total bigint, sla_nr_met bigint, sla_res_total bigint, sla_res_met bigint, sla_breaches bigint, bl_open_1d bigint, bl_open_3d bigint, bl_open_7d bigint, bl_open_older bigint, bl_pending_1d bigint, bl_pending_3d bigint, bl_pending_7d bigint, bl_pending_older bigint, cust_active bigint, cust_churned bigint, fr_hist_add numeric, fr_hist_sub numeric, frb_hist_add numeric, frb_hist_sub numeric, res_hist_add numeric, res_hist_sub numeric, resb_hist_add numeric, resb_hist_sub numeric)
    )
    INSERT INTO analytics.daily AS a (dim, day, key, contacts, tickets_created, ticket_contacts, tickets_solved, fcr_solved, fr_count, fr_sum_ms, frb_sum_ms, res_count, res_sum_ms, resb_sum_ms, surveys_requested, surveys_answered, csat_answers, csat_positive, ces_answers, ces_sum, sla_fr_total, sla_fr_met, sla_nr_total, sla_nr_met, sla_res_total, sla_res_met, sla_breaches, bl_open_1d, bl_open_3d, bl_open_7d, bl_open_older, bl_pending_1d, bl_pending_3d, bl_pending_7d, bl_pending_older, cust_active, cust_churned, fr_hist, frb_hist, res_hist, resb_hist)
    SELECT dim, day, key, contacts, tickets_created, ticket_contacts, tickets_solved, fcr_solved, fr_count, fr_sum_ms, frb_sum_ms, res_count, res_sum_ms, resb_sum_ms, surveys_requested, surveys_answered, csat_answers, csat_positive, ces_answers, ces_sum, sla_fr_total, sla_fr_met, sla_nr_total, sla_nr_met, sla_res_total, sla_res_met, sla_breaches, bl_open_1d, bl_open_3d, bl_open_7d, bl_open_older, bl_pending_1d, bl_pending_3d, bl_pending_7d, bl_pending_older, cust_active, cust_churned, fr_hist_add - fr_hist_sub, frb_hist_add - frb_hist_sub, res_hist_add - res_hist_sub, resb_hist_add - resb_hist_sub
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
           AND a.contacts = 0
           AND a.tickets_created = 0
           AND a.ticket_contacts = 0
           AND a.tickets_solved = 0
           AND a.fcr_solved = 0
           AND a.fr_count = 0
           AND a.fr_sum_ms = 0
           AND a.frb_sum_ms = 0
           AND a.res_count = 0
           AND a.res_sum_ms = 0
           AND a.resb_sum_ms = 0
           AND a.surveys_requested = 0
           AND a.surveys_answered = 0
           AND a.csat_answers = 0
           AND a.csat_positive = 0
           AND a.ces_answers = 0
           AND a.ces_sum = 0
           AND a.sla_fr_total = 0
           AND a.sla_fr_met = 0
           AND a.sla_nr_total = 0
           AND a.sla_nr_met = 0
           AND a.sla_res_total = 0
           AND a.sla_res_met = 0
           AND a.sla_breaches = 0
           AND a.bl_open_1d = 0
           AND a.bl_open_3d = 0
           AND a.bl_open_7d = 0
           AND a.bl_open_older = 0
           AND a.bl_pending_1d = 0
           AND a.bl_pending_3d = 0
           AND a.bl_pending_7d = 0
           AND a.bl_pending_older = 0
           AND a.cust_active = 0
           AND a.cust_churned = 0
           AND a.fr_hist = 0
           AND a.frb_hist = 0
           AND a.res_hist = 0
           AND a.resb_hist = 0;
    END IF;
END;
$fn$;

-- analytics.apply() as 0050 wrote it, with the daily sums handed to
-- analytics.apply_daily().
CREATE OR REPLACE FUNCTION analytics.apply(doc jsonb) RETURNS void
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
