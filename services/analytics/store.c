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
#include "rowset.h"

/* A ticket-level event in one round trip: the ticket, then the trees of
 * its customer and of those the event names. */
#define STORE_TICKET_SQL                                                                           \
    "WITH t AS (SELECT ticket_id, customer_id, state FROM analytics.tickets WHERE ticket_id = $1)" \
    " SELECT 't' AS kind, ticket_id AS id, NULL AS root, NULL AS merged_into, state FROM t"        \
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
        const char *id = db_value(res, i, "ticket_id");
        if (model_ticket_get(m, id))
            continue;
        model_ticket *t = model_ticket_make(m, id);
        json_t *j = json_loads(db_value(res, i, "state"), 0, NULL);
        int rc = t && j ? model_ticket_from_json(t, j) : -1;
        json_decref(j);
        if (rc != 0) {
            log_error("analytics: the state of ticket %s does not load", id);
            return -1;
        }
        t->dirty = t->is_new = false;
    }
    return 0;
}

static int load_customers(model *m, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = db_value(res, i, "customer_id");
        if (model_customer_get(m, id))
            continue;
        model_customer *c = model_customer_make(m, id);
        json_t *j = json_loads(db_value(res, i, "state"), 0, NULL);
        int rc = c && j ? model_customer_from_json(c, j) : -1;
        json_decref(j);
        if (rc != 0) {
            log_error("analytics: the state of customer %s does not load", id);
            return -1;
        }
        const char *into = db_value(res, i, "merged_into");
        snprintf(c->root, ID_LEN, "%s", db_value(res, i, "root"));
        snprintf(c->merged_into, ID_LEN, "%s", into ? into : "");
        c->dirty = c->is_new = false;
    }
    return 0;
}

/* Loads a mixed result: kind ('t' or 'c'), id, root, merged_into, state. */
static int load_mixed(model *m, PGresult *res)
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
            snprintf(r->ticket, ID_LEN, "%s", db_value(res, 0, "ticket_id"));
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

/* analytics.apply()'s document: each part a batch of rows of its table
 * (rowset.h), "replaced" the tickets whose samples and surveys the
 * document replaces. */
struct doc {
    rowset tickets, customers, samples, surveys, sla, daily;
    json_t *replaced;
    bool prune;
};

static void doc_init(struct doc *d)
{
    rowset_init(&d->tickets, &rows_tickets, NULL);
    rowset_init(&d->customers, &rows_customers, NULL);
    rowset_init(&d->samples, &rows_samples, NULL);
    rowset_init(&d->surveys, &rows_surveys, NULL);
    rowset_init(&d->sla, &rows_sla_events, NULL);
    rowset_init(&d->daily, rows_daily_delta(), NULL);
    d->replaced = json_array();
    d->prune = false;
}

static void doc_release(struct doc *d)
{
    rowset_release(&d->tickets);
    rowset_release(&d->customers);
    rowset_release(&d->samples);
    rowset_release(&d->surveys);
    rowset_release(&d->sla);
    rowset_release(&d->daily);
    json_decref(d->replaced);
}

/* The document's text (caller frees), NULL when out of memory. */
static char *doc_text(struct doc *d)
{
    char *replaced = d->replaced ? json_dumps(d->replaced, JSON_COMPACT) : NULL;
    const char *parts[] = {rowset_json(&d->tickets), rowset_json(&d->customers),
                           rowset_json(&d->samples), rowset_json(&d->surveys),
                           rowset_json(&d->sla),     rowset_json(&d->daily)};
    buf b = BUF_INIT;
    bool ok = replaced != NULL;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        ok = ok && parts[i];
    if (ok)
        buf_printf(&b,
                   "{\"tickets\":%s,\"customers\":%s,\"samples\":%s,\"replaced\":%s,"
                   "\"surveys\":%s,\"sla\":%s,\"daily\":%s,\"prune\":%s}",
                   parts[0], parts[1], parts[2], replaced, parts[3], parts[4], parts[5],
                   d->prune ? "true" : "false");
    free(replaced);
    return ok ? buf_detach(&b, NULL) : (buf_release(&b), NULL);
}

