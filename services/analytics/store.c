/* store.c — the live path (see store.h).
 *
 * The difference of the sums is computed in memory (before: -1 x each
 * loaded entity's contribution, after: +1 x the same entities') and only
 * non-zero rows are sent; an entity that did not change adds nothing. The
 * trees are loaded whole because a tree's segment is its latest member's,
 * and a customer's KPI (active, churned) is its tree's.
 */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "civil.h"
#include "contrib.h"
#include "log.h"
#include "model.h"
#include "rows.h"

/* A ticket-level event in one round trip: the ticket, then the trees of
 * its customer and of those the event names. */
#define STORE_TICKET_SQL                                                                           \
    "WITH t AS (SELECT ticket_id, customer_id, state FROM analytics.tickets WHERE ticket_id = $1)" \
    " SELECT 't', ticket_id, NULL, NULL, state FROM t"                                             \
    " UNION ALL"                                                                                   \
    " SELECT 'c', customer_id, root, merged_into, state FROM analytics.customers"                  \
    "  WHERE root IN (SELECT c.root FROM analytics.customers c"                                    \
    "                  WHERE c.customer_id = ANY($2::uuid[])"                                      \
    "                     OR c.customer_id = (SELECT customer_id FROM t))"
#define STORE_TREES_SQL                                                                            \
    "SELECT customer_id, root, merged_into, state FROM analytics.customers"                        \
    " WHERE root IN (SELECT root FROM analytics.customers WHERE customer_id = ANY($1::uuid[]))"
#define STORE_TREE_TICKETS_SQL                                                                     \
    "SELECT ticket_id, state FROM analytics.tickets WHERE customer_id = ANY($1::uuid[])"
#define STORE_SURVEY_SQL "SELECT ticket_id FROM analytics.surveys WHERE survey_id = $1"

/* Loads the tickets of a result (ticket_id, state) into m. 0 or -1. */
static int load_tickets(model *m, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        if (model_ticket_get(m, PQgetvalue(res, i, 0)))
            continue;
        model_ticket *t = model_ticket_make(m, PQgetvalue(res, i, 0));
        json_t *j = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        int rc = t && j ? model_ticket_from_json(t, j) : -1;
        json_decref(j);
        if (rc != 0) {
            log_error("analytics: the state of ticket %s does not load", PQgetvalue(res, i, 0));
            return -1;
        }
        t->dirty = t->is_new = false;
    }
    return 0;
}

static int load_customers(model *m, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        if (model_customer_get(m, PQgetvalue(res, i, 0)))
            continue;
        model_customer *c = model_customer_make(m, PQgetvalue(res, i, 0));
        json_t *j = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        int rc = c && j ? model_customer_from_json(c, j) : -1;
        json_decref(j);
        if (rc != 0) {
            log_error("analytics: the state of customer %s does not load", PQgetvalue(res, i, 0));
            return -1;
        }
        snprintf(c->root, ID_LEN, "%s", PQgetvalue(res, i, 1));
        snprintf(c->merged_into, ID_LEN, "%s", PQgetvalue(res, i, 2));
        c->dirty = c->is_new = false;
    }
    return 0;
}

/* Loads a mixed result: kind ('t' or 'c'), id, root, merged_into, state. */
static int load_mixed(model *m, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 1);
        bool ticket = PQgetvalue(res, i, 0)[0] == 't';
        if (ticket ? model_ticket_get(m, id) != NULL : model_customer_get(m, id) != NULL)
            continue;
        json_t *j = json_loads(PQgetvalue(res, i, 4), 0, NULL);
        int rc = -1;
        if (j && ticket) {
            model_ticket *t = model_ticket_make(m, id);
            if (t && (rc = model_ticket_from_json(t, j)) == 0)
                t->dirty = t->is_new = false;
        } else if (j) {
            model_customer *c = model_customer_make(m, id);
            if (c && (rc = model_customer_from_json(c, j)) == 0) {
                snprintf(c->root, ID_LEN, "%s", PQgetvalue(res, i, 2));
                snprintf(c->merged_into, ID_LEN, "%s", PQgetvalue(res, i, 3));
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

/* "{id,id}" of the given ids; "" ids are left out. */
static void uuid_array(buf *b, const char *const *ids, size_t n)
{
    buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i] || !ids[i][0])
            continue;
        if (!first)
            buf_putc(b, ',');
        buf_puts(b, ids[i]);
        first = false;
    }
    buf_putc(b, '}');
}

