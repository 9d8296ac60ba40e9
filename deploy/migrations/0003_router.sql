-- router's tables: customers and their identities, tickets, the timeline,
-- agents and the router's place in the streams it reads.
--
-- Everything here is derived from the event log and nothing else (ids are
-- name-based UUIDs of the events that created them, times come from the
-- events), so a replay of the log rebuilds these tables exactly: see
-- router.reset() at the end. Status, segment, category and priority
-- spellings are those of services/libcarebus/event.c.
CREATE SCHEMA IF NOT EXISTS router;

-- merged_into: the customer this one was folded into (always the final
-- survivor: chains are flattened when a survivor is merged in turn).
CREATE TABLE router.customers (
    id          uuid PRIMARY KEY,
    name        text,
    segment     text        NOT NULL DEFAULT 'regular'
                CHECK (segment IN ('regular', 'vip', 'wholesale')),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'churned')),
    attributes  jsonb       NOT NULL DEFAULT '{}',
    merged_into uuid REFERENCES router.customers (id),
    merged_at   timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX customers_merged_into ON router.customers (merged_into) WHERE merged_into IS NOT NULL;

-- A handle: kind is 'phone' (E.164), 'email' (lower-case) or a channel name
-- for that channel's own user id ('zalo', 'facebook', ...); see
-- services/libcarebus/identity.h. A handle belongs to one customer at a
-- time, never to a merged-away one.
--
-- The busiest tables (identities, messages) have no foreign keys: their
-- one writer, the router, keeps them consistent by construction, and a
-- key's check per row costs more than the row's insert (tests check the
-- invariants instead).
CREATE TABLE router.identities (
    kind        text NOT NULL,
    value       text NOT NULL,
    customer_id uuid NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON router.identities (customer_id);

-- A ticket is active while open or pending: it then counts against its
-- assignee's capacity. queued_at is set while it waits in its team's queue
-- (active, no assignee). priority_rank orders queues (low 1 .. urgent 4);
-- contacts, urgent_word and escalated_rank are the inputs of the priority
-- that are the ticket's own (the customer's segment and the category are
-- the others). merged_into: the ticket this one was merged into when its
-- customer was (it is then closed and its messages moved there).
CREATE TABLE router.tickets (
    id               uuid PRIMARY KEY,
    customer_id      uuid        NOT NULL REFERENCES router.customers (id),
    status           text        NOT NULL
                     CHECK (status IN ('open', 'pending', 'solved', 'closed')),
    category         text,
    category_rule    text,
    category_phrase  text,
    priority         text        CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    priority_rank    smallint    NOT NULL DEFAULT 2,
    priority_reasons text[]      NOT NULL DEFAULT '{}',
    team             text,
    assignee         text,
    channel          text        NOT NULL,
    subject          text,
    opened_event_id  uuid        NOT NULL UNIQUE,
    contacts         integer     NOT NULL DEFAULT 0,
    urgent_word      text,
    escalated_rank   smallint    NOT NULL DEFAULT 0,
    reopened         integer     NOT NULL DEFAULT 0,
    merged_into      uuid REFERENCES router.tickets (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    assigned_at      timestamptz,
    queued_at        timestamptz,
    solved_at        timestamptz,
    closed_at        timestamptz,
    escalated_at     timestamptz
) WITH (fillfactor = 60);
-- Most writes update an open ticket (a contact joins it: its count and
-- times change, no indexed column does): room on the page keeps those
-- updates HOT (no index entry per update).
CREATE INDEX tickets_customer_open ON router.tickets (customer_id) WHERE status <> 'closed';
-- The team queues: highest priority first, then oldest.
CREATE INDEX tickets_queue ON router.tickets (team, priority_rank DESC, queued_at, id)
    WHERE queued_at IS NOT NULL;
CREATE INDEX tickets_merged_into ON router.tickets (merged_into) WHERE merged_into IS NOT NULL;

-- The conversation: every contact (direction 'in'), reply ('out') and
-- internal note ('note') of a ticket.
CREATE TABLE router.messages (
    event_id    uuid PRIMARY KEY,
    ticket_id   uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    channel     text        NOT NULL,
    direction   text        NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    external_id text,
    subject     text,
    text        text,
    agent_id    text,
    at          timestamptz NOT NULL,
    stream      text        NOT NULL,
    seq         bigint      NOT NULL
);
CREATE INDEX messages_ticket ON router.messages (ticket_id, at, stream, seq);
-- Threading: In-Reply-To, References and in_reply_to name earlier messages.
CREATE INDEX messages_external ON router.messages (external_id) WHERE external_id IS NOT NULL;

-- What happened to a ticket besides its messages, as its timeline shows it:
-- merges, transfers, reopenings, escalations. id derives from the router
-- event that records it; (stream, seq) is its cause's place in the log.
CREATE TABLE router.notes (
    id          uuid PRIMARY KEY,
    ticket_id   uuid        NOT NULL REFERENCES router.tickets (id),
    customer_id uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('customer.merged', 'ticket.merged',
                            'ticket.transferred', 'ticket.reopened', 'ticket.escalated')),
    text        text        NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL,
    cause_id    uuid        NOT NULL,
    stream      text        NOT NULL,
    seq         bigint      NOT NULL,
    ord         smallint    NOT NULL DEFAULT 0
);
CREATE INDEX notes_ticket ON router.notes (ticket_id, at, stream, seq, ord);

