-- bi.freshness: how current the data a BI tool reads is, on the primary or
-- on a standby (BI may read the synchronous standby: README, "High
-- availability").
--
-- A standby has on disk every transaction the primary confirmed, but
-- replays it a moment later (synchronous_commit = on, not remote_apply), and
-- a long query there may hold replay back. The delay counts only while
-- something received is not replayed yet: an idle primary sends nothing, and
-- the age of the last replayed commit would then grow although the standby
-- is current. Whether the standby still receives (receiving) tells an idle
-- primary from a lost one. The latest event of the log is found through
-- eventlog.streams and the log's key, never by scanning the log.
-- pg_stat_wal_receiver shows its status only to pg_read_all_stats, and a
-- function in a view runs as the reader: the one boolean BI needs is read
-- through a function with its owner's rights (carebus), outside bi.
CREATE FUNCTION eventlog.wal_receiving() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
$$;

CREATE VIEW bi.freshness AS
SELECT pg_is_in_recovery() AS on_standby,
       CASE WHEN pg_is_in_recovery() THEN eventlog.wal_receiving() END AS receiving,
       CASE WHEN NOT pg_is_in_recovery() THEN 0.0
            WHEN pg_last_wal_receive_lsn() IS NULL
              OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0.0
            ELSE round(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::numeric, 3)
       END AS replication_delay_s,
       CASE WHEN pg_is_in_recovery() THEN
                greatest(coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0), 0)
            ELSE 0
       END AS replay_backlog_bytes,
       pg_last_xact_replay_timestamp() AS last_replayed_commit_at,
       (SELECT max(e.recorded_at)
          FROM eventlog.streams s
          JOIN eventlog.events e ON e.stream = s.stream AND e.seq = s.last_seq) AS last_event_at,
       clock_timestamp() AS read_at;

COMMENT ON VIEW bi.freshness IS
    'One row: how current this server''s data is. On the standby BI reads, the replication '
    'delay and the time of the latest event it holds.';
COMMENT ON COLUMN bi.freshness.on_standby IS
    'true on a standby (a read-only replica), false on the primary.';
COMMENT ON COLUMN bi.freshness.receiving IS
    'On a standby: whether it streams from the primary now (false: the primary is lost or the '
    'link is down, and the data stops at last_event_at). Null on the primary.';
COMMENT ON COLUMN bi.freshness.replication_delay_s IS
    'Seconds the standby''s data is behind what it received (0 when it has replayed everything, '
    'and always 0 on the primary).';
COMMENT ON COLUMN bi.freshness.replay_backlog_bytes IS
    'WAL received but not replayed yet, in bytes (0 on the primary).';
COMMENT ON COLUMN bi.freshness.last_replayed_commit_at IS
    'When the last transaction replayed on this standby was committed on the primary; null on '
    'the primary.';
COMMENT ON COLUMN bi.freshness.last_event_at IS
    'When the latest event this server holds was recorded (null: the log is empty).';
COMMENT ON COLUMN bi.freshness.read_at IS 'When this row was read (the server''s clock).';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader') THEN
        GRANT SELECT ON bi.freshness TO bi_reader;
    END IF;
END;
$$;