/* The ticket's rows: itself, its samples, surveys and SLA events. */
static int doc_ticket(struct doc *d, timebase *cal, model *m, model_ticket *t)
{
    struct ticket_facts f;
    contrib_facts(cal, t, model_segment_of(m, t->customer), &f);
    struct ticket_row tr;
    int rc = rows_ticket(&tr, t, &f);
    if (rc == 0)
        rowset_add(&d->tickets, &tr);
    rows_ticket_clear(&tr);
    if (!d->replaced || json_array_append_new(d->replaced, json_string(t->id)) != 0)
        rc = -1;
    int64_t ms[4];
    int32_t day[4];
    int metric[4];
    int n = rows_sample_count(&f, ms, day, metric);
    for (int i = 0; i < n; i++) {
        struct sample_row sr;
        rows_sample(&sr, t, &f, metric[i], ms[i], day[i]);
        rowset_add(&d->samples, &sr);
    }
    for (size_t i = 0; i < t->nsurveys; i++) {
        struct survey_row sv;
        rows_survey(&sv, t, i);
        rowset_add(&d->surveys, &sv);
    }
    for (size_t i = 0; i < t->sla.n; i++) {
        struct sla_event_row sl;
        if (rows_sla_event(&sl, t, i) == 0)
            rowset_add(&d->sla, &sl);
    }
    return rc;
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
    struct doc doc;
    doc_init(&doc);
    char *text = NULL;
    if (!m || !a || !doc.replaced)
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
        if ((ts[i]->dirty || r.customer_level) && doc_ticket(&doc, cal, m, ts[i]) != 0)
            goto out;
    model_customer **cs = model_customers(m, &n);
    for (size_t i = 0; i < n; i++) {
        if (!cs[i]->dirty)
            continue;
        struct customer_row cr;
        rc = rows_customer(&cr, cs[i]);
        if (rc == 0)
            rowset_add(&doc.customers, &cr);
        rows_customer_clear(&cr);
        if (rc != 0)
            goto out;
    }
    agg_entry **es = agg_entries(a, &n);
    for (size_t i = 0; i < n; i++) {
        if (agg_entry_zero(es[i]))
            continue;
        /* Large (the histograms' text): not on the stack. */
        struct daily_row *dr = malloc(sizeof *dr);
        if (!dr)
            goto out;
        rows_daily_delta_entry(dr, es[i], &doc.prune);
        rowset_add(&doc.daily, dr);
        free(dr);
    }
    if (!(text = doc_text(&doc)))
        goto out;
    const char *params[] = {text};
    if (db_command(d, "SELECT analytics.apply($1::jsonb)", 1, params) != 0)
        goto out;
    result = CONSUMER_OK;
out:
    if (result == CONSUMER_RETRY && db_up(d))
        log_error("analytics: could not apply event %s (%s)", ev->event_id, ev->type);
    free(text);
    doc_release(&doc);
    agg_destroy(&a);
    model_destroy(&m);
    return result;
}

static consumer_result store_on_event(consumer_txn *tx, const event *ev, void *arg)
{
    return store_apply(consumer_txn_db(tx), arg, ev);
}

#define ON(body) [CAREBUS__V1__ENVELOPE__BODY_##body] = {NULL, store_on_event}
const struct consumer_handler store_handlers[] = {
    ON(TICKET_OPENED),    ON(TICKET_CONTACT_ADDED), ON(TICKET_CLASSIFIED),
    ON(TICKET_ASSIGNED),  ON(TICKET_QUEUED),        ON(TICKET_TRANSFERRED),
    ON(TICKET_REOPENED),  ON(TICKET_SOLVED),        ON(TICKET_CLOSED),
    ON(TICKET_ESCALATED), ON(AGENT_REPLIED),        ON(TICKET_STATUS_CHANGED),
    ON(SLA_WARNING),      ON(SLA_BREACH),           ON(SLA_ESCALATION),
    ON(SURVEY_REQUESTED), ON(SURVEY_ANSWERED),      ON(CUSTOMER_PROFILE_UPDATED),
    ON(CUSTOMER_MERGED),
};
#undef ON
const size_t store_nhandlers = sizeof store_handlers / sizeof store_handlers[0];
