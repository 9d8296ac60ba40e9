/* unmerge.c — see unmerge.h. The plan is read in one statement; applying
 * it changes customers and tickets in the model (written like any batch's)
 * and leaves handles, messages and notes to three set-based statements,
 * sent after the batch's writes. */
#include "unmerge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rowset.h"

void unmerge_prepare(route_item *it)
{
    const Carebus__V1__CustomerUnmergeRequested *u = it->ev->customer_unmerge_requested;
    if (!id_valid(u->merged_id)) {
        log_write(LOG_WARN, route_item_fields(it), "%s %s: no valid merged_id: skipped",
                  it->ev->type, it->ev->event_id);
        it->skip = true;
    }
}

/* The merged customer's family (router.merges' tree under it), its
 * survivor, the tickets opened through the family's handles, the ticket
 * merges touching them, and those into their sources, recursively (the
 * tickets whose final ticket an undone merge changes). NULL survivor: the
 * customer is not merged. */
static const char plan_sql[] =
    "WITH RECURSIVE k(id) AS ("
    "   SELECT c.id FROM router.customers c WHERE c.id = $1::uuid AND c.merged_into IS NOT NULL"
    "  UNION SELECT g.merged_id FROM router.merges g JOIN k ON g.survivor_id = k.id),"
    " mv AS (SELECT t.id FROM router.tickets t"
    "        WHERE t.opened_by_customer_id = ANY(ARRAY(SELECT id FROM k))),"
    " up(source_id, target_id) AS ("
    "   SELECT e.source_id, e.target_id FROM router.ticket_merges e"
    "    WHERE e.source_id = ANY(ARRAY(SELECT id FROM mv))"
    "       OR e.target_id = ANY(ARRAY(SELECT id FROM mv))"
    "  UNION SELECT e.source_id, e.target_id FROM router.ticket_merges e"
    "    JOIN up ON e.target_id = up.source_id)"
    " SELECT json_build_object("
    "   'survivor', (SELECT c.merged_into FROM router.customers c WHERE c.id = $1::uuid),"
    "   'family', coalesce((SELECT json_agg(id ORDER BY id <> $1::uuid, id) FROM k), '[]'),"
    "   'moved', coalesce((SELECT json_agg(id ORDER BY id) FROM mv), '[]'),"
    "   'edges', coalesce((SELECT json_agg(json_build_array(source_id, target_id)"
    "                                     ORDER BY source_id) FROM up), '[]'))::text AS plan";