/* Runs sql with one uuid[] parameter and loads the result with fn. */
static int load_with(db *d, model *m, const char *sql, const char *const *ids, size_t n,
                     int (*fn)(model *, PGresult *))
{
    buf b = BUF_INIT;
    uuid_array(&b, ids, n);
    const char *params[] = {buf_str(&b)};
    PGresult *res = b.failed ? NULL : db_exec(d, sql, 1, params);
    buf_release(&b);
    if (!res)
        return -1;
    int rc = fn(m, res);
    PQclear(res);
    return rc;
}

/* Loads everything the event touches. 0, 1 when it touches nothing
 * analytics knows how to place, -1 on a database failure. */
static int store_load(db *d, model *m, const event *ev, struct model_refs *r)
{
    if (!r->ticket[0] && r->survey[0]) {
        const char *params[] = {r->survey};
        PGresult *res = db_exec(d, STORE_SURVEY_SQL, 1, params);
        if (!res)
            return -1;
        if (PQntuples(res) == 1) {
            snprintf(r->ticket, ID_LEN, "%s", PQgetvalue(res, 0, 0));
            model_survey_note(m, r->survey, r->ticket);
        }
        PQclear(res);
        if (!r->ticket[0])
            return 1;
    }
    (void)ev;
    /* The customers named by the event, and the ticket's own. */
    const char *ids[2] = {r->ncustomers > 0 ? r->customers[0] : "",
                          r->ncustomers > 1 ? r->customers[1] : ""};
    if (r->ticket[0]) {
        buf b = BUF_INIT;
        uuid_array(&b, ids, 2);
        const char *params[] = {r->ticket, buf_str(&b)};
        PGresult *res = b.failed ? NULL : db_exec(d, STORE_TICKET_SQL, 2, params);
        buf_release(&b);
        if (!res)
            return -1;
        int rc = load_mixed(m, res);
        PQclear(res);
        if (rc != 0)
            return -1;
    } else if (load_with(d, m, STORE_TREES_SQL, ids, 2, load_customers) != 0) {
        return -1;
    }
    if (!r->customer_level)
        return 0;
    /* A segment or a tree may change: every ticket of the trees. */
    size_t n;
    model_customer **cs = model_customers(m, &n);
    const char **members = calloc(n ? n : 1, sizeof *members);
    if (!members)
        return -1;
    for (size_t i = 0; i < n; i++)
        members[i] = cs[i]->id;
    int rc = load_with(d, m, STORE_TREE_TICKETS_SQL, members, n, load_tickets);
    free(members);
    return rc;
}

/* Adds sign x every loaded entity's contribution. Roots are grouped with
 * their members as the model stands now. */
static int contribute(agg *a, timebase *cal, model *m, int sign)
{
    model_resolve_segments(m);
    size_t nt, nc;
    model_ticket **ts = model_tickets(m, &nt);
    for (size_t i = 0; i < nt; i++) {
        struct ticket_facts f;
        contrib_facts(cal, ts[i], model_segment_of(m, ts[i]->customer), &f);
        if (contrib_ticket(a, cal, ts[i], &f, sign) != 0)
            return -1;
    }
    model_customer **cs = model_customers(m, &nc);
    model_customer **members = calloc(nc ? nc : 1, sizeof *members);
    if (!members)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nc && rc == 0; i++) {
        if (strcmp(cs[i]->root, cs[i]->id) != 0)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < nc; j++)
            if (strcmp(cs[j]->root, cs[i]->id) == 0)
                members[k++] = cs[j];
        rc = contrib_customer(a, cal, members, k, model_segment_of(m, cs[i]->id), sign);
    }
    free(members);
    return rc;
}

static int append_row(json_t *arr, const row *r)
{
    json_t *o = r->failed ? NULL : row_json(r);
    return o && json_array_append_new(arr, o) == 0 ? 0 : -1;
}

/* The ticket's rows: itself, its samples, surveys and SLA events. */
static int doc_ticket(json_t *doc, timebase *cal, model *m, model_ticket *t)
{
    struct ticket_facts f;
    contrib_facts(cal, t, model_segment_of(m, t->customer), &f);
    row r;
    row_init(&r, &rows_tickets);
    rows_ticket(&r, t, &f);
    int rc = append_row(json_object_get(doc, "tickets"), &r);
    row_clear(&r);
    json_array_append_new(json_object_get(doc, "replaced"), json_string(t->id));
    int64_t ms[4];
    int32_t day[4];
    int metric[4];
    int n = rows_sample_count(&f, ms, day, metric);
    r.table = &rows_samples;
    for (int i = 0; i < n && rc == 0; i++) {
        rows_sample(&r, t, &f, metric[i], ms[i], day[i]);
        rc = append_row(json_object_get(doc, "samples"), &r);
        row_clear(&r);
    }
    r.table = &rows_surveys;
    for (size_t i = 0; i < t->nsurveys && rc == 0; i++) {
        rows_survey(&r, t, i);
        rc = append_row(json_object_get(doc, "surveys"), &r);
        row_clear(&r);
    }
    r.table = &rows_sla_events;
    for (size_t i = 0; i < t->sla.n && rc == 0; i++) {
        if (rows_sla_event(&r, t, i) == 0)
            rc = append_row(json_object_get(doc, "sla"), &r);
        row_clear(&r);
    }
    return rc;
}

