/* store.c — prefetching a batch's rows and writing back its changes.
 *
 * Prefetch order matters: messages named by threading give tickets, named
 * tickets give customers, handles give customers, and customers give their
 * tickets that are not closed (the ones a contact can join or reopen, and
 * the ones a merge moves). A customer or ticket merged away is loaded with
 * its survivor, so the model can follow the chain.
 *
 * Writes go parent first (customers, identities, tickets, then messages
 * and notes), so that every foreign key finds its row. Rows added in the
 * batch point at model indexes; they are written with the ids of the final
 * survivors, so that a merge later in the same batch is already applied.
 */
#include "store.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"
#include "log.h"
#include "pipe.h"

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

#define TICKET_COLS                                                                                   \
    "t.id, t.customer_id, t.status, t.category, t.category_rule, t.category_phrase,"                  \
    " t.priority_rank, to_json(t.priority_reasons)::text, t.team, t.assignee, t.channel,"             \
    " t.subject, t.opened_event_id, t.contacts, t.urgent_word, t.escalated_rank, t.reopened,"         \
    " t.merged_into, " US("t.created_at") ", " US("t.updated_at") ", " US(                            \
        "t.assigned_at") ", " US("t.queued_at") ", " US("t.solved_at") ", " US("t.closed_at") ","     \
                                                                                              " " US( \
                                                                                                  "t.escalated_at")

#define CUSTOMER_COLS                                                                              \
    "c.id, c.name, c.segment, c.status, c.merged_into, " US("c.created_at") ", " US(               \
        "c.updated_at") ", " US("c.merged_at")

/* --- reading rows ----------------------------------------------------------- */

static const char *cell(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t cell_us(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? MODEL_NONE : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int cell_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : (int)strtol(PQgetvalue(r, row, col), NULL, 10);
}

/* Adds the tickets of r (TICKET_COLS) not yet in the model. */
static void add_tickets(model *m, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (model_ticket(m, PQgetvalue(r, i, 0)) >= 0)
            continue;
        m_ticket t = {.cust = -1, .merged_into = -1};
        snprintf(t.id, sizeof t.id, "%s", PQgetvalue(r, i, 0));
        snprintf(t.customer_id, sizeof t.customer_id, "%s", PQgetvalue(r, i, 1));
        Carebus__V1__TicketStatus st;
        if (event_ticket_status_parse(PQgetvalue(r, i, 2), &st) != 0)
            st = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
        t.status = st;
        Carebus__V1__Category cat = CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED;
        if (cell(r, i, 3))
            event_category_parse(PQgetvalue(r, i, 3), &cat);
        t.category = cat;
        t.rule = model_strdup(m, cell(r, i, 4));
        t.phrase = model_strdup(m, cell(r, i, 5));
        t.rank = cell_int(r, i, 6);
        t.reasons = model_strdup(m, cell(r, i, 7));
        t.team = model_strdup(m, cell(r, i, 8));
        t.assignee = model_strdup(m, cell(r, i, 9));
        t.channel = model_strdup(m, cell(r, i, 10));
        t.subject = model_strdup(m, cell(r, i, 11));
        snprintf(t.opened_event_id, sizeof t.opened_event_id, "%s", PQgetvalue(r, i, 12));
        t.contacts = cell_int(r, i, 13);
        t.urgent_word = model_strdup(m, cell(r, i, 14));
        t.escalated_rank = cell_int(r, i, 15);
        t.reopened = cell_int(r, i, 16);
        /* merged_into (17) is linked once every ticket is in. */
        t.created = cell_us(r, i, 18);
        t.updated = cell_us(r, i, 19);
        t.assigned = cell_us(r, i, 20);
        t.queued = cell_us(r, i, 21);
        t.solved = cell_us(r, i, 22);
        t.closed = cell_us(r, i, 23);
        t.escalated = cell_us(r, i, 24);
        model_add_ticket(m, &t);
    }
}

static void link_ticket_merges(model *m, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *into = cell(r, i, 17);
        int t = model_ticket(m, PQgetvalue(r, i, 0));
        if (into && t >= 0)
            m->tick[t].merged_into = model_ticket(m, into);
    }
}

static void add_customers(model *m, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (model_customer(m, PQgetvalue(r, i, 0)) >= 0)
            continue;
        m_customer c = {.merged_into = -1};
        snprintf(c.id, sizeof c.id, "%s", PQgetvalue(r, i, 0));
        c.name = model_strdup(m, cell(r, i, 1));
        Carebus__V1__Segment seg = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
        event_segment_parse(PQgetvalue(r, i, 2), &seg);
        c.segment = seg;
        Carebus__V1__CustomerStatus st = CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE;
        event_customer_status_parse(PQgetvalue(r, i, 3), &st);
        c.status = st;
        c.created = cell_us(r, i, 5);
        c.updated = cell_us(r, i, 6);
        c.merged_at = cell_us(r, i, 7);
        model_add_customer(m, &c);
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *into = cell(r, i, 4);
        int c = model_customer(m, PQgetvalue(r, i, 0));
        if (into && c >= 0)
            m->cust[c].merged_into = model_customer(m, into);
    }
}

