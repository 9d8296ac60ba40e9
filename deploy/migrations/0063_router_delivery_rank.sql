-- A delivery's status folded by rank within a second, not by time alone.
-- Providers report whole seconds (WhatsApp's status timestamps, Twilio's
-- and Zalo's times), courier's sends carry microseconds: a failure the
-- provider reported in the second of the send read as before it, and the
-- message stayed "sent". Now the times are compared to the second and, in
-- the same second, the rank decides: failed > read > delivered > sent. As
-- before, read, delivered and sent only move forward, and a failure is
-- final unless a send, delivery or read comes in a later second.
ALTER TABLE router.messages DROP COLUMN delivery_status;
ALTER TABLE router.messages ADD COLUMN delivery_status text GENERATED ALWAYS AS (
    CASE WHEN delivery_id IS NULL THEN NULL
         WHEN failed_at IS NOT NULL
              AND (coalesce(sent_at, delivered_at, read_at) IS NULL
                   OR date_trunc('second', failed_at AT TIME ZONE 'UTC')
                      >= date_trunc('second', greatest(sent_at, delivered_at, read_at)
                                              AT TIME ZONE 'UTC')) THEN 'failed'
         WHEN read_at IS NOT NULL THEN 'read'
         WHEN delivered_at IS NOT NULL THEN 'delivered'
         WHEN sent_at IS NOT NULL THEN 'sent'
         ELSE 'queued' END) STORED;
