-- router: what the work API's lists, queues and search read (channel-ingest's
-- GET /v1/tickets, /v1/queues, /v1/customers?q=, /v1/customers/{id}/tickets
-- and /v1/tickets/{id}/timeline; services/channel-ingest/tickets_list.c).
--
-- Read-side additions only: a text search configuration, a search column the
-- database computes, indexes, the tags column manual operations fill, and
-- the JSON of a list's row. Nothing the router decides changes, so a rebuild
-- from the log still equals the live state.
--
-- Operators: the unaccent extension (Debian's postgresql-15 package and the
-- official image ship it) is created here. It is a trusted extension, so
-- the database's owner may create it; where the services' role may not, run
-- CREATE EXTENSION unaccent once as a superuser, in any schema, first.
-- Adding router.messages.search rewrites that table (every message's words
-- are computed once): on a large database, expect the migration to hold
-- the router's writes for as long as that takes.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- router.carebus_search: words as written, lower-cased and without their
-- diacritics, so that "khieu nai" finds "khiếu nại" and the reverse, and
-- English reads as typed (no stemming: the texts mix two languages).
-- router.fold(): the same folding of a whole string, for prefix look-ups of
-- names. Both name the dictionary and the function in the extension's own
-- schema, wherever an operator created it.
DO $$
DECLARE
    s text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname = 'unaccent');
BEGIN
    CREATE TEXT SEARCH CONFIGURATION router.carebus_search (COPY = pg_catalog.simple);
    EXECUTE format('ALTER TEXT SEARCH CONFIGURATION router.carebus_search ALTER MAPPING FOR'
                   ' asciiword, asciihword, hword_asciipart, word, hword, hword_part,'
                   ' numword, numhword, hword_numpart WITH %I.unaccent, pg_catalog.simple', s);
    -- IMMUTABLE although unaccent() is STABLE (its rules file could
    -- change): an index needs it, and the rules are the extension's, fixed
    -- per release. (Its rules also drop combining marks: text decomposed
    -- on another system, "e" and U+0302 U+0301, folds as "ế" does.) The
    -- SET clause keeps PostgreSQL from inlining it: inlining checks the
    -- caller's right to the extension's schema even when the function is
    -- only an index's expression, and bi_reader, who has none, plans
    -- queries over router.customers.
    EXECUTE format('CREATE FUNCTION router.fold(p text) RETURNS text'
                   ' LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog'
                   ' AS $f$ SELECT lower(%I.unaccent(%L::regdictionary, p)) $f$',
                   s, quote_ident(s) || '.unaccent');
END
$$;

-- What a message is found by: its subject (weighted A, so that ts_rank puts
-- a match there first) and its text. A ticket's subject is its opening
-- contact's, which carries the same subject, so one column covers subjects,
-- messages and internal notes (direction 'note').
CREATE FUNCTION router.search_document(p_subject text, p_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('router.carebus_search'::regconfig, coalesce(p_subject, '')), 'A')
           || to_tsvector('router.carebus_search'::regconfig, coalesce(p_text, ''))
$$;

-- Stored rather than an index expression: ranking and the search's walk
-- through recent messages (tickets_list.c) read it for every candidate,
-- which recomputing would make a hundred times dearer. PostgreSQL computes
-- it on insert (and on an update of the subject or text only).
ALTER TABLE router.messages
    ADD COLUMN search tsvector GENERATED ALWAYS AS (router.search_document(subject, text)) STORED;
-- The index takes new words into a pending list that the insert which
-- fills it merges: 256 kB rather than the default 4 MB keeps that merge,
-- which the router's transaction waits for, short.
CREATE INDEX messages_search ON router.messages USING gin (search)
    WITH (gin_pending_list_limit = 256);