/* A JSON array of strings into the arena (NULL-terminated). */
static const char **string_list(model *m, const char *json, size_t *n)
{
    *n = 0;
    json_t *a = json ? json_loads(json, 0, NULL) : NULL;
    size_t len = json_is_array(a) ? json_array_size(a) : 0;
    const char **out = arena_calloc(&m->a, len + 1, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(a, i);
        if (json_is_string(v))
            out[(*n)++] = model_strdup(m, json_string_value(v));
    }
    json_decref(a);
    return out;
}

/* "{id,id,...}" of uuids (validated by the caller). */
static void uuid_array_add(buf *b, const char *id)
{
    buf_putc(b, b->len ? ',' : '{');
    buf_puts(b, id);
}

static const char *uuid_array_end(buf *b)
{
    if (!b->len)
        buf_putc(b, '{');
    buf_putc(b, '}');
    return buf_str(b);
}

static PGresult *exec1(model *m, const char *sql, const char *param)
{
    const char *params[] = {param};
    return db_exec(m->db, sql, 1, params);
}

/* What a batch reaches, from its keys ($1 external ids as a JSON array,
 * $2 ticket ids, $3 handles as JSON [{kind, value}], $4 customer ids):
 * the tickets named (and those they were merged into), and the customers
 * named, owning a handle or a named ticket (and their survivors). Every
 * prefetch statement repeats it, so that they need no answer from each
 * other and go in one round trip.
 *
 * Every look-up is by key, written so that the plan is an index probe
 * whatever the statistics say ("= ANY(array)", "LATERAL ... OFFSET 0"):
 * after a rebuild or a burst the tables outgrow their statistics, and a
 * join the planner costs against a "small" table becomes a scan of every
 * row, in every batch. */
#define REACH                                                                                      \
    "WITH r AS (SELECT m.ticket_id FROM router.messages m WHERE m.external_id = ANY(ARRAY("        \
    "             SELECT json_array_elements_text($1::json)))),"                                   \
    " t0 AS (SELECT x.id, x.customer_id, x.merged_into FROM router.tickets x"                      \
    "         WHERE x.id = ANY($2::uuid[] || ARRAY(SELECT ticket_id FROM r))),"                    \
    " tall AS (SELECT array_agg(id) AS ids FROM (SELECT id FROM t0"                                \
    "          UNION SELECT merged_into FROM t0 WHERE merged_into IS NOT NULL) s),"                \
    " c0 AS (SELECT array_agg(DISTINCT id) AS ids FROM ("                                          \
    "          SELECT i.customer_id AS id FROM json_to_recordset($3::json) AS k (kind text,"       \
    "                 value text), LATERAL (SELECT i.customer_id FROM router.identities i"         \
    "                 WHERE i.kind = k.kind AND i.value = k.value OFFSET 0) i"                     \
    "          UNION ALL SELECT unnest($4::uuid[]) UNION ALL SELECT customer_id FROM t0) s),"      \
    " call AS (SELECT coalesce((SELECT ids FROM c0), '{}') || coalesce(ARRAY("                     \
    "           SELECT x.merged_into FROM router.customers x"                                      \
    "            WHERE x.id = ANY((SELECT ids FROM c0)::uuid[]) AND x.merged_into IS NOT NULL), "  \
    "'{}')"                                                                                        \
    "           AS ids)"

#define REFS_SQL                                                                                   \
    "SELECT m.external_id, m.channel, m.ticket_id, " US(                                           \
        "m.at") ", m.stream, m.seq"                                                                \
                " FROM router.messages m WHERE m.external_id IN (SELECT "                          \
                "json_array_elements_text($1::json))"                                              \
                " ORDER BY m.at, m.stream, m.seq"

#define IDENTITIES_SQL                                                                             \
    "SELECT i.kind, i.value, i.customer_id FROM json_to_recordset($1::json) AS k (kind text,"      \
    " value text), LATERAL (SELECT i.kind, i.value, i.customer_id FROM router.identities i"        \
    " WHERE i.kind = k.kind AND i.value = k.value OFFSET 0) i"

#define CUSTOMERS_SQL                                                                              \
    "SELECT " CUSTOMER_COLS " FROM router.customers c WHERE c.id = ANY($1::uuid[])"                \
    " UNION ALL SELECT " CUSTOMER_COLS " FROM router.customers c WHERE c.id IN"                    \
    " (SELECT x.merged_into FROM router.customers x"                                               \
    "   WHERE x.id = ANY($1::uuid[]) AND x.merged_into IS NOT NULL)"

