-- router: two-way conversations. What carebus sends on a ticket (agents'
-- replies, acknowledgements) and how far each got, attachments on the
-- timeline, and ticket numbers.
--
-- Delivery states are folded from message.sent / .delivered / .read /
-- .failed with order-free rules (the latest send, the first delivery and
-- read, the latest failure), so that the state does not depend on the order
-- in which the "courier" and "ingest" streams interleave: a rebuild from the
-- log equals the live state. A status whose message is not known yet waits
-- in router.delivery_pending and is applied when its message is
-- (router.delivery_apply).

-- A short number for people ("ticket 4812"): the ingest seq of the contact
-- that opened the ticket, derived from the log like everything else.
ALTER TABLE router.tickets ADD COLUMN number bigint;
UPDATE router.tickets t SET number = e.seq
  FROM eventlog.events e WHERE e.event_id = t.opened_event_id AND e.stream = 'ingest';

-- outbound_kind: what carebus sent (carebus.v1.OutboundKind's spellings;
-- the router writes replies and acknowledgements), NULL for contacts, notes
-- and replies written before carebus sent them. delivery_id: the message.outbound's delivery id;
-- recipient: the handle it went to ('' when the customer has none on that
-- channel: courier fails it). attachments: [{name, content_type, size, url,
-- media_id}] of a contact or a reply. The delivery's times: sent_at the
-- latest send the provider accepted (provider_message_id is that send's),
-- delivered_at and read_at the first report of each, failed_at the latest
-- failure (with the provider's code and reason).
ALTER TABLE router.messages
    ADD COLUMN outbound_kind text
        CHECK (outbound_kind IN ('reply', 'acknowledgement', 'survey')),
    ADD COLUMN delivery_id uuid,
    ADD COLUMN recipient text,
    ADD COLUMN attachments jsonb,
    ADD COLUMN provider_message_id text,
    ADD COLUMN sent_at timestamptz,
    ADD COLUMN delivered_at timestamptz,
    ADD COLUMN read_at timestamptz,
    ADD COLUMN failed_at timestamptz,
    ADD COLUMN delivery_error_code text,
    ADD COLUMN delivery_error text;
-- The status, from the times alone: it only moves forward (queued < sent <
-- delivered < read), and a failure is final unless a send, delivery or read
-- comes after it. GREATEST ignores NULLs.
ALTER TABLE router.messages ADD COLUMN delivery_status text GENERATED ALWAYS AS (
    CASE WHEN delivery_id IS NULL THEN NULL
         WHEN failed_at IS NOT NULL
              AND (coalesce(sent_at, delivered_at, read_at) IS NULL
                   OR failed_at >= greatest(sent_at, delivered_at, read_at)) THEN 'failed'
         WHEN read_at IS NOT NULL THEN 'read'
         WHEN delivered_at IS NOT NULL THEN 'delivered'
         WHEN sent_at IS NOT NULL THEN 'sent'
         ELSE 'queued' END) STORED;
CREATE UNIQUE INDEX messages_delivery ON router.messages (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX messages_provider ON router.messages (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
-- Read and delivery watermarks (Messenger, Instagram) name a recipient.
CREATE INDEX messages_recipient ON router.messages (channel, recipient, sent_at)
    WHERE recipient IS NOT NULL;

-- Statuses not applied yet: one row per status event and message it names
-- (n numbers them within the event). Keyed by delivery_id (courier's sent
-- and failed), else by the provider's message id (status webhooks), else a
-- watermark covering every message sent to recipient on channel up to it.
-- A row is deleted when applied, except watermarks: they also cover
-- messages whose message.sent comes later.
-- XXX: statuses of messages the router did not send (survey invitations)
-- and watermarks are never matched away; a prune would have to be derived
-- from the log to keep rebuilds equal.
CREATE TABLE router.delivery_pending (
    event_id            uuid        NOT NULL,
    n                   integer     NOT NULL,
    status              text        NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    delivery_id         uuid,
    channel             text        NOT NULL,
    provider_message_id text,
    recipient           text,
    watermark           timestamptz,
    at                  timestamptz NOT NULL,
    code                text,
    reason              text,
    PRIMARY KEY (event_id, n),
    CHECK (delivery_id IS NOT NULL OR provider_message_id IS NOT NULL
           OR (watermark IS NOT NULL AND recipient IS NOT NULL))
);
CREATE INDEX delivery_pending_delivery ON router.delivery_pending (delivery_id)
    WHERE delivery_id IS NOT NULL;
CREATE INDEX delivery_pending_provider ON router.delivery_pending (channel, provider_message_id)
    WHERE delivery_id IS NULL AND provider_message_id IS NOT NULL;
CREATE INDEX delivery_pending_watermark ON router.delivery_pending (channel, recipient, watermark)
    WHERE watermark IS NOT NULL;

-- Folds status facts [{msg, status, at, pmid, code, reason}] into their
-- messages. Every rule is a maximum or a minimum, so facts fold alike in any
-- order and any grouping: sent_at the latest, provider_message_id that of
-- the latest send (ties: the greatest id), delivered_at and read_at the
-- first, failed_at the latest failure with its code and reason (ties: the
-- greatest code, then reason).
CREATE FUNCTION router.delivery_fold(p_facts jsonb) RETURNS void
LANGUAGE sql AS $$
    WITH f AS (
        SELECT * FROM jsonb_to_recordset(coalesce(p_facts, '[]'))
            AS x(msg uuid, status text, at timestamptz, pmid text, code text, reason text)),
    a AS (
        SELECT msg,
               max(at) FILTER (WHERE status = 'sent') AS sent_at,
               (array_agg(coalesce(pmid, '') ORDER BY at DESC, coalesce(pmid, '') DESC)
                    FILTER (WHERE status = 'sent'))[1] AS pmid,
               min(at) FILTER (WHERE status = 'delivered') AS delivered_at,
               min(at) FILTER (WHERE status = 'read') AS read_at,
               max(at) FILTER (WHERE status = 'failed') AS failed_at,
               (array_agg(coalesce(code, '') ORDER BY at DESC, coalesce(code, '') DESC,
                          coalesce(reason, '') DESC) FILTER (WHERE status = 'failed'))[1] AS code,
               (array_agg(coalesce(reason, '') ORDER BY at DESC, coalesce(code, '') DESC,
                          coalesce(reason, '') DESC) FILTER (WHERE status = 'failed'))[1] AS reason
          FROM f GROUP BY msg)
    UPDATE router.messages m SET
        sent_at = greatest(m.sent_at, a.sent_at),
        provider_message_id = CASE
            WHEN a.sent_at IS NOT NULL AND (m.sent_at IS NULL OR (a.sent_at, a.pmid)
                                            > (m.sent_at, coalesce(m.provider_message_id, '')))
            THEN nullif(a.pmid, '') ELSE m.provider_message_id END,
        delivered_at = least(m.delivered_at, a.delivered_at),
        read_at = least(m.read_at, a.read_at),
        failed_at = greatest(m.failed_at, a.failed_at),
        delivery_error_code = CASE
            WHEN a.failed_at IS NOT NULL AND (m.failed_at IS NULL OR (a.failed_at, a.code, a.reason)
                 > (m.failed_at, coalesce(m.delivery_error_code, ''), coalesce(m.delivery_error, '')))
            THEN nullif(a.code, '') ELSE m.delivery_error_code END,
        delivery_error = CASE
            WHEN a.failed_at IS NOT NULL AND (m.failed_at IS NULL OR (a.failed_at, a.code, a.reason)
                 > (m.failed_at, coalesce(m.delivery_error_code, ''), coalesce(m.delivery_error, '')))
            THEN nullif(a.reason, '') ELSE m.delivery_error END
      FROM a WHERE m.event_id = a.msg
$$;

-- Applies what a batch makes applicable: p_deliveries, the delivery ids of
-- the outbound messages it wrote; p_events, its status events (their rows
-- are in router.delivery_pending already). In order: statuses by delivery
-- id (which give sends their provider ids and times), then by provider id,
-- then watermarks (which need the send times). Returns the facts applied.
CREATE FUNCTION router.delivery_apply(p_deliveries uuid[], p_events uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_deliveries uuid[];
    v_facts jsonb;
    v_n integer := 0;
BEGIN
    v_deliveries := p_deliveries || ARRAY(
        SELECT d.delivery_id FROM router.delivery_pending d
         WHERE d.event_id = ANY(p_events) AND d.delivery_id IS NOT NULL);

    WITH f AS (
        DELETE FROM router.delivery_pending d USING router.messages m
         WHERE d.delivery_id = ANY(v_deliveries) AND m.delivery_id = d.delivery_id
        RETURNING m.event_id AS msg, d.status, d.at, d.provider_message_id AS pmid, d.code, d.reason)
    SELECT jsonb_agg(to_jsonb(f)) INTO v_facts FROM f;
    v_n := v_n + coalesce(jsonb_array_length(v_facts), 0);
    PERFORM router.delivery_fold(v_facts);

    WITH k AS (
        SELECT d.event_id, d.n FROM router.delivery_pending d
         WHERE d.event_id = ANY(p_events) AND d.delivery_id IS NULL
           AND d.provider_message_id IS NOT NULL
        UNION
        SELECT d.event_id, d.n FROM router.messages x
          JOIN router.delivery_pending d ON d.channel = x.channel
           AND d.provider_message_id = x.provider_message_id AND d.delivery_id IS NULL
         WHERE x.delivery_id = ANY(v_deliveries) AND x.provider_message_id IS NOT NULL),
    f AS (
        DELETE FROM router.delivery_pending d USING k, router.messages m
         WHERE d.event_id = k.event_id AND d.n = k.n
           AND m.channel = d.channel AND m.provider_message_id = d.provider_message_id
        RETURNING m.event_id AS msg, d.status, d.at, d.provider_message_id AS pmid, d.code, d.reason)
    SELECT jsonb_agg(to_jsonb(f)) INTO v_facts FROM f;
    v_n := v_n + coalesce(jsonb_array_length(v_facts), 0);
    PERFORM router.delivery_fold(v_facts);

    -- A watermark covers the messages sent to its recipient up to it: the
    -- batch's watermarks over the messages known, and every watermark known
    -- over the batch's messages (their sends may come after the watermark).
    WITH f AS (
        SELECT m.event_id AS msg, w.status, w.at
          FROM router.delivery_pending w
          JOIN router.messages m ON m.channel = w.channel AND m.recipient = w.recipient
           AND m.sent_at <= w.watermark
         WHERE w.event_id = ANY(p_events) AND w.watermark IS NOT NULL
           AND coalesce(CASE w.status WHEN 'read' THEN m.read_at ELSE m.delivered_at END
                        > w.at, true)
        UNION ALL
        SELECT m.event_id, w.status, w.at
          FROM router.messages m
          JOIN router.delivery_pending w ON w.watermark IS NOT NULL AND w.channel = m.channel
           AND w.recipient = m.recipient AND w.watermark >= m.sent_at
         WHERE m.delivery_id = ANY(v_deliveries) AND m.sent_at IS NOT NULL)
    SELECT jsonb_agg(to_jsonb(f)) INTO v_facts FROM f;
    v_n := v_n + coalesce(jsonb_array_length(v_facts), 0);
    PERFORM router.delivery_fold(v_facts);
    RETURN v_n;
END
$$;

-- A message's delivery as the API shows it; NULL for what carebus did not
-- send.
CREATE FUNCTION router.delivery_json(m router.messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN m.delivery_id IS NULL THEN NULL ELSE jsonb_build_object(
        'id', m.delivery_id, 'status', m.delivery_status,
        'at', CASE m.delivery_status WHEN 'failed' THEN m.failed_at WHEN 'read' THEN m.read_at
                                     WHEN 'delivered' THEN m.delivered_at
                                     WHEN 'sent' THEN m.sent_at ELSE m.at END,
        'provider_message_id', m.provider_message_id,
        'sent_at', m.sent_at, 'delivered_at', m.delivered_at, 'read_at', m.read_at,
        'error', CASE WHEN m.delivery_status = 'failed' THEN jsonb_build_object(
                          'code', m.delivery_error_code, 'reason', m.delivery_error) END) END
$$;

-- The ticket as the API shows it (GET /v1/tickets/{id}); NULL if unknown.
-- As in 0003_router.sql, with the ticket's number, and each message's
-- attachments, and for what carebus sent its kind and delivery. A contact
-- and the acknowledgement it caused share their place in the log: the
-- contact comes first.
CREATE OR REPLACE FUNCTION router.ticket_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'number', t.number, 'customer_id', t.customer_id, 'status', t.status,
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
                       'at', m.at, 'attachments', coalesce(m.attachments, '[]'::jsonb),
                       'outbound_kind', m.outbound_kind, 'delivery', router.delivery_json(m))
                   ORDER BY m.at, m.stream, m.seq, m.direction)
              FROM router.messages m WHERE m.ticket_id = t.id), '[]'::jsonb),
        'timeline', coalesce((
            SELECT jsonb_agg(e.entry ORDER BY e.at, e.stream, e.seq, e.ord, e.dir)
              FROM (SELECT jsonb_build_object(
                               'kind', 'message', 'event_id', m.event_id,
                               'channel', m.channel, 'direction', m.direction,
                               'text', m.text, 'agent_id', m.agent_id, 'at', m.at,
                               'attachments', coalesce(m.attachments, '[]'::jsonb),
                               'outbound_kind', m.outbound_kind,
                               'delivery', router.delivery_json(m)) AS entry,
                           m.at, m.stream, m.seq, 100 AS ord, m.direction AS dir
                      FROM router.messages m WHERE m.ticket_id = t.id
                    UNION ALL
                    SELECT jsonb_build_object(
                               'kind', n.kind, 'text', n.text, 'detail', n.detail,
                               'cause_id', n.cause_id, 'at', n.at),
                           n.at, n.stream, n.seq, n.ord, ''
                      FROM router.notes n WHERE n.ticket_id = t.id) e), '[]'::jsonb))
      FROM router.tickets t WHERE t.id = p_id
$$;

-- As in 0003_router.sql, with the pending statuses.
CREATE OR REPLACE FUNCTION router.reset() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE router.notes, router.merges, router.messages, router.tickets, router.identities,
             router.customers, router.agents, router.position, router.delivery_pending;
    DELETE FROM eventlog.offsets WHERE consumer = 'router';
$$;
