/* lists.c — the work API's ticket lists: GET /v1/tickets (filters, orders,
 * search), GET /v1/customers/{id}/tickets and GET /v1/tickets/{id}/timeline,
 * and the page every list answers, {"items":[...],"next_cursor":...}.
 *
 * Each runs one statement on the read queue (tickets_list.h builds the
 * lists'; router.timeline_page is the timeline's) that returns at most one
 * row more than the page: its presence is what says a next page exists, and
 * the page's last row's keys make next_cursor (list_cursor.h). A list whose
 * owner (a customer) may not exist answers 404 only when its page is empty,
 * after a second look. A key limited to channels lists only the tickets
 * within them (ACCESS_SQL_TICKET_WITHIN) and may not name another channel;
 * a customer's tickets need a key for every channel (a customer spans
 * channels), as GET /v1/customers/{id} does.
 */
#include "lists.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "tickets_list.h"

struct list_req {
    ingest *in;
    http_req *r;
    size_t limit;
    char order[LIST_CURSOR_ORDER_MAX];
    char types[LIST_CURSOR_KEYS + 1];
    const char *what;      /* "tickets", for the log */
    char owner_id[ID_LEN]; /* the customer an empty page checks, or "" */
    char missing[160];     /* the 404's message then */
};

/* --- arguments ------------------------------------------------------------------------ */

struct args {
    struct list_arg v[LIST_MAX_ARGS + 1];
    size_t n;
};

static bool args_add(const char *name, const char *value, void *arg)
{
    struct args *a = arg;
    if (!name[0])
        return true; /* "?&limit=5", "?limit=5&": nothing between the separators */
    if (strcmp(name, AUDIT_REASON) == 0)
        return true; /* an admin key's reason, read by audit.c (any key may give one) */
    if (a->n == LIST_MAX_ARGS + 1)
        return false; /* one more than allowed is enough to refuse */
    a->v[a->n++] = (struct list_arg){name, value};
    return true;
}

void lists_args(http_req *r, struct list_arg *out, size_t *n)
{
    struct args a = {.n = 0};
    http_query_each(r, args_add, &a);
    memcpy(out, a.v, a.n * sizeof a.v[0]);
    *n = a.n;
}

/* --- the page ------------------------------------------------------------------------- */

static bool query_failed(struct list_req *lr, PGresult *res)
{
    if (!res) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(lr->r);
        return true;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("listing %s failed: %.*s", lr->what, (int)strcspn(msg, "\n"), msg);
        http_reply_error(lr->r, 500, "internal", NULL, "could not list the %s", lr->what);
        return true;
    }
    return false;
}

/* {"items":[<items>],"next_cursor":<cursor or null>}. */
static void reply_page(http_req *r, const buf *items, const char *cursor)
{
    buf out = BUF_INIT;
    buf_puts(&out, "{\"items\":[");
    buf_append(&out, buf_str(items), items->len);
    if (cursor)
        buf_printf(&out, "],\"next_cursor\":\"%s\"}", cursor);
    else
        buf_puts(&out, "],\"next_cursor\":null}");
    if (out.failed || items->failed) {
        buf_release(&out);
        ingest_reply_unavailable(r);
        return;
    }
    http_reply(r, 200, "application/json", buf_str(&out), out.len);
    buf_release(&out);
}

static void on_owner(PGresult *res, void *arg)
{
    struct list_req *lr = arg;
    if (query_failed(lr, res))
        return;
    if (PQntuples(res) == 0) {
        ingest_reject(lr->r, 404, "not_found", "not_found", NULL, "%s", lr->missing);
        return;
    }
    buf none = BUF_INIT;
    reply_page(lr->r, &none, NULL);
}

static void on_page(PGresult *res, void *arg)
{
    struct list_req *lr = arg;
    if (query_failed(lr, res))
        return;
    size_t rows = (size_t)PQntuples(res), shown = rows < lr->limit ? rows : lr->limit;
    if (rows == 0 && lr->owner_id[0]) {
        const char *params[] = {lr->owner_id};
        if (dbq_query(lr->in->reads, "SELECT 1 FROM router.customers WHERE id = $1::uuid", 1,
                      params, on_owner, lr) != 0) {
            metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
            ingest_reply_unavailable(lr->r);
        }
        return;
    }
    buf items = BUF_INIT;
    for (size_t i = 0; i < shown; i++) {
        if (i)
            buf_putc(&items, ',');
        buf_puts(&items, PQgetvalue(res, (int)i, 0));
    }
    char cursor[LIST_CURSOR_MAX];
    bool more = rows > lr->limit;
    if (more) {
        struct list_cursor c;
        list_cursor_init(&c, lr->order, lr->types);
        for (size_t k = 0; k < c.n; k++) {
            if (list_cursor_set(&c, k, PQgetvalue(res, (int)shown - 1, (int)k + 1)) != 0) {
                /* Our own statement's keys: a bug, not the client's. */
                log_error("listing %s: key %zu of the page's last row is not a cursor value",
                          lr->what, k);
                http_reply_error(lr->r, 500, "internal", NULL, "could not list the %s", lr->what);
                buf_release(&items);
                return;
            }
        }
        list_cursor_encode(&c, cursor);
    }
    reply_page(lr->r, &items, more ? cursor : NULL);
    buf_release(&items);
}