#define REACH_CUSTOMERS_SQL                                                                        \
    REACH " SELECT " CUSTOMER_COLS " FROM router.customers c"                                      \
          " WHERE c.id = ANY((SELECT ids FROM call)::uuid[])"

/* The tickets named, and the reached customers' tickets that are not
 * closed: those a contact may join or reopen, and a merge moves. */
#define REACH_TICKETS_SQL                                                                          \
    REACH " SELECT " TICKET_COLS                                                                   \
          " FROM router.tickets t WHERE t.id = ANY((SELECT ids FROM tall)::uuid[])"                \
          " UNION ALL SELECT " TICKET_COLS " FROM router.tickets t"                                \
          " WHERE t.customer_id = ANY((SELECT ids FROM call)::uuid[]) AND t.status <> 'closed'"

#define AGENTS_SQL                                                                                 \
    "SELECT id, name, presence, capacity, to_json(teams)::text, to_json(leads)::text, load, " US(  \
        "last_active_at") ", " US("updated_at") " FROM router.agents ORDER BY id"

static void add_agents(model *m, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        m_agent a = {0};
        a.id = model_strdup(m, PQgetvalue(r, i, 0));
        a.name = model_strdup(m, cell(r, i, 1));
        Carebus__V1__Presence p = CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE;
        event_presence_parse(PQgetvalue(r, i, 2), &p);
        a.presence = p;
        a.capacity = cell_int(r, i, 3);
        a.teams = string_list(m, cell(r, i, 4), &a.nteams);
        a.leads = string_list(m, cell(r, i, 5), &a.nleads);
        a.load = cell_int(r, i, 6);
        a.last_active = cell_us(r, i, 7);
        a.updated = cell_us(r, i, 8);
        model_add_agent(m, &a);
    }
}

int store_prefetch(model *m, const struct store_keys *k)
{
    int rc = -1;
    buf tids = BUF_INIT, cids = BUF_INIT;
    jw refs, idents;
    jw_init(&refs);
    jw_init(&idents);
    jw_array_begin(&refs);
    for (size_t i = 0; i < k->nrefs; i++)
        jw_str(&refs, k->refs[i]);
    jw_array_end(&refs);
    jw_array_begin(&idents);
    for (size_t i = 0; i < k->nidents; i++) {
        jw_object_begin(&idents);
        jw_kstr(&idents, "kind", k->kinds[i]);
        jw_kstr(&idents, "value", k->values[i]);
        jw_object_end(&idents);
    }
    jw_array_end(&idents);
    for (size_t i = 0; i < k->ntickets; i++)
        uuid_array_add(&tids, k->tickets[i]);
    for (size_t i = 0; i < k->ncustomers; i++)
        uuid_array_add(&cids, k->customers[i]);
    const char *reach[] = {jw_text(&refs), uuid_array_end(&tids), jw_text(&idents),
                           uuid_array_end(&cids)};
    pgpipe p;
    if (!reach[0] || !reach[2] || pipe_begin(&p, m->db) != 0)
        goto out;
    int q_refs = k->nrefs ? pipe_send(&p, "threaded messages", REFS_SQL, 1, reach) : -2;
    int q_idents = k->nidents ? pipe_send(&p, "handles", IDENTITIES_SQL, 1, reach + 2) : -2;
    int q_cust = pipe_send(&p, "customers", REACH_CUSTOMERS_SQL, 4, reach);
    int q_tick = pipe_send(&p, "tickets", REACH_TICKETS_SQL, 4, reach);
    int q_agents = pipe_send(&p, "agents", AGENTS_SQL, 0, NULL);
    bool sent = q_refs != -1 && q_idents != -1 && q_cust >= 0 && q_tick >= 0 && q_agents >= 0;
    /* pipe_run leaves pipeline mode whatever happened. */
    if (pipe_run(&p) != 0 || !sent) {
        pipe_release(&p);
        goto out;
    }
    add_customers(m, pipe_result(&p, q_cust));
    PGresult *r = pipe_result(&p, q_tick);
    add_tickets(m, r);
    link_ticket_merges(m, r);
    for (size_t t = 0; t < m->ntick; t++) {
        int c = model_customer(m, m->tick[t].customer_id);
        if (c >= 0)
            model_link_ticket(m, model_customer_final(m, c), (int)t);
    }
    /* Every handle asked for is known now: owned, or nobody's. */
    for (size_t i = 0; i < k->nidents; i++)
        model_identity_set(m, k->kinds[i], k->values[i], MODEL_ABSENT);
    r = pipe_result(&p, q_idents);
    for (int i = 0; r && i < PQntuples(r); i++) {
        int c = model_customer_final(m, model_customer(m, PQgetvalue(r, i, 2)));
        if (c >= 0)
            model_identity_set(m, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), c);
    }
    r = pipe_result(&p, q_refs);
    for (int i = 0; r && i < PQntuples(r); i++) {
        int t = model_ticket(m, PQgetvalue(r, i, 2));
        if (t >= 0)
            model_add_ref(m, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), t, cell_us(r, i, 3),
                          PQgetvalue(r, i, 4), strtoull(PQgetvalue(r, i, 5), NULL, 10));
    }
    add_agents(m, pipe_result(&p, q_agents));
    pipe_release(&p);
    rc = 0;
