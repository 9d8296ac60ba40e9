/* export.c — GET /v1/customers/{id}/export?reason=…: everything carebus holds
 * about a customer (Decree 13/2023's right of access), as one document.
 *
 * One statement on the read queue: its first row is the document of the
 * tables (the customer and those merged into it, their handles, tickets,
 * messages, calls, surveys and answers, and exported_at), the rows after
 * it the events naming them, their tickets or their contacts, each with
 * its data key; those are opened (eventlog_wire_buf) and written as the
 * event feed writes events (event_json). An erased customer's events read
 * "[erased]" where their personal fields were. The reason is required:
 * the export is first recorded as a customer.data_exported event (who,
 * when, why) through the group commit, and the document is read once that
 * is committed, so no export goes unrecorded.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event_json.h"
#include "eventlog.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

#define CUSTOMER_SET "(SELECT x.id FROM router.customers x WHERE x.id = $1 OR x.merged_into = $1)"
#define TICKET_SET "(SELECT t.id FROM router.tickets t WHERE t.customer_id IN " CUSTOMER_SET ")"

static const char export_sql[] =
    "SELECT 0 AS k, (SELECT json_build_object("
    "  'customer', (SELECT to_jsonb(c) FROM router.customers c WHERE c.id = $1),"
    "  'merged_customers', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.id), '[]')"
    "     FROM router.customers c WHERE c.merged_into = $1),"
    "  'identities', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', i.kind,"
    "     'value', i.value, 'customer_id', i.customer_id) ORDER BY i.kind, i.value), '[]')"
    "     FROM router.identities i WHERE i.customer_id IN " CUSTOMER_SET "),"
    "  'tickets', (SELECT coalesce(jsonb_agg(router.ticket_json(t.id) ORDER BY t.id), '[]')"
    "     FROM router.tickets t WHERE t.id IN " TICKET_SET "),"
    "  'messages', (SELECT coalesce(jsonb_agg(to_jsonb(m) - 'search' ORDER BY m.at, m.seq), '[]')"
    "     FROM router.messages m WHERE m.customer_id IN " CUSTOMER_SET
    "     AND m.channel <> 'phone'),"
    "  'calls', (SELECT coalesce(jsonb_agg(to_jsonb(m) - 'search' ORDER BY m.at, m.seq), '[]')"
    "     FROM router.messages m WHERE m.customer_id IN " CUSTOMER_SET
    "     AND m.channel = 'phone'),"
    "  'surveys', (SELECT coalesce(jsonb_agg(to_jsonb(s) || jsonb_build_object('answer',"
    "     to_jsonb(a)) ORDER BY s.due_at), '[]') FROM survey.surveys s"
    "     LEFT JOIN survey.answers a ON a.survey_id = s.id"
    "     WHERE s.customer_id IN " CUSTOMER_SET "),"
    "  'exported_at', now())::text"
    "  WHERE EXISTS (SELECT 1 FROM router.customers c WHERE c.id = $1)) AS doc,"
    " NULL::text AS stream, NULL::bigint AS seq, NULL::bigint AS rec, NULL::bytea AS payload,"
    " NULL::bytea AS datakey"
    " UNION ALL"
    " SELECT 1, NULL, e.stream, e.seq, (extract(epoch FROM e.recorded_at) * 1000000)::bigint,"
    "  e.payload, dk.wrapped"
    " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN " WHERE e.event_id IN ("
    "  SELECT e2.event_id FROM eventlog.events e2 WHERE e2.customer_id IN " CUSTOMER_SET
    "  UNION SELECT e3.event_id FROM eventlog.events e3 WHERE e3.ticket_id IN " TICKET_SET
    "  UNION SELECT m.event_id FROM router.messages m WHERE m.customer_id IN " CUSTOMER_SET ")"
    " ORDER BY 1, 4, 2, 3";

/* Row i's event (columns: k, doc, stream, seq, recorded_us, payload, data
 * key), opened, as JSON; NULL when it does not decode (logged). */