/* A daily delta row: the measures, and each histogram's positive and
 * negative parts as packed numerics. Sets *prune when anything went down. */
static json_t *doc_daily(const agg_entry *e, bool *prune)
{
    char day[11];
    civil_date_format(e->day, day);
    json_t *o = json_pack("{s:i,s:s,s:s}", "dim", e->dim, "day", day, "key", e->key);
    for (int i = 0; o && i < M_COUNT; i++) {
        json_object_set_new(o, contrib_measure_names[i], json_integer(e->m[i]));
        *prune |= e->m[i] < 0;
    }
    for (int h = 0; o && h < H_COUNT; h++) {
        int64_t pos[HIST_BUCKETS] = {0}, neg[HIST_BUCKETS] = {0};
        for (int b = 0; e->hist && b < HIST_BUCKETS; b++) {
            int64_t v = e->hist[h * HIST_BUCKETS + b];
            if (v > 0)
                pos[b] = v;
            else
                neg[b] = -v;
            *prune |= v < 0;
        }
        char text[HIST_TEXT_MAX], name[32];
        contrib_hist_pack(pos, text);
        snprintf(name, sizeof name, "%s_add", contrib_hist_names[h]);
        json_object_set_new(o, name, json_string(text));
        contrib_hist_pack(neg, text);
        snprintf(name, sizeof name, "%s_sub", contrib_hist_names[h]);
        json_object_set_new(o, name, json_string(text));
    }
    return o;
}

consumer_result store_apply(db *d, timebase *cal, const event *ev)
{
    struct model_refs r;
    if (!model_refs_of(ev, &r))
        return CONSUMER_OK;
    int64_t at = model_event_time(ev);
    if (at == MODEL_NONE) {
        log_warn("analytics: event %s (%s) has no time: skipped", ev->event_id, ev->type);
        return CONSUMER_SKIP;
    }
    consumer_result result = CONSUMER_RETRY;
    model *m = model_new();
    agg *a = agg_new();
    json_t *doc = json_pack("{s:[],s:[],s:[],s:[],s:[],s:[],s:[],s:b}", "tickets", "customers",
                            "samples", "replaced", "surveys", "sla", "daily", "prune", 0);
    char *text = NULL;
    if (!m || !a || !doc)
        goto out;
    int rc = store_load(d, m, ev, &r);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        result = CONSUMER_OK; /* an answer to a survey analytics never saw */
        goto out;
    }
    if (contribute(a, cal, m, -1) != 0)
        goto out;
    rc = model_apply(m, ev, at);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        result = CONSUMER_OK;
        goto out;
    }
    if (contribute(a, cal, m, +1) != 0)
        goto out;

    size_t n;
    model_ticket **ts = model_tickets(m, &n);
    for (size_t i = 0; i < n; i++)
        if ((ts[i]->dirty || r.customer_level) && doc_ticket(doc, cal, m, ts[i]) != 0)
            goto out;
    model_customer **cs = model_customers(m, &n);
    row row_c;
    row_init(&row_c, &rows_customers);
    for (size_t i = 0; i < n; i++) {
        if (!cs[i]->dirty)
            continue;
        rows_customer(&row_c, cs[i]);
        rc = append_row(json_object_get(doc, "customers"), &row_c);
        row_clear(&row_c);
        if (rc != 0)
            goto out;
    }
    agg_entry **es = agg_entries(a, &n);
    bool prune = false;
    for (size_t i = 0; i < n; i++) {
        if (agg_entry_zero(es[i]))
            continue;
        json_t *o = doc_daily(es[i], &prune);
        if (!o || json_array_append_new(json_object_get(doc, "daily"), o) != 0)
            goto out;
    }
    json_object_set_new(doc, "prune", json_boolean(prune));
    if (!(text = json_dumps(doc, JSON_COMPACT)))
        goto out;
    const char *params[] = {text};
    if (db_command(d, "SELECT analytics.apply($1::jsonb)", 1, params) != 0)
        goto out;
    result = CONSUMER_OK;
out:
    if (result == CONSUMER_RETRY && db_up(d))
        log_error("analytics: could not apply event %s (%s)", ev->event_id, ev->type);
    free(text);
    json_decref(doc);
    agg_destroy(&a);
    model_destroy(&m);
    return result;
}
