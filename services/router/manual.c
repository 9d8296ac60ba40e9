/* manual.c — see manual.h. */
#include "manual.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tag.h"

#define PRIO_MIN CAREBUS__V1__PRIORITY__PRIORITY_LOW
#define PRIO_MAX CAREBUS__V1__PRIORITY__PRIORITY_URGENT

void manual_priority(int override, struct rules_priority *p)
{
    if (override < PRIO_MIN || override > PRIO_MAX)
        return;
    p->rank = override;
    snprintf(p->reasons[0], RULES_REASON_LEN, "manual:%s", rules_priority_name(override));
    p->nreasons = 1;
}

Carebus__V1__Category manual_rules_category(const m_ticket *t)
{
    return t->cat_override ? t->cat_rules : t->category;
}

static bool category_valid(Carebus__V1__Category c)
{
    return event_category_name(c)[0] != '\0';
}

/* JSON text of o for a note's detail (caller frees; NULL: none). Takes o. */
static char *detail_text(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static const char *who(const char *actor)
{
    return route_blank(actor) ? "someone" : actor;
}

/* --- assignment ----------------------------------------------------------------- */

int manual_assign(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TicketAssignRequested *x = it->ev->ticket_assign_requested;
    int t = route_named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    const char *id = it->ev->event_id;
    if (!model_ticket_active(tk) || tk->merged_into >= 0) {
        log_write(LOG_INFO, route_item_fields(it), "assignment %s: ticket %s is %s: ignored", id,
                  tk->id, event_ticket_status_name(tk->status));
        return 0;
    }
    const char *team = route_blank(x->team) ? NULL : x->team;
    if (team && !route_team_exists(m, team)) {
        log_write(LOG_WARN, route_item_fields(it), "assignment %s: unknown team \"%.64s\": ignored",
                  id, team);
        return 0;
    }
    int a = -1;
    if (!route_blank(x->agent_id)) {
        a = model_agent(m, x->agent_id);
        if (a < 0 || !m->agent[a].active) {
            log_write(LOG_WARN, route_item_fields(it), "assignment %s: %s agent \"%.64s\": ignored",
                      id, a < 0 ? "unknown" : "inactive", x->agent_id);
            return 0;
        }
    } else if (!team) {
        log_write(LOG_WARN, route_item_fields(it),
                  "assignment %s: names neither an agent nor a team: ignored", id);
        return 0;
    }
    bool same_team = !team || (tk->team && strcmp(tk->team, team) == 0);
    bool same_agent = a >= 0 && tk->assignee && strcmp(tk->assignee, m->agent[a].id) == 0;
    /* Already so: nothing to do (a queued ticket keeps its place). */
    if (same_team && (same_agent || (a < 0 && !tk->assignee)))
        return 0;
    const char *from = tk->assignee, *from_team = tk->team;
    if (tk->assignee && !same_agent)
        route_agent_release(c, t);
    if (team)
        tk->team = model_strdup(m, team);
    tk->updated = it->at > tk->updated ? it->at : tk->updated;
    tk->dirty = true;
    char *d = detail_text(json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "agent_id",
                                    a >= 0 ? m->agent[a].id : NULL, "team", tk->team,
                                    "from_agent_id", from, "from_team", from_team, "actor",
                                    route_blank(x->actor) ? NULL : x->actor, "reason",
                                    route_blank(x->reason) ? NULL : x->reason));
    char text[512];
    if (a >= 0)
        snprintf(text, sizeof text, "assigned to %s%s%s by %s", m->agent[a].id,
                 tk->team ? " of " : "", tk->team ? tk->team : "", who(x->actor));
    else
        snprintf(text, sizeof text, "returned to the queue of %s by %s", tk->team, who(x->actor));
    route_note(c, it, t, "ticket.assigned", 0, d, text);
    free(d);
    if (a >= 0) {
        if (!same_agent)
            route_agent_take(c, a, t, it->at);
        return route_emit_assigned(c, t, it->at, route_blank(x->actor) ? "" : x->actor);
    }
    /* A team: its best free agent, or its queue, as the rules decide. */
    tk->assignee = NULL;
    tk->queued = MODEL_NONE;
    return route_assign_or_queue(c, t, it->at);
}