-- One row per customer merged away, written with its customer.merged event.
CREATE TABLE router.merges (
    merged_id        uuid PRIMARY KEY REFERENCES router.customers (id),
    survivor_id      uuid        NOT NULL REFERENCES router.customers (id),
    contact_event_id uuid        NOT NULL,
    event_id         uuid        NOT NULL UNIQUE,
    at               timestamptz NOT NULL
);

-- Agents as their presence events describe them. load: their active
-- tickets; last_active_at: their last activity (coming online, an
-- assignment, a reply), which breaks ties between equally loaded agents.
CREATE TABLE router.agents (
    id             text PRIMARY KEY,
    name           text,
    presence       text        NOT NULL CHECK (presence IN ('online', 'away', 'offline')),
    capacity       integer     NOT NULL CHECK (capacity >= 0),
    teams          text[]      NOT NULL DEFAULT '{}',
    leads          text[]      NOT NULL DEFAULT '{}',
    load           integer     NOT NULL DEFAULT 0 CHECK (load >= 0),
    last_active_at timestamptz,
    updated_at     timestamptz NOT NULL
);

-- How far the router's state goes in each stream it reads. The consumer's
-- offsets say what was delivered; sla_seq says which "sla" events were
-- applied, in recorded_at order with the "ingest" events (see
-- services/router/order.c). One row.
CREATE TABLE router.position (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    ingest_seq bigint  NOT NULL DEFAULT 0,
    sla_seq    bigint  NOT NULL DEFAULT 0
);

-- The streams the router orders by exist from the start, so that a first
-- append in flight holds a row lock the router can wait on (order.c).
-- eventlog.append creates them the same way.
INSERT INTO eventlog.streams (stream) VALUES ('ingest'), ('sla') ON CONFLICT DO NOTHING;

CREATE FUNCTION router.priority_name(p_rank smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['low', 'normal', 'high', 'urgent'])[p_rank]
$$;

-- The customer who owns a handle (kind and value as identity.h normalises
-- them), following merges; NULL if nobody does.
CREATE FUNCTION router.customer_find(p_kind text, p_value text) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT coalesce(c.merged_into, c.id)
      FROM router.identities i JOIN router.customers c ON c.id = i.customer_id
     WHERE i.kind = p_kind AND i.value = p_value
$$;