-- Whether the p_candidates newest messages that match p_query are found
-- sooner by walking back from the newest message (reading about
-- p_candidates / f messages, f the query's frequency) than through the
-- search index (reading all f * n matches): f^2 * n > p_candidates. The
-- frequency is ANALYZE's, of the query's rarest word, taken as the
-- query's own (the words people search together come together: the
-- planner, which multiplies them, takes "galaxy a54" for a thousand times
-- rarer than it is, and would read a hundred thousand matches). A word
-- ANALYZE did not list is rarer than its rarest (half of that, as the
-- planner takes it); no statistics, no walk.
CREATE FUNCTION router.search_walks(p_query tsquery, p_candidates integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(coalesce(st.f[array_position(st.e, w.m[1])],
                                 st.f[array_length(st.e, 1) + 1] / 2)) ^ 2
                    * max(greatest(c.reltuples, 0)) > p_candidates, false)
      FROM (SELECT s.most_common_elems::text::text[] AS e, s.most_common_elem_freqs AS f
              FROM pg_stats s
             WHERE s.schemaname = 'router' AND s.tablename = 'messages' AND s.attname = 'search') st,
           regexp_matches(p_query::text, '''((?:[^'']|'''')+)''', 'g') AS w (m),
           pg_class c
     WHERE c.oid = 'router.messages'::regclass
$$;
-- The newest first: a word found in many messages is searched by walking
-- back from the newest message rather than through all its matches.
CREATE INDEX messages_at ON router.messages (at);

-- Tags: manual operations add and remove them (ticket.update_requested);
-- lists filter on them. Also made by the manual operations' migration,
-- whichever comes first.
ALTER TABLE router.tickets ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS tickets_tags ON router.tickets USING gin (tags);

-- The list orders (tickets_list.c). "queue": highest priority first, then
-- oldest, then id; its key is (-priority_rank, created_at, id), all
-- ascending, so that a page's cursor is one row comparison an index
-- answers, and a priority filter a prefix of it. A filter gets an index of
-- its own where a walk in queue order would find its tickets late: the
-- open and pending ones (what a desk works from) are the newest, and so are
-- the unassigned ones; an agent's tickets are a small share of all. Other
-- filters (team, channel, category, segment, a common tag) match often
-- enough that the walk finds a page soon; rare ones (a customer, a
-- creation range, a rare tag) are found through their own index and
-- sorted. Every index here is on columns a ticket's common update (a
-- contact joining it) leaves alone, so that update stays HOT.
CREATE INDEX tickets_list_queue ON router.tickets ((-priority_rank), created_at, id);
-- It carries priority_rank and status as columns too, so that a walk
-- through the open tickets reads the index alone (PostgreSQL reads no
-- column out of an index expression).
CREATE INDEX tickets_list_active ON router.tickets ((-priority_rank), created_at, id)
    INCLUDE (priority_rank, status) WHERE status IN ('open', 'pending');
CREATE INDEX tickets_list_status ON router.tickets (status, (-priority_rank), created_at, id);
CREATE INDEX tickets_list_assignee ON router.tickets (assignee, (-priority_rank), created_at, id);
-- Also made by the manual operations' migration (the offline timer reads
-- it), whichever comes first.
CREATE INDEX IF NOT EXISTS tickets_list_assignee_active
    ON router.tickets (assignee, (-priority_rank), created_at, id)
    WHERE status IN ('open', 'pending');
CREATE INDEX tickets_list_unassigned ON router.tickets ((-priority_rank), created_at, id)
    WHERE assignee IS NULL;