out:
    buf_release(&tids);
    buf_release(&cids);
    jw_release(&refs);
    jw_release(&idents);
    return rc;
}

/* The next page of a team's queue, in queue order, after the watermark. */
#define QUEUE_PAGE_SQL                                                                             \
    "SELECT " TICKET_COLS " FROM router.tickets t"                                                 \
    " WHERE t.team = $1 AND t.queued_at IS NOT NULL AND ($2::boolean OR t.priority_rank < $3"      \
    "   OR (t.priority_rank = $3 AND (t.queued_at, t.id) > (to_timestamp($4::bigint / 1e6),"       \
    "       $5::uuid)))"                                                                           \
    " ORDER BY t.priority_rank DESC, t.queued_at, t.id LIMIT $6"

int store_queue_page(model *m, m_queue *q, int limit)
{
    char rank[16], queued[24], lim[16];
    snprintf(rank, sizeof rank, "%d", q->wm_rank);
    snprintf(queued, sizeof queued, "%" PRId64, q->loaded ? q->wm_queued : 0);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {q->team,
                            q->loaded ? "false" : "true",
                            rank,
                            queued,
                            q->loaded ? q->wm_id : "00000000-0000-0000-0000-000000000000",
                            lim};
    PGresult *r = db_exec(m->db, QUEUE_PAGE_SQL, 6, params);
    if (!r)
        return -1;
    size_t before = m->ntick;
    add_tickets(m, r);
    /* Their customers (for the events' correlation ids). */
    buf cids = BUF_INIT;
    for (size_t t = before; t < m->ntick; t++)
        if (model_customer(m, m->tick[t].customer_id) < 0)
            uuid_array_add(&cids, m->tick[t].customer_id);
    if (cids.len) {
        PGresult *cr = exec1(m, CUSTOMERS_SQL, uuid_array_end(&cids));
        buf_release(&cids);
        if (!cr) {
            PQclear(r);
            return -1;
        }
        add_customers(m, cr);
        PQclear(cr);
    }
    for (size_t t = before; t < m->ntick; t++) {
        int c = model_customer(m, m->tick[t].customer_id);
        if (c >= 0)
            model_link_ticket(m, model_customer_final(m, c), (int)t);
    }
    int n = PQntuples(r);
    if (n > 0) {
        q->wm_rank = cell_int(r, n - 1, 6);
        q->wm_queued = cell_us(r, n - 1, 21);
        snprintf(q->wm_id, sizeof q->wm_id, "%s", PQgetvalue(r, n - 1, 0));
    }
    q->loaded = true;
    q->exhausted = n < limit;
    PQclear(r);
    return 0;
}

/* --- writing ------------------------------------------------------------------ */

static const char *cust_id(const model *m, int c)
{
    return m->cust[model_customer_final(m, c)].id;
}

static const char *tick_id(const model *m, int t)
{
    return m->tick[model_ticket_final(m, t)].id;
}

/* Queues sql with the JSON array in w as $1 (nothing when n is 0). */
static int write_rows(pgpipe *p, jw *w, size_t n, const char *what, const char *sql)
{
    int rc = 0;
    if (n) {
        const char *text = jw_text(w);
        rc = text && pipe_send(p, what, sql, 1, &text) >= 0 ? 0 : -1;
    }
    jw_release(w);
    jw_init(w);
    return rc;
}

#define W_CUSTOMERS                                                                                \
    "INSERT INTO router.customers AS c (id, name, segment, status, merged_into, merged_at,"        \
    " created_at, updated_at)"                                                                     \
    " SELECT x.id, x.name, x.segment, x.status, x.merged_into, x.merged_at, x.created_at,"         \
    " x.updated_at FROM json_to_recordset($1::json) AS x (id uuid, name text, segment text,"       \
    " status text, merged_into uuid, merged_at timestamptz, created_at timestamptz,"               \
    " updated_at timestamptz)"                                                                     \
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, segment = excluded.segment,"            \
    " status = excluded.status, merged_into = excluded.merged_into,"                               \
    " merged_at = excluded.merged_at, updated_at = excluded.updated_at"

#define W_ATTRIBUTES                                                                               \
    "UPDATE router.customers c SET attributes = c.attributes || x.patch::jsonb"                    \
    " FROM json_to_recordset($1::json) AS x (id uuid, patch json) WHERE c.id = x.id"

