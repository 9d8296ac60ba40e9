/* canned.c — see canned.h. A batch keeps one entry per reply it touches,
 * its last state: store.c deletes those deleted or saved afresh, then
 * upserts those saved. */
#include "canned.h"

#include <string.h>

#include "log.h"

bool canned_usable(const route_item *it)
{
    const event *ev = it->ev;
    bool saved = ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED;
    const char *id = saved ? ev->canned_saved->canned_id : ev->canned_deleted->canned_id;
    const char *why = NULL;
    if (route_blank(id) || strlen(id) > CANNED_ID_MAX)
        why = "no valid canned_id";
    else if (saved && (route_blank(ev->canned_saved->title) || route_blank(ev->canned_saved->text)))
        why = "a canned reply needs a title and a text";
    if (why)
        log_write(LOG_WARN, route_item_fields(it), "%s %s: %s: skipped", ev->type, ev->event_id,
                  why);
    return !why;
}

/* The batch's entry of reply id, made when it has none. */
static m_canned *entry(model *m, const char *id)
{
    for (size_t i = 0; i < m->ncanned; i++)
        if (strcmp(m->canned[i].id, id) == 0)
            return &m->canned[i];
    arena_grow(&m->a, (void **)&m->canned, &m->cannedcap, m->ncanned + 1, sizeof *m->canned);
    m_canned *x = &m->canned[m->ncanned++];
    memset(x, 0, sizeof *x);
    x->id = model_strdup(m, id);
    x->created = x->updated = MODEL_NONE;
    return x;
}

static const char *or_null(model *m, const char *s)
{
    return route_blank(s) ? NULL : model_strdup(m, s);
}

int canned_saved(route_ctx *c, const route_item *it)
{
    const Carebus__V1__CannedSaved *s = it->ev->canned_saved;
    model *m = c->m;
    m_canned *x = entry(m, s->canned_id);
    if (x->deleted) {
        x->deleted = false;
        x->fresh = true;
    }
    x->title = model_strdup(m, s->title);
    x->text = model_strdup(m, s->text);
    x->language = or_null(m, s->language);
    x->team = or_null(m, s->team);
    x->shortcut = or_null(m, s->shortcut);
    if (x->created == MODEL_NONE)
        x->created = it->at;
    x->updated = it->at;
    return 0;
}

int canned_deleted(route_ctx *c, const route_item *it)
{
    m_canned *x = entry(c->m, it->ev->canned_deleted->canned_id);
    x->deleted = true;
    x->fresh = false;
    x->created = x->updated = MODEL_NONE;
    return 0;
}
