/* merge.c — see merge.h. */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ST_CLOSED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED
#define ST_SOLVED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED

static bool given(const char *s)
{
    return s && s[0];
}

/* Who asked: a merge a person asks for always has one (the API sets the
 * key's agent or id), so that it differs from a contact's. */
static const char *actor_of(const char *actor)
{
    return given(actor) ? actor : "a person";
}

void merge_prepare(route_item *it)
{
    const event *ev = it->ev;
    const char *a, *b, *what;
    if (ev->body_case == CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED) {
        a = ev->ticket_id;
        b = ev->ticket_merge_requested->into_ticket_id;
        what = "ticket_id and into_ticket_id";
    } else {
        a = ev->customer_merge_requested->survivor_id;
        b = ev->customer_merge_requested->merged_id;
        what = "survivor_id and merged_id";
    }
    if (!id_valid(a) || !id_valid(b) || strcmp(a, b) == 0) {
        log_write(LOG_WARN, route_item_fields(it), "%s %s: %s must be two valid ids: skipped",
                  ev->type, ev->event_id, what);
        it->skip = true;
    }
}

/* Refused: logged, nothing changes. */
static int refuse(const route_item *it, const char *fmt, const char *a, const char *b)
{
    char why[256];
    snprintf(why, sizeof why, fmt, a, b);
    log_write(LOG_INFO, route_item_fields(it), "%s %s: %s: nothing merged", it->ev->type,
              it->ev->event_id, why);
    return 0;
}

int merge_tickets(route_ctx *c, const route_item *it)
{
    model *m = c->m;
    const Carebus__V1__TicketMergeRequested *r = it->ev->ticket_merge_requested;
    int f = model_ticket_final(m, model_ticket(m, it->ev->ticket_id));
    int t = model_ticket_final(m, model_ticket(m, r->into_ticket_id));
    if (f < 0 || t < 0)
        return refuse(it, "unknown ticket %s or %s", it->ev->ticket_id, r->into_ticket_id);
    if (f == t)
        return refuse(it, "ticket %s is already one with %s", it->ev->ticket_id, r->into_ticket_id);
    if (m->tick[f].status == ST_CLOSED || m->tick[t].status == ST_CLOSED)
        return refuse(it, "ticket %s or %s is closed", m->tick[f].id, m->tick[t].id);
    int cf = model_customer_final(m, m->tick[f].cust),
        ct = model_customer_final(m, m->tick[t].cust);
    if (cf != ct)
        return refuse(it, "tickets of two customers (%s, %s): merge the customers first",
                      m->cust[cf].id, m->cust[ct].id);
    bool reopen = m->tick[t].status == ST_SOLVED && model_ticket_active(&m->tick[f]);
    const char *actor = actor_of(r->actor);
    if (route_ticket_merge(c, it, f, t, actor, given(r->reason) ? r->reason : NULL) != 0)
        return -1;
    if (!reopen)
        return 0;
    char why[400];
    snprintf(why, sizeof why, "reopened: open ticket %s was merged into it by %.128s",
             m->tick[f].id, actor);
    return route_reopen(c, it, t, why);
}

int merge_customers(route_ctx *c, const route_item *it)
{
    model *m = c->m;
    const Carebus__V1__CustomerMergeRequested *r = it->ev->customer_merge_requested;
    int s = model_customer_final(m, model_customer(m, r->survivor_id));
    int o = model_customer_final(m, model_customer(m, r->merged_id));
    if (s < 0 || o < 0)
        return refuse(it, "unknown customer %s or %s", r->survivor_id, r->merged_id);
    if (s == o)
        return refuse(it, "customers %s and %s are already one", r->survivor_id, r->merged_id);
    c->actor = actor_of(r->actor);
    c->reason = given(r->reason) ? r->reason : NULL;
    int rc = route_customer_merge(c, it, s, o);
    if (rc == 0) {
        int t = route_active_ticket(m, s);
        char text[600];
        snprintf(text, sizeof text, "customer %s was merged into customer %s by %.128s%s%.300s",
                 m->cust[o].id, m->cust[s].id, c->actor, c->reason ? ": " : "",
                 c->reason ? c->reason : "");
        if (t >= 0) {
            char *d = route_note_detail(json_pack("{s:s, s:s, s:s, s:s*}", "merged_id",
                                                  m->cust[o].id, "survivor_id", m->cust[s].id,
                                                  "actor", c->actor, "reason", c->reason));
            route_note(c, it, t, "customer.merged", 0, d, text);
            free(d);
        }
    }
    c->actor = c->reason = NULL;
    return rc;
}