-- "created" (newest first: a customer's tickets) and its ranges. Nothing
-- indexes updated_at: every contact that joins a ticket changes it, and
-- an index on it would make each of those updates write every index of
-- the table instead of none (a HOT update, what fillfactor 60 is for).
-- "updated" sorts the tickets its filters select.
CREATE INDEX tickets_list_created ON router.tickets (created_at, id);
CREATE INDEX tickets_customer ON router.tickets (customer_id, created_at, id);

-- Customer look-ups by prefix, in byte order (COLLATE "C": what LIKE 'x%'
-- and a page's cursor compare with): a name without diacritics or case, a
-- phone or an e-mail address as identity.h normalises them.
CREATE INDEX customers_name_prefix
    ON router.customers ((router.fold(name) COLLATE "C"), id) WHERE merged_into IS NULL;
CREATE INDEX identities_prefix ON router.identities (kind, (value COLLATE "C"), customer_id);

-- A ticket as a list shows it: what a desk's queue needs to draw a row (the
-- SLA part is sla.ticket_summary's, see 0032_sla_lists.sql).
CREATE FUNCTION router.ticket_summary(t router.tickets) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'number', t.number, 'customer_id', t.customer_id, 'customer_name', c.name,
        'segment', c.segment, 'status', t.status, 'priority', t.priority,
        'category', t.category, 'team', t.team, 'assignee', t.assignee,
        'channel', t.channel, 'subject', t.subject, 'tags', to_jsonb(t.tags),
        'contacts', t.contacts, 'merged_into', t.merged_into,
        'created_at', t.created_at, 'updated_at', t.updated_at, 'queued_at', t.queued_at,
        'last_message', (
            SELECT jsonb_build_object('at', m.at, 'direction', m.direction,
                                      'channel', m.channel, 'preview', left(m.text, 160))
              FROM router.messages m WHERE m.ticket_id = t.id
             ORDER BY m.at DESC, m.stream DESC, m.seq DESC LIMIT 1))
      FROM router.customers c WHERE c.id = t.customer_id
$$;

-- A customer as a search result shows them.
CREATE FUNCTION router.customer_summary(c router.customers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'name', c.name, 'segment', c.segment, 'status', c.status,
        'identities', coalesce((
            SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value)
                             ORDER BY i.kind, i.value)
              FROM router.identities i WHERE i.customer_id = c.id), '[]'::jsonb),
        'open_ticket_id', (
            SELECT t.id FROM router.tickets t
             WHERE t.customer_id = c.id AND t.status IN ('open', 'pending')
             ORDER BY t.created_at DESC, t.id DESC LIMIT 1))
$$;

-- A page of a ticket's timeline: the entries of router.ticket_json's
-- "timeline" (the one place their shape is spelled) after the position
-- (p_at, p_n) — the p_n-th entry of the instant p_at; NULL: from the start —
-- at most p_limit of them, with the last one's position and whether more
-- follow. Entries are ordered by time, and those of one instant keep their
-- order, so a position stays valid while later entries arrive. No row: no
-- such ticket.
CREATE FUNCTION router.timeline_page(p_id uuid, p_at timestamptz, p_n integer, p_limit integer)
RETURNS TABLE (items jsonb, last_at timestamptz, last_n integer, more boolean)
LANGUAGE sql STABLE AS $$
    WITH e AS MATERIALIZED (
        SELECT x.entry, (x.entry ->> 'at')::timestamptz AS at,
               row_number() OVER (PARTITION BY x.entry ->> 'at' ORDER BY x.i)::integer AS n
          FROM jsonb_array_elements(router.ticket_json(p_id) -> 'timeline')
                   WITH ORDINALITY AS x (entry, i)),
    page AS (
        SELECT e.entry, e.at, e.n FROM e
         WHERE p_at IS NULL OR (e.at, e.n) > (p_at, p_n)
         ORDER BY e.at, e.n LIMIT p_limit),
    l AS (SELECT p.at, p.n FROM page p ORDER BY p.at DESC, p.n DESC LIMIT 1)
    SELECT coalesce((SELECT jsonb_agg(p.entry ORDER BY p.at, p.n) FROM page p), '[]'),
           l.at, l.n, EXISTS (SELECT 1 FROM e WHERE (e.at, e.n) > (l.at, l.n))
      FROM router.tickets t LEFT JOIN l ON true
     WHERE t.id = p_id
$$;
