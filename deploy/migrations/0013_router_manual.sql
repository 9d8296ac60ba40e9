-- router: agents and teams as resources, manual operations on tickets,
-- canned replies, and agents' offline periods (the work API: channel-ingest's
-- /v1/agents, /v1/teams, /v1/canned-replies and the actions on a ticket).
--
-- Every row here is derived from the log like the rest of the router's
-- tables (agent.saved, team.saved, ticket.assign_requested,
-- ticket.update_requested, ticket.unassigned, canned.saved, canned.deleted
-- and agent.presence), with one exception: router.teams also holds the teams
-- of the router's configuration file that were never saved through the API
-- (saved_at NULL), written by the router at start and on reload, as the
-- file's rules are an input of the rebuild already (services/router/teams.h).

-- Agents: what agent.saved states besides presence. saved_at: when the API
-- last saved it (NULL: known only by its presence events, whose teams,
-- leads and capacity then apply). offline_since: the recorded_at of the
-- presence event that took it offline (NULL while online or away), and that
-- event's id: the grace period before its tickets return to the queue
-- counts from the log's time, so a backdated presence does not shorten it
-- (services/router/offline.h).
ALTER TABLE router.agents
    ADD COLUMN email            text,
    ADD COLUMN languages        text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN role             text        NOT NULL DEFAULT 'agent'
                                CHECK (role IN ('agent', 'lead', 'supervisor')),
    ADD COLUMN active           boolean     NOT NULL DEFAULT true,
    -- PHC-format scrypt (services/libcarebus/password.h); never the password.
    ADD COLUMN password_hash    text,
    ADD COLUMN saved_at         timestamptz,
    ADD COLUMN offline_since    timestamptz,
    ADD COLUMN offline_event_id uuid;
CREATE INDEX agents_offline ON router.agents (offline_since) WHERE offline_since IS NOT NULL;

-- Teams: the configuration file's (router.json "teams") and those saved
-- through the API. id is the name tickets and agents use ("support"); name
-- is for people. A saved team overrides the file's: inactive, it takes no
-- transfer or manual assignment (the rules' category -> team routes are the
-- file's). calendar and sla_policy name sla.calendars and sla.policies rows
-- (checked by the API); sla-monitor picks a policy by the customer's segment
-- and does not read them yet (README, "Working the queue").
CREATE TABLE router.teams (
    id            text PRIMARY KEY,
    name          text,
    lead_agent_id text,
    calendar      text,
    sla_policy    text,
    active        boolean     NOT NULL DEFAULT true,
    saved_at      timestamptz,
    created_at    timestamptz,
    updated_at    timestamptz
);

-- Manual operations on a ticket. tags: a set, normalised and sorted
-- (services/libcarebus/tag.h). priority_override and category_override: set by
-- a person (ticket.update_requested), the rules no longer change them; while
-- the category is overridden, category_rules keeps what the rules say, so
-- that clearing the override hands the field back.
-- The tags column and its index are also made by the lists' migration, so
-- either may come first.
ALTER TABLE router.tickets ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE router.tickets
    ADD COLUMN priority_override smallint CHECK (priority_override BETWEEN 1 AND 4),
    ADD COLUMN category_override text,
    ADD COLUMN category_rules    text;
CREATE INDEX IF NOT EXISTS tickets_tags ON router.tickets USING gin (tags);
-- An agent's active tickets: the offline timer's look-up (the lists'
-- migration makes the same index under the same name for the assignee
-- filter).
CREATE INDEX IF NOT EXISTS tickets_list_assignee_active
    ON router.tickets (assignee, (-priority_rank), created_at, id)
    WHERE status IN ('open', 'pending');

-- Canned replies: text with placeholders ({customer_name}, {ticket_number},
-- {agent_name}), rendered for a ticket by channel-ingest. team: the team it
-- is for (NULL: everyone's).
CREATE TABLE router.canned_replies (
    id         text PRIMARY KEY,
    title      text        NOT NULL,
    text       text        NOT NULL,
    language   text,
    team       text,
    shortcut   text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX canned_replies_team ON router.canned_replies (team, title);

-- Timeline notes take the kinds the router writes ("ticket.assigned",
-- "agent.mentioned" ...): their spelling is checked, their list lives in the
-- router's code, so that a new kind needs no migration.
ALTER TABLE router.notes DROP CONSTRAINT IF EXISTS notes_kind_check;
ALTER TABLE router.notes ADD CONSTRAINT notes_kind_spelling
    CHECK (kind ~ '^[a-z_]+\.[a-z_]+$');

-- An agent as the API shows it (GET /v1/agents): never its password hash.
CREATE FUNCTION router.agent_json(a router.agents) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'name', a.name, 'email', a.email, 'teams', to_jsonb(a.teams),
        'leads', to_jsonb(a.leads), 'languages', to_jsonb(a.languages),
        'capacity', a.capacity, 'role', a.role, 'active', a.active,
        'presence', a.presence, 'load', a.load, 'last_active_at', a.last_active_at,
        'offline_since', a.offline_since, 'has_password', a.password_hash IS NOT NULL,
        'source', CASE WHEN a.saved_at IS NULL THEN 'presence' ELSE 'api' END,
        'saved_at', a.saved_at, 'updated_at', a.updated_at)
$$;

-- A team as the API shows it, with the agents in it.
CREATE FUNCTION router.team_json(t router.teams) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'name', coalesce(t.name, t.id), 'lead_agent_id', t.lead_agent_id,
        'calendar', t.calendar, 'sla_policy', t.sla_policy, 'active', t.active,
        'source', CASE WHEN t.saved_at IS NULL THEN 'config' ELSE 'api' END,
        'agents', coalesce((SELECT jsonb_agg(a.id ORDER BY a.id) FROM router.agents a
                             WHERE t.id = ANY (a.teams)), '[]'::jsonb),
        'created_at', t.created_at, 'updated_at', t.updated_at)
$$;

CREATE FUNCTION router.canned_json(c router.canned_replies) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'title', c.title, 'text', c.text, 'language', c.language, 'team', c.team,
        'shortcut', c.shortcut, 'created_at', c.created_at, 'updated_at', c.updated_at)
$$;

-- What manual operations set on a ticket, merged into GET /v1/tickets/{id}
-- beside router.ticket_json.
CREATE FUNCTION router.ticket_manual_json(t router.tickets) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'tags', to_jsonb(t.tags),
        'overrides', jsonb_build_object(
            'priority', router.priority_name(t.priority_override),
            'category', t.category_override))
$$;

-- Forgets everything the router derived, and its offsets, so that the next
-- start rebuilds it from the log: every table of the schema, so that a
-- table added by a later migration is never left out.
CREATE OR REPLACE FUNCTION router.reset() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', schemaname, tablename), ', ')
               FROM pg_tables WHERE schemaname = 'router');
    DELETE FROM eventlog.offsets WHERE consumer = 'router';
END
$$;
