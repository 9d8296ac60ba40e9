-- bi: the stable, documented views BI tools read, through the bi_reader
-- role (created by analytics at start, see analytics.bi_setup below).
--
-- Views run with their owner's rights, so bi_reader needs rights on these
-- views only, never on the tables underneath. Personal data stays out:
-- phone numbers and emails are masked, names, subjects and message texts
-- are not exposed. Days are local days of the analytics time zone
-- (analytics.settings.tz, CAREBUS_ANALYTICS_TZ).
CREATE SCHEMA IF NOT EXISTS bi;
COMMENT ON SCHEMA bi IS
    'carebus for BI tools: documented, stable views over the care department''s data. '
    'Read with the role bi_reader.';

-- --- bi.tickets ----------------------------------------------------------------
CREATE VIEW bi.tickets AS
SELECT t.id AS ticket_id,
       t.customer_id,
       t.status,
       t.channel,
       t.category,
       t.priority,
       t.team,
       t.assignee AS agent,
       a.segment,
       t.created_at,
       (t.created_at AT TIME ZONE z.tz)::date AS created_day,
       t.updated_at,
       t.solved_at,
       t.closed_at,
       a.contacts,
       a.public_replies,
       a.transfers,
       a.reopens,
       a.escalations,
       a.first_response_at,
       a.first_response_ms / 1000.0 AS first_response_s,
       a.first_response_business_ms / 1000.0 AS first_response_business_s,
       a.resolution_ms / 1000.0 AS resolution_s,
       a.resolution_business_ms / 1000.0 AS resolution_business_s,
       a.fcr,
       a.sla_first_response_breached,
       a.sla_resolution_breached,
       a.sla_breaches,
       a.merged_into
  FROM router.tickets t
  LEFT JOIN analytics.tickets a ON a.ticket_id = t.id
 CROSS JOIN (SELECT coalesce(max(s.tz), 'Asia/Ho_Chi_Minh') AS tz FROM analytics.settings s) z;

COMMENT ON VIEW bi.tickets IS
    'One row per ticket: where it stands (router) and its KPI facts (analytics).';
COMMENT ON COLUMN bi.tickets.ticket_id IS 'The ticket''s id (UUID).';
COMMENT ON COLUMN bi.tickets.customer_id IS 'The customer the ticket belongs to (bi.customers).';
COMMENT ON COLUMN bi.tickets.status IS 'open, pending, solved or closed.';
COMMENT ON COLUMN bi.tickets.channel IS
    'The channel of the contact that opened the ticket (phone, email, chat, facebook, zalo, '
    'instagram, tiktok, twitter, sms, whatsapp, helpcenter, store).';
COMMENT ON COLUMN bi.tickets.category IS
    'The kind of request (technical_support, complaint, product_info, returns_warranty, '
    'billing, sales, account, other); null until classified.';
COMMENT ON COLUMN bi.tickets.priority IS 'low, normal, high or urgent; null until classified.';
COMMENT ON COLUMN bi.tickets.team IS 'The team the ticket is with now.';
COMMENT ON COLUMN bi.tickets.agent IS 'The agent it is assigned to now; null while queued.';
COMMENT ON COLUMN bi.tickets.segment IS
    'The customer''s segment (regular, vip, wholesale) the KPIs count the ticket under.';
COMMENT ON COLUMN bi.tickets.created_at IS 'When the first contact of the ticket happened.';
COMMENT ON COLUMN bi.tickets.created_day IS 'created_at''s local day (analytics time zone).';
COMMENT ON COLUMN bi.tickets.updated_at IS 'The ticket''s last activity.';
COMMENT ON COLUMN bi.tickets.solved_at IS 'When it was last solved; null if never.';
COMMENT ON COLUMN bi.tickets.closed_at IS 'When it was closed; null if not closed.';
COMMENT ON COLUMN bi.tickets.contacts IS 'Customer contacts recorded on the ticket.';
COMMENT ON COLUMN bi.tickets.public_replies IS
    'Public agent replies (internal notes are not counted).';
COMMENT ON COLUMN bi.tickets.transfers IS 'Times the ticket was transferred to another team.';
COMMENT ON COLUMN bi.tickets.reopens IS 'Times the ticket was reopened after a solve.';
COMMENT ON COLUMN bi.tickets.escalations IS 'SLA escalations applied to the ticket.';
COMMENT ON COLUMN bi.tickets.first_response_at IS 'The first public agent reply.';
COMMENT ON COLUMN bi.tickets.first_response_s IS
    'First-response time: seconds from created_at to the first public reply.';
