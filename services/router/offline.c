/* offline.c — see offline.h. */
#include "offline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "log.h"
#include "timeutil.h"

#define OFFLINE CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE
/* The log's idempotency scope of the timer's decisions. */
#define OFFLINE_SCOPE "router:offline"

void offline_track(m_agent *a, const route_item *it)
{
    if (a->presence != OFFLINE) {
        a->offline_since = MODEL_NONE;
        a->offline_event[0] = '\0';
    } else if (a->offline_since == MODEL_NONE) {
        a->offline_since = it->rec;
        snprintf(a->offline_event, sizeof a->offline_event, "%s", it->ev->event_id);
    }
}

bool offline_due(int64_t since, int64_t now, int64_t grace_us)
{
    return since != MODEL_NONE && now >= since && now - since >= grace_us;
}

/* --- applying a decision ---------------------------------------------------------- */

/* Why the decision no longer holds at its place in the log, or NULL. */
static const char *stale(const model *m, const m_ticket *tk, int a, const event *ev)
{
    const Carebus__V1__TicketUnassigned *x = ev->ticket_unassigned;
    if (!model_ticket_active(tk) || tk->merged_into >= 0)
        return "the ticket is no longer open";
    if (!tk->assignee || strcmp(tk->assignee, x->from_agent_id) != 0)
        return "the ticket is no longer that agent's";
    if (a < 0)
        return "the agent is unknown";
    const m_agent *ag = &m->agent[a];
    if (strcmp(x->reason, OFFLINE_REASON_INACTIVE) == 0)
        return ag->active ? "the agent is active again" : NULL;
    if (strcmp(x->reason, OFFLINE_REASON_OFFLINE) == 0)
        return ag->presence != OFFLINE || strcmp(ag->offline_event, ev->causation_id) != 0
                   ? "the agent came back since"
                   : NULL;
    return "an unknown reason";
}

int offline_unassigned(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TicketUnassigned *x = it->ev->ticket_unassigned;
    int t = route_named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    int a = model_agent(m, x->from_agent_id);
    const char *why = stale(m, tk, a, it->ev);
    if (why) {
        log_write(LOG_INFO, route_item_fields(it), "ticket.unassigned %s: %s: nothing to do",
                  it->ev->event_id, why);
        return 0;
    }
    route_agent_release(c, t);
    tk = &m->tick[t];
    tk->assignee = NULL;
    tk->queued = MODEL_NONE;
    tk->updated = it->at > tk->updated ? it->at : tk->updated;
    tk->dirty = true;
    char detail[400], text[320];
    snprintf(detail, sizeof detail, "{\"from_agent_id\":\"%s\",\"reason\":\"%s\"}", m->agent[a].id,
             x->reason);
    snprintf(text, sizeof text, "returned to the queue: %.128s is %s", m->agent[a].id,
             strcmp(x->reason, OFFLINE_REASON_INACTIVE) == 0 ? "no longer active"
                                                             : "offline beyond the grace period");
    route_note(c, it, t, "ticket.unassigned", 0, detail, text);
    return route_assign_or_queue(c, t, it->at);
}

/* --- the timer ----------------------------------------------------------------------- */

/* Tickets held by agents offline beyond the grace ($1 seconds) or
 * inactive, while the router is not far behind; at most $2. */
/* clang-format off */
static const char OFFLINE_DUE_SQL[] =
    "SELECT t.id::text AS ticket_id, t.customer_id::text AS customer_id,"
    "       coalesce(t.team, '') AS team, a.id AS agent_id,"
    "       CASE WHEN a.active THEN '" OFFLINE_REASON_OFFLINE "'"
    "            ELSE '" OFFLINE_REASON_INACTIVE "' END AS reason,"
    "       coalesce(a.offline_event_id::text, '') AS cause,"
    "       coalesce((extract(epoch FROM a.saved_at) * 1000000)::bigint, 0) AS saved_us"
    "  FROM router.agents a"
    "  JOIN router.tickets t ON t.assignee = a.id AND t.status IN ('open', 'pending')"
    " WHERE (NOT a.active OR (a.presence = 'offline' AND a.offline_event_id IS NOT NULL"
    "        AND a.offline_since <= now() - make_interval(secs => $1::double precision)))"
    "   AND (SELECT p.ingest_seq FROM router.position p) + $3::bigint"
    "       >= (SELECT s.last_seq FROM eventlog.streams s WHERE s.stream = 'ingest')"
    " ORDER BY t.id LIMIT $2::int";
/* clang-format on */

struct decision {
    event ev;
    Carebus__V1__TicketUnassigned body;
    Google__Protobuf__Timestamp at;
    char key[512];
};

int offline_decide(db *d, int64_t grace_us)
{
    char grace[32], limit[16], behind[16];
    snprintf(grace, sizeof grace, "%.6f", (double)grace_us / 1e6);
    snprintf(limit, sizeof limit, "%d", OFFLINE_BATCH);
    snprintf(behind, sizeof behind, "%d", OFFLINE_BEHIND_MAX);
    const char *params[] = {grace, limit, behind};
    PGresult *r = db_exec(d, OFFLINE_DUE_SQL, 3, params);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return 0;
    }
    struct decision *ds = calloc((size_t)n, sizeof *ds);
    struct eventlog_entry *es = calloc((size_t)n, sizeof *es);
    int rc = -1, appended = 0;
    if (!ds || !es) {
        log_error("router: out of memory deciding on offline agents' tickets");
        goto out;
    }
    int64_t now = time_now_us();
    for (int i = 0; i < n; i++) {
        struct decision *x = &ds[i];
        carebus__v1__envelope__init(&x->ev);
        carebus__v1__ticket_unassigned__init(&x->body);
        google__protobuf__timestamp__init(&x->at);
        event_ts_set(&x->at, now);
        x->body.from_agent_id = (char *)db_value(r, i, "agent_id");
        x->body.team = (char *)db_value(r, i, "team");
        x->body.reason = (char *)db_value(r, i, "reason");
        x->body.actor = OFFLINE_ACTOR;
        x->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_UNASSIGNED;
        x->ev.ticket_unassigned = &x->body;
        x->ev.ticket_id = (char *)db_value(r, i, "ticket_id");
        x->ev.customer_id = (char *)db_value(r, i, "customer_id");
        x->ev.occurred_at = &x->at;
        bool inactive = strcmp(x->body.reason, OFFLINE_REASON_INACTIVE) == 0;
        /* Once per offline period (or deactivation) and ticket. */
        if (inactive)
            snprintf(x->key, sizeof x->key, "inactive/%s/%s/%.200s", db_value(r, i, "saved_us"),
                     x->ev.ticket_id, x->body.from_agent_id);
        else
            snprintf(x->key, sizeof x->key, "offline/%s/%s", db_value(r, i, "cause"),
                     x->ev.ticket_id);
        x->ev.causation_id = inactive ? "" : (char *)db_value(r, i, "cause");
        es[i].ev = &x->ev;
        es[i].idem_scope = OFFLINE_SCOPE;
        es[i].idem_key = x->key;
    }
    appended = eventlog_append_commit(d, "ingest", es, (size_t)n);
    if (appended < 0)
        goto out;
    if (appended)
        log_info("router: %d tickets of agents offline beyond the grace or inactive go back to "
                 "the queue (ticket.unassigned)",
                 appended);
    rc = appended;
out:
    for (int i = 0; es && i < n; i++)
        eventlog_entry_release(&es[i]);
    free(es);
    free(ds);
    PQclear(r);
    return rc;
}
