-- The live path writes its batches through session staging tables (COPY,
-- then one merge; services/analytics/stage.c) instead of one JSON document:
-- analytics.apply(jsonb) and analytics.apply_daily(jsonb) go, and
-- analytics.apply_daily(p_prune) reads the session's pg_temp.live_daily.
-- carebus-analytics writes the function from contrib.h's measures at start
-- (public.carebus_derived, as 0052 describes); it is here as written today
-- so that it exists from the migrations on, before any analytics starts.
DROP FUNCTION analytics.apply(jsonb);
-- IF EXISTS: a database that ran 0050 while analytics.apply() still held the
-- sums itself has analytics.apply_daily(jsonb) only if 0052's analytics ran.
DROP FUNCTION IF EXISTS analytics.apply_daily(jsonb);

-- Written by carebus-analytics from services/analytics/contrib.h's measures.
CREATE OR REPLACE FUNCTION analytics.apply_daily(p_prune boolean) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics.daily AS a (dim, day, key, contacts, tickets_created, ticket_contacts, tickets_solved, fcr_solved, fr_count, fr_sum_ms, frb_sum_ms, res_count, res_sum_ms, resb_sum_ms, surveys_requested, surveys_answered, csat_answers, csat_positive, ces_answers, ces_sum, sla_fr_total, sla_fr_met, sla_nr_total, sla_nr_met, sla_res_total, sla_res_met, sla_breaches, bl_open_1d, bl_open_3d, bl_open_7d, bl_open_older, bl_pending_1d, bl_pending_3d, bl_pending_7d, bl_pending_older, cust_active, cust_churned, fr_hist, frb_hist, res_hist, resb_hist)
    SELECT dim, day, key, contacts, tickets_created, ticket_contacts, tickets_solved, fcr_solved, fr_count, fr_sum_ms, frb_sum_ms, res_count, res_sum_ms, resb_sum_ms, surveys_requested, surveys_answered, csat_answers, csat_positive, ces_answers, ces_sum, sla_fr_total, sla_fr_met, sla_nr_total, sla_nr_met, sla_res_total, sla_res_met, sla_breaches, bl_open_1d, bl_open_3d, bl_open_7d, bl_open_older, bl_pending_1d, bl_pending_3d, bl_pending_7d, bl_pending_older, cust_active, cust_churned, fr_hist_add - fr_hist_sub, frb_hist_add - frb_hist_sub, res_hist_add - res_hist_sub, resb_hist_add - resb_hist_sub
      FROM pg_temp.live_daily
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
    IF p_prune THEN
        DELETE FROM analytics.daily a USING pg_temp.live_daily x
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

