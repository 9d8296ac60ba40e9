-- sla: teams' calendars and SLA policies (PATCH /v1/teams) select the
-- policy of their tickets (services/sla-monitor/policy.h says the rule).
--
-- Two inputs, both derived from the log like the rest of sla's state:
--   - a ticket's team: facts of kind 'team' (ticket.assigned, ticket.queued,
--     ticket.transferred, ticket.unassigned name it); the ticket's team is
--     the latest of them up to its close;
--   - a team's settings: sla.team_settings, one row per team.saved, each
--     field kept with whether the save set it (a PATCH sets what it names).
--     A ticket uses its team's settings as of its close, as it uses its
--     customer's segment: a save recomputes the team's open tickets (their
--     running targets are re-armed on the new calendar), and a rebuild,
--     reading the same history, ends in the same rows.
-- The configuration files stay the seed: a team nobody saved a calendar or
-- policy for leaves its tickets on their segment's policy.

ALTER TABLE sla.ticket_facts DROP CONSTRAINT ticket_facts_kind_check;
ALTER TABLE sla.ticket_facts ADD CONSTRAINT ticket_facts_kind_check
    CHECK (kind IN ('opened', 'customer_message', 'agent_reply', 'pending', 'open', 'solved',
                    'closed', 'reopened', 'classified', 'escalated', 'team'));
ALTER TABLE sla.ticket_facts ADD COLUMN team text;
ALTER TABLE sla.ticket_facts ADD CONSTRAINT ticket_facts_team_check
    CHECK ((kind = 'team') = (team IS NOT NULL));
COMMENT ON COLUMN sla.ticket_facts.team IS 'kind team: the team the ticket went to';

CREATE TABLE sla.team_settings (
    stream        text        NOT NULL,
    seq           bigint      NOT NULL,
    team_id       text        NOT NULL,
    at            timestamptz NOT NULL,
    sets_calendar boolean     NOT NULL,
    calendar      text,
    sets_policy   boolean     NOT NULL,
    sla_policy    text,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX team_settings_team ON sla.team_settings (team_id, at);
COMMENT ON TABLE sla.team_settings IS
    'Each team.saved: the calendar and SLA policy it set (NULL: none, the segment''s policy).';
COMMENT ON COLUMN sla.team_settings.sets_calendar IS
    'the save names the calendar (a POST, or a PATCH with "calendar")';

-- The team a ticket's targets were last computed for: a team's save finds
-- its tickets here (by reading the table whole: a team has many, and saves
-- are rare, so no index is kept up on every recomputation for them).
ALTER TABLE sla.tickets ADD COLUMN team text;
COMMENT ON COLUMN sla.tickets.team IS 'its latest team (up to its close)';

CREATE OR REPLACE FUNCTION sla.reset_derived() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE sla.ticket_facts, sla.tickets, sla.customer_segments, sla.team_settings,
             sla.targets, sla.emitted;
    DELETE FROM eventlog.offsets WHERE consumer = 'sla-monitor';
$$;
