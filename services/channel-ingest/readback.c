/* readback.c — GET /v1/events/{id} and GET /v1/tickets/{id}.
 *
 * Read-only views over the event log and the router's tables, answered on
 * the read connection. The JSON is built by PostgreSQL, in one statement
 * (the ticket's by functions of the services that own each part).
 * An id that is not a UUID is a 404 without a query.
 */
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "ingest.h"
#include "log.h"
#include "timeutil.h"

static void readback_on_row(PGresult *res, void *arg, const char *what)
{
    http_req *r = arg;
    if (!res) {
        ingest_reply_unavailable(r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("reading %s failed: %.*s", what, (int)strcspn(msg, "\n"), msg);
        http_reply_error(r, 500, "internal", NULL, "could not read the %s", what);
        return;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        http_reply_error(r, 404, "not_found", NULL, "no %s with id \"%s\"", what,
                         http_param(r, "id"));
        return;
    }
    const char *json = PQgetvalue(res, 0, 0);
    http_reply(r, 200, "application/json", json, strlen(json));
}

static void events_on_row(PGresult *res, void *arg)
{
    readback_on_row(res, arg, "event");
}

static void tickets_on_row(PGresult *res, void *arg)
{
    readback_on_row(res, arg, "ticket");
}

static http_status readback_query(ingest *in, http_req *r, const char *sql, dbq_fn fn,
                                  const char *what)
{
    if (!auth_check(in->auth, r))
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    if (!id || !id_valid(id)) {
        http_reply_error(r, 404, "not_found", NULL, "no %s with id \"%s\"", what, id ? id : "");
        return HTTP_DONE;
    }
    const char *params[] = {id};
    if (dbq_query(in->reads, sql, 1, params, fn, r) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

http_status events_get(http_req *r, void *arg)
{
    static const char sql[] =
        "SELECT json_build_object("
        " 'event_id', e.event_id, 'type', e.type, 'stream', e.stream, 'seq', e.seq,"
        " 'occurred_at', e.occurred_at, 'recorded_at', e.recorded_at,"
        " 'idempotency_key', e.idem_key,"
        " 'customer_id', coalesce(m.customer_id, e.customer_id),"
        " 'ticket_id', coalesce(m.ticket_id, e.ticket_id))"
        " FROM eventlog.events e LEFT JOIN router.messages m ON m.event_id = e.event_id"
        " WHERE e.event_id = $1";
    return readback_query(arg, r, sql, events_on_row, "event");
}

http_status tickets_get(http_req *r, void *arg)
{
    /* Each service owns its part of the ticket's JSON. */
    static const char sql[] = "SELECT router.ticket_json(t.id)"
                              " || jsonb_build_object('sla', sla.ticket_json(t.id),"
                              "                       'survey', survey.ticket_json(t.id))"
                              " FROM router.tickets t WHERE t.id = $1";
    return readback_query(arg, r, sql, tickets_on_row, "ticket");
}
