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
