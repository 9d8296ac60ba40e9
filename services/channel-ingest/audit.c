/* audit.c — see audit.h.
 *
 * Subtle: once the event is committed, the request's grant (its copy, not
 * the key's) gains the read scope, and the route's handler runs again from
 * the top: its audit_hold then lets it through, and its own checks (a
 * ticket's channels) are a read key's. The handler may replace the
 * request's data, which frees this write_req: nothing here touches it after
 * the handler runs.
 */
#include "audit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

bool audit_guard(ingest *in, http_req *r, unsigned access)
{
    if (!(access & AUDIT_READ))
        return auth_guard(in->auth, r, access);
    const struct auth_key *k = auth_request(in->auth, r);
    if (!k)
        return false;
    const struct access_grant *g = &k->grant;
    if (scope_grants(g->scopes, SCOPE_READ) || !scope_grants(g->scopes, SCOPE_ADMIN))
        return auth_admit(in->auth, r, g, access & SCOPE_MASK);
    const char *reason = http_query(r, AUDIT_REASON);
    if (!reason || !reason[0]) {
        struct access_denial d = {.why = ACCESS_SCOPE, .scope = SCOPE_READ};
        snprintf(d.message, sizeof d.message,
                 "this key lacks the \"read\" scope: an admin key reads a customer's data only"
                 " with a reason (the \"" AUDIT_REASON "\" query parameter), and the read is"
                 " recorded");
        auth_deny(in->auth, r, &d);
        return false;
    }
    if (strlen(reason) > AUDIT_REASON_MAX) {
        auth_reject(in->auth, r, 400, "invalid_field", AUDIT_REASON,
                    "\"" AUDIT_REASON "\" is at most %d bytes", AUDIT_REASON_MAX);
        return false;
    }
    return auth_admit(in->auth, r, g, SCOPE_ADMIN);
}

static void audit_release(struct write_req *w)
{
    free(w->u.op.body.read.parameters);
    free(w->u.op.body.read.route);
    w->u.op.body.read.parameters = NULL;
    w->u.op.body.read.route = NULL;
}

/* The read is recorded: the handler again, as a read key. */
static void audit_on_commit(struct write_req *w, struct eventlog_entry *e)
{
    (void)e;
    http_req *r = w->r;
    ingest *in = w->in;
    struct access_grant g = *auth_grant(r);
    g.scopes |= SCOPE_READ;
    const struct http_route *rt = http_route_of(r);
    if (!rt || http_set_auth(r, &g, sizeof g) != 0) {
        ingest_reply_unavailable(r);
        return;
    }
    metrics_add("carebus_ingest_audited_reads_total", 1);
    /* w may be freed from here on (audit.c's header). */
    (void)rt->fn(r, in);
}

bool audit_hold(http_req *r, ingest *in, enum audit_subject subject, http_status *st)
{
    const struct access_grant *g = auth_grant(r);
    if (!g || scope_grants(g->scopes, SCOPE_READ))
        return false;
    const char *id = http_param(r, "id");
    /* An id that is no id is answered 404 by the handler: nothing is read. */
    if (subject != AUDIT_NONE && (!id || !id_valid(id) || strlen(id) != ID_LEN - 1))
        return false;
    *st = HTTP_DONE;
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return true;
    struct op *o = &w->u.op;
    carebus__v1__envelope__init(&o->ev);
    Carebus__V1__CustomerDataRead *b = &o->body.read;
    carebus__v1__customer_data_read__init(b);
    w->release = audit_release;
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n = 0;
    lists_args(r, args, &n);
    if (n && !(b->parameters = calloc(n, sizeof *b->parameters))) {
        ingest_reply_unavailable(r);
        return true;
    }
    for (size_t i = 0; i < n; i++)
        b->parameters[b->n_parameters++] = (char *)args[i].name;
    const struct http_route *rt = http_route_of(r);
    assert(rt && "an AUDIT_READ route of the table");
    size_t rlen = strlen(rt->method) + 1 + strlen(rt->pattern) + 1;
    if (!(b->route = malloc(rlen))) {
        ingest_reply_unavailable(r);
        return true;
    }
    snprintf(b->route, rlen, "%s %s", rt->method, rt->pattern);
    b->actor = (char *)access_actor(g);
    b->reason = (char *)http_query(r, AUDIT_REASON);
    google__protobuf__timestamp__init(&o->occurred);
    event_ts_set(&o->occurred, time_now_us());
    o->ev.occurred_at = &o->occurred;
    o->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_DATA_READ;
    o->ev.customer_data_read = b;
    if (subject == AUDIT_CUSTOMER)
        o->ev.customer_id = (char *)id;
    else if (subject == AUDIT_TICKET)
        o->ev.ticket_id = (char *)id;
    w->answer = audit_on_commit;
    *st = write_submit(w, &o->ev);
    return true;
}