#define W_IDENTITIES                                                                               \
    "INSERT INTO router.identities (kind, value, customer_id, created_at)"                         \
    " SELECT x.kind, x.value, x.customer_id, x.created_at FROM json_to_recordset($1::json)"        \
    " AS x (kind text, value text, customer_id uuid, created_at timestamptz)"                      \
    " ON CONFLICT (kind, value) DO UPDATE SET customer_id = excluded.customer_id"

/* A merged customer's rows that are not in the model move to its survivor
 * (those in the model are written with their final customer anyway); its
 * own merged-away customers point at the survivor too (chains stay one
 * hop), and the survivor gains the attributes it lacked. */
/* The merged customers or tickets of a moves statement, as an array (an
 * index probe whatever the statistics, see REACH). */
#define MERGED "ANY(ARRAY(SELECT merged FROM p))"

#define W_CUSTOMER_MOVES                                                                           \
    "WITH p AS (SELECT * FROM json_to_recordset($1::json) AS x (merged uuid, survivor uuid)),"     \
    " i AS (UPDATE router.identities i SET customer_id = p.survivor FROM p"                        \
    "       WHERE i.customer_id = p.merged AND i.customer_id = " MERGED " RETURNING 1),"           \
    " t AS (UPDATE router.tickets t SET customer_id = p.survivor FROM p"                           \
    "       WHERE t.customer_id = p.merged AND t.customer_id = " MERGED " RETURNING 1),"           \
    " m AS (UPDATE router.messages m SET customer_id = p.survivor"                                 \
    "       FROM p JOIN router.tickets x ON x.customer_id = p.merged"                              \
    "       WHERE m.ticket_id = x.id AND x.customer_id = " MERGED " RETURNING 1),"                 \
    " n AS (UPDATE router.notes n SET customer_id = p.survivor"                                    \
    "       FROM p JOIN router.tickets x ON x.customer_id = p.merged"                              \
    "       WHERE n.ticket_id = x.id AND x.customer_id = " MERGED " RETURNING 1),"                 \
    " c AS (UPDATE router.customers c SET merged_into = p.survivor FROM p"                         \
    "       WHERE c.merged_into = p.merged AND c.merged_into = " MERGED " AND c.id <> p.survivor"  \
    "       RETURNING 1),"                                                                         \
    " a AS (UPDATE router.customers s SET attributes = g.attributes || s.attributes"               \
    "       FROM (SELECT p.survivor, jsonb_object_agg(e.key, e.value) AS attributes"               \
    "               FROM p JOIN router.customers mc ON mc.id = p.merged,"                          \
    "                    jsonb_each(mc.attributes) e GROUP BY p.survivor) g"                       \
    "       WHERE s.id = g.survivor RETURNING 1)"                                                  \
    " SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM t) + (SELECT count(*) FROM m)"       \
    " + (SELECT count(*) FROM n) + (SELECT count(*) FROM c) + (SELECT count(*) FROM a)"

#define TICKET_RECORD                                                                              \
    " json_to_recordset($1::json) AS x (id uuid, customer_id uuid, status text,"                   \
    " category text, category_rule text, category_phrase text, priority_rank smallint,"            \
    " priority_reasons json, team text, assignee text, channel text, subject text,"                \
    " opened_event_id uuid, contacts integer, urgent_word text, escalated_rank smallint,"          \
    " reopened integer, merged_into uuid, created_at timestamptz, updated_at timestamptz,"         \
    " assigned_at timestamptz, queued_at timestamptz, solved_at timestamptz,"                      \
    " closed_at timestamptz, escalated_at timestamptz)"

/* The rows an update touches, as an index probe whatever the statistics
 * (see REACH). */
#define BY_KEY                                                                                     \
    " AND t.id = ANY(ARRAY(SELECT (j->>'id')::uuid FROM json_array_elements($1::json) j))"

#define W_TICKETS_NEW                                                                              \
    "INSERT INTO router.tickets (id, customer_id, status, category, category_rule,"                \
    " category_phrase, priority, priority_rank, priority_reasons, team, assignee, channel,"        \
    " subject, opened_event_id, contacts, urgent_word, escalated_rank, reopened, merged_into,"     \
    " created_at, updated_at, assigned_at, queued_at, solved_at, closed_at, escalated_at)"         \
    " SELECT x.id, x.customer_id, x.status, x.category, x.category_rule, x.category_phrase,"       \
    " router.priority_name(x.priority_rank), x.priority_rank,"                                     \
    " ARRAY(SELECT json_array_elements_text(x.priority_reasons)), x.team, x.assignee,"             \
    " x.channel, x.subject, x.opened_event_id, x.contacts, x.urgent_word, x.escalated_rank,"       \
    " x.reopened, x.merged_into, x.created_at, x.updated_at, x.assigned_at, x.queued_at,"          \
    " x.solved_at, x.closed_at, x.escalated_at FROM" TICKET_RECORD

/* Every mutable column: the row as the model holds it. Columns whose value
 * does not change leave the update HOT when no indexed one changes. */
