/* recall.c — see recall.h. */
#include "recall.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "eventlog.h"
#include "log.h"
#include "manual.h"

/* The events of one type a contact can cause, read back: one merge per
 * owner but the survivor; a classification per merge and its own. */
#define RECALL_MERGES (IDENTITY_SET_MAX + 1)
#define RECALL_CLASSIFIED (2 * RECALL_MERGES + 2)
#define RECALL_IDS (1 + 1 + RECALL_MERGES + RECALL_CLASSIFIED)

static const char urgent_reason[] = "urgent_word:";

static void recall_customer(struct route_recalled *r, const char *id)
{
    if (!id || !id_valid(id) || r->ncustomers >= IDENTITY_SET_MAX + 1)
        return;
    for (size_t i = 0; i < r->ncustomers; i++)
        if (strcmp(r->customers[i], id) == 0)
            return;
    snprintf(r->customers[r->ncustomers++], ID_LEN, "%s", id);
}

/* The rules' part of a classification (rules.h: the category its rule
 * gave; the urgent word its reason "urgent_word:<word> +<boost>" names);
 * a person's category (MANUAL_RULE) is not the rules'. */
static void recall_classified(struct route_recalled *r, const Carebus__V1__TicketClassified *c)
{
    r->category = CAREBUS__V1__CATEGORY__CATEGORY_OTHER;
    r->rule[0] = r->urgent[0] = '\0';
    if (c->category != CAREBUS__V1__CATEGORY__CATEGORY_OTHER && c->rule && c->rule[0] &&
        strcmp(c->rule, MANUAL_RULE) != 0) {
        r->category = c->category;
        snprintf(r->rule, sizeof r->rule, "%s", c->rule);
    }
    for (size_t i = 0; i < c->n_reasons; i++) {
        const char *s = c->reasons[i];
        if (strncmp(s, urgent_reason, sizeof urgent_reason - 1) != 0)
            continue;
        snprintf(r->urgent, sizeof r->urgent, "%s", s + sizeof urgent_reason - 1);
        char *sp = strrchr(r->urgent, ' ');
        if (sp && (sp[1] == '+' || sp[1] == '-') && isdigit((unsigned char)sp[2]))
            *sp = '\0';
    }
}

static int recall_ids(const char *cause, char *out, size_t n)
{
    static const struct {
        const char *type;
        int count;
    } kinds[] = {{"ticket.contact_added", 1},
                 {"customer.import_applied", 1},
                 {"customer.merged", RECALL_MERGES},
                 {"ticket.classified", RECALL_CLASSIFIED}};
    size_t used = 0;
    char name[160], id[ID_LEN];
    out[used++] = '{';
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        for (int i = 0; i < kinds[k].count; i++) {
            /* emit.h's ids: "<cause>/<type>/<k>". */
            snprintf(name, sizeof name, "%s/%s/%d", cause, kinds[k].type, i);
            id_derive(name, id);
            int w = snprintf(out + used, n - used, "%s%s", used > 1 ? "," : "", id);
            if (w < 0 || (size_t)w >= n - used)
                return -1;
            used += (size_t)w;
        }
    if (used + 2 > n)
        return -1;
    out[used++] = '}';
    out[used] = '\0';
    return 0;
}

int recall_load(db *d, route_item *it)
{
    struct route_recalled *rc = &it->recalled;
    memset(rc, 0, sizeof *rc);
    rc->category = CAREBUS__V1__CATEGORY__CATEGORY_OTHER;
    if (!it->erased || it->skip)
        return 0;
    bool import = it->ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED;
    char ids[RECALL_IDS * ID_LEN + 8];
    int ok = recall_ids(it->ev->event_id, ids, sizeof ids);
    assert(ok == 0);
    (void)ok;
    const char *p[] = {ids};
    PGresult *r = db_exec_binary(
        d,
        "SELECT e.type, coalesce(e.ticket_id::text, '') AS ticket_id,"
        " coalesce(e.customer_id::text, '') AS customer_id, e.payload, " EVENTLOG_DATAKEY_COL
        " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN
        " WHERE e.event_id = ANY ($1::uuid[]) AND e.stream = 'router' ORDER BY e.seq",
        1, p);
    if (!r)
        return -1;
    int c_type = PQfnumber(r, "type"), c_tick = PQfnumber(r, "ticket_id"),
        c_cust = PQfnumber(r, "customer_id"), c_pay = PQfnumber(r, "payload"),
        c_key = PQfnumber(r, "datakey"), failed = 0;
    /* The contact's ticket and customer: those its ticket.contact_added
     * names; an import's customer, the one its customer.import_applied
     * names (an import has no ticket). */
    const char *placed = import ? "customer.import_applied" : "ticket.contact_added";
    const char *ticket = "", *customer = NULL;
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, c_type), placed) == 0) {
            ticket = PQgetvalue(r, i, c_tick);
            customer = PQgetvalue(r, i, c_cust);
        }
    /* Its customer first: the survivor of the merges it made. */
    recall_customer(rc, customer);
    if (rc->ncustomers == 0)
        ticket = "";
    buf b = BUF_INIT;
    for (int i = 0; rc->ncustomers > 0 && i < PQntuples(r); i++) {
        if (strcmp(PQgetvalue(r, i, c_type), placed) == 0)
            continue;
        event *ev = eventlog_event_row(r, i, c_pay, c_key, &b);
        if (!ev) {
            failed = 1;
            break;
        }
        switch (ev->body_case) {
        case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED:
            recall_customer(rc, ev->customer_merged->merged_id);
            break;
        case CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED:
            /* The last of its ticket's: the contact's own, after any a
             * merge made. */
            if (ticket[0] && strcmp(PQgetvalue(r, i, c_tick), ticket) == 0)
                recall_classified(rc, ev->ticket_classified);
            break;
        default:
            break;
        }
        event_destroy(&ev);
    }
    buf_release(&b);
    PQclear(r);
    if (failed) {
        log_write(LOG_ERROR, route_item_fields(it),
                  "contact %s: the router's events for it do not read", it->ev->event_id);
        return -1;
    }
    if (rc->ncustomers == 0 && import) {
        /* Applied before the router said where (customer.import_applied):
         * it makes its own customer (import.h). */
        return 0;
    }
    if (rc->ncustomers == 0) {
        /* Only routed contacts' keys are destroyed by an erasure: this one
         * was skipped when it came (its handles did not normalise). */
        log_write(LOG_INFO, route_item_fields(it), "contact %s: erased, and never routed: skipped",
                  it->ev->event_id);
        it->skip = true;
    }
    return 0;
}
