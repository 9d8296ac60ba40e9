/* router.c — the router's event table: body case -> handler.
 *
 * Like Redis's command table: the table is the whole list of what the
 * router reacts to. Bodies it has no handler for (the router's own
 * ticket.* events, SLA and survey events, the types of issue 4 still to
 * come) are acknowledged without effect, so that the offset moves on and a
 * later version can rebuild them from the log.
 */
#include "router.h"

#include <stdlib.h>

#include "contact.h"
#include "identity.h"
#include "log.h"

static const router_handler_fn router_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED] = contact_received,
    /* XXX: issue 4 adds agent.presence, ticket.status_changed,
     * ticket.transfer_requested, customer.profile_updated, call.ended and
     * sla.escalation here. */
};

router *router_new(void)
{
    router *r = calloc(1, sizeof *r);
    if (!r) {
        log_error("router: out of memory");
        return NULL;
    }
    r->default_team = ROUTER_DEFAULT_TEAM;
    /* XXX: CAREBUS_DEFAULT_COUNTRY comes with the countries it can name;
     * identity.c knows Vietnam's numbering only. */
    r->country = IDENTITY_DEFAULT_COUNTRY;
    return r;
}

void router_destroy(router **pr)
{
    free(*pr);
    *pr = NULL;
}

consumer_result router_apply(consumer_txn *tx, const event *ev, void *arg)
{
    router *r = arg;
    size_t c = (size_t)ev->body_case;
    /* Cases below the first body (NOT_SET) and beyond the table are holes,
     * as are bodies of a newer schema. */
    if (c >= sizeof router_handlers / sizeof router_handlers[0] || !router_handlers[c])
        return CONSUMER_OK;
    return router_handlers[c](r, tx, ev);
}