static const char **id_list(model *m, const json_t *a, size_t *n)
{
    *n = json_is_array(a) ? json_array_size(a) : 0;
    const char **out = arena_calloc(&m->a, *n + 1, sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = model_strdup(m, json_string_value(json_array_get(a, i)));
    return out;
}

static void list_add(model *m, const char ***list, size_t *n, size_t *cap, const char *s)
{
    arena_grow(&m->a, (void **)list, cap, *n + 1, sizeof **list);
    (*list)[(*n)++] = s;
}

int unmerge_load(model *m, const route_item *it, const unmerge_plan **out)
{
    *out = NULL;
    m->unmerge = NULL;
    const char *merged = it->ev->customer_unmerge_requested->merged_id;
    const char *params[] = {merged};
    PGresult *r = db_exec(m->db, plan_sql, 1, params);
    if (!r)
        return -1;
    json_t *doc = json_loads(db_value(r, 0, "plan"), 0, NULL);
    PQclear(r);
    if (!doc)
        return -1;
    const char *survivor = json_string_value(json_object_get(doc, "survivor"));
    if (!survivor) {
        log_write(LOG_INFO, route_item_fields(it),
                  "%s %s: customer %s is not merged (or unknown): nothing to undo", it->ev->type,
                  it->ev->event_id, merged);
        json_decref(doc);
        return 0;
    }
    unmerge_plan *p = arena_calloc(&m->a, 1, sizeof *p);
    p->event_id = it->ev->event_id;
    p->survivor_id = model_strdup(m, survivor);
    p->family = id_list(m, json_object_get(doc, "family"), &p->nfamily);
    p->moved = id_list(m, json_object_get(doc, "moved"), &p->nmoved);
    const json_t *edges = json_object_get(doc, "edges");
    p->nedges = json_is_array(edges) ? json_array_size(edges) : 0;
    p->edges = arena_calloc(&m->a, p->nedges + 1, sizeof *p->edges);
    size_t ccap = 0, tcap = 0;
    for (size_t i = 0; i < p->nedges; i++) {
        const json_t *e = json_array_get(edges, i);
        p->edges[i].source = model_strdup(m, json_string_value(json_array_get(e, 0)));
        p->edges[i].target = model_strdup(m, json_string_value(json_array_get(e, 1)));
        list_add(m, &p->tickets, &p->ntickets, &tcap, p->edges[i].source);
        list_add(m, &p->tickets, &p->ntickets, &tcap, p->edges[i].target);
    }
    json_decref(doc);
    for (size_t i = 0; i < p->nmoved; i++)
        list_add(m, &p->tickets, &p->ntickets, &tcap, p->moved[i]);
    for (size_t i = 0; i < p->nfamily; i++)
        list_add(m, &p->customers, &p->ncustomers, &ccap, p->family[i]);
    list_add(m, &p->customers, &p->ncustomers, &ccap, p->survivor_id);
    if (p->nfamily == 0 || !p->family[0] || strcmp(p->family[0], merged) != 0) {
        log_error("router: the unmerge plan of %s does not start with it", merged);
        return -1;
    }
    m->unmerge = p;
    *out = p;
    return 0;
}

int unmerge_final(const int *next, size_t n, int x)
{
    for (size_t hops = 0; x >= 0 && next[x] >= 0 && hops < n; hops++)
        x = next[x];
    return x;
}

size_t unmerge_owners(const model *m, const route_item *it, int *owners, size_t nown)
{
    if (nown < 2 || m->napart == 0)
        return nown;
    bool apart = false;
    for (size_t i = 0; i < m->napart && !apart; i++) {
        int a = model_customer_final(m, m->apart[i][0]),
            b = model_customer_final(m, m->apart[i][1]);
        bool ha = false, hb = false;
        for (size_t k = 0; k < nown; k++) {
            ha |= owners[k] == a;
            hb |= owners[k] == b;
        }
        apart = a != b && ha && hb;
    }
    if (!apart)
        return nown;
    int primary = owners[0];
    for (size_t i = it->ids.n; i-- > 0;) {
        int o = model_identity(m, it->ids.items[i].kind, it->ids.items[i].value);
        if (o >= 0) {
            primary = model_customer_final(m, o);
            break;
        }
    }
    log_write(LOG_INFO, route_item_fields(it),
              "%s %s names handles of customers an unmerge keeps apart: it goes to %s,"
              " the owner of its own handle, and merges nobody",
              it->ev->type, it->ev->event_id, m->cust[primary].id);
    owners[0] = primary;
    return 1;
}

/* A note whose detail is o (taken). */
static void note(route_ctx *c, const route_item *it, int t, const char *kind, int ord, json_t *o,
                 const char *text)
{
    char *d = route_note_detail(o);
    route_note(c, it, t, kind, ord, d, text);
    free(d);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* A ticket whose customer or merge changed, for unmerge_write. */
static void touch(model *m, unmerge_plan *p, int t, size_t *cap)
{
    list_add(m, &p->touched, &p->ntouched, cap, m->tick[t].id);
}

/* The family back to the merged customer x: x is on its own again, the
 * customers merged into it before stay merged into it. */
static void customers_back(model *m, const unmerge_plan *p, int x, int64_t at)
{
    for (size_t i = 0; i < p->nfamily; i++) {
        int k = model_customer(m, p->family[i]);
        if (k < 0)
            continue;
        m_customer *cu = &m->cust[k];
        cu->merged_into = k == x ? -1 : x;
        if (k == x)
            cu->merged_at = MODEL_NONE;
        cu->updated = max64(cu->updated, at);
        cu->dirty = true;
    }
}

/* The ticket merges that now join tickets of two customers: undone. The
 * merged ticket (its source) gets its contacts back from the ticket it
 * joined; every ticket whose chain went through one of them gets its new
 * final ticket (next[]: the merges that stand). */
static int tickets_apart(route_ctx *c, const route_item *it, unmerge_plan *p, const bool *moved,
                         size_t *tcap)
{
    model *m = c->m;
    size_t n = m->ntick;
    int *next = arena_alloc(&m->a, (n + 1) * sizeof *next);
    bool *cross = arena_calloc(&m->a, n + 1, sizeof *cross);
    bool *out = arena_calloc(&m->a, n + 1, sizeof *out);
    int *old = arena_alloc(&m->a, (n + 1) * sizeof *old);
    for (size_t i = 0; i < n; i++) {
        next[i] = -1;
        old[i] = m->tick[i].merged_into;
    }
    size_t ucap = 0;
    for (size_t i = 0; i < p->nedges; i++) {
        int s = model_ticket(m, p->edges[i].source), d = model_ticket(m, p->edges[i].target);
        if (s < 0 || d < 0)
            continue;
        out[s] = true;
        if (moved[s] == moved[d]) {
            next[s] = d;
            continue;
        }
        cross[s] = true;
        list_add(m, &p->undone, &p->nundone, &ucap, m->tick[s].id);
    }
    /* New finals first, from the merges as they were; then set. */
    int *fin = arena_alloc(&m->a, (n + 1) * sizeof *fin);
    for (size_t i = 0; i < n; i++) {
        fin[i] = -2;
        if (!out[i])
            continue;
        int y = unmerge_final(next, n, (int)i);
        /* A ticket whose merge is not in the plan keeps its final: no
         * undone merge is downstream of it. */
        fin[i] = cross[y] || out[y] ? y : model_ticket_final(m, y);
    }
    size_t hcap = 0;
    for (size_t i = 0; i < n; i++) {
        if (fin[i] == -2)
            continue;
        int mi = fin[i] == (int)i ? -1 : fin[i];
        if (m->tick[i].merged_into == mi)
            continue;
        m->tick[i].merged_into = mi;
        m->tick[i].dirty = true;
        arena_grow(&m->a, (void **)&p->homes, &hcap, p->nhomes + 1, sizeof *p->homes);
        p->homes[p->nhomes++] = (struct unmerge_home){(int)i, fin[i]};
        touch(m, p, (int)i, tcap);
    }
    /* The merged tickets come back, in the plan's order. */
    const char *xid = m->cust[p->merged].id, *sid = m->cust[p->survivor].id;
    for (size_t i = 0; i < p->nedges; i++) {
        int f = model_ticket(m, p->edges[i].source);
        if (f < 0 || !cross[f] || m->tick[f].merged_into >= 0)
            continue;
        cross[f] = false; /* once */
        int was = old[f];
        m_ticket *tk = &m->tick[f];
        char text[400];
        if (was >= 0) {
            /* XXX: when two undone merges are on one chain (f joined t,
             * then t joined u, each across the unmerge), u loses f's
             * contacts twice (t's count holds them); clamped at 0, and
             * contacts only weigh in the priority. The urgent word and
             * escalation a merged ticket brought stay: nothing says
             * whose they were. */
            m_ticket *into = &m->tick[was];
            into->contacts = into->contacts > tk->contacts ? into->contacts - tk->contacts : 0;
            into->updated = max64(into->updated, it->at);
            into->dirty = true;
            touch(m, p, was, tcap);
            snprintf(text, sizeof text,
                     "ticket %s was taken out of this one: customer %s was unmerged from customer "
                     "%s",
                     tk->id, xid, sid);
            note(c, it, was, "ticket.unmerged", 1,
                 json_pack("{s:s, s:s, s:s}", "ticket_id", tk->id, "merged_id", xid, "survivor_id",
                           sid),
                 text);
            if (route_priority_update(c, was) && route_emit_classified(c, was, it->at) != 0)
                return -1;
        }
        tk->updated = max64(tk->updated, it->at);
        tk->dirty = true;
        snprintf(text, sizeof text,
                 "taken out of ticket %s: customer %s was unmerged from customer %s",
                 was >= 0 ? m->tick[was].id : "?", xid, sid);
        note(c, it, f, "ticket.unmerged", 1,
             json_pack("{s:s*, s:s, s:s}", "from_ticket_id", was >= 0 ? m->tick[was].id : NULL,
                       "merged_id", xid, "survivor_id", sid),
             text);
        /* Its conversation goes on where it was going on: open again when
         * the ticket it had joined still is; closed stays closed. */
        if (was >= 0 && model_ticket_active(&m->tick[was])) {
            snprintf(text, sizeof text, "reopened: customer %s was unmerged from customer %s", xid,
                     sid);
            if (route_reopen(c, it, f, text) != 0)
                return -1;
        }
    }
    return 0;
}

int unmerge_apply(route_ctx *c, const route_item *it)
{
    model *m = c->m;
    unmerge_plan *p = m->unmerge;
    if (!p)
        return 0; /* not merged: logged by unmerge_load */
    const Carebus__V1__CustomerUnmergeRequested *u = it->ev->customer_unmerge_requested;
    int x = model_customer(m, u->merged_id);
    if (x < 0 || m->cust[x].merged_into < 0) {
        log_error("router: unmerge %s: customer %s is not in the batch as its plan says",
                  it->ev->event_id, u->merged_id);
        return -1;
    }
    int s = model_customer_final(m, x);
    p->merged = x;
    p->survivor = s;
    p->actor = u->actor && u->actor[0] ? u->actor : NULL;
    p->reason = u->reason && u->reason[0] ? u->reason : NULL;
    p->at = it->at;
    p->applied = true;
    customers_back(m, p, x, it->at);

    /* The tickets opened through the family's handles. */
    bool *moved = arena_calloc(&m->a, m->ntick + 1, sizeof *moved);
    size_t tcap = 0;
    char **ids = arena_calloc(&m->a, p->nmoved + 1, sizeof *ids);
    size_t nids = 0;
    for (size_t i = 0; i < p->nmoved; i++) {
        int t = model_ticket(m, p->moved[i]);
        if (t < 0)
            continue;
        moved[t] = true;
        model_unlink_ticket(m, m->tick[t].cust, t);
        model_link_ticket(m, x, t);
        m->tick[t].updated = max64(m->tick[t].updated, it->at);
        m->tick[t].dirty = true;
        touch(m, p, t, &tcap);
        ids[nids++] = m->tick[t].id;
    }

    Carebus__V1__CustomerUnmerged b = CAREBUS__V1__CUSTOMER_UNMERGED__INIT;
    b.survivor_id = m->cust[s].id;
    b.merged_id = m->cust[x].id;
    b.ticket_ids = ids;
    b.n_ticket_ids = nids;
    b.actor = (char *)(p->actor ? p->actor : "");
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED;
    e.customer_unmerged = &b;
    if (emit(c->em, &e, m->cust[x].id, NULL, it->at) != 0)
        return -1;

    if (tickets_apart(c, it, p, moved, &tcap) != 0)
        return -1;
    /* Each customer's segment sets its tickets' priority again. */
    for (size_t i = 0; i < p->nmoved; i++) {
        int t = model_ticket(m, p->moved[i]);
        if (t >= 0 && m->tick[t].merged_into < 0 && model_ticket_active(&m->tick[t]) &&
            route_priority_update(c, t) && route_emit_classified(c, t, it->at) != 0)
            return -1;
    }
    char text[600];
    snprintf(text, sizeof text, "customer %s was unmerged from customer %s%s%.128s%s%.300s",
             m->cust[x].id, m->cust[s].id, p->actor ? " by " : "", p->actor ? p->actor : "",
             p->reason ? ": " : "", p->reason ? p->reason : "");
    int sides[2] = {route_active_ticket(m, x), route_active_ticket(m, s)};
    for (int i = 0; i < 2; i++)
        if (sides[i] >= 0)
            note(c, it, sides[i], "customer.unmerged", 0,
                 json_pack("{s:s, s:s, s:s*, s:s*}", "merged_id", m->cust[x].id, "survivor_id",
                           m->cust[s].id, "actor", p->actor, "reason", p->reason),
                 text);
    return 0;
}

/* --- writing ---------------------------------------------------------------------- */

static const char homes_sql[] =
    "WITH p AS (SELECT * FROM json_to_recordset($1::json) AS x(ticket uuid, final uuid,"
    "           customer uuid)),"
    " m AS (UPDATE router.messages m SET ticket_id = p.final, customer_id = p.customer,"
    "       home_ticket_id = nullif(m.home_ticket_id, p.final) FROM p"
    "       WHERE m.home_ticket_id = p.ticket"
    "         AND m.home_ticket_id = ANY(ARRAY(SELECT ticket FROM p)) RETURNING 1),"
    " n AS (UPDATE router.notes n SET ticket_id = p.final, customer_id = p.customer,"
    "       home_ticket_id = nullif(n.home_ticket_id, p.final) FROM p"
    "       WHERE n.home_ticket_id = p.ticket"
    "         AND n.home_ticket_id = ANY(ARRAY(SELECT ticket FROM p)) RETURNING 1)"
    " SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM n)";

/* After the tickets are written: the rows on them follow their customer. */
static const char owners_sql[] =
    "WITH t AS (SELECT id, customer_id FROM router.tickets WHERE id = ANY($1::uuid[])),"
    " m AS (UPDATE router.messages m SET customer_id = t.customer_id FROM t"
    "       WHERE m.ticket_id = t.id AND m.customer_id <> t.customer_id RETURNING 1),"
    " n AS (UPDATE router.notes n SET customer_id = t.customer_id FROM t"
    "       WHERE n.ticket_id = t.id AND n.customer_id <> t.customer_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM n)";

static const char rest_sql[] =
    "WITH i AS (UPDATE router.identities i SET customer_id = $1::uuid"
    "           WHERE i.origin_customer_id = ANY($2::uuid[]) AND i.customer_id <> $1::uuid"
    "           RETURNING 1),"
    " g AS (DELETE FROM router.merges WHERE merged_id = $1::uuid RETURNING 1),"
    " e AS (DELETE FROM router.ticket_merges WHERE source_id = ANY($3::uuid[]) RETURNING 1),"
    " u AS (INSERT INTO router.unmerges (event_id, merged_id, survivor_id, actor, reason, at)"
    "       VALUES ($4::uuid, $1::uuid, $5::uuid, $6, $7,"
    "               'epoch'::timestamptz + $8::bigint * interval '1 microsecond')"
    "       ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM g) + (SELECT count(*) FROM e)"
    " + (SELECT count(*) FROM u)";

int unmerge_write(model *m, pgpipe *p)
{
    const unmerge_plan *u = m->unmerge;
    if (!u || !u->applied)
        return 0;
    int rc = -1;
    json_t *homes = json_array();
    char *homes_text = NULL;
    buf touched = BUF_INIT, family = BUF_INIT, undone = BUF_INIT;
    for (size_t i = 0; homes && i < u->nhomes; i++) {
        int f = u->homes[i].final;
        const char *cu = m->cust[model_customer_final(m, m->tick[f].cust)].id;
        json_array_append_new(homes,
                              json_pack("{s:s, s:s, s:s}", "ticket", m->tick[u->homes[i].ticket].id,
                                        "final", m->tick[f].id, "customer", cu));
    }
    homes_text = homes ? json_dumps(homes, JSON_COMPACT) : NULL;
    rowset_keys(&touched, u->touched, u->ntouched);
    rowset_keys(&family, u->family, u->nfamily);
    rowset_keys(&undone, u->undone, u->nundone);
    char at[24];
    snprintf(at, sizeof at, "%" PRId64, u->at);
    const char *xid = m->cust[u->merged].id;
    const char *p1[] = {homes_text};
    const char *p2[] = {buf_str(&touched)};
    const char *p3[] = {xid,
                        buf_str(&family),
                        buf_str(&undone),
                        u->event_id,
                        m->cust[u->survivor].id,
                        u->actor,
                        u->reason,
                        at};
    if (!homes_text || touched.failed || family.failed || undone.failed)
        goto out;
    if ((u->nhomes && pipe_send(p, "unmerge: messages home", homes_sql, 1, p1) < 0) ||
        (u->ntouched && pipe_send(p, "unmerge: customers of rows", owners_sql, 1, p2) < 0) ||
        pipe_send(p, "unmerge: handles and records", rest_sql, 8, p3) < 0)
        goto out;
    rc = 0;
out:
    json_decref(homes);
    free(homes_text);
    buf_release(&touched);
    buf_release(&family);
    buf_release(&undone);
    return rc;
}
