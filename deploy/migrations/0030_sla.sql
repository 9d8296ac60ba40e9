-- sla-monitor's tables: policies, calendars, per-ticket targets and timers.
--
-- Configuration (policies, calendars, holidays) is loaded from the JSON files
-- under deploy/config by sla.load_config, which the service calls at start
-- and on SIGHUP; 0031_sla_seed.sql loads the shipped defaults, so a database
-- always has a usable configuration.
--
-- Derived state (ticket_facts .. emitted) is a pure function of the event
-- log: facts keep the log's (stream, seq) and the events' own times, targets
-- are recomputed from all of a ticket's facts whatever order the streams were
-- applied in, and sla.emitted mirrors the sla.warning / sla.breach events of
-- the "sla" stream. Wiping these tables and sla-monitor's offsets
-- (sla.reset_derived) and restarting rebuilds the same rows.
--
-- Calendar arithmetic exists twice, here (sla.business_us_between, for the
-- API and BI) and in services/libcarebus/calendar.c (for deadlines and KPIs);
-- both convert local wall times with PostgreSQL's rules, and a unit test
-- (tests/unit/libcarebus/test_calendar_sql.c) holds them equal.
CREATE SCHEMA IF NOT EXISTS sla;

-- --- configuration ------------------------------------------------------------