COMMENT ON COLUMN bi.tickets.first_response_business_s IS
    'The same within business hours only (CAREBUS_ANALYTICS_HOURS, holidays excluded).';
COMMENT ON COLUMN bi.tickets.resolution_s IS
    'Resolution time: seconds from created_at to the last solve (or the close).';
COMMENT ON COLUMN bi.tickets.resolution_business_s IS
    'The same within business hours only.';
COMMENT ON COLUMN bi.tickets.fcr IS
    'First-contact resolution: solved with exactly one public reply, no transfer, no reopen; '
    'null while not solved.';
COMMENT ON COLUMN bi.tickets.sla_first_response_breached IS
    'sla-monitor reported a breach of the first-response target.';
COMMENT ON COLUMN bi.tickets.sla_resolution_breached IS
    'sla-monitor reported a breach of the resolution target.';
COMMENT ON COLUMN bi.tickets.sla_breaches IS 'SLA breaches of any target on the ticket.';
COMMENT ON COLUMN bi.tickets.merged_into IS
    'Set when the ticket was closed by merging it into this one (its customer was merged): '
    'the KPIs count the need there, not as a ticket of its own.';

-- --- bi.messages ---------------------------------------------------------------
CREATE VIEW bi.messages AS
SELECT m.event_id AS message_id,
       m.ticket_id,
       m.customer_id,
       m.channel,
       m.direction,
       m.at,
       (m.at AT TIME ZONE z.tz)::date AS day,
       char_length(m.text) AS text_length,
       (m.subject IS NOT NULL) AS has_subject
  FROM router.messages m
 CROSS JOIN (SELECT coalesce(max(s.tz), 'Asia/Ho_Chi_Minh') AS tz FROM analytics.settings s) z;

COMMENT ON VIEW bi.messages IS
    'The timeline of every ticket: one row per contact, reply or note (texts left out).';
COMMENT ON COLUMN bi.messages.message_id IS 'The id of the event that carried the message.';
COMMENT ON COLUMN bi.messages.ticket_id IS 'The ticket the message belongs to (bi.tickets).';
COMMENT ON COLUMN bi.messages.customer_id IS 'The customer (bi.customers).';
COMMENT ON COLUMN bi.messages.channel IS 'The channel it came or went by.';
COMMENT ON COLUMN bi.messages.direction IS
    'in: from the customer; out: an agent''s public reply; note: an internal note.';
COMMENT ON COLUMN bi.messages.at IS 'When it was sent.';
COMMENT ON COLUMN bi.messages.day IS 'at''s local day (analytics time zone).';
COMMENT ON COLUMN bi.messages.text_length IS 'Length of the text in characters (the text is not exposed).';
COMMENT ON COLUMN bi.messages.has_subject IS 'Whether the message had a subject (email).';

-- --- bi.customers ------------------------------------------------------------------
CREATE VIEW bi.customers AS
SELECT c.id AS customer_id,
       c.segment,
       c.status,
       c.merged_into,
       c.created_at,
       c.updated_at,
       (SELECT CASE WHEN length(i.value) > 6
                    THEN left(i.value, 3) || repeat('*', length(i.value) - 6) || right(i.value, 3)
                    ELSE repeat('*', length(i.value)) END
          FROM router.identities i
         WHERE i.customer_id = c.id AND i.kind = 'phone'
         ORDER BY i.created_at, i.value LIMIT 1) AS phone_masked,
       (SELECT left(i.value, 1) || '***@' || split_part(i.value, '@', 2)
          FROM router.identities i
         WHERE i.customer_id = c.id AND i.kind = 'email'
         ORDER BY i.created_at, i.value LIMIT 1) AS email_masked,
       (SELECT count(*) FROM router.identities i WHERE i.customer_id = c.id) AS identities,
       (SELECT count(*) FROM router.tickets t WHERE t.customer_id = c.id) AS tickets,
       a.first_seen,
       a.churned_at
  FROM router.customers c
  LEFT JOIN analytics.customers a ON a.customer_id = c.id;

COMMENT ON VIEW bi.customers IS
    'One row per customer, across every channel. Phone and email are masked; names are not '
    'exposed.';
COMMENT ON COLUMN bi.customers.customer_id IS 'The customer''s id (UUID).';
COMMENT ON COLUMN bi.customers.segment IS 'regular, vip or wholesale.';
COMMENT ON COLUMN bi.customers.status IS 'active or churned.';
COMMENT ON COLUMN bi.customers.merged_into IS
    'Set when this customer turned out to be another one (the survivor) and was merged.';
