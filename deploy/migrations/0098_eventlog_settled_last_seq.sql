-- eventlog.settled_last_seq: a stream's last seq once every append in
-- flight has committed, holding nothing afterwards.
--
-- An append holds its stream's row (FOR UPDATE) from before it takes its
-- rows' recorded_at until it commits. A reader that must not pass over an
-- event still being committed (the router placing SLA events among
-- contacts, survey deciding what is due) waits for that row FOR SHARE.
-- Held until the reader's commit, that lock made every append of the
-- stream wait for the reader's whole batch (sla-monitor's timers stalled
-- behind the router's). Taken in a block that is rolled back at once, it
-- is only waited for: an append that starts afterwards takes its
-- recorded_at later than this call, so it belongs after whatever the
-- reader does with the events up to the seq returned. Readers bound what
-- they read by that seq.
CREATE OR REPLACE FUNCTION eventlog.settled_last_seq(p_stream text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint := 0;
BEGIN
    BEGIN
        SELECT s.last_seq INTO v_last FROM eventlog.streams s
            WHERE s.stream = p_stream FOR SHARE;
        -- Rolls the block back, and with it the lock (the value stays).
        RAISE SQLSTATE 'CBSTL';
    EXCEPTION WHEN SQLSTATE 'CBSTL' THEN
        NULL;
    END;
    RETURN coalesce(v_last, 0);
END;
$$;

-- A stream's row must exist for its first append to be waited for (an
-- append creates a missing row, uncommitted and so unseen until then):
-- 0003 made "ingest" and "sla"; "router" is read this way by survey.
INSERT INTO eventlog.streams (stream) VALUES ('router') ON CONFLICT DO NOTHING;

COMMENT ON FUNCTION eventlog.settled_last_seq(text) IS
    'The stream''s last seq once every append in flight has committed; holds no lock afterwards';