CREATE TABLE sla.config (
    name      text PRIMARY KEY CHECK (name IN ('policies', 'calendars', 'holidays')),
    document  jsonb       NOT NULL,
    origin    text        NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sla.config IS
    'The SLA configuration documents as last loaded (deploy/config/sla-*.json).';
COMMENT ON COLUMN sla.config.origin IS 'the file it came from, or the migration that seeded it';

CREATE TABLE sla.holidays (
    set_id      text    NOT NULL,
    day         date    NOT NULL,
    name        text    NOT NULL,
    provisional boolean NOT NULL DEFAULT false,
    PRIMARY KEY (set_id, day)
);
COMMENT ON TABLE sla.holidays IS 'Closed local dates, in named sets that calendars use.';
COMMENT ON COLUMN sla.holidays.provisional IS
    'true when the date follows the Labour Code but the government has not yet published it';

CREATE TABLE sla.calendars (
    id           text PRIMARY KEY,
    time_zone    text    NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    always_open  boolean NOT NULL DEFAULT false,
    holiday_sets text[]  NOT NULL DEFAULT '{}',
    description  text
);
COMMENT ON TABLE sla.calendars IS
    'Business-hours calendars: opening hours (sla.calendar_hours) in a time zone, minus '
    'holidays; always_open calendars count every second.';

CREATE TABLE sla.calendar_hours (
    calendar_id text     NOT NULL REFERENCES sla.calendars (id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens       time     NOT NULL,
    closes      time     NOT NULL,
    PRIMARY KEY (calendar_id, weekday, opens),
    CHECK (opens < closes)
);
COMMENT ON COLUMN sla.calendar_hours.weekday IS 'ISO weekday: 1 Monday .. 7 Sunday';
COMMENT ON COLUMN sla.calendar_hours.closes IS 'local wall time; 24:00 is the end of the day';

CREATE TABLE sla.policies (
    id          text PRIMARY KEY,
    segment     text     NOT NULL UNIQUE CHECK (segment IN ('regular', 'vip', 'wholesale')),
    calendar_id text     NOT NULL REFERENCES sla.calendars (id),
    warning_pct smallint NOT NULL DEFAULT 80 CHECK (warning_pct BETWEEN 0 AND 99),
    description text
);
COMMENT ON TABLE sla.policies IS
    'One SLA policy per customer segment; a segment without one uses the regular policy.';
COMMENT ON COLUMN sla.policies.warning_pct IS
    'sla.warning is published once this share of a target is used (0: no warnings)';

CREATE TABLE sla.policy_targets (
    policy_id     text    NOT NULL REFERENCES sla.policies (id) ON DELETE CASCADE,
    priority      text    NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    target        text    NOT NULL
                  CHECK (target IN ('first_response', 'next_response', 'resolution')),
    business_secs integer NOT NULL CHECK (business_secs > 0),
    PRIMARY KEY (policy_id, priority, target)
);
COMMENT ON TABLE sla.policy_targets IS
    'Targets in business seconds of the policy''s calendar; a missing row is not tracked.';

-- --- derived state --------------------------------------------------------------

-- What happened to a ticket, as far as its clocks care, with the event's own
-- time. Customer messages come from the router (ticket.contact_added), agent
-- replies and status requests from ingest.
CREATE TABLE sla.ticket_facts (
    stream    text        NOT NULL,
    seq       bigint      NOT NULL,
    ticket_id uuid        NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('opened', 'customer_message', 'agent_reply',
                                                   'pending', 'open', 'solved', 'closed',
                                                   'reopened', 'classified', 'escalated')),
    priority  text,
    event_id  uuid        NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX ticket_facts_ticket ON sla.ticket_facts (ticket_id);
COMMENT ON TABLE sla.ticket_facts IS
    'The events that drive a ticket''s SLA clocks, with the event''s own time.';

CREATE TABLE sla.tickets (
    ticket_id   uuid PRIMARY KEY,
    customer_id uuid,
    opened_at   timestamptz,
    closed_at   timestamptz,
    priority    text,
    segment     text,
    policy_id   text,
    calendar_id text
);
CREATE INDEX tickets_customer ON sla.tickets (customer_id);
COMMENT ON TABLE sla.tickets IS
    'Each ticket''s SLA policy as last computed: its priority (latest classification), '
    'its customer''s segment and the policy and calendar they select.';
COMMENT ON COLUMN sla.tickets.priority IS
    'latest priority, escalations included (the policy uses the classified priority)';

-- Segment changes (customer.profile_updated), kept as history: a ticket uses
-- its customer's latest segment up to the ticket's close.
CREATE TABLE sla.customer_segments (
    stream      text        NOT NULL,
    seq         bigint      NOT NULL,
    customer_id uuid        NOT NULL,
    at          timestamptz NOT NULL,
    segment     text        NOT NULL CHECK (segment IN ('regular', 'vip', 'wholesale')),
    PRIMARY KEY (stream, seq)
);
CREATE INDEX customer_segments_customer ON sla.customer_segments (customer_id, at);

CREATE TABLE sla.targets (
    ticket_id               uuid        NOT NULL,
    target                  text        NOT NULL
                            CHECK (target IN ('first_response', 'next_response', 'resolution')),
    cycle                   integer     NOT NULL CHECK (cycle >= 0),
    status                  text        NOT NULL
                            CHECK (status IN ('running', 'paused', 'achieved', 'cancelled')),
    policy_id               text        NOT NULL,
    calendar_id             text        NOT NULL,
    priority                text        NOT NULL,
    segment                 text        NOT NULL,
    target_secs             integer     NOT NULL,
    started_at              timestamptz NOT NULL,
    due_at                  timestamptz,
    warn_at                 timestamptz,
    achieved_at             timestamptz,
    cancelled_at            timestamptz,
    remaining_business_secs bigint,
    warned                  boolean     NOT NULL DEFAULT false,
    breached                boolean     NOT NULL DEFAULT false,
    next_fire_at            timestamptz,
    PRIMARY KEY (ticket_id, target, cycle)
);
-- The timers: upcoming warnings and breaches. sla-monitor loads them at start
-- and probes for overdue ones; both use this index only.
CREATE INDEX targets_next_fire ON sla.targets (next_fire_at) WHERE next_fire_at IS NOT NULL;
COMMENT ON TABLE sla.targets IS
    'One row per SLA target occurrence of a ticket: first response (cycle 0), each next '
    'response (a customer message after an agent reply opens a cycle) and each resolution '
    '(a reopen opens a cycle).';
COMMENT ON COLUMN sla.targets.cycle IS 'occurrence of the target on the ticket, from 0';
COMMENT ON COLUMN sla.targets.status IS
    'running; paused (resolution while pending on the customer); achieved (met, on time or '
    'late); cancelled (the ticket was solved or closed before it was met)';
COMMENT ON COLUMN sla.targets.target_secs IS 'the target, in business seconds of calendar_id';
COMMENT ON COLUMN sla.targets.started_at IS 'when the clock started (cycle start)';
COMMENT ON COLUMN sla.targets.due_at IS
    'deadline: when the business time left runs out; NULL while paused';
COMMENT ON COLUMN sla.targets.warn_at IS 'when warning_pct of the target is used';
COMMENT ON COLUMN sla.targets.achieved_at IS 'when the target was met (reply, solve)';
COMMENT ON COLUMN sla.targets.remaining_business_secs IS
    'business seconds left when paused or stopped (negative: that late); NULL while running '
    '(sla.ticket_json computes it live)';
COMMENT ON COLUMN sla.targets.breached IS
    'the deadline passed before the target was met (sla.breach published)';
COMMENT ON COLUMN sla.targets.warned IS 'sla.warning was published';
COMMENT ON COLUMN sla.targets.next_fire_at IS
    'the next warning or breach instant while running; NULL when nothing is left to fire';

-- One row per published sla.warning / sla.breach: the claim that makes each
-- exactly once. Whoever inserts the row (a timer firing, or the consumer for a
-- target met late) appends the event in the same transaction; a concurrent
-- instance's insert conflicts and it emits nothing. Replaying the "sla" stream
-- inserts the same rows.
CREATE TABLE sla.emitted (
    ticket_id uuid        NOT NULL,
    target    text        NOT NULL,
    cycle     integer     NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('warning', 'breach')),
    event_id  uuid        NOT NULL UNIQUE,
    at        timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, target, cycle, kind)
);
COMMENT ON TABLE sla.emitted IS 'Each sla.warning and sla.breach event, once.';
COMMENT ON COLUMN sla.emitted.at IS 'the instant it is about: the warning or due time';