COMMENT ON COLUMN bi.customers.created_at IS 'When the customer first contacted the department.';
COMMENT ON COLUMN bi.customers.updated_at IS 'The customer record''s last change.';
COMMENT ON COLUMN bi.customers.phone_masked IS
    'The first phone number (E.164) with all but its first 3 and last 3 characters masked.';
COMMENT ON COLUMN bi.customers.email_masked IS
    'The first email address with its local part masked but the first character.';
COMMENT ON COLUMN bi.customers.identities IS
    'How many handles (phone, email, channel ids) identify the customer.';
COMMENT ON COLUMN bi.customers.tickets IS 'Tickets of the customer.';
COMMENT ON COLUMN bi.customers.first_seen IS 'The first event that named the customer.';
COMMENT ON COLUMN bi.customers.churned_at IS
    'When the customer was last marked churned, if churned now.';

-- --- bi.surveys ----------------------------------------------------------------------
CREATE VIEW bi.surveys AS
SELECT s.survey_id,
       s.ticket_id,
       s.customer_id,
       s.channel,
       s.requested_at,
       (s.requested_at AT TIME ZONE z.tz)::date AS requested_day,
       s.answered_at,
       (s.answered_at AT TIME ZONE z.tz)::date AS answered_day,
       (s.answered_at IS NOT NULL) AS answered,
       s.csat,
       s.ces,
       (s.csat >= 4) AS csat_positive,
       s.comment
  FROM analytics.surveys s
 CROSS JOIN (SELECT coalesce(max(st.tz), 'Asia/Ho_Chi_Minh') AS tz FROM analytics.settings st) z;

COMMENT ON VIEW bi.surveys IS 'One row per CSAT/CES survey sent after a ticket was solved.';
COMMENT ON COLUMN bi.surveys.survey_id IS 'The survey''s id.';
COMMENT ON COLUMN bi.surveys.ticket_id IS 'The ticket it asks about (bi.tickets).';
COMMENT ON COLUMN bi.surveys.customer_id IS 'The customer asked.';
COMMENT ON COLUMN bi.surveys.channel IS 'The channel the survey was sent on.';
COMMENT ON COLUMN bi.surveys.requested_at IS 'When the survey was sent.';
COMMENT ON COLUMN bi.surveys.requested_day IS 'requested_at''s local day.';
COMMENT ON COLUMN bi.surveys.answered_at IS 'When the customer answered; null if not (yet).';
COMMENT ON COLUMN bi.surveys.answered_day IS 'answered_at''s local day.';
COMMENT ON COLUMN bi.surveys.answered IS 'Whether the customer answered.';
COMMENT ON COLUMN bi.surveys.csat IS 'Satisfaction, 1 (very dissatisfied) to 5 (very satisfied).';
COMMENT ON COLUMN bi.surveys.ces IS
    'Customer effort: "the company made it easy to handle my issue", 1 (strongly disagree) '
    'to 7 (strongly agree).';
COMMENT ON COLUMN bi.surveys.csat_positive IS 'csat is 4 or 5 (what CSAT % counts).';
COMMENT ON COLUMN bi.surveys.comment IS 'The customer''s optional comment.';

-- --- bi.sla ------------------------------------------------------------------------
CREATE VIEW bi.sla AS
SELECT t.ticket_id,
       g.target,
       (SELECT max(e.due_at) FROM analytics.sla_events e
         WHERE e.ticket_id = t.ticket_id AND e.target = g.target) AS due_at,
       (SELECT min(e.at) FROM analytics.sla_events e
         WHERE e.ticket_id = t.ticket_id AND e.target = g.target AND e.kind = 'warning')
           AS warned_at,
       (SELECT min(e.at) FROM analytics.sla_events e
         WHERE e.ticket_id = t.ticket_id AND e.target = g.target AND e.kind = 'breach')
           AS breached_at,
       CASE g.target WHEN 'first_response' THEN t.first_response_at
                     WHEN 'resolution' THEN t.solved_at END AS achieved_at,
       CASE g.target
           WHEN 'first_response' THEN (t.first_response_at IS NOT NULL
                                       OR t.sla_first_response_breached)::int
           WHEN 'resolution' THEN (t.solved_at IS NOT NULL OR t.sla_resolution_breached)::int
           ELSE t.sla_next_response_total END AS evaluations,
       CASE g.target
           WHEN 'first_response' THEN (t.first_response_at IS NOT NULL
                                       AND NOT t.sla_first_response_breached)::int
           WHEN 'resolution' THEN (t.solved_at IS NOT NULL AND NOT t.sla_resolution_breached)::int
           ELSE t.sla_next_response_met END AS met,
       (SELECT count(*) FROM analytics.sla_events e
         WHERE e.ticket_id = t.ticket_id AND e.target = g.target AND e.kind = 'breach')
           AS breaches
  FROM analytics.tickets t
 CROSS JOIN (VALUES ('first_response'), ('next_response'), ('resolution')) AS g (target)
 WHERE t.opened;

