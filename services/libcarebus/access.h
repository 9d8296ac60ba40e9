/* access.h — who may do what: the decision, apart from where its facts come
 * from.
 *
 * A key's grant (its scopes, its channels, the agent it is bound to) is a
 * plain value that a request copies, so that a decision taken after a
 * suspension never reads a key table reloaded meanwhile. The functions here
 * are pure: grant + the route's scope + facts about the ticket or event ->
 * allow, or deny with the reason, the scope that would allow it and the
 * message a 403 says. auth.h answers the 403s; the services read the facts
 * (ACCESS_SQL_TICKET_WITHIN is the channel rule for SQL, reads and lists).
 *
 * The rules: a route needs its scope (scope.h: supervisor grants agent). A
 * key bound to an agent acts as that agent only (a request naming another
 * is refused), and, without the supervisor scope, only on the tickets
 * assigned to that agent or to one of its teams. A key limited to channels
 * posts and reads only through them: a ticket whose contacts all came
 * through them, an event of one of them; anything that names no channel
 * needs a key for every channel.
 */
#ifndef CAREBUS_ACCESS_H
#define CAREBUS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "id.h"
#include "scope.h"

/* Bit c is set when channel c is allowed. */
#define ACCESS_ALL_CHANNELS UINT32_MAX
/* An agent id: at most 128 bytes, as the API takes them. */
#define ACCESS_AGENT_MAX 128

struct access_grant {
    char id[ID_LEN];                     /* the key's uuid, or "bootstrap" */
    unsigned scopes;                     /* SCOPE_* */
    uint32_t channels;                   /* ACCESS_ALL_CHANNELS, or the allowed ones */
    char agent_id[ACCESS_AGENT_MAX + 1]; /* "" unless bound to an agent */
    int64_t expires_us;                  /* when it stops working (us since 1970), 0: never */
};

enum access_why {
    ACCESS_OK,
    ACCESS_SCOPE,               /* the route's scope is missing */
    ACCESS_CHANNEL,             /* a channel the key is not for */
    ACCESS_ALL_CHANNELS_NEEDED, /* the operation names no channel */
    ACCESS_TICKET_CHANNELS,     /* a ticket with contacts through other channels */
    ACCESS_NOT_ITS_TICKET,      /* an agent key on another agent's or team's ticket */
    ACCESS_OTHER_AGENT,         /* an agent key naming another agent */
    ACCESS_OUTLIVES             /* a key that would outlive the one asking */
};

struct access_denial {
    enum access_why why;
    unsigned scope;    /* the scope that would allow it (SCOPE_*), 0: none would */
    const char *field; /* the request's part at fault, or NULL */
    char message[320];
};

/* What the router knows of the ticket a request acts on or reads. */
struct access_ticket {
    const char *assignee;           /* NULL or "": nobody */
    const char *team;               /* NULL or "": none */
    const char *const *agent_teams; /* the key's agent's teams (router.agents) */
    size_t n_agent_teams;
    bool within_channels; /* every contact of it came through the key's channels */
};

struct access_facts {
    const struct access_ticket *ticket; /* NULL: the request names no ticket */
    const char *as_agent;               /* the agent the request names; NULL/"": none */
    const char *as_field;               /* where it names it: "agent_id", "actor", "id" */
};

/* The decision: may a key with grant g use a route needing `need` (one
 * SCOPE_* or SCOPE_PUBLIC), given the facts (NULL: none)? True, or false
 * with *d filled. Reading a ticket (need READ) checks its channels; acting
 * on one (need AGENT) checks the agent's tickets and teams. */
bool access_decide(const struct access_grant *g, unsigned need, const struct access_facts *f,
                   struct access_denial *d);

/* May a key with grant g make, see or revoke a key whose grant is k (keys.c
 * of channel-ingest)? Only one within its own grant: every scope of k is
 * one g has (a key gives nothing it does not hold; refused naming the
 * first missing scope, field "scopes"), every channel of k one of g's (a
 * key for some channels never makes one for every channel: field
 * "channels"), when g is bound to an agent, k bound to that same agent
 * (field "agent_id"), and, when g expires, k expiring no later (field
 * "expires_at": a key never makes one that outlives it). */
bool access_within(const struct access_grant *g, const struct access_grant *k,
                   struct access_denial *d);

/* A key limited to channels: may it use channel c? */
bool access_channel(const struct access_grant *g, Carebus__V1__Channel c, struct access_denial *d);
/* May it do what names no channel (a key for every channel)? */
bool access_all_channels(const struct access_grant *g, struct access_denial *d);
/* May it read an event whose channel is c (false: the event has none)? */
bool access_event(const struct access_grant *g, bool has_channel, Carebus__V1__Channel c,
                  struct access_denial *d);

/* The scopes of the key an agent gets by signing in with their password
 * (POST /v1/sessions): read and agent, and supervisor for a supervisor
 * (role as router.agents spells it). */
unsigned access_agent_scopes(const char *role);

/* Who a request acts as, for an event's `actor`: the key's agent, or else
 * the key's id (borrowed from g). */
const char *access_actor(const struct access_grant *g);

/* The channel an event was posted through, when its body has one (a
 * contact, a call, a reply on a channel). */
bool access_event_channel(const event *ev, Carebus__V1__Channel *c);

/* "a,b" or NULL (every channel) -> a mask; unknown names are counted in
 * *unknown (may be NULL) and ignored. */
uint32_t access_channels_mask(const char *list, int *unknown);
/* The key's channels as a PostgreSQL text[] literal ("{zalo,email}") into
 * out, for ACCESS_SQL_TICKET_WITHIN's parameter; NULL (every channel: pass
 * SQL NULL) when the key is not limited. NULL also when out is too small
 * for a limited key: the caller must check limited keys get a literal. */
const char *access_channels_param(const struct access_grant *g, char *out, size_t n);
#define ACCESS_CHANNELS_PARAM_LEN 512

/* The channel rule for reading tickets, in SQL: true when the ticket (the
 * router.tickets row aliased t) may be read by a key whose channels are the
 * text[] parameter p (NULL: every channel). The one spelling of the rule
 * for the single read and for lists (an anti-join on messages_ticket). */
#define ACCESS_SQL_TICKET_WITHIN(t, p)                                                             \
    "(" p "::text[] IS NULL OR (" t ".channel = ANY (" p "::text[]) AND NOT EXISTS ("              \
    "SELECT 1 FROM router.messages am WHERE am.ticket_id = " t ".id AND am.direction = 'in'"       \
    " AND am.channel <> ALL (" p "::text[]))))"

#endif
