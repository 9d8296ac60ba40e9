-- router: a search's newest matches found in a recent window first
-- (channel-ingest's GET /v1/tickets?q=, services/channel-ingest/tickets_list.c).
--
-- A word found in a few thousandths of the messages (a name, a product)
-- was the search's slow case: too rare for the walk back from the newest
-- message to meet 200 matches soon, too common for the search index to
-- read all its matches cheaply (37,000 of 10,000,000 messages, each read
-- from the table for its time: 250-1,300 ms). The search now asks the
-- search index and a summary of the messages' times together (bitmaps
-- intersected) for the matches newer than a bound, and reads only those
-- from the table. The bound is where the query's words should have four
-- times the page's candidates after it; when fewer are there, the search
-- reads every match as before, so what it finds does not depend on the
-- bound, only how soon.
--
-- The functions are PL/pgSQL so that a connection plans their reads of
-- the statistics once, not at each search (3-5 ms each as SQL functions).

-- The share of messages that match p_query, as search_walks takes it
-- (0011): ANALYZE's frequency of its rarest word; a word ANALYZE did not
-- list half its rarest's. NULL without statistics.
CREATE FUNCTION router.search_frequency(p_query tsquery) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT min(coalesce(st.f[array_position(st.e, w.m[1])],
                            st.f[array_length(st.e, 1) + 1] / 2))
          FROM (SELECT s.most_common_elems::text::text[] AS e, s.most_common_elem_freqs AS f
                  FROM pg_stats s
                 WHERE s.schemaname = 'router' AND s.tablename = 'messages'
                   AND s.attname = 'search') st,
               regexp_matches(p_query::text, '''((?:[^'']|'''')+)''', 'g') AS w (m));
END
$$;

-- The share of the messages a window should hold to have about
-- 4 * p_candidates matches of p_query (after search_frequency); NULL, no
-- window, where it would hold more than a fifth of them (reading the
-- search index alone then costs about as much) or without statistics.
CREATE FUNCTION router.search_window(p_query tsquery, p_candidates integer)
RETURNS double precision LANGUAGE plpgsql STABLE AS $$
DECLARE
    share double precision := 4.0 * p_candidates / (router.search_frequency(p_query)
        * (SELECT greatest(c.reltuples, 1) FROM pg_class c
            WHERE c.oid = 'router.messages'::regclass));
BEGIN
    RETURN CASE WHEN share > 0 AND share <= 0.2 THEN share END;
END
$$;

-- The rule of 0011 (a walk back from the newest message reads about
-- p_candidates / f messages, the search index all f * n matches), but
-- where a word has a window, the walk only when it reads fewer than a
-- quarter of the matches: each message the walk reads costs about as much
-- as four matches the search index lists for the window (10,000,000
-- messages, a loaded 2-core machine: a word in 80 took 40-70 ms walking,
-- 90-170 ms through a window; a word in 250, 250-500 walking, 20-60
-- through a window).
CREATE OR REPLACE FUNCTION router.search_walks(p_query tsquery, p_candidates integer)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    reach double precision := router.search_frequency(p_query) ^ 2
        * (SELECT greatest(c.reltuples, 0) FROM pg_class c
            WHERE c.oid = 'router.messages'::regclass);
BEGIN
    RETURN coalesce(reach > p_candidates AND (reach > 4 * p_candidates
                    OR router.search_window(p_query, p_candidates) IS NULL), false);
END
$$;

-- The time after which router.search_window's share of the messages are:
-- read off ANALYZE's histogram of router.messages.at, interpolated within a
-- bucket (messages since the last ANALYZE are after every bound, so the
-- window only grows with them). NULL where search_window has none.
-- XXX: IMMUTABLE although it reads the statistics: PostgreSQL then computes
-- the bound once while planning, as a constant it estimates and indexes
-- with (a STABLE call in a condition no index answers would run per row).
-- Right for the statements that use it, planned at each execution
-- (channel-ingest's unnamed statements); a prepared statement's generic
-- plan, or an index, would keep a stale bound.
CREATE FUNCTION router.search_since(p_query tsquery, p_candidates integer) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    share double precision := router.search_window(p_query, p_candidates);
    b timestamptz[];
    pos double precision;
    i integer;
BEGIN
    IF share IS NULL THEN
        RETURN NULL;
    END IF;
    b := (SELECT s.histogram_bounds::text::timestamptz[] FROM pg_stats s
           WHERE s.schemaname = 'router' AND s.tablename = 'messages' AND s.attname = 'at');
    IF coalesce(array_length(b, 1), 0) < 2 THEN
        RETURN NULL;
    END IF;
    -- The bound's place in b, counted from 1: share of the buckets back
    -- from the last bound.
    pos := (array_length(b, 1) - 1) * (1 - share) + 1;
    i := floor(pos)::integer;
    RETURN b[i] + (b[least(i + 1, array_length(b, 1))] - b[i]) * (pos - i);
END
$$;

-- The times' summary the window reads: a few bytes per 128 pages, since
-- messages are stored about in the order of their time (a bitmap of the
-- pages whose messages may be newer than the bound, not of each message:
-- messages_at's would read 200,000 entries for a word in 300).
CREATE INDEX messages_at_range ON router.messages USING brin (at);