COMMENT ON VIEW bi.sla IS
    'One row per ticket and SLA target: when it was due, warned, breached or achieved. '
    'Compliance % of a target = sum(met) / sum(evaluations) x 100.';
COMMENT ON COLUMN bi.sla.ticket_id IS 'The ticket (bi.tickets).';
COMMENT ON COLUMN bi.sla.target IS 'first_response, next_response or resolution.';
COMMENT ON COLUMN bi.sla.due_at IS 'The latest due time sla-monitor reported for the target.';
COMMENT ON COLUMN bi.sla.warned_at IS 'sla-monitor''s first warning (before the breach).';
COMMENT ON COLUMN bi.sla.breached_at IS 'sla-monitor''s first breach of the target.';
COMMENT ON COLUMN bi.sla.achieved_at IS
    'When the target was achieved: the first public reply, or the solve.';
COMMENT ON COLUMN bi.sla.evaluations IS
    'Times the target was settled (achieved or breached): at most 1 for first response and '
    'resolution, one per customer message awaiting an answer for next response.';
COMMENT ON COLUMN bi.sla.met IS 'Of those, the ones achieved without a breach.';
COMMENT ON COLUMN bi.sla.breaches IS 'Breaches sla-monitor reported for the target.';

-- --- bi.kpi_daily --------------------------------------------------------------------
CREATE VIEW bi.kpi_daily AS
WITH d AS (
    SELECT a.*,
           sum(a.bl_open_1d + a.bl_open_3d + a.bl_open_7d + a.bl_open_older + a.bl_pending_1d
               + a.bl_pending_3d + a.bl_pending_7d + a.bl_pending_older) OVER w AS bl_all,
           sum(a.bl_pending_1d + a.bl_pending_3d + a.bl_pending_7d + a.bl_pending_older)
               OVER w AS bl_pending,
           sum(a.bl_open_1d + a.bl_pending_1d) OVER w AS bl_1d,
           sum(a.bl_open_3d + a.bl_pending_3d) OVER w AS bl_3d,
           sum(a.bl_open_7d + a.bl_pending_7d) OVER w AS bl_7d,
           sum(a.bl_open_older + a.bl_pending_older) OVER w AS bl_older,
           sum(a.cust_active) OVER w AS active_start
      FROM analytics.daily a
    WINDOW w AS (PARTITION BY a.dim, a.key ORDER BY a.day)
)
SELECT d.day,
       (ARRAY['all', 'channel', 'team', 'agent', 'segment', 'category'])[d.dim + 1] AS dimension,
       CASE WHEN d.dim = 1 THEN nullif(d.key, '') END AS channel,
       CASE WHEN d.dim = 2 THEN nullif(d.key, '') END AS team,
       CASE WHEN d.dim = 3 THEN nullif(d.key, '') END AS agent,
       CASE WHEN d.dim = 4 THEN nullif(d.key, '') END AS segment,
       CASE WHEN d.dim = 5 THEN nullif(d.key, '') END AS category,
       d.contacts,
       d.tickets_created,
       d.tickets_solved,
       analytics.ratio(d.fcr_solved, d.tickets_solved, 100) AS fcr_pct,
       analytics.ratio(d.csat_positive, d.csat_answers, 100) AS csat_pct,
       analytics.ratio(d.ces_sum, d.ces_answers, 1) AS ces_avg,
       analytics.ratio(d.surveys_answered, d.surveys_requested, 100) AS survey_response_pct,
       analytics.ratio(d.fr_sum_ms, d.fr_count * 1000, 1) AS first_response_avg_s,
       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms) FROM analytics.samples s
         WHERE s.metric = 0 AND s.day = d.day
           AND CASE d.dim WHEN 0 THEN true WHEN 1 THEN s.channel = d.key
                          WHEN 2 THEN s.team = d.key WHEN 3 THEN s.agent = d.key
                          WHEN 4 THEN s.segment = d.key ELSE s.category = d.key END)
           / 1000::float8 AS first_response_p90_s,
       analytics.ratio(d.res_sum_ms, d.res_count * 1000, 1) AS resolution_avg_s,
       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms) FROM analytics.samples s
         WHERE s.metric = 2 AND s.day = d.day
           AND CASE d.dim WHEN 0 THEN true WHEN 1 THEN s.channel = d.key
                          WHEN 2 THEN s.team = d.key WHEN 3 THEN s.agent = d.key
                          WHEN 4 THEN s.segment = d.key ELSE s.category = d.key END)
           / 1000::float8 AS resolution_p90_s,
       analytics.ratio(d.sla_fr_met + d.sla_nr_met + d.sla_res_met,
                       d.sla_fr_total + d.sla_nr_total + d.sla_res_total, 100)
           AS sla_compliance_pct,
       d.sla_breaches,
       d.bl_all AS backlog_open,
       CASE WHEN d.dim IN (0, 4) THEN analytics.ratio(d.cust_churned, d.active_start, 100) END
           AS churn_pct,
       analytics.ratio(d.ticket_contacts, d.tickets_created, 1) AS contacts_per_ticket,
       analytics.ratio(d.frb_sum_ms, d.fr_count * 1000, 1) AS first_response_business_avg_s,
       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms) FROM analytics.samples s
         WHERE s.metric = 1 AND s.day = d.day
           AND CASE d.dim WHEN 0 THEN true WHEN 1 THEN s.channel = d.key
                          WHEN 2 THEN s.team = d.key WHEN 3 THEN s.agent = d.key
                          WHEN 4 THEN s.segment = d.key ELSE s.category = d.key END)
           / 1000::float8 AS first_response_business_p90_s,
       analytics.ratio(d.resb_sum_ms, d.res_count * 1000, 1) AS resolution_business_avg_s,
       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms) FROM analytics.samples s
         WHERE s.metric = 3 AND s.day = d.day
           AND CASE d.dim WHEN 0 THEN true WHEN 1 THEN s.channel = d.key
                          WHEN 2 THEN s.team = d.key WHEN 3 THEN s.agent = d.key
                          WHEN 4 THEN s.segment = d.key ELSE s.category = d.key END)
           / 1000::float8 AS resolution_business_p90_s,
       analytics.ratio(d.sla_fr_met, d.sla_fr_total, 100) AS sla_first_response_pct,
       analytics.ratio(d.sla_nr_met, d.sla_nr_total, 100) AS sla_next_response_pct,
       analytics.ratio(d.sla_res_met, d.sla_res_total, 100) AS sla_resolution_pct,
       d.bl_pending AS backlog_pending,
       d.bl_1d AS backlog_1d,
       d.bl_3d AS backlog_3d,
       d.bl_7d AS backlog_7d,
       d.bl_older AS backlog_older
  FROM d;