http_status lists_page(ingest *in, http_req *r, struct list_sql *s, size_t limit, const char *order,
                       const char *types, const char *what, const char *owner_id)
{
    struct list_req *lr = calloc(1, sizeof *lr);
    if (!lr) {
        list_sql_release(s);
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    lr->in = in;
    lr->r = r;
    lr->limit = limit;
    lr->what = what;
    snprintf(lr->order, sizeof lr->order, "%s", order);
    snprintf(lr->types, sizeof lr->types, "%s", types);
    if (owner_id) {
        snprintf(lr->owner_id, sizeof lr->owner_id, "%s", owner_id);
        snprintf(lr->missing, sizeof lr->missing, "no customer with id \"%s\"", owner_id);
    }
    http_set_data(r, lr, free);
    int rc =
        dbq_query(in->reads, buf_str(&s->sql), s->n, (const char *const *)s->params, on_page, lr);
    list_sql_release(s);
    if (rc != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

/* --- GET /v1/tickets and /v1/customers/{id}/tickets ------------------------------------- */

static http_status list_tickets(http_req *r, ingest *in, const char *customer_id)
{
    const struct access_grant *g = auth_grant(r);
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n;
    lists_args(r, args, &n);
    struct tickets_query_opts o = {
        .default_sort = customer_id ? TICKETS_SORT_CREATED : TICKETS_SORT_QUEUE,
        .agent_id = g->agent_id,
        .customer_id = customer_id,
    };
    struct tickets_query q;
    struct message_error err;
    if (tickets_query_parse(args, n, &o, &q, &err) != 0) {
        ingest_reject(r, 400, err.code, err.code, err.field, "%s", err.message);
        return HTTP_DONE;
    }
    /* A limited key lists its channels' tickets; naming another channel is
     * refused rather than answered with nothing. */
    for (unsigned c = 0; c < 32; c++)
        if ((q.channels >> c & 1) && !auth_channel_ok(in->auth, r, g, (Carebus__V1__Channel)c))
            return HTTP_DONE;
    char channels[ACCESS_CHANNELS_PARAM_LEN];
    const char *cp = access_channels_param(g, channels, sizeof channels);
    if (g->channels != ACCESS_ALL_CHANNELS && !cp) {
        /* Every channel's name fits: a bug if not. */
        http_reply_error(r, 500, "internal", NULL, "could not list the tickets");
        return HTTP_DONE;
    }
    struct list_sql s;
    if (tickets_query_sql(&q, cp, &s) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    const char *order, *types;
    tickets_sort_keys(q.sort, &order, &types);
    return lists_page(in, r, &s, q.limit, order, types, "tickets", customer_id);
}

http_status tickets_list(http_req *r, void *arg)
{
    return list_tickets(r, arg, NULL);
}

http_status customers_tickets(http_req *r, void *arg)
{
    http_status held;
    if (audit_hold(r, arg, AUDIT_CUSTOMER, &held))
        return held;
    ingest *in = arg;
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "customer", id))
        return HTTP_DONE;
    /* A customer spans channels: a key limited to some reads none. */
    if (!auth_unscoped_ok(in->auth, r, auth_grant(r)))
        return HTTP_DONE;
    return list_tickets(r, in, id);
}

/* --- GET /v1/tickets/{id}/timeline ------------------------------------------------------ */

#define TIMELINE_ORDER "timeline"
#define TIMELINE_TYPES "ii"

static void on_timeline(PGresult *res, void *arg)
{
    struct list_req *lr = arg;
    if (query_failed(lr, res))
        return;
    if (PQntuples(res) == 0) {
        ingest_reject(lr->r, 404, "not_found", "not_found", NULL, "%s", lr->missing);
        return;
    }
    struct access_ticket t = {.within_channels = PQgetvalue(res, 0, 4)[0] == 't'};
    struct access_facts f = {.ticket = &t};
    if (!auth_allow(lr->in->auth, lr->r, auth_grant(lr->r), SCOPE_READ, &f))
        return;
    /* items is a JSON array: the page's items are what is inside it. */
    const char *items = PQgetvalue(res, 0, 0);
    size_t len = strlen(items);
    buf inner = BUF_INIT;
    if (len >= 2)
        buf_append(&inner, items + 1, len - 2);
    char cursor[LIST_CURSOR_MAX];
    bool more = PQgetvalue(res, 0, 3)[0] == 't';
    if (more) {
        struct list_cursor c;
        list_cursor_init(&c, TIMELINE_ORDER, TIMELINE_TYPES);
        if (list_cursor_set(&c, 0, PQgetvalue(res, 0, 1)) != 0 ||
            list_cursor_set(&c, 1, PQgetvalue(res, 0, 2)) != 0) {
            log_error("listing a timeline: the page's last position is not a cursor value");
            http_reply_error(lr->r, 500, "internal", NULL, "could not list the timeline");
            buf_release(&inner);
            return;
        }
        list_cursor_encode(&c, cursor);
    }
    reply_page(lr->r, &inner, more ? cursor : NULL);
    buf_release(&inner);
}

static int timeline_args(http_req *r, size_t *limit, struct list_cursor *c, bool *has_cursor,
                         struct message_error *err)
{
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n;
    lists_args(r, args, &n);
    *limit = LIST_LIMIT_DEFAULT;
    *has_cursor = false;
    bool seen_limit = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = args[i].name, *v = args[i].value ? args[i].value : "";
        bool is_limit = strcmp(name, "limit") == 0, is_cursor = strcmp(name, "cursor") == 0;
        if (!is_limit && !is_cursor)
            return field_fail(err, "invalid_field", name, "unknown query parameter \"%.60s\"",
                              name);
        if ((is_limit && seen_limit) || (is_cursor && *has_cursor))
            return field_fail(err, "invalid_field", name, "\"%s\" is given twice", name);
        if (is_limit) {
            seen_limit = true;
            size_t len = strlen(v), value = 0;
            bool ok = len >= 1 && len <= 3 && v[0] != '0' && strspn(v, "0123456789") == len;
            for (size_t k = 0; ok && k < len; k++)
                value = value * 10 + (size_t)(v[k] - '0');
            if (!ok || value > LIST_LIMIT_MAX)
                return field_fail(err, "invalid_field", "limit", "\"limit\" must be 1 to %d",
                                  LIST_LIMIT_MAX);
            *limit = value;
        } else {
            if (list_cursor_decode(v, TIMELINE_ORDER, TIMELINE_TYPES, c) != 0 || c->keys[1].i < 1 ||
                c->keys[1].i > INT32_MAX || c->keys[0].i < INT64_C(-62135596800000000) ||
                c->keys[0].i > INT64_C(253402300799999999))
                return field_fail(err, "invalid_field", "cursor",
                                  "\"cursor\" is not a cursor of this timeline: pass a page's "
                                  "next_cursor as it is");
            *has_cursor = true;
        }
    }
    return 0;
}

http_status tickets_timeline(http_req *r, void *arg)
{
    http_status held;
    if (audit_hold(r, arg, AUDIT_TICKET, &held))
        return held;
    ingest *in = arg;
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "ticket", id))
        return HTTP_DONE;
    size_t limit;
    struct list_cursor c;
    bool has_cursor;
    struct message_error err;
    if (timeline_args(r, &limit, &c, &has_cursor, &err) != 0) {
        ingest_reject(r, 400, err.code, err.code, err.field, "%s", err.message);
        return HTTP_DONE;
    }
    char channels[ACCESS_CHANNELS_PARAM_LEN], at[LIST_CURSOR_PARAM_MAX], nth[LIST_CURSOR_PARAM_MAX],
        lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[] = {
        access_channels_param(auth_grant(r), channels, sizeof channels),
        id,
        has_cursor ? list_cursor_param(&c, 0, at) : NULL,
        has_cursor ? list_cursor_param(&c, 1, nth) : NULL,
        lim,
    };
    static const char sql[] =
        "SELECT p.items, (extract(epoch FROM p.last_at) * 1000000)::bigint::text, p.last_n::text,"
        " p.more, " ACCESS_SQL_TICKET_WITHIN(
            "t", "$1") " FROM router.tickets t, router.timeline_page(t.id,"
                       " timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::integer,"
                       " $5::integer) p WHERE t.id = $2::uuid";
    struct list_req *lr = calloc(1, sizeof *lr);
    if (!lr) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    lr->in = in;
    lr->r = r;
    lr->limit = limit;
    lr->what = "timeline";
    snprintf(lr->missing, sizeof lr->missing, "no ticket with id \"%s\"", id);
    http_set_data(r, lr, free);
    if (dbq_query(in->reads, sql, 5, params, on_timeline, lr) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