/* --- priority, category, tags ----------------------------------------------------- */

/* The request's tags, normalised (a bad one is logged and left out), as
 * arena strings. */
static const char **request_tags(route_ctx *c, const route_item *it, char *const *v, size_t n,
                                 size_t *out_n)
{
    model *m = c->m;
    const char **out = arena_calloc(&m->a, n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n && k < TAG_REQUEST_MAX; i++) {
        char tag[TAG_MAX + 1];
        if (tag_normalise(v[i], tag) != 0) {
            log_write(LOG_WARN, route_item_fields(it), "%s %s: \"%.64s\" is no tag: left out",
                      it->ev->type, it->ev->event_id, v[i] ? v[i] : "");
            continue;
        }
        out[k++] = model_strdup(m, tag);
    }
    *out_n = k;
    return out;
}

static bool has(const char *const *set, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], s) == 0)
            return true;
    return false;
}

/* The strings of a not in b, as a JSON array. */
static json_t *missing_from(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < na; i++)
        if (!has(b, nb, a[i]))
            json_array_append_new(out, json_string(a[i]));
    return out;
}

/* Applies the tags of x to t; true when they changed (the note's detail
 * gets what was added and removed). */
static bool update_tags(route_ctx *c, const route_item *it, int t,
                        const Carebus__V1__TicketUpdateRequested *x, json_t *detail)
{
    if (!x->n_tags_add && !x->n_tags_remove)
        return false;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    size_t nadd, nremove, dropped;
    const char **add = request_tags(c, it, x->tags_add, x->n_tags_add, &nadd);
    const char **remove = request_tags(c, it, x->tags_remove, x->n_tags_remove, &nremove);
    const char **out = arena_calloc(&m->a, TAG_SET_MAX + 1, sizeof *out);
    size_t n =
        tag_set_apply(tk->tags, tk->ntags, add, nadd, remove, nremove, out, TAG_SET_MAX, &dropped);
    if (dropped)
        log_write(LOG_WARN, route_item_fields(it), "%s %s: ticket %s has %d tags: %zu left out",
                  it->ev->type, it->ev->event_id, tk->id, TAG_SET_MAX, dropped);
    json_t *added = missing_from(out, n, tk->tags, tk->ntags);
    json_t *removed = missing_from(tk->tags, tk->ntags, out, n);
    bool changed = json_array_size(added) || json_array_size(removed);
    if (changed) {
        json_object_set_new(detail, "tags_added", added);
        json_object_set_new(detail, "tags_removed", removed);
        tk->tags = out;
        tk->ntags = n;
    } else {
        json_decref(added);
        json_decref(removed);
    }
    return changed;
}

static bool update_priority(m_ticket *tk, const Carebus__V1__TicketUpdateRequested *x)
{
    if (x->clear_priority_override) {
        bool was = tk->prio_override != 0;
        tk->prio_override = 0;
        return was;
    }
    int p = (int)x->priority;
    if (p < PRIO_MIN || p > PRIO_MAX || p == tk->prio_override)
        return false;
    tk->prio_override = p;
    return true;
}

static bool update_category(m_ticket *tk, const Carebus__V1__TicketUpdateRequested *x)
{
    if (x->clear_category_override) {
        if (!tk->cat_override)
            return false;
        if (tk->cat_rules)
            tk->category = tk->cat_rules;
        tk->cat_override = CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED;
        tk->cat_rules = CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED;
        return true;
    }
    if (!category_valid(x->category) || x->category == tk->cat_override)
        return false;
    if (!tk->cat_override)
        tk->cat_rules = tk->category;
    tk->cat_override = x->category;
    tk->category = x->category;
    return true;
}

