-- courier's tables: everything carebus sends (deliveries), each attempt,
-- the integrators' webhook subscriptions, the customers' messaging windows
-- and the channels' rotating credentials. courier is the only writer;
-- services/courier/ describes each table once (rowset) and its files say
-- which statement writes what.
--
-- Deliveries are side effects, not state derived from the log: a delivery
-- is recorded once, in the transaction that applies its cause, and kept
-- until it is sent or given up. Replaying the log does not send again
-- (courier's offsets start where the log stood when this migration ran, so
-- that installing courier on an existing deployment sends nothing old).
CREATE SCHEMA IF NOT EXISTS courier;

-- The integrators' webhook subscriptions, as the log's subscription.saved
-- and subscription.deleted events left them, and courier's account of how
-- deliveries to each fare. Read (never written) by channel-ingest for
-- GET /v1/webhook-subscriptions: these columns are that contract.
--   id             the subscription id (subscription.saved's subscription_id)
--   url            where deliveries are POSTed (http or https)
--   event_types    patterns of event types, "*" matching any run of
--                  characters: "ticket.*", "message.*", "*"
--   channels       for message.outbound only: the channels this integrator
--                  owns (empty: all); other types ignore it
--   secret         "whsec_" + base64 of the key: Standard Webhooks signing
--                  (webhook-signature: v1,<base64 HMAC-SHA256>); never shown
--                  again after creation
--   active, description   as last saved
--   created_at, updated_at   recorded_at of the first and the last saved event
--   status         'active' | 'paused' | 'inactive' (derived)
--   paused_at, paused_reason   set when courier paused it for failing (a
--                  subscription.paused event says the same); cleared by a
--                  saved event that sets active = true
--   failing_since  the first failed attempt since the last success; NULL
--                  while healthy
--   consecutive_failures, last_success_at, last_failure_at, last_error
--   delivered, failed      deliveries sent, and given up
-- A row exists once courier has applied the saved event (within
-- milliseconds of the API's answer while courier runs); a deleted
-- subscription's row is deleted, and its pending deliveries given up.
CREATE TABLE courier.subscriptions (
    id                   uuid PRIMARY KEY,
    url                  text        NOT NULL,
    event_types          text[]      NOT NULL,
    channels             text[]      NOT NULL DEFAULT '{}',
    secret               text        NOT NULL,
    active               boolean     NOT NULL,
    description          text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    paused_at            timestamptz,
    paused_reason        text,
    failing_since        timestamptz,
    consecutive_failures int         NOT NULL DEFAULT 0,
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    last_error           text,
    delivered            bigint      NOT NULL DEFAULT 0,
    failed               bigint      NOT NULL DEFAULT 0,
    status               text GENERATED ALWAYS AS (
                             CASE WHEN paused_at IS NOT NULL THEN 'paused'
                                  WHEN active THEN 'active' ELSE 'inactive' END) STORED
);

-- The subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS (to survey.requested)
-- are configuration, not rows: their id is this function of the URL, so
-- that a delivery to one still finds it after a restart.
CREATE FUNCTION courier.static_subscription_id(p_url text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT md5('carebus/static-subscription/' || p_url)::uuid
$$;

-- One row per delivery: a message to a customer (kind reply,
-- acknowledgement or survey, reported by message.sent / message.failed),
-- sent through its channel's adapter (subscription_id NULL) or handed as a
-- message.outbound webhook to the subscription of the integrator that owns
-- the channel (integrator mode: one delivery per such subscription); or an
-- event notified to a subscription (kind webhook).
--   id                   the delivery id: stable across attempts, the
--                        webhook-id header of webhooks; for a message sent
--                        through an adapter, message.outbound's delivery_id
--   message_delivery_id  messages: the message.outbound's delivery_id that
--                        message.sent / message.failed report (id itself
--                        when sent through an adapter); NULL for webhook
--   message_cause_id     messages: what the message answers (the
--                        agent.replied, ticket.opened or survey.requested)
--   cause_event_id, event_type, ticket_id, customer_id   the event it comes
--                        from (for a message, the message.outbound)
--   order_key            webhooks: the ticket; deliveries of one
--                        (subscription, ticket) go one at a time, in
--                        created_seq order
--   body                 webhooks: the exact bytes signed and sent on every attempt
--   message              adapters: the packed carebus.v1.MessageOutbound
--   recipient            adapters: the recipient's handle (courier.windows)
--   status               pending (waiting for next_at; 'infinity' while an
--                        earlier delivery of its subscription and ticket is
--                        not done), sending (an attempt holds the lease until
--                        lease_until: a crash lets it run out and the attempt
--                        is made again), sent, failed (given up)
--   deadline             the cause's recorded_at plus the retry window: no
--                        attempt starts after it
-- XXX: recipient, body and message hold personal data: a customer's
-- erasure must reach this table too (not yet part of any erasure path).
CREATE TABLE courier.deliveries (
    id                  uuid PRIMARY KEY,
    kind                text        NOT NULL
                        CHECK (kind IN ('reply', 'acknowledgement', 'survey', 'webhook')),
    channel             text,
    subscription_id     uuid,
    message_delivery_id uuid,
    message_cause_id    uuid,
    cause_event_id      uuid        NOT NULL,
    event_type          text        NOT NULL,
    ticket_id           uuid,
    customer_id         uuid,
    order_key           uuid,
    created_seq         bigint GENERATED ALWAYS AS IDENTITY,
    body                text,
    message             bytea,
    recipient           text,
    status              text        NOT NULL
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts            int         NOT NULL DEFAULT 0,
    next_at             timestamptz NOT NULL,
    deadline            timestamptz NOT NULL,
    lease_until         timestamptz,
    provider_message_id text,
    last_status         int,
    last_error_code     text,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    done_at             timestamptz
);
CREATE INDEX deliveries_due ON courier.deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease ON courier.deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_open ON courier.deliveries (subscription_id, order_key, created_seq)
    WHERE status IN ('pending', 'sending');

-- Every attempt, numbered from 1 per delivery, with what came of it: sent,
-- retry (a transient failure: another attempt follows unless the deadline
-- passed), failed (permanent), reauth (the credential was refused: refreshed
-- and tried again), lost (its outcome was never recorded: courier stopped
-- or crashed during it; the attempt is made again with the same id).
CREATE TABLE courier.attempts (
    delivery_id uuid        NOT NULL,
    n           int         NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    http_status int,
    outcome     text        NOT NULL
                CHECK (outcome IN ('sent', 'retry', 'failed', 'reauth', 'lost')),
    error_code  text,
    error       text,
    duration_ms int,
    PRIMARY KEY (delivery_id, n)
);

-- The customer's last message on a channel, from contact.received: the
-- providers' messaging windows (Messenger, Instagram, WhatsApp 24 hours,
-- Zalo 7 days) are counted from it.
CREATE TABLE courier.windows (
    channel         text        NOT NULL,
    handle          text        NOT NULL,
    last_inbound_at timestamptz NOT NULL,
    PRIMARY KEY (channel, handle)
);

-- Rotating credentials (Zalo's OA access and refresh tokens), written by
-- courier when it refreshes them and by `carebusctl channels set`; name is
-- access_token or refresh_token. A rotation is one transaction: the new
-- refresh token is committed before the new access token is used.
CREATE TABLE courier.credentials (
    channel    text        NOT NULL,
    name       text        NOT NULL,
    value      text        NOT NULL,
    expires_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, name)
);

-- courier reads every stream from where the log stands now (nothing on a
-- fresh database).
INSERT INTO eventlog.offsets (consumer, stream, seq)
SELECT 'courier', s.stream, s.last_seq FROM eventlog.streams s
 WHERE s.stream IN ('ingest', 'router', 'sla', 'survey', 'courier')
ON CONFLICT DO NOTHING;