-- A test clock: sla-monitor started with CAREBUS_SLA_CLOCK=file:... writes its
-- time here, so that sla.ticket_json agrees with it; otherwise the row is absent.
CREATE TABLE sla.clock (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    now timestamptz NOT NULL
);

CREATE FUNCTION sla.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT coalesce((SELECT c.now FROM sla.clock c), now()) $$;

-- --- business time ------------------------------------------------------------------

-- Business microseconds from p_a to p_b in a calendar (negative when p_b is
-- earlier; NULL for an unknown calendar). Each opening span becomes a UTC
-- interval on its own local date, exactly as calendar.c does.
CREATE FUNCTION sla.business_us_between(p_calendar text, p_a timestamptz, p_b timestamptz)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c sla.calendars;
    v bigint;
BEGIN
    IF p_a = p_b THEN
        RETURN 0;
    ELSIF p_a > p_b THEN
        RETURN -sla.business_us_between(p_calendar, p_b, p_a);
    END IF;
    SELECT * INTO c FROM sla.calendars WHERE id = p_calendar;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF c.always_open THEN
        RETURN (extract(epoch FROM p_b - p_a) * 1000000)::bigint;
    END IF;
    SELECT coalesce(sum(greatest(0, extract(epoch FROM least(s.cl, p_b) - greatest(s.op, p_a)))
                        * 1000000), 0)::bigint
      INTO v
      FROM generate_series((p_a AT TIME ZONE c.time_zone)::date,
                           (p_b AT TIME ZONE c.time_zone)::date, interval '1 day') AS g (d)
      CROSS JOIN LATERAL (
          SELECT (g.d::date + h.opens) AT TIME ZONE c.time_zone AS op,
                 (g.d::date + h.closes) AT TIME ZONE c.time_zone AS cl
            FROM sla.calendar_hours h
           WHERE h.calendar_id = c.id AND h.weekday = extract(isodow FROM g.d)
      ) AS s
     WHERE NOT EXISTS (SELECT 1 FROM sla.holidays x
                        WHERE x.set_id = ANY (c.holiday_sets) AND x.day = g.d::date);
    RETURN v;
END;
$$;

-- The same in whole seconds, truncated toward zero (as sla-monitor counts
-- remaining_business_secs). Analytics may use it for business-time KPIs.
CREATE FUNCTION sla.business_secs_between(p_calendar text, p_a timestamptz, p_b timestamptz)
RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT sla.business_us_between(p_calendar, p_a, p_b) / 1000000 $$;

-- --- the API ------------------------------------------------------------------------