-- The customer as the API shows it (GET /v1/customers/{id}); a merged-away
-- id answers its survivor. NULL if unknown. Tickets merged into another
-- ticket are not listed (ticket_json of the survivor shows their messages).
CREATE FUNCTION router.customer_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'name', c.name, 'segment', c.segment, 'status', c.status,
        'attributes', c.attributes, 'created_at', c.created_at, 'updated_at', c.updated_at,
        'identities', coalesce((
            SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value)
                             ORDER BY i.kind, i.value)
              FROM router.identities i WHERE i.customer_id = c.id), '[]'::jsonb),
        'tickets', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', t.id, 'status', t.status, 'channel', t.channel,
                       'category', t.category, 'priority', t.priority, 'team', t.team,
                       'assignee', t.assignee, 'created_at', t.created_at)
                   ORDER BY t.created_at, t.id)
              FROM router.tickets t
             WHERE t.customer_id = c.id AND t.merged_into IS NULL), '[]'::jsonb),
        'open_ticket_id', (
            SELECT t.id FROM router.tickets t
             WHERE t.customer_id = c.id AND t.status IN ('open', 'pending')
             ORDER BY t.created_at DESC, t.id DESC LIMIT 1),
        'merged_ids', coalesce((
            SELECT jsonb_agg(m.id ORDER BY m.merged_at, m.id)
              FROM router.customers m WHERE m.merged_into = c.id), '[]'::jsonb))
      FROM router.customers c
     WHERE c.id = (SELECT coalesce(x.merged_into, x.id) FROM router.customers x WHERE x.id = p_id)
$$;

-- The ticket as the API shows it (GET /v1/tickets/{id}); NULL if unknown.
-- The router owns this shape; channel-ingest adds the other services' parts.
-- "messages" is the conversation in order; "timeline" is the same messages
-- with the ticket's notes (merges, transfers, reopenings, escalations)
-- between them, each entry with its "kind".
CREATE FUNCTION router.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'customer_id', t.customer_id, 'status', t.status,
        'category', t.category,
        'classification', CASE WHEN t.category IS NULL THEN NULL ELSE jsonb_build_object(
            'category', t.category, 'rule', t.category_rule, 'phrase', t.category_phrase) END,
        'priority', t.priority, 'priority_reasons', to_jsonb(t.priority_reasons),
        'team', t.team, 'assignee', t.assignee, 'channel', t.channel, 'subject', t.subject,
        'contacts', t.contacts, 'reopened', t.reopened, 'merged_into', t.merged_into,
        'created_at', t.created_at, 'updated_at', t.updated_at,
        'assigned_at', t.assigned_at, 'queued_at', t.queued_at,
        'solved_at', t.solved_at, 'closed_at', t.closed_at, 'escalated_at', t.escalated_at,
        'messages', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'event_id', m.event_id, 'channel', m.channel,
                       'direction', m.direction, 'external_id', m.external_id,
                       'subject', m.subject, 'text', m.text, 'agent_id', m.agent_id,
                       'at', m.at)
                   ORDER BY m.at, m.stream, m.seq)
              FROM router.messages m WHERE m.ticket_id = t.id), '[]'::jsonb),
        'timeline', coalesce((
            SELECT jsonb_agg(e.entry ORDER BY e.at, e.stream, e.seq, e.ord)
              FROM (SELECT jsonb_build_object(
                               'kind', 'message', 'event_id', m.event_id,
                               'channel', m.channel, 'direction', m.direction,
                               'text', m.text, 'agent_id', m.agent_id, 'at', m.at) AS entry,
                           m.at, m.stream, m.seq, 100 AS ord
                      FROM router.messages m WHERE m.ticket_id = t.id
                    UNION ALL
                    SELECT jsonb_build_object(
                               'kind', n.kind, 'text', n.text, 'detail', n.detail,
                               'cause_id', n.cause_id, 'at', n.at),
                           n.at, n.stream, n.seq, n.ord
                      FROM router.notes n WHERE n.ticket_id = t.id) e), '[]'::jsonb))
      FROM router.tickets t WHERE t.id = p_id
$$;

-- Forgets everything the router derived, and its offsets, so that the next
-- start rebuilds it from the log (the rebuild equals the live state).
CREATE FUNCTION router.reset() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE router.notes, router.merges, router.messages, router.tickets, router.identities,
             router.customers, router.agents, router.position;
    DELETE FROM eventlog.offsets WHERE consumer = 'router';
$$;
