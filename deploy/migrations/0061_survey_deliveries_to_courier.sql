-- survey's webhook deliveries move to courier, the one delivery path:
-- their history (and any still pending, which courier then sends to the
-- same URL with the same id and body) becomes courier.deliveries rows of
-- the static subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS, and
-- survey.deliveries goes.
INSERT INTO courier.deliveries (id, kind, subscription_id, cause_event_id, event_type,
                                ticket_id, customer_id, body, status, attempts, next_at,
                                deadline, last_status, last_error, created_at, sent_at,
                                done_at)
SELECT d.id, 'webhook', courier.static_subscription_id(d.url), d.event_id, 'survey.requested',
       e.ticket_id, e.customer_id, d.body,
       CASE d.status WHEN 'delivered' THEN 'sent' ELSE d.status END,
       d.attempts, d.next_at, d.deadline, d.last_status, d.last_error, d.created_at,
       d.delivered_at,
       CASE d.status WHEN 'delivered' THEN d.delivered_at
                     WHEN 'failed' THEN d.next_at END
  FROM survey.deliveries d
  LEFT JOIN eventlog.events e ON e.event_id = d.event_id
ON CONFLICT (id) DO NOTHING;

DROP TABLE survey.deliveries;