COMMENT ON VIEW bi.kpi_daily IS
    'The department''s KPIs per local day: one row per day for the whole department '
    '(dimension = all) and one per day and value of each dimension (channel, team, agent, '
    'segment, category). The same figures as GET /v1/kpis for a one-day period. Ratios and '
    'averages are null when they have no data; percentiles and averages do not add up '
    'across rows: for a longer period use the API or recompute from bi.tickets.';
COMMENT ON COLUMN bi.kpi_daily.day IS 'The local day (analytics time zone).';
COMMENT ON COLUMN bi.kpi_daily.dimension IS
    'What the row is about: all, channel, team, agent, segment or category.';
COMMENT ON COLUMN bi.kpi_daily.channel IS 'The channel, on dimension = channel rows.';
COMMENT ON COLUMN bi.kpi_daily.team IS 'The team, on dimension = team rows (null: none).';
COMMENT ON COLUMN bi.kpi_daily.agent IS 'The agent, on dimension = agent rows (null: unassigned).';
COMMENT ON COLUMN bi.kpi_daily.segment IS 'The customer segment, on dimension = segment rows.';
COMMENT ON COLUMN bi.kpi_daily.category IS
    'The category, on dimension = category rows (null: not classified).';
COMMENT ON COLUMN bi.kpi_daily.contacts IS
    'Customer contacts recorded on tickets that day (by the contact''s own channel).';