#define W_TICKETS_CHANGED                                                                          \
    "UPDATE router.tickets t SET customer_id = x.customer_id, status = x.status,"                  \
    " category = x.category, category_rule = x.category_rule,"                                     \
    " category_phrase = x.category_phrase, priority = router.priority_name(x.priority_rank),"      \
    " priority_rank = x.priority_rank,"                                                            \
    " priority_reasons = ARRAY(SELECT json_array_elements_text(x.priority_reasons)),"              \
    " team = x.team, assignee = x.assignee, contacts = x.contacts,"                                \
    " urgent_word = x.urgent_word, escalated_rank = x.escalated_rank, reopened = x.reopened,"      \
    " merged_into = x.merged_into, updated_at = x.updated_at, assigned_at = x.assigned_at,"        \
    " queued_at = x.queued_at, solved_at = x.solved_at, closed_at = x.closed_at,"                  \
    " escalated_at = x.escalated_at FROM" TICKET_RECORD " WHERE t.id = x.id" BY_KEY

#define W_TICKETS_JOINED                                                                           \
    "UPDATE router.tickets t SET contacts = x.contacts, updated_at = x.updated_at"                 \
    " FROM json_to_recordset($1::json) AS x (id uuid, contacts integer, updated_at timestamptz)"   \
    " WHERE t.id = x.id" BY_KEY

/* A merged ticket's messages and notes move to the ticket it joined, and
 * tickets merged into it follow. */
#define W_TICKET_MOVES                                                                             \
    "WITH p AS (SELECT * FROM json_to_recordset($1::json) AS x (merged uuid, survivor uuid)),"     \
    " m AS (UPDATE router.messages m SET ticket_id = p.survivor FROM p"                            \
    "       WHERE m.ticket_id = p.merged AND m.ticket_id = " MERGED " RETURNING 1),"               \
    " n AS (UPDATE router.notes n SET ticket_id = p.survivor FROM p"                               \
    "       WHERE n.ticket_id = p.merged AND n.ticket_id = " MERGED " RETURNING 1),"               \
    " t AS (UPDATE router.tickets t SET merged_into = p.survivor FROM p"                           \
    "       WHERE t.merged_into = p.merged AND t.merged_into = " MERGED " AND t.id <> p.survivor"  \
    "       RETURNING 1)"                                                                          \
    " SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM n) + (SELECT count(*) FROM t)"

#define W_MESSAGES                                                                                 \
    "INSERT INTO router.messages (event_id, ticket_id, customer_id, channel, direction,"           \
    " external_id, subject, text, agent_id, at, stream, seq)"                                      \
    " SELECT x.event_id, x.ticket_id, x.customer_id, x.channel, x.direction, x.external_id,"       \
    " x.subject, x.text, x.agent_id, x.at, x.stream, x.seq FROM json_to_recordset($1::json)"       \
    " AS x (event_id uuid, ticket_id uuid, customer_id uuid, channel text, direction text,"        \
    " external_id text, subject text, text text, agent_id text, at timestamptz, stream text,"      \
    " seq bigint) ON CONFLICT DO NOTHING"

#define W_NOTES                                                                                    \
    "INSERT INTO router.notes (id, ticket_id, customer_id, kind, text, detail, at, cause_id,"      \
    " stream, seq, ord)"                                                                           \
    " SELECT x.id, x.ticket_id, x.customer_id, x.kind, x.text, x.detail, x.at, x.cause_id,"        \
    " x.stream, x.seq, x.ord FROM json_to_recordset($1::json) AS x (id uuid, ticket_id uuid,"      \
    " customer_id uuid, kind text, text text, detail jsonb, at timestamptz, cause_id uuid,"        \
    " stream text, seq bigint, ord smallint) ON CONFLICT DO NOTHING"

#define W_MERGES                                                                                   \
    "INSERT INTO router.merges (merged_id, survivor_id, contact_event_id, event_id, at)"           \
    " SELECT x.merged_id, x.survivor_id, x.contact_event_id, x.event_id, x.at"                     \
    " FROM json_to_recordset($1::json) AS x (merged_id uuid, survivor_id uuid,"                    \
    " contact_event_id uuid, event_id uuid, at timestamptz) ON CONFLICT DO NOTHING"

#define W_AGENTS                                                                                   \
    "INSERT INTO router.agents AS a (id, name, presence, capacity, teams, leads, load,"            \
    " last_active_at, updated_at)"                                                                 \
    " SELECT x.id, x.name, x.presence, x.capacity, ARRAY(SELECT "                                  \
    "json_array_elements_text(x.teams)),"                                                          \
    " ARRAY(SELECT json_array_elements_text(x.leads)), x.load, x.last_active_at, x.updated_at"     \
    " FROM json_to_recordset($1::json) AS x (id text, name text, presence text,"                   \
    " capacity integer, teams json, leads json, load integer, last_active_at timestamptz,"         \
    " updated_at timestamptz)"                                                                     \
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, presence = excluded.presence,"          \
    " capacity = excluded.capacity, teams = excluded.teams, leads = excluded.leads,"               \
    " load = excluded.load, last_active_at = excluded.last_active_at,"                             \
    " updated_at = excluded.updated_at"

