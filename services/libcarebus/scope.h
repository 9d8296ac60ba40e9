/* scope.h — what an API key may do: the scopes, named once.
 *
 * SCOPE_LIST is the one list. Each scope has a bit, its spelling (the API's,
 * carebusctl's and ingest.api_keys.scopes'), the scopes that also grant it
 * (a supervisor may do what an agent does, on any ticket) and a line for the
 * documentation. Routes declare the one scope they need in their table's
 * access column (like Redis's command flags); SCOPE_PUBLIC marks the routes
 * no API key opens (signed webhooks, sign-in pages). A key stores its scopes
 * as text, so a name this build does not know is ignored, never fatal: a
 * newer carebusctl may know more.
 */
#ifndef CAREBUS_SCOPE_H
#define CAREBUS_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

/* X(ID, "name", granted also by (a SCOPE_* mask or 0), "what it allows") */
#define SCOPE_LIST(X)                                                                              \
    X(INGEST, "ingest", 0u,                                                                        \
      "post contacts, calls, e-mail and customer data (POST /v1/messages, /v1/calls, "             \
      "/v1/webhooks/email, PUT /v1/customers/{id})")                                               \
    X(READ, "read", 0u,                                                                            \
      "read events, tickets, customers, lists, queues and KPIs (the dashboard too)")               \
    X(AGENT, "agent", SCOPE_SUPERVISOR,                                                            \
      "act on tickets as the key's agent: replies, notes, status changes, transfers, presence "    \
      "(only the tickets assigned to that agent or to its teams)")                                 \
    X(SUPERVISOR, "supervisor", 0u,                                                                \
      "what agent allows, on any ticket; merges, unmerges and reassignments")                      \
    X(ADMIN, "admin", 0u,                                                                          \
      "keys, agents, teams, webhook subscriptions and configuration; a customer's export and "     \
      "erasure; reads of customers' data with a reason, each recorded")

enum scope_bit {
#define SCOPE_X_BIT(id, name, also, doc) SCOPE_BIT_##id,
    SCOPE_LIST(SCOPE_X_BIT)
#undef SCOPE_X_BIT
        SCOPE_COUNT
};

enum {
#define SCOPE_X_MASK(id, name, also, doc) SCOPE_##id = 1u << SCOPE_BIT_##id,
    SCOPE_LIST(SCOPE_X_MASK)
#undef SCOPE_X_MASK
};

/* Every scope: the bootstrap key's. */
#define SCOPE_ALL ((1u << SCOPE_COUNT) - 1u)
/* Not a scope: a route that takes no API key (the request is checked
 * otherwise, or is for anyone). */
#define SCOPE_PUBLIC (1u << 16)
/* Room for flags of a service's own above the scopes (session.h's page). */
#define SCOPE_MASK 0xffffu

/* The spelling of one scope (a single bit), or NULL. */
const char *scope_name(unsigned scope);
/* Its line for the documentation, or NULL. */
const char *scope_doc(unsigned scope);
/* "ingest, read, agent, supervisor, admin": for usage messages. */
const char *scope_names(void);

/* Reads a comma-separated list ("ingest, read"; spaces around names are
 * ignored) into *mask. Returns the number of names it did not know (0: all
 * known); the first is copied into bad (bad may be NULL). */
int scope_parse(const char *list, unsigned *mask, char *bad, size_t badlen);

/* mask as "ingest,read" (the list's order) into out. The length written,
 * or -1 when out is too small. */
int scope_format(unsigned mask, char *out, size_t n);

/* True when a key with scopes `have` may use a route that needs `need`
 * (one scope, or SCOPE_PUBLIC): it has that scope or one that grants it. */
bool scope_grants(unsigned have, unsigned need);

#endif