COMMENT ON COLUMN bi.kpi_daily.tickets_created IS 'Tickets opened that day.';
COMMENT ON COLUMN bi.kpi_daily.tickets_solved IS 'Tickets whose last solve was that day.';
COMMENT ON COLUMN bi.kpi_daily.fcr_pct IS
    'First-contact resolution %: solved tickets with exactly one public reply, no transfer '
    'and no reopen / solved tickets x 100.';
COMMENT ON COLUMN bi.kpi_daily.csat_pct IS 'CSAT %: answers 4 or 5 / all CSAT answers x 100.';
COMMENT ON COLUMN bi.kpi_daily.ces_avg IS 'CES: mean of the CES answers (1-7).';
COMMENT ON COLUMN bi.kpi_daily.survey_response_pct IS
    'Surveys sent that day that were answered / surveys sent that day x 100.';
COMMENT ON COLUMN bi.kpi_daily.first_response_avg_s IS
    'Mean first-response time (seconds) of the tickets first answered that day.';
COMMENT ON COLUMN bi.kpi_daily.first_response_p90_s IS
    'Its 90th percentile (percentile_cont), seconds.';
COMMENT ON COLUMN bi.kpi_daily.resolution_avg_s IS
    'Mean resolution time (seconds) of the tickets solved that day.';
COMMENT ON COLUMN bi.kpi_daily.resolution_p90_s IS 'Its 90th percentile, seconds.';
COMMENT ON COLUMN bi.kpi_daily.sla_compliance_pct IS
    'SLA targets (first response, next response, resolution) met / targets settled that '
    'day x 100; a target is met when achieved without an sla.breach.';
COMMENT ON COLUMN bi.kpi_daily.sla_breaches IS 'SLA breaches reported that day.';
COMMENT ON COLUMN bi.kpi_daily.backlog_open IS
    'The backlog at the end of the day: tickets open or pending on the customer.';
COMMENT ON COLUMN bi.kpi_daily.churn_pct IS
    'Customers marked churned that day / customers active at the start of the day x 100 '
    '(dimensions all and segment only: churn is a customer KPI).';
COMMENT ON COLUMN bi.kpi_daily.contacts_per_ticket IS
    'Contacts of the tickets opened that day / tickets opened that day.';
COMMENT ON COLUMN bi.kpi_daily.first_response_business_avg_s IS
    'Mean first-response time in business seconds (opening hours only).';
COMMENT ON COLUMN bi.kpi_daily.first_response_business_p90_s IS
    'Its 90th percentile, business seconds.';
COMMENT ON COLUMN bi.kpi_daily.resolution_business_avg_s IS
    'Mean resolution time in business seconds.';
COMMENT ON COLUMN bi.kpi_daily.resolution_business_p90_s IS
    'Its 90th percentile, business seconds.';
COMMENT ON COLUMN bi.kpi_daily.sla_first_response_pct IS 'First-response targets met %.';
COMMENT ON COLUMN bi.kpi_daily.sla_next_response_pct IS 'Next-response targets met %.';
COMMENT ON COLUMN bi.kpi_daily.sla_resolution_pct IS 'Resolution targets met %.';
COMMENT ON COLUMN bi.kpi_daily.backlog_pending IS
    'Of backlog_open, the tickets pending on the customer.';
COMMENT ON COLUMN bi.kpi_daily.backlog_1d IS 'Backlog tickets at most 1 day old.';
COMMENT ON COLUMN bi.kpi_daily.backlog_3d IS 'Backlog tickets older than 1 day, at most 3.';
COMMENT ON COLUMN bi.kpi_daily.backlog_7d IS 'Backlog tickets older than 3 days, at most 7.';
COMMENT ON COLUMN bi.kpi_daily.backlog_older IS 'Backlog tickets older than 7 days.';

-- --- the bi_reader role ------------------------------------------------------------
-- Called by analytics at start with the SCRAM verifier of
-- CAREBUS_BI_PASSWORD (computed client-side, so the password itself never
-- reaches the server or its logs), or NULL for no password. Roles are
-- cluster-wide; the grants are this database's. bi_reader may connect and
-- read bi, nothing else: other schemas grant it nothing, and public is
-- closed to PUBLIC.
CREATE FUNCTION analytics.bi_setup(p_verifier text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        CREATE ROLE bi_reader LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- another database of the cluster made it first
    END;
    EXECUTE format('ALTER ROLE bi_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
                   p_verifier);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO bi_reader', current_database());
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA bi TO bi_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA bi TO bi_reader;
    ALTER DEFAULT PRIVILEGES IN SCHEMA bi GRANT SELECT ON TABLES TO bi_reader;
END;
$$;
