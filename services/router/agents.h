/* agents.h — agents as a resource: agent.saved (POST and PATCH /v1/agents).
 *
 * An agent is known first either by a presence (PUT .../presence: its
 * teams, leads and capacity come with each presence, as before the API
 * had agents) or by agent.saved. Once saved, what the API saved is the
 * agent: a presence then changes its presence only. A save names the
 * fields it sets (update_mask; empty: every field), so a PATCH changes
 * what it names and nothing else. An agent made inactive takes no ticket
 * (route.c's free-agent rule) and its open tickets return to the queue
 * (offline.h's timer decides it, as for an agent gone offline). More
 * teams or capacity drain the queues of its teams at once.
 */
#ifndef CAREBUS_ROUTER_AGENTS_H
#define CAREBUS_ROUTER_AGENTS_H

#include <stdbool.h>

#include "model.h"
#include "route.h"

/* The longest agent id the router takes (the API's is shorter). */
#define AGENTS_ID_MAX 200
#define AGENTS_CAPACITY_MAX 100000

/* route_prepare: a save names an agent (logged when not). */
bool agents_usable(const route_item *it);

/* The agent id, made known with the defaults of an agent nobody has seen
 * (offline, active, capacity 0, no teams). Its index. */
int agents_get_or_add(model *m, const char *id);

/* Sets on a what s states (the fields update_mask names, or all), at time
 * at (the saved and updated times). Pure but for the model's arena. */
void agents_apply(model *m, m_agent *a, const Carebus__V1__AgentSaved *s, int64_t at);

/* route.c's handler of agent.saved. 0 or -1. */
int agents_saved(route_ctx *c, const route_item *it);

#endif
