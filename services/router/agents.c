/* agents.c — see agents.h. */
#include "agents.h"

#include <string.h>

#include "log.h"

bool agents_usable(const route_item *it)
{
    const Carebus__V1__AgentSaved *s = it->ev->agent_saved;
    if (!route_blank(s->agent_id) && strlen(s->agent_id) <= AGENTS_ID_MAX)
        return true;
    log_write(LOG_WARN, route_item_fields(it), "agent.saved %s: no valid agent_id: skipped",
              it->ev->event_id);
    return false;
}

int agents_get_or_add(model *m, const char *id)
{
    int a = model_agent(m, id);
    if (a >= 0)
        return a;
    m_agent n = {.id = model_strdup(m, id),
                 .presence = CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE,
                 .role = CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_AGENT,
                 .active = true,
                 .last_active = MODEL_NONE,
                 .updated = MODEL_NONE,
                 .saved = MODEL_NONE,
                 .offline_since = MODEL_NONE};
    n.teams = n.leads = n.languages = arena_calloc(&m->a, 1, sizeof *n.teams);
    return model_add_agent(m, &n);
}

static bool masked(const Carebus__V1__AgentSaved *s, const char *field)
{
    if (s->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < s->n_update_mask; i++)
        if (s->update_mask[i] && strcmp(s->update_mask[i], field) == 0)
            return true;
    return false;
}

/* A copy of v's non-blank strings, each once, in their order. */
static const char **strings(model *m, char *const *v, size_t n, size_t *out_n)
{
    const char **out = arena_calloc(&m->a, n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (route_blank(v[i]))
            continue;
        size_t j = 0;
        while (j < k && strcmp(out[j], v[i]) != 0)
            j++;
        if (j == k)
            out[k++] = model_strdup(m, v[i]);
    }
    *out_n = k;
    return out;
}

static const char *or_null(model *m, const char *s)
{
    return route_blank(s) ? NULL : model_strdup(m, s);
}

void agents_apply(model *m, m_agent *a, const Carebus__V1__AgentSaved *s, int64_t at)
{
    if (masked(s, "name"))
        a->name = or_null(m, s->name);
    if (masked(s, "email"))
        a->email = or_null(m, s->email);
    if (masked(s, "teams"))
        a->teams = strings(m, s->teams, s->n_teams, &a->nteams);
    if (masked(s, "languages"))
        a->languages = strings(m, s->languages, s->n_languages, &a->nlanguages);
    if (masked(s, "capacity"))
        a->capacity = s->capacity > AGENTS_CAPACITY_MAX ? AGENTS_CAPACITY_MAX : (int)s->capacity;
    if (masked(s, "role") && s->role >= CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_AGENT &&
        s->role <= CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_SUPERVISOR)
        a->role = s->role;
    if (masked(s, "active"))
        a->active = s->active;
    /* A whole save without a password keeps the one set before: the API
     * never reads it back, so it could not resend it. */
    if (s->n_update_mask ? masked(s, "password_hash") : !route_blank(s->password_hash))
        a->password_hash = or_null(m, s->password_hash);
    a->saved = at;
    a->updated = at;
    a->dirty = true;
}

int agents_saved(route_ctx *c, const route_item *it)
{
    const Carebus__V1__AgentSaved *s = it->ev->agent_saved;
    model *m = c->m;
    int a = agents_get_or_add(m, s->agent_id);
    agents_apply(m, &m->agent[a], s, it->at);
    /* New teams or room: their queues may have a ticket for it. */
    const m_agent *ag = &m->agent[a];
    if (ag->presence == CAREBUS__V1__PRESENCE__PRESENCE_ONLINE && ag->active)
        route_drain_teams(c, ag->teams, ag->nteams);
    return 0;
}
