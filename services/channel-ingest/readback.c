/* readback.c — GET /v1/events/{id}, GET /v1/tickets/{id}, and the query
 * behind every read-back (customers.c uses it too).
 *
 * Read-only views over the event log and the router's tables, answered on
 * the read connection. The JSON is built by PostgreSQL, in one statement
 * (the ticket's and the customer's by functions of the services that own
 * each part): a NULL or missing row is a 404. An id that is not a UUID is a
 * 404 without a query. A key limited to channels reads an event of its
 * channels (its payload is read to tell) and a ticket whose contacts all
 * came through them (ACCESS_SQL_TICKET_WITHIN): otherwise 403.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "event.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"

struct readback {
    ingest *in;
    http_req *r;
    const char *what;
    readback_check_fn check;
    char missing[320]; /* the 404's message */
};

static void readback_on_row(PGresult *res, void *arg)
{
    struct readback *rb = arg;
    http_req *r = rb->r;
    if (!res) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("reading %s failed: %.*s", rb->what, (int)strcspn(msg, "\n"), msg);
        http_reply_error(r, 500, "internal", NULL, "could not read the %s", rb->what);
        return;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        ingest_reject(r, 404, "not_found", "not_found", NULL, "%s", rb->missing);
        return;
    }
    if (rb->check && !rb->check(rb->in, r, res))
        return;
    const char *json = PQgetvalue(res, 0, 0);
    http_reply(r, 200, "application/json", json, strlen(json));
}

http_status readback_json(ingest *in, http_req *r, const char *sql, int nparams,
                          const char *const *params, const char *what, const char *missing,
                          readback_check_fn check)
{
    struct readback *rb = calloc(1, sizeof *rb);
    if (!rb) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    rb->in = in;
    rb->r = r;
    rb->what = what;
    rb->check = check;
    snprintf(rb->missing, sizeof rb->missing, "%s", missing);
    http_set_data(r, rb, free);
    if (dbq_query(in->reads, sql, nparams, params, readback_on_row, rb) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

http_status readback_by_id(ingest *in, http_req *r, const char *sql, const char *what,
                           readback_check_fn check)
{
    const char *id = http_param(r, "id");
    char missing[160];
    snprintf(missing, sizeof missing, "no %s with id \"%.64s\"", what, id ? id : "");
    if (!ingest_id_ok(r, what, id))
        return HTTP_DONE;
    char channels[ACCESS_CHANNELS_PARAM_LEN];
    const struct access_grant *g = auth_grant(r);
    const char *params[] = {id, check ? access_channels_param(g, channels, sizeof channels) : NULL};
    /* A limited key must send its channels: NULL would read as every one. */
    assert(!check || g->channels == ACCESS_ALL_CHANNELS || params[1]);
    return readback_json(in, r, sql, check ? 2 : 1, params, what, missing, check);
}

/* Column 1: the payload, sent only for a key limited to channels ($2). */
static bool event_check(ingest *in, http_req *r, PGresult *res)
{
    const struct access_grant *g = auth_grant(r);
    bool has = false;
    Carebus__V1__Channel c = CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    if (g->channels != ACCESS_ALL_CHANNELS && !PQgetisnull(res, 0, 1)) {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &len);
        event *ev = raw ? event_unpack(raw, len) : NULL;
        has = ev && access_event_channel(ev, &c);
        event_destroy(&ev);
        PQfreemem(raw);
    }
    struct access_denial d;
    if (access_event(g, has, c, &d))
        return true;
    auth_deny(in->auth, r, &d);
    return false;
}

/* Column 1: whether the ticket is within the key's channels. */
static bool ticket_check(ingest *in, http_req *r, PGresult *res)
{
    struct access_ticket t = {.within_channels = PQgetvalue(res, 0, 1)[0] == 't'};
    struct access_facts f = {.ticket = &t};
    return auth_allow(in->auth, r, auth_grant(r), SCOPE_READ, &f);
}

http_status readback_event_get(http_req *r, void *arg)
{
    static const char sql[] =
        "SELECT json_build_object("
        " 'event_id', e.event_id, 'type', e.type, 'stream', e.stream, 'seq', e.seq,"
        " 'occurred_at', e.occurred_at, 'recorded_at', e.recorded_at,"
        " 'idempotency_key', e.idem_key,"
        " 'customer_id', coalesce(m.customer_id, e.customer_id),"
        " 'ticket_id', coalesce(m.ticket_id, e.ticket_id)),"
        " CASE WHEN $2::text[] IS NOT NULL THEN e.payload END"
        " FROM eventlog.events e LEFT JOIN router.messages m ON m.event_id = e.event_id"
        " WHERE e.event_id = $1";
    return readback_by_id(arg, r, sql, "event", event_check);
}

http_status readback_ticket_get(http_req *r, void *arg)
{
    http_status held;
    if (audit_hold(r, arg, AUDIT_TICKET, &held))
        return held;
    /* Each service owns its part of the ticket's JSON. */
    static const char sql[] =
        "SELECT router.ticket_json(t.id) || router.ticket_manual_json(t)"
        " || jsonb_build_object('sla', sla.ticket_json(t.id),"
        "                       'survey', survey.ticket_json(t.id)),"
        " " ACCESS_SQL_TICKET_WITHIN("t", "$2") " FROM router.tickets t WHERE t.id = $1";
    return readback_by_id(arg, r, sql, "ticket", ticket_check);
}