static void write_strings(jw *w, const char *key, const char *const *s, size_t n)
{
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jw_str(w, s[i]);
    jw_array_end(w);
}

static void write_ticket(const model *m, jw *w, const m_ticket *t)
{
    jw_object_begin(w);
    jw_kstr(w, "id", t->id);
    jw_kstr(w, "customer_id", t->cust >= 0 ? cust_id(m, t->cust) : t->customer_id);
    jw_kstr(w, "status", event_ticket_status_name(t->status));
    jw_kstr(w, "category", t->category ? event_category_name(t->category) : NULL);
    jw_kstr(w, "category_rule", t->rule);
    jw_kstr(w, "category_phrase", t->phrase);
    jw_kint(w, "priority_rank", t->rank);
    jw_kraw(w, "priority_reasons", t->reasons ? t->reasons : "[]");
    jw_kstr(w, "team", t->team);
    jw_kstr(w, "assignee", t->assignee);
    jw_kstr(w, "channel", t->channel);
    jw_kstr(w, "subject", t->subject);
    jw_kstr(w, "opened_event_id", t->opened_event_id);
    jw_kint(w, "contacts", t->contacts);
    jw_kstr(w, "urgent_word", t->urgent_word);
    jw_kint(w, "escalated_rank", t->escalated_rank);
    jw_kint(w, "reopened", t->reopened);
    jw_kstr(w, "merged_into", t->merged_into >= 0 ? tick_id(m, t->merged_into) : NULL);
    jw_ktime(w, "created_at", t->created);
    jw_ktime(w, "updated_at", t->updated);
    jw_ktime(w, "assigned_at", t->assigned);
    jw_ktime(w, "queued_at", t->queued);
    jw_ktime(w, "solved_at", t->solved);
    jw_ktime(w, "closed_at", t->closed);
    jw_ktime(w, "escalated_at", t->escalated);
    jw_object_end(w);
}