-- A ticket's SLA targets as GET /v1/tickets/{id} shows them ("sla"): a JSON
-- array, oldest first, of {"target","cycle","status","policy","calendar",
-- "started_at","due_at","achieved_at","remaining_business_secs","breached",
-- "warned"}; empty while sla-monitor has no targets for the ticket. A running
-- target's remaining time and breach are computed at the SLA clock's now.
CREATE FUNCTION sla.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'target', t.target, 'cycle', t.cycle, 'status', t.status,
               'policy', t.policy_id, 'calendar', t.calendar_id,
               'started_at', t.started_at, 'due_at', t.due_at, 'achieved_at', t.achieved_at,
               'remaining_business_secs',
               CASE WHEN t.status = 'running'
                    THEN sla.business_secs_between(t.calendar_id, n.now, t.due_at)
                    ELSE t.remaining_business_secs END,
               'breached', t.breached OR (t.status = 'running' AND t.due_at <= n.now),
               'warned', t.warned)
           ORDER BY t.started_at, t.target, t.cycle), '[]'::jsonb)
      FROM sla.targets t, (SELECT sla.now() AS now) n
     WHERE t.ticket_id = p_id
$$;

-- --- loading the configuration ------------------------------------------------------

-- "4h", "1h30m", "45m", "90s" or a number of seconds -> seconds.
CREATE FUNCTION sla.parse_duration(p jsonb, p_what text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text;
    m text[];
    v bigint;
BEGIN
    IF jsonb_typeof(p) = 'number' THEN
        v := (p #>> '{}')::numeric;
    ELSIF jsonb_typeof(p) = 'string' THEN
        s := p #>> '{}';
        m := regexp_match(s, '^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$');
        IF m IS NULL OR s !~ '\d' THEN
            RAISE EXCEPTION 'could not parse % "%": expected seconds or a duration like "1h30m"',
                p_what, s USING ERRCODE = '22023';
        END IF;
        v := coalesce(m[1]::bigint, 0) * 3600 + coalesce(m[2]::bigint, 0) * 60
             + coalesce(m[3]::bigint, 0);
    ELSE
        RAISE EXCEPTION 'could not parse %: expected a number or a string', p_what
            USING ERRCODE = '22023';
    END IF;
    IF v <= 0 OR v > 366 * 86400 THEN
        RAISE EXCEPTION '% must be between 1 second and 366 days, not %', p_what, v
            USING ERRCODE = '22023';
    END IF;
    RETURN v;
END;
$$;

-- Replaces the configuration with the three documents (see deploy/config/
-- sla-policies.json, sla-calendars.json, sla-holidays.json). Raises a clear
-- error, changing nothing, on an invalid document. Returns false when the
-- documents equal those already loaded (nothing to do).
CREATE FUNCTION sla.load_config(p_policies jsonb, p_calendars jsonb, p_holidays jsonb,
                                p_origin text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    h record;
    span text;
    m text[];
    t record;
    day_names constant text[] := ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    v_warn integer;
    v_from date;
    v_to date;
BEGIN
    IF (SELECT count(*) FROM sla.config c
         WHERE (c.name = 'policies' AND c.document = p_policies)
            OR (c.name = 'calendars' AND c.document = p_calendars)
            OR (c.name = 'holidays' AND c.document = p_holidays)) = 3 THEN
        RETURN false;
    END IF;
    DELETE FROM sla.policy_targets;
    DELETE FROM sla.policies;
    DELETE FROM sla.calendar_hours;
    DELETE FROM sla.calendars;
    DELETE FROM sla.holidays;

    -- Holidays: {"sets": {"vn": [{"date"} | {"from","to"}, "name", "provisional"?]}}
    IF jsonb_typeof(p_holidays -> 'sets') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'holidays: "sets" must be an object of lists' USING ERRCODE = '22023';
    END IF;
    FOR r IN SELECT key, value FROM jsonb_each(p_holidays -> 'sets') LOOP
        IF jsonb_typeof(r.value) <> 'array' THEN
            RAISE EXCEPTION 'holidays: set "%" must be a list', r.key USING ERRCODE = '22023';
        END IF;
        FOR h IN SELECT value AS v FROM jsonb_array_elements(r.value) LOOP
            IF coalesce(h.v ->> 'name', '') = '' THEN
                RAISE EXCEPTION 'holidays: an entry of set "%" has no "name": %', r.key, h.v
                    USING ERRCODE = '22023';
            END IF;
            BEGIN
                v_from := coalesce(h.v ->> 'date', h.v ->> 'from')::date;
                v_to := coalesce(h.v ->> 'date', h.v ->> 'to')::date;
            EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
                RAISE EXCEPTION 'holidays: could not parse the dates of "%" in set "%": %',
                    h.v ->> 'name', r.key, SQLERRM USING ERRCODE = '22023';
            END;
            IF v_from IS NULL OR v_to IS NULL OR v_from > v_to THEN
                RAISE EXCEPTION 'holidays: "%" in set "%" needs "date", or "from" <= "to"',
                    h.v ->> 'name', r.key USING ERRCODE = '22023';
            END IF;
            INSERT INTO sla.holidays (set_id, day, name, provisional)
            SELECT r.key, g.d::date, h.v ->> 'name',
                   coalesce((h.v ->> 'provisional')::boolean, false)
              FROM generate_series(v_from, v_to, interval '1 day') AS g (d)
            ON CONFLICT (set_id, day) DO NOTHING;
        END LOOP;
    END LOOP;

    -- Calendars: {"calendars": [{"id","time_zone","always_open","holidays":[sets],
    --              "hours": {"mon": ["08:00-12:00", ...], ...}}]}
    IF jsonb_typeof(p_calendars -> 'calendars') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'calendars: "calendars" must be a list' USING ERRCODE = '22023';
    END IF;
    FOR r IN SELECT value AS c FROM jsonb_array_elements(p_calendars -> 'calendars') LOOP
        IF coalesce(r.c ->> 'id', '') !~ '^[A-Za-z0-9_.-]{1,63}$' THEN
            RAISE EXCEPTION 'calendars: "id" must be 1-63 letters, digits, "_", "." or "-": %',
                r.c -> 'id' USING ERRCODE = '22023';
        END IF;
        BEGIN
            PERFORM now() AT TIME ZONE coalesce(r.c ->> 'time_zone', 'Asia/Ho_Chi_Minh');
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'calendars: "%" has an unknown "time_zone" "%"', r.c ->> 'id',
                r.c ->> 'time_zone' USING ERRCODE = '22023';
        END;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(r.c -> 'holidays', '[]'))
                                AS s (id)
                    WHERE NOT EXISTS (SELECT 1 FROM sla.holidays x WHERE x.set_id = s.id)) THEN
            RAISE EXCEPTION 'calendars: "%" names a holiday set that does not exist: %',
                r.c ->> 'id', r.c -> 'holidays' USING ERRCODE = '22023';
        END IF;
        BEGIN
            INSERT INTO sla.calendars (id, time_zone, always_open, holiday_sets, description)
            VALUES (r.c ->> 'id', coalesce(r.c ->> 'time_zone', 'Asia/Ho_Chi_Minh'),
                    coalesce((r.c ->> 'always_open')::boolean, false),
                    ARRAY(SELECT jsonb_array_elements_text(coalesce(r.c -> 'holidays', '[]'))),
                    r.c ->> 'description');
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'calendars: "%" is defined twice', r.c ->> 'id'
                USING ERRCODE = '22023';
        END;
        FOR h IN SELECT key, value FROM jsonb_each(coalesce(r.c -> 'hours', '{}')) LOOP
            IF NOT h.key = ANY (day_names) OR jsonb_typeof(h.value) <> 'array' THEN
                RAISE EXCEPTION 'calendars: "%": hours are {"mon": ["08:00-12:00", ...], ...}, '
                    'not "%"', r.c ->> 'id', h.key USING ERRCODE = '22023';
            END IF;
            FOR span IN SELECT jsonb_array_elements_text(h.value) LOOP
                m := regexp_match(span, '^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$');
                BEGIN
                    INSERT INTO sla.calendar_hours (calendar_id, weekday, opens, closes)
                    VALUES (r.c ->> 'id', array_position(day_names, h.key), m[1]::time,
                            m[2]::time);
                EXCEPTION WHEN OTHERS THEN
                    RAISE EXCEPTION 'calendars: "%" %: could not use "%": expected "HH:MM-HH:MM", '
                        'opening before closing, no overlap', r.c ->> 'id', h.key, span
                        USING ERRCODE = '22023';
                END;
            END LOOP;
        END LOOP;
        IF NOT coalesce((r.c ->> 'always_open')::boolean, false)
           AND NOT EXISTS (SELECT 1 FROM sla.calendar_hours x WHERE x.calendar_id = r.c ->> 'id')
        THEN
            RAISE EXCEPTION 'calendars: "%" never opens: give "hours" or "always_open": true',
                r.c ->> 'id' USING ERRCODE = '22023';
        END IF;
    END LOOP;
    -- Overlapping spans of one day (the primary key only catches equal openings).
    IF EXISTS (SELECT 1 FROM sla.calendar_hours a JOIN sla.calendar_hours b
                 ON a.calendar_id = b.calendar_id AND a.weekday = b.weekday
                AND a.opens < b.opens AND b.opens < a.closes) THEN
        RAISE EXCEPTION 'calendars: opening hours of one day overlap' USING ERRCODE = '22023';
    END IF;

    -- Policies: {"warning_pct": 80, "policies": [{"id","segment","calendar",
    --            "warning_pct"?, "targets": {"urgent": {"first_response": "15m", ...}}}]}
    IF jsonb_typeof(p_policies -> 'policies') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'policies: "policies" must be a list' USING ERRCODE = '22023';
    END IF;
    FOR r IN SELECT value AS p FROM jsonb_array_elements(p_policies -> 'policies') LOOP
        v_warn := coalesce((r.p ->> 'warning_pct')::integer,
                           (p_policies ->> 'warning_pct')::integer, 80);
        IF NOT EXISTS (SELECT 1 FROM sla.calendars c WHERE c.id = r.p ->> 'calendar') THEN
            RAISE EXCEPTION 'policies: "%" uses calendar "%", which is not defined',
                r.p ->> 'id', r.p ->> 'calendar' USING ERRCODE = '22023';
        END IF;
        BEGIN
            INSERT INTO sla.policies (id, segment, calendar_id, warning_pct, description)
            VALUES (r.p ->> 'id', r.p ->> 'segment', r.p ->> 'calendar', v_warn,
                    r.p ->> 'description');
        EXCEPTION WHEN check_violation OR not_null_violation OR unique_violation THEN
            RAISE EXCEPTION 'policies: "%" needs an "id", a "segment" (regular, vip or '
                'wholesale, one policy each) and "warning_pct" in 0-99', r.p ->> 'id'
                USING ERRCODE = '22023';
        END;
        FOR h IN SELECT key AS prio, value AS t FROM jsonb_each(coalesce(r.p -> 'targets', '{}'))
        LOOP
            IF h.prio NOT IN ('low', 'normal', 'high', 'urgent') OR jsonb_typeof(h.t) <> 'object'
            THEN
                RAISE EXCEPTION 'policies: "%": "targets" are per priority (low, normal, high, '
                    'urgent), not "%"', r.p ->> 'id', h.prio USING ERRCODE = '22023';
            END IF;
            FOR t IN SELECT key, value FROM jsonb_each(h.t) LOOP
                IF t.key NOT IN ('first_response', 'next_response', 'resolution') THEN
                    RAISE EXCEPTION 'policies: "%" %: unknown target "%"', r.p ->> 'id', h.prio,
                        t.key USING ERRCODE = '22023';
                END IF;
                INSERT INTO sla.policy_targets (policy_id, priority, target, business_secs)
                VALUES (r.p ->> 'id', h.prio, t.key,
                        sla.parse_duration(t.value,
                                           format('%s %s %s', r.p ->> 'id', h.prio, t.key)));
            END LOOP;
        END LOOP;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM sla.policies WHERE segment = 'regular') THEN
        RAISE EXCEPTION 'policies: a policy for segment "regular" is required (the fallback)'
            USING ERRCODE = '22023';
    END IF;

    INSERT INTO sla.config (name, document, origin)
    VALUES ('policies', p_policies, p_origin), ('calendars', p_calendars, p_origin),
           ('holidays', p_holidays, p_origin)
    ON CONFLICT (name) DO UPDATE SET document = excluded.document, origin = excluded.origin,
                                     loaded_at = now();
    RETURN true;
END;
$$;

-- Wipes the derived state and sla-monitor's offsets, for a rebuild from the
-- log (stop sla-monitor, call this, start it). Configuration is kept.
CREATE FUNCTION sla.reset_derived() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE sla.ticket_facts, sla.tickets, sla.customer_segments, sla.targets, sla.emitted;
    DELETE FROM eventlog.offsets WHERE consumer = 'sla-monitor';
$$;