static int emit_updated(route_ctx *c, const route_item *it, int t, const char *actor)
{
    const m_ticket *tk = &c->m->tick[t];
    Carebus__V1__TicketUpdated b = CAREBUS__V1__TICKET_UPDATED__INIT;
    b.priority = (Carebus__V1__Priority)tk->rank;
    b.category = tk->category;
    b.tags = (char **)tk->tags;
    b.n_tags = tk->ntags;
    b.priority_override = tk->prio_override != 0;
    b.category_override = tk->cat_override != 0;
    b.actor = (char *)(actor ? actor : "");
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_UPDATED;
    e.ticket_updated = &b;
    return emit(c->em, &e, route_ticket_customer(c, t), tk->id, it->at);
}

int manual_update(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TicketUpdateRequested *x = it->ev->ticket_update_requested;
    int t = route_named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    if (tk->merged_into >= 0) {
        log_write(LOG_INFO, route_item_fields(it),
                  "update %s: ticket %s was merged into another: ignored", it->ev->event_id,
                  tk->id);
        return 0;
    }
    json_t *detail = json_object();
    if (!detail)
        return -1;
    bool prio = update_priority(tk, x);
    bool cat = update_category(tk, x);
    bool tags = update_tags(c, it, t, x, detail);
    if (!prio && !cat && !tags) {
        json_decref(detail);
        return 0;
    }
    tk = &m->tick[t];
    tk->updated = it->at > tk->updated ? it->at : tk->updated;
    tk->dirty = true;
    bool reprioritised = route_priority_update(c, t);
    tk = &m->tick[t];
    const char *actor = route_blank(x->actor) ? NULL : x->actor;
    if (prio)
        json_object_set_new(detail, "priority_override",
                            tk->prio_override ? json_string(rules_priority_name(tk->prio_override))
                                              : json_null());
    if (cat)
        json_object_set_new(detail, "category_override",
                            tk->cat_override ? json_string(event_category_name(tk->cat_override))
                                             : json_null());
    if (actor)
        json_object_set_new(detail, "actor", json_string(actor));
    char *d = detail_text(detail);
    char text[256];
    snprintf(text, sizeof text, "%s%s%s%s%s by %s",
             prio ? (tk->prio_override ? "priority set" : "priority handed back to the rules") : "",
             prio && (cat || tags) ? ", " : "",
             cat ? (tk->cat_override ? "category set" : "category handed back to the rules") : "",
             cat && tags ? ", " : "", tags ? "tags changed" : "", who(actor));
    route_note(c, it, t, "ticket.updated", 0, d, text);
    free(d);
    if ((reprioritised || cat) && route_emit_classified(c, t, it->at) != 0)
        return -1;
    return emit_updated(c, it, t, actor);
}

/* --- mentions ------------------------------------------------------------------------ */

void manual_mentions(route_ctx *c, const route_item *it, int t)
{
    const Carebus__V1__AgentReplied *r = it->ev->agent_replied;
    model *m = c->m;
    int ord = 101; /* after the note itself (the timeline's messages are 100) */
    for (size_t i = 0; i < r->n_mentions; i++) {
        const char *id = r->mentions[i];
        bool repeat = false;
        for (size_t k = 0; k < i && !repeat; k++)
            repeat = strcmp(r->mentions[k], id) == 0;
        if (repeat || route_blank(id))
            continue;
        if (model_agent(m, id) < 0) {
            log_write(LOG_INFO, route_item_fields(it),
                      "note %s mentions \"%.64s\", no agent the router knows: left out",
                      it->ev->event_id, id);
            continue;
        }
        char *d = detail_text(json_pack("{s:s, s:s?, s:s}", "agent_id", id, "by",
                                        route_blank(r->agent_id) ? NULL : r->agent_id,
                                        "message_event_id", it->ev->event_id));
        char text[320];
        snprintf(text, sizeof text, "%.128s mentioned %.128s in a note", who(r->agent_id), id);
        route_note(c, it, t, "agent.mentioned", ord++, d, text);
        free(d);
    }
}