int store_write(model *m, pgpipe *p)
{
    jw w;
    jw_init(&w);
    size_t n = 0;

    /* Customers, created or changed. */
    jw_array_begin(&w);
    for (size_t i = 0; i < m->ncust; i++) {
        const m_customer *c = &m->cust[i];
        if (!c->dirty && !c->is_new)
            continue;
        n++;
        jw_object_begin(&w);
        jw_kstr(&w, "id", c->id);
        jw_kstr(&w, "name", c->name);
        jw_kstr(&w, "segment", event_segment_name(c->segment));
        jw_kstr(&w, "status",
                event_customer_status_name(
                    c->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                        ? CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                        : CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE));
        jw_kstr(&w, "merged_into", c->merged_into >= 0 ? cust_id(m, c->merged_into) : NULL);
        jw_ktime(&w, "merged_at", c->merged_at);
        jw_ktime(&w, "created_at", c->created);
        jw_ktime(&w, "updated_at", c->updated);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, n, "customers", W_CUSTOMERS) != 0)
        goto fail;

    n = 0;
    jw_array_begin(&w);
    for (size_t i = 0; i < m->ncust; i++) {
        if (!m->cust[i].attr_patch)
            continue;
        char *patch = json_dumps(m->cust[i].attr_patch, JSON_COMPACT | JSON_SORT_KEYS);
        if (!patch)
            goto fail;
        n++;
        jw_object_begin(&w);
        jw_kstr(&w, "id", m->cust[i].id);
        jw_kraw(&w, "patch", patch);
        jw_object_end(&w);
        free(patch);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, n, "attributes", W_ATTRIBUTES) != 0)
        goto fail;

    jw_array_begin(&w);
    for (size_t i = 0; i < m->nidnew; i++) {
        const m_identity *x = &m->idnew[i];
        jw_object_begin(&w);
        jw_kstr(&w, "kind", x->kind);
        jw_kstr(&w, "value", x->value);
        jw_kstr(&w, "customer_id", cust_id(m, x->cust));
        jw_ktime(&w, "created_at", x->created);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->nidnew, "identities", W_IDENTITIES) != 0)
        goto fail;

    jw_array_begin(&w);
    for (size_t i = 0; i < m->nmerge; i++) {
        jw_object_begin(&w);
        jw_kstr(&w, "merged", m->cust[m->merge[i].merged].id);
        jw_kstr(&w, "survivor", cust_id(m, m->merge[i].survivor));
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->nmerge, "customer moves", W_CUSTOMER_MOVES) != 0)
        goto fail;

    /* New tickets first (a merge may point at them), then those changed,
     * then those a contact only joined (most of them: a narrow update). */
    for (int pass = 0; pass < 3; pass++) {
        n = 0;
        jw_array_begin(&w);
        for (size_t i = 0; i < m->ntick; i++) {
            const m_ticket *t = &m->tick[i];
            if (!t->dirty && !t->is_new)
                continue;
            int kind = t->is_new ? 0 : model_ticket_changed(m, (int)i) ? 1 : 2;
            if (kind != pass)
                continue;
            n++;
            if (kind < 2) {
                write_ticket(m, &w, t);
                continue;
            }
            jw_object_begin(&w);
            jw_kstr(&w, "id", t->id);
            jw_kint(&w, "contacts", t->contacts);
            jw_ktime(&w, "updated_at", t->updated);
            jw_object_end(&w);
        }
        jw_array_end(&w);
        static const char *const sql[] = {W_TICKETS_NEW, W_TICKETS_CHANGED, W_TICKETS_JOINED};
        if (write_rows(p, &w, n, "tickets", sql[pass]) != 0)
            goto fail;
    }

    jw_array_begin(&w);
    for (size_t i = 0; i < m->ntmerge; i++) {
        jw_object_begin(&w);
        jw_kstr(&w, "merged", m->tick[m->tmerge[i].from].id);
        jw_kstr(&w, "survivor", tick_id(m, m->tmerge[i].into));
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->ntmerge, "ticket moves", W_TICKET_MOVES) != 0)
        goto fail;

    jw_array_begin(&w);
    for (size_t i = 0; i < m->nmsg; i++) {
        const m_message *x = &m->msg[i];
        int t = model_ticket_final(m, x->ticket);
        jw_object_begin(&w);
        jw_kstr(&w, "event_id", x->event_id);
        jw_kstr(&w, "ticket_id", m->tick[t].id);
        jw_kstr(&w, "customer_id", cust_id(m, m->tick[t].cust));
        jw_kstr(&w, "channel", x->channel);
        jw_kstr(&w, "direction", x->direction);
        jw_kstr(&w, "external_id", x->external_id);
        jw_kstr(&w, "subject", x->subject);
        jw_kstr(&w, "text", x->text);
        jw_kstr(&w, "agent_id", x->agent_id);
        jw_ktime(&w, "at", x->at);
        jw_kstr(&w, "stream", x->stream);
        jw_kint(&w, "seq", (long long)x->seq);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->nmsg, "messages", W_MESSAGES) != 0)
        goto fail;

    jw_array_begin(&w);
    for (size_t i = 0; i < m->nnote; i++) {
        const m_note *x = &m->note[i];
        int t = model_ticket_final(m, x->ticket);
        jw_object_begin(&w);
        jw_kstr(&w, "id", x->id);
        jw_kstr(&w, "ticket_id", m->tick[t].id);
        jw_kstr(&w, "customer_id", cust_id(m, m->tick[t].cust));
        jw_kstr(&w, "kind", x->kind);
        jw_kstr(&w, "text", x->text);
        jw_kraw(&w, "detail", x->detail ? x->detail : "{}");
        jw_ktime(&w, "at", x->at);
        jw_kstr(&w, "cause_id", x->cause_id);
        jw_kstr(&w, "stream", x->stream);
        jw_kint(&w, "seq", (long long)x->seq);
        jw_kint(&w, "ord", x->ord);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->nnote, "notes", W_NOTES) != 0)
        goto fail;

    jw_array_begin(&w);
    for (size_t i = 0; i < m->nmerge; i++) {
        const m_merge *x = &m->merge[i];
        jw_object_begin(&w);
        jw_kstr(&w, "merged_id", m->cust[x->merged].id);
        jw_kstr(&w, "survivor_id", m->cust[x->survivor].id);
        jw_kstr(&w, "contact_event_id", x->contact_event_id);
        jw_kstr(&w, "event_id", x->event_id);
        jw_ktime(&w, "at", x->at);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, m->nmerge, "merges", W_MERGES) != 0)
        goto fail;

    n = 0;
    jw_array_begin(&w);
    for (size_t i = 0; i < m->nagent; i++) {
        const m_agent *a = &m->agent[i];
        if (!a->dirty)
            continue;
        n++;
        jw_object_begin(&w);
        jw_kstr(&w, "id", a->id);
        jw_kstr(&w, "name", a->name);
        jw_kstr(&w, "presence", event_presence_name(a->presence));
        jw_kint(&w, "capacity", a->capacity);
        write_strings(&w, "teams", a->teams, a->nteams);
        write_strings(&w, "leads", a->leads, a->nleads);
        jw_kint(&w, "load", a->load);
        jw_ktime(&w, "last_active_at", a->last_active);
        jw_ktime(&w, "updated_at", a->updated);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (write_rows(p, &w, n, "agents", W_AGENTS) != 0)
        goto fail;
    jw_release(&w);
    return 0;
fail:
    jw_release(&w);
    return -1;
}
