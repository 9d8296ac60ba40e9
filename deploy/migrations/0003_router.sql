-- router's tables: customers and their identities, tickets, the timeline.
--
-- Everything here is derived from the event log and nothing else (ids are
-- name-based UUIDs of the events that created them, times come from the
-- events), so a replay of the log rebuilds these tables exactly. Status and
-- segment spellings are those of services/libcarebus/event.c.
CREATE SCHEMA IF NOT EXISTS router;

CREATE TABLE router.customers (
    id          uuid PRIMARY KEY,
    name        text,
    segment     text        NOT NULL DEFAULT 'regular'
                CHECK (segment IN ('regular', 'vip', 'wholesale')),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'churned')),
    merged_into uuid REFERENCES router.customers (id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- A handle: kind is 'phone' (E.164), 'email' (lower-case) or a channel name
-- for that channel's own user id ('zalo', 'facebook', ...); see
-- services/router/identity.h. A handle belongs to one customer at a time.
CREATE TABLE router.identities (
    kind        text NOT NULL,
    value       text NOT NULL,
    customer_id uuid NOT NULL REFERENCES router.customers (id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON router.identities (customer_id);

CREATE TABLE router.tickets (
    id              uuid PRIMARY KEY,
    customer_id     uuid        NOT NULL REFERENCES router.customers (id),
    status          text        NOT NULL
                    CHECK (status IN ('open', 'pending', 'solved', 'closed')),
    category        text,
    priority        text,
    team            text,
    assignee        text,
    channel         text        NOT NULL,
    subject         text,
    opened_event_id uuid        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    solved_at       timestamptz,
    closed_at       timestamptz
);
CREATE INDEX tickets_customer_open ON router.tickets (customer_id) WHERE status <> 'closed';

-- The timeline: every contact, reply and note of a ticket.
CREATE TABLE router.messages (
    event_id    uuid PRIMARY KEY,
    ticket_id   uuid        NOT NULL REFERENCES router.tickets (id),
    customer_id uuid        NOT NULL,
    channel     text        NOT NULL,
    direction   text        NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    external_id text,
    subject     text,
    text        text,
    at          timestamptz NOT NULL,
    stream      text        NOT NULL,
    seq         bigint      NOT NULL,
    UNIQUE (stream, seq)
);
CREATE INDEX messages_ticket ON router.messages (ticket_id, at, stream, seq);

-- The ticket as the API shows it (GET /v1/tickets/{id}); NULL if unknown.
-- The router owns this shape; channel-ingest adds the other services' parts.
CREATE FUNCTION router.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'customer_id', t.customer_id, 'status', t.status,
        'category', t.category, 'priority', t.priority, 'team', t.team,
        'assignee', t.assignee, 'channel', t.channel, 'subject', t.subject,
        'created_at', t.created_at, 'updated_at', t.updated_at,
        'solved_at', t.solved_at, 'closed_at', t.closed_at,
        'messages', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'event_id', m.event_id, 'channel', m.channel,
                       'direction', m.direction, 'external_id', m.external_id,
                       'subject', m.subject, 'text', m.text, 'at', m.at)
                   ORDER BY m.at, m.stream, m.seq)
              FROM router.messages m WHERE m.ticket_id = t.id), '[]'::jsonb))
      FROM router.tickets t WHERE t.id = p_id
$$;
