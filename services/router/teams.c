/* teams.c — see teams.h. */
#include "teams.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

bool teams_usable(const route_item *it)
{
    const Carebus__V1__TeamSaved *s = it->ev->team_saved;
    if (!route_blank(s->team_id) && strlen(s->team_id) <= TEAMS_ID_MAX)
        return true;
    log_write(LOG_WARN, route_item_fields(it), "team.saved %s: no valid team_id: skipped",
              it->ev->event_id);
    return false;
}

static bool masked(const Carebus__V1__TeamSaved *s, const char *field)
{
    if (s->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < s->n_update_mask; i++)
        if (s->update_mask[i] && strcmp(s->update_mask[i], field) == 0)
            return true;
    return false;
}

static const char *or_null(model *m, const char *s)
{
    return route_blank(s) ? NULL : model_strdup(m, s);
}

void teams_apply(model *m, m_team *t, const Carebus__V1__TeamSaved *s, int64_t at)
{
    if (masked(s, "name"))
        t->name = or_null(m, s->name);
    if (masked(s, "lead_agent_id"))
        t->lead = or_null(m, s->lead_agent_id);
    if (masked(s, "calendar"))
        t->calendar = or_null(m, s->calendar);
    if (masked(s, "sla_policy"))
        t->sla_policy = or_null(m, s->sla_policy);
    if (masked(s, "active"))
        t->active = s->active;
    if (t->saved == MODEL_NONE || t->created == MODEL_NONE)
        t->created = at;
    t->saved = at;
    t->updated = at;
    t->dirty = true;
}

int teams_saved(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TeamSaved *s = it->ev->team_saved;
    model *m = c->m;
    int k = model_team(m, s->team_id);
    if (k < 0) {
        /* A new team: active unless the save says otherwise. */
        m_team n = {.id = model_strdup(m, s->team_id),
                    .active = true,
                    .saved = MODEL_NONE,
                    .created = MODEL_NONE,
                    .updated = MODEL_NONE};
        k = model_add_team(m, &n);
    }
    bool was_active = m->team[k].active && m->team[k].saved != MODEL_NONE;
    teams_apply(m, &m->team[k], s, it->at);
    /* Active again, or new: its agents may take its queue. */
    if (m->team[k].active && !was_active) {
        const char *id = m->team[k].id;
        route_drain_teams(c, &id, 1);
    }
    return 0;
}

int teams_lead(const model *m, const char *team)
{
    int k = model_team(m, team);
    if (k < 0 || m->team[k].saved == MODEL_NONE || !m->team[k].lead)
        return -1;
    int a = model_agent(m, m->team[k].lead);
    return a >= 0 && m->agent[a].active ? a : -1;
}

/* The file's teams as a JSON array of names, for $1. */
static char *team_names(const rules *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nteams; i++)
        if (json_array_append_new(a, json_string(r->teams[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

int teams_seed(db *d, const rules *r)
{
    /* One statement: the file's new teams in, the ones it dropped out
     * (only those never saved through the API). */
    static const char sql[] =
        "WITH f AS (SELECT value AS id FROM json_array_elements_text($1::json)),"
        " gone AS (DELETE FROM router.teams t WHERE t.saved_at IS NULL"
        "          AND t.id NOT IN (SELECT id FROM f))"
        " INSERT INTO router.teams (id, active) SELECT id, true FROM f"
        " ON CONFLICT (id) DO NOTHING";
    char *names = team_names(r);
    if (!names) {
        log_error("router: out of memory listing the configuration's teams");
        return -1;
    }
    const char *params[] = {names};
    int rc = db_write(d, sql, 1, params, NULL);
    free(names);
    if (rc < 0)
        log_error("router: could not write the configuration's teams into router.teams");
    return rc == 0 ? 0 : -1;
}
