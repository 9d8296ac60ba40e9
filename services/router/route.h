/* route.h — what each event does to the router's state.
 *
 * route_prepare reads an event once (normalised handles, its time); the
 * batch's keys (route_keys) tell store_prefetch what to load; route_apply
 * then applies the events in order to the model, emitting the router's
 * events as it goes. Everything derives from the events: ids from their
 * ids, times from their times, choices (oldest customer, least loaded
 * agent, queue order) broken by ids when all else is equal.
 */
#ifndef CAREBUS_ROUTER_ROUTE_H
#define CAREBUS_ROUTER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "ack.h"
#include "emit.h"
#include "identity.h"
#include "model.h"
#include "rules.h"

/* One event of a batch, read once. */
typedef struct route_item {
    const event *ev;
    int64_t rec;             /* recorded_at (set by the caller) */
    int64_t at;              /* occurred_at, else recorded_at */
    struct identity_set ids; /* contacts and calls: the customer's handles */
    bool skip;               /* nothing to do (logged) */
    /* A contact whose personal fields are erased (no handles, no text):
     * what the router decided for it before (recall.h). */
    bool erased;
    struct route_recalled {
        /* The customers it went on: its own first, then those it merged
         * into it; none when the router never routed it. */
        char customers[IDENTITY_SET_MAX + 1][ID_LEN];
        size_t ncustomers;
        /* What the rules found in its text, from its ticket.classified:
         * the category and rule ("": none, OTHER), the urgent word as the
         * rules file writes it ("": none). */
        Carebus__V1__Category category;
        char rule[128], urgent[128];
    } recalled;
} route_item;

/* What a batch's events name, for store_prefetch. threads: the tickets
 * replies go on (whose conversations and customers' handles address
 * them). */
typedef struct route_keys {
    const char **kinds, **values, **refs, **tickets, **customers, **threads;
    size_t nidents, nrefs, ntickets, ncustomers, nthreads;
    size_t cidents, cvalues, crefs, ctickets, ccustomers, cthreads;
} route_keys;

typedef struct route_ctx {
    model *m;
    emitter *em;
    const char *country;
    const ack *ack;           /* acknowledgements; NULL: none */
    const char *email_domain; /* of carebus's own Message-IDs */
    /* Teams whose queues an event may drain (agents freed or arrived). */
    const char **drain;
    size_t ndrain, cdrain;
    /* Who asked for the merge being applied, and why (merge.h): recorded
     * with it and on its events; NULL while a contact merges. */
    const char *actor, *reason;
} route_ctx;

/* Reads it->ev (it->rec set): sets at, ids, skip. */
void route_prepare(route_item *it, const char *country);
/* Adds what it names to k (strings borrowed from the event). */
void route_keys_add(model *m, route_keys *k, const route_item *it);
/* True for the bodies the router reacts to; *stream (may be NULL) gets
 * the stream it reads them from ("ingest", "courier"; NULL: any). */
bool route_handles(Carebus__V1__Envelope__BodyCase bc, const char **stream);
/* Applies it to c->m. 0, or -1 when a statement failed (the batch rolls
 * back). */
int route_apply(route_ctx *c, const route_item *it);

/* --- what route.c lends the work API's handlers ----------------------------
 * (agents.c, teams.c, manual.c, canned.c, offline.c: route_table's entries
 * for agent.saved, team.saved, ticket.assign_requested,
 * ticket.update_requested, ticket.unassigned, canned.saved and
 * canned.deleted), so that assignment, queues, priority and the timeline
 * stay written once. */

/* True for NULL, "" and white space. */
bool route_blank(const char *s);
/* The event's place, for log lines (a new reference). */
json_t *route_item_fields(const route_item *it);
/* The ticket the event names, following merges; -1 (logged) if unknown. */
int route_named_ticket(route_ctx *c, const route_item *it);
/* The ticket's customer (its final survivor) and id, for emit(). */
const char *route_ticket_customer(route_ctx *c, int t);
/* True when team is a team transfers and assignments may name. */
bool route_team_exists(const model *m, const char *team);
/* Frees t's assignee's capacity (their teams' queues are drained after
 * the event). */
void route_agent_release(route_ctx *c, int t);
/* Gives t to agent a (even beyond capacity). */
void route_agent_take(route_ctx *c, int a, int t, int64_t at);
/* Emits ticket.assigned for t as it stands; actor: the person who
 * assigned it (manual), NULL for the rules. 0 or -1. */
int route_emit_assigned(route_ctx *c, int t, int64_t at, const char *actor);
/* Gives t to its team's best free agent, or queues it; emits
 * ticket.assigned (and ticket.queued). 0 or -1. */
int route_assign_or_queue(route_ctx *c, int t, int64_t at);
/* Recomputes t's priority (manual.h's override first): true when it
 * changed. */
bool route_priority_update(route_ctx *c, int t);
/* Emits ticket.classified with t's category and priority. 0 or -1. */
int route_emit_classified(route_ctx *c, int t, int64_t at);
/* Teams whose queues the event's drain looks at. */
void route_drain_teams(route_ctx *c, const char *const *teams, size_t n);
/* A note's detail as JSON text (the caller frees it; NULL writes {}):
 * takes o. */
char *route_note_detail(json_t *o);
/* A note on t's timeline (detail: JSON text or NULL). */
void route_note(route_ctx *c, const route_item *it, int t, const char *kind, int ord,
                const char *detail, const char *text);

/* ... and the work API's merges, unmerges and imports (merge.c,
 * unmerge.c, import.c), so that a merge a person asks for and one a
 * contact reveals move the same rows and emit the same events. */

/* True when a contact's or an import's handles read as erased: its data
 * key was destroyed (datakey.h), which erases every personal field at
 * once. */
bool route_ref_erased(const Carebus__V1__CustomerRef *who);
/* The customers owning it's handles, survivors only, each once, the
 * oldest first; customers an unmerge keeps apart are not put together
 * (unmerge_owners). Returns how many. */
size_t route_owners(model *m, const route_item *it, int owners[IDENTITY_SET_MAX + 1]);
/* Files it's handles that nobody owns under customer cu (their origin). */
void route_identities_add(route_ctx *c, const route_item *it, int cu);
/* A new customer whose id derives from it's event (never fails). */
int route_customer_new(route_ctx *c, const route_item *it, const char *name);
/* Folds customer o into s (survivors both): handles, tickets, an active
 * ticket into s's; c->actor and c->reason say who asked. 0 or -1. */
int route_customer_merge(route_ctx *c, const route_item *it, int s, int o);
/* Ticket f joins ticket t (finals both, one customer). 0 or -1. */
int route_ticket_merge(route_ctx *c, const route_item *it, int f, int t, const char *actor,
                       const char *reason);
/* The customer's active ticket (the latest opened), -1. */
int route_active_ticket(const model *m, int cu);
/* Reopens ticket t (solved, or closed by a merge an unmerge undid): open,
 * its previous assignee if free, else its team's queue; a note saying
 * why. 0 or -1. */
int route_reopen(route_ctx *c, const route_item *it, int t, const char *why);

/* True for an event applied in a batch of its own, against the state the
 * events before it wrote (an unmerge: unmerge.h): its keys come from the
 * database, and it moves rows that the model of a batch does not hold. */
bool route_barrier(const route_item *it);
/* Adds to k what it names that only the database knows (a barrier's plan,
 * read now in the caller's transaction). 0, or -1 when a query failed. */
int route_keys_load(model *m, route_keys *k, const route_item *it);

#endif