static json_t *export_event(PGresult *res, int i, buf *wire)
{
    size_t len = 0, klen = 0;
    unsigned char *pay = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 5), &len);
    unsigned char *key = PQgetisnull(res, i, 6)
                             ? NULL
                             : PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 6), &klen);
    const char *stream = PQgetvalue(res, i, 2);
    uint64_t seq = strtoull(PQgetvalue(res, i, 3), NULL, 10);
    int built = pay && (key || PQgetisnull(res, i, 6))
                    ? eventlog_wire_buf(wire, pay, len, key, klen, stream, seq,
                                        strtoll(PQgetvalue(res, i, 4), NULL, 10))
                    : -1;
    PQfreemem(pay);
    PQfreemem(key);
    event *ev = built == 0 ? event_unpack((const uint8_t *)wire->data, wire->len) : NULL;
    json_t *j = ev ? event_json(ev) : NULL;
    event_destroy(&ev);
    if (!j)
        log_error("export: event %s/%llu does not decode", stream, (unsigned long long)seq);
    return j;
}

static void export_on_rows(PGresult *res, void *arg)
{
    struct write_req *x = arg;
    http_req *r = x->r;
    if (!res) {
        ingest_reply_unavailable(r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("export: reading customer %s failed: %.*s", x->id, (int)strcspn(msg, "\n"), msg);
        http_reply_error(r, 500, "internal", NULL, "could not read the customer");
        return;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 1)) {
        ingest_reject(r, 404, "not_found", "not_found", NULL, "no customer with id \"%s\"", x->id);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
    if (!doc)
        log_error("export: customer %s: the document does not parse: %s", x->id, jerr.text);
    json_t *events = json_array();
    buf wire = BUF_INIT;
    bool ok = doc && events;
    for (int i = 1; ok && i < PQntuples(res); i++) {
        json_t *j = export_event(res, i, &wire);
        ok = j && json_array_append_new(events, j) == 0;
    }
    buf_release(&wire);
    char *text = NULL;
    if (ok && json_object_set_new(doc, "events", events) == 0) {
        events = NULL;
        json_object_set_new(doc, "audit_event_id", json_string(x->entry.event_id));
        text = json_dumps(doc, JSON_COMPACT);
    }
    json_decref(events);
    json_decref(doc);
    if (!text) {
        http_reply_error(r, 500, "internal", NULL, "could not export the customer");
        return;
    }
    metrics_add("carebus_ingest_exports_total", 1);
    http_reply(r, 200, "application/json", text, strlen(text));
    free(text);
}

/* The audit event is committed: now the document. */
static void export_after_commit(struct write_req *w, struct eventlog_entry *e)
{
    (void)e;
    const char *params[] = {w->id};
    if (dbq_query(w->in->reads, export_sql, 1, params, export_on_rows, w) != 0)
        ingest_reply_unavailable(w->r);
}

http_status export_get(http_req *r, void *arg)
{
    ingest *in = arg;
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "customer", id))
        return HTTP_DONE;
    const char *reason = http_query(r, "reason");
    if (!reason || !reason[0] || strlen(reason) > 1024) {
        ingest_reject(r, 400, "missing_field", "missing_field", "reason",
                      "\"reason\" is required (at most 1,024 characters): why the customer's"
                      " data is read");
        return HTTP_DONE;
    }
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return HTTP_DONE;
    struct op *o = &w->u.op;
    carebus__v1__envelope__init(&o->ev);
    Carebus__V1__CustomerDataExported *b = &o->body.exported;
    carebus__v1__customer_data_exported__init(b);
    b->actor = (char *)access_actor(auth_grant(r));
    b->reason = (char *)reason;
    google__protobuf__timestamp__init(&o->occurred);
    event_ts_set(&o->occurred, time_now_us());
    o->ev.occurred_at = &o->occurred;
    o->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_DATA_EXPORTED;
    o->ev.customer_data_exported = b;
    o->ev.customer_id = (char *)id;
    w->id = id;
    w->answer = export_after_commit;
    return write_submit_if_exists(w, &o->ev, "SELECT 1 FROM router.customers WHERE id = $1",
                                  "customer", id);
}
