/* load.c — a batch's entities from PostgreSQL into the model (see load.h).
 *
 * States are stored as canonical JSON (model.h) and loaded through the
 * same functions the rebuild's model would produce them with, so an entity
 * loaded here is the entity the events made. Ids go as one array parameter
 * per query (an index probe each); duplicates are left out first.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"
#include "log.h"
#include "rowset.h"

#define LOAD_SURVEYS_SQL                                                                           \
    "SELECT survey_id, ticket_id FROM analytics.surveys WHERE survey_id = ANY($1::text[])"
/* The tickets, then the whole trees of the customers named and of the
 * tickets' own customers. */
#define LOAD_TICKETS_TREES_SQL                                                                     \
    "WITH t AS (SELECT ticket_id, customer_id, state FROM analytics.tickets"                       \
    "            WHERE ticket_id = ANY($1::uuid[]))"                                               \
    " SELECT 't' AS kind, ticket_id AS id, NULL AS root, NULL AS merged_into, state FROM t"        \
    " UNION ALL"                                                                                   \
    " SELECT 'c', customer_id, root, merged_into, state FROM analytics.customers"                  \
    "  WHERE root IN (SELECT c.root FROM analytics.customers c"                                    \
    "                  WHERE c.customer_id = ANY($2::uuid[])"                                      \
    "                     OR c.customer_id IN (SELECT customer_id FROM t))"
#define LOAD_TREE_TICKETS_SQL                                                                      \
    "SELECT 't' AS kind, ticket_id AS id, NULL AS root, NULL AS merged_into, state"                \
    "  FROM analytics.tickets WHERE customer_id = ANY($1::uuid[])"

/* Distinct ids, borrowed from the events or the model. */
struct ids {
    const char **v;
    size_t n, cap;
    hmap seen;
};

static int ids_add(struct ids *l, const char *id)
{
    if (hmap_gets(&l->seen, id) != HMAP_ABSENT)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (hmap_puts(&l->seen, id, (int)l->n) != 0)
        return -1;
    l->v[l->n++] = id;
    return 0;
}

static void ids_release(struct ids *l)
{
    free(l->v);
    hmap_release(&l->seen);
    memset(l, 0, sizeof *l);
}

/* Loads a result of (kind, id, root, merged_into, state) rows into m;
 * entities already there are kept as they are. */
static int load_rows(model *m, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = db_value(res, i, "id");
        bool ticket = db_value(res, i, "kind")[0] == 't';
        if (ticket ? model_ticket_get(m, id) != NULL : model_customer_get(m, id) != NULL)
            continue;
        json_t *j = json_loads(db_value(res, i, "state"), 0, NULL);
        int rc = -1;
        if (j && ticket) {
            model_ticket *t = model_ticket_make(m, id);
            if (t && (rc = model_ticket_from_json(t, j)) == 0)
                t->dirty = t->is_new = false;
        } else if (j) {
            model_customer *c = model_customer_make(m, id);
            if (c && (rc = model_customer_from_json(c, j)) == 0) {
                const char *root = db_value(res, i, "root");
                const char *into = db_value(res, i, "merged_into");
                snprintf(c->root, ID_LEN, "%s", root ? root : "");
                snprintf(c->merged_into, ID_LEN, "%s", into ? into : "");
                c->dirty = c->is_new = false;
            }
        }
        json_decref(j);
        if (rc != 0) {
            log_error("analytics: the state of %s %s does not load", ticket ? "ticket" : "customer",
                      id);
            return -1;
        }
    }
    return 0;
}

/* Runs sql with one array parameter per list (at most two): its result,
 * or NULL (logged). */
static PGresult *query(db *d, const char *sql, struct ids *const *lists, int n)
{
    buf b[2] = {BUF_INIT, BUF_INIT};
    const char *params[2];
    bool ok = true;
    for (int i = 0; i < n; i++) {
        rowset_keys(&b[i], lists[i]->v, lists[i]->n);
        params[i] = buf_str(&b[i]);
        ok = ok && !b[i].failed;
    }
    PGresult *res = ok ? db_exec(d, sql, n, params) : NULL;
    for (int i = 0; i < n; i++)
        buf_release(&b[i]);
    return res;
}

/* Survey answers without a ticket id: their tickets, through
 * analytics.surveys, for those the model does not know. */
static int load_surveys(db *d, model *m, const struct model_item *items, size_t n)
{
    struct ids surveys = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        const struct model_refs *r = &items[i].r;
        if (r->ticket[0] || !r->survey[0] || model_survey_ticket(m, r->survey)[0])
            continue;
        if (ids_add(&surveys, r->survey) != 0)
            goto out;
    }
    rc = 0;
    if (surveys.n) {
        struct ids *lists[] = {&surveys};
        PGresult *res = query(d, LOAD_SURVEYS_SQL, lists, 1);
        for (int i = 0; res && i < PQntuples(res) && rc == 0; i++)
            rc = model_survey_note(m, db_value(res, i, "survey_id"), db_value(res, i, "ticket_id"));
        rc = res ? rc : -1;
        PQclear(res);
    }
out:
    ids_release(&surveys);
    return rc;
}

/* The tickets the events name and the trees of the customers they name
 * (or of those tickets' customers), that the model lacks. */
static int load_tickets_trees(db *d, model *m, const struct model_item *items, size_t n)
{
    struct ids tickets = {0}, customers = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        const struct model_refs *r = &items[i].r;
        const char *tid = r->ticket[0] ? r->ticket : model_survey_ticket(m, r->survey);
        if (tid[0] && !model_ticket_get(m, tid) && ids_add(&tickets, tid) != 0)
            goto out;
        for (int k = 0; k < r->ncustomers; k++)
            if (!model_customer_get(m, r->customers[k]) &&
                ids_add(&customers, r->customers[k]) != 0)
                goto out;
    }
    rc = 0;
    if (tickets.n || customers.n) {
        struct ids *lists[] = {&tickets, &customers};
        PGresult *res = query(d, LOAD_TICKETS_TREES_SQL, lists, 2);
        rc = res ? load_rows(m, res) : -1;
        PQclear(res);
    }
out:
    ids_release(&tickets);
    ids_release(&customers);
    return rc;
}

/* Every ticket of the trees an event moves (a segment or a merge), for
 * members whose tickets are not all in the model yet. */
static int load_tree_tickets(db *d, model *m, const struct model_item *items, size_t n)
{
    struct ids roots = {0}, members = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        const struct model_refs *r = &items[i].r;
        if (!r->customer_level)
            continue;
        for (int k = 0; k < r->ncustomers; k++) {
            const model_customer *c = model_customer_get(m, r->customers[k]);
            if (c && ids_add(&roots, c->root) != 0)
                goto out;
        }
    }
    size_t nc;
    model_customer **cs = model_customers(m, &nc);
    for (size_t i = 0; roots.n && i < nc; i++)
        if (!cs[i]->all_tickets && hmap_gets(&roots.seen, cs[i]->root) != HMAP_ABSENT &&
            ids_add(&members, cs[i]->id) != 0)
            goto out;
    rc = 0;
    if (members.n) {
        struct ids *lists[] = {&members};
        PGresult *res = query(d, LOAD_TREE_TICKETS_SQL, lists, 1);
        rc = res ? load_rows(m, res) : -1;
        PQclear(res);
        for (size_t i = 0; rc == 0 && i < members.n; i++)
            model_customer_get(m, members.v[i])->all_tickets = true;
    }
out:
    ids_release(&roots);
    ids_release(&members);
    return rc;
}

int load_batch(db *d, model *m, const struct model_item *items, size_t n)
{
    if (load_surveys(d, m, items, n) != 0 || load_tickets_trees(d, m, items, n) != 0 ||
        load_tree_tickets(d, m, items, n) != 0)
        return -1;
    return 0;
}
