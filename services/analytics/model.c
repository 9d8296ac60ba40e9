/* model.c — tickets and customers from events (see model.h).
 *
 * Entities live in arrays indexed by hash maps (hmap.h) keyed by their id,
 * borrowed from the entity: the rebuild keeps hundreds of thousands of
 * them, the live path a handful. Lists are kept sorted on insert; they are short (a ticket has
 * a few contacts, replies and status changes), so insertion sort is right.
 */
#include "model.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "utf8.h"

/* --- the model ------------------------------------------------------------- */

struct survey_ref {
    char *survey;
    char ticket[ID_LEN];
};

struct model {
    model_ticket **tickets;
    size_t ntickets, captickets;
    hmap tix;
    model_customer **customers;
    size_t ncustomers, capcustomers;
    hmap cix;
    struct survey_ref *surveys;
    size_t nsurveys, capsurveys;
    hmap six;
};

model *model_new(void)
{
    return calloc(1, sizeof(model));
}

static void list_release(model_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void ticket_destroy(model_ticket *t)
{
    if (!t)
        return;
    list_release(&t->status);
    list_release(&t->contacts);
    list_release(&t->replies);
    list_release(&t->sla);
    for (size_t i = 0; i < t->nsurveys; i++) {
        free(t->surveys[i].id);
        free(t->surveys[i].comment);
    }
    free(t->surveys);
    free(t);
}

static void customer_destroy(model_customer *c)
{
    if (!c)
        return;
    list_release(&c->status);
    free(c);
}

void model_destroy(model **pm)
{
    model *m = *pm;
    if (!m)
        return;
    for (size_t i = 0; i < m->ntickets; i++)
        ticket_destroy(m->tickets[i]);
    for (size_t i = 0; i < m->ncustomers; i++)
        customer_destroy(m->customers[i]);
    for (size_t i = 0; i < m->nsurveys; i++)
        free(m->surveys[i].survey);
    free(m->tickets);
    free(m->customers);
    free(m->surveys);
    hmap_release(&m->tix);
    hmap_release(&m->cix);
    hmap_release(&m->six);
    free(m);
    *pm = NULL;
}

/* Room for one more element; lists start small (a ticket's lists hold a
 * few points each, and a rebuild keeps every ticket in memory). */
static int grow_from(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    return grow_from(arr, cap, n, size, 16);
}

model_ticket *model_ticket_get(model *m, const char *id)
{
    int i = hmap_gets(&m->tix, id);
    return i == HMAP_ABSENT ? NULL : m->tickets[i];
}

model_customer *model_customer_get(model *m, const char *id)
{
    int i = hmap_gets(&m->cix, id);
    return i == HMAP_ABSENT ? NULL : m->customers[i];
}

model_ticket *model_ticket_make(model *m, const char *id)
{
    model_ticket *t = model_ticket_get(m, id);
    if (t)
        return t;
    if (grow((void **)&m->tickets, &m->captickets, m->ntickets, sizeof *m->tickets) != 0 ||
        !(t = calloc(1, sizeof *t)))
        return NULL;
    snprintf(t->id, sizeof t->id, "%s", id);
    t->solved = t->closed = MODEL_NONE;
    t->created = MODEL_NONE;
    t->dirty = t->is_new = true;
    if (m->ntickets >= INT_MAX || hmap_puts(&m->tix, t->id, (int)m->ntickets) != 0) {
        free(t);
        return NULL;
    }
    m->tickets[m->ntickets++] = t;
    return t;
}

model_customer *model_customer_make(model *m, const char *id)
{
    model_customer *c = model_customer_get(m, id);
    if (c)
        return c;
    if (grow((void **)&m->customers, &m->capcustomers, m->ncustomers, sizeof *m->customers) != 0 ||
        !(c = calloc(1, sizeof *c)))
        return NULL;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->root, sizeof c->root, "%s", id);
    c->first_seen = MODEL_NONE;
    c->seg_at = MODEL_NONE;
    c->dirty = c->is_new = true;
    if (m->ncustomers >= INT_MAX || hmap_puts(&m->cix, c->id, (int)m->ncustomers) != 0) {
        free(c);
        return NULL;
    }
    m->customers[m->ncustomers++] = c;
    return c;
}

model_ticket **model_tickets(model *m, size_t *n)
{
    *n = m->ntickets;
    return m->tickets;
}

model_customer **model_customers(model *m, size_t *n)
{
    *n = m->ncustomers;
    return m->customers;
}

const char *model_survey_ticket(model *m, const char *survey_id)
{
    int i = hmap_gets(&m->six, survey_id);
    return i == HMAP_ABSENT ? "" : m->surveys[i].ticket;
}

int model_survey_note(model *m, const char *survey_id, const char *ticket_id)
{
    int i = hmap_gets(&m->six, survey_id);
    if (i != HMAP_ABSENT) {
        snprintf(m->surveys[i].ticket, ID_LEN, "%s", ticket_id);
        return 0;
    }
    if (grow((void **)&m->surveys, &m->capsurveys, m->nsurveys, sizeof *m->surveys) != 0)
        return -1;
    struct survey_ref *r = &m->surveys[m->nsurveys];
    if (!(r->survey = strdup(survey_id)))
        return -1;
    snprintf(r->ticket, ID_LEN, "%s", ticket_id);
    if (m->nsurveys >= INT_MAX || hmap_puts(&m->six, r->survey, (int)m->nsurveys) != 0) {
        free(r->survey);
        return -1;
    }
    m->nsurveys++;
    return 0;
}

/* --- lists ------------------------------------------------------------------- */

static int point_cmp(const model_point *a, const model_point *b)
{
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->kind > b->kind) - (a->kind < b->kind);
}

int model_list_insert(model_list *l, const model_point *p)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].rank == p->rank && l->v[i].seq == p->seq && l->v[i].kind == p->kind)
            return 0;
    if (grow_from((void **)&l->v, &l->cap, l->n, sizeof *l->v, 2) != 0)
        return -1;
    size_t i = l->n;
    while (i > 0 && point_cmp(&l->v[i - 1], p) > 0) {
        l->v[i] = l->v[i - 1];
        i--;
    }
    l->v[i] = *p;
    l->n++;
    return 0;
}

/* --- events -------------------------------------------------------------------- */

int64_t model_event_time(const event *ev)
{
    if (ev->occurred_at)
        return event_ts_us(ev->occurred_at) / 1000 -
               (event_ts_us(ev->occurred_at) % 1000 < 0); /* floor to ms */
    if (ev->recorded_at)
        return event_ts_us(ev->recorded_at) / 1000 - (event_ts_us(ev->recorded_at) % 1000 < 0);
    return MODEL_NONE;
}

int model_stream_rank(const char *stream)
{
    static const char *const names[] = {"ingest", "router", "sla", "survey"};
    for (int i = 0; i < 4; i++)
        if (stream && strcmp(stream, names[i]) == 0)
            return i;
    return RANK_OTHER;
}

/* Strings from events may be cut mid-character or not be UTF-8 at all, and
 * the state must still be JSON and text PostgreSQL accepts: copies are made
 * with utf8_copy, invalid bytes becoming '?' and a character that does not
 * fit left out. */
static void text_set(char *dst, const char *src)
{
    utf8_copy(dst, MODEL_TEXT_MAX, src, "?");
}

/* A malloc'd valid UTF-8 copy of at most max bytes; NULL for "" or OOM. */
static char *text_dup(const char *src, size_t max)
{
    if (!src || !src[0])
        return NULL;
    size_t cap = strlen(src) + 1;
    if (cap > max + 1)
        cap = max + 1;
    char *d = malloc(cap);
    if (d)
        utf8_copy(d, cap, src, "?");
    return d;
}

/* A UUID's shape (8-4-4-4-12 hex digits): what id_valid accepts, without
 * parsing, since every event of a rebuild passes here. */
static bool id_ok(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return s[36] == '\0';
}

/* Copies an id that id_ok accepted (36 characters and the NUL), in lower
 * case: the model's maps and the stored rows key on an id's text, and a
 * log written before channel-ingest made every id canonical may spell one
 * in upper case (a path's ticket id), which would name a ticket apart from
 * its stored row (and meet its unique key on every retry of the batch). */
static void id_set(char dst[ID_LEN], const char *id)
{
    for (int i = 0; i < ID_LEN; i++)
        dst[i] = (id[i] >= 'A' && id[i] <= 'F') ? (char)(id[i] - 'A' + 'a') : id[i];
}

bool model_refs_of(const event *ev, struct model_refs *r)
{
    r->ticket[0] = r->survey[0] = '\0';
    r->ncustomers = 0;
    r->customer_level = false;
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ESCALATED:
        if (!id_ok(ev->ticket_id))
            return false;
        id_set(r->ticket, ev->ticket_id);
        /* The router names the customer: it is seen (first_seen). */
        if (id_ok(ev->customer_id))
            id_set(r->customers[r->ncustomers++], ev->customer_id);
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED:
    case CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING:
    case CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH:
    case CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION:
    case CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED:
        if (!id_ok(ev->ticket_id))
            return false;
        id_set(r->ticket, ev->ticket_id);
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED:
        if (id_ok(ev->ticket_id)) {
            id_set(r->ticket, ev->ticket_id);
            return true;
        }
        if (!ev->survey_answered->survey_id || !ev->survey_answered->survey_id[0])
            return false;
        text_set(r->survey, ev->survey_answered->survey_id);
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED:
        if (!id_ok(ev->customer_id))
            return false;
        id_set(r->customers[r->ncustomers++], ev->customer_id);
        r->customer_level = true;
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED: {
        const Carebus__V1__CustomerMerged *b = ev->customer_merged;
        if (!id_ok(b->survivor_id) || !id_ok(b->merged_id))
            return false;
        id_set(r->customers[0], b->survivor_id);
        id_set(r->customers[1], b->merged_id);
        r->ncustomers = 2;
        r->customer_level = true;
        return true;
    }
    default:
        return false;
    }
}

static model_point point_of(const event *ev, int64_t at, int kind, int32_t aux)
{
    model_point p = {.at = at,
                     .seq = ev->seq,
                     .rank = (int16_t)model_stream_rank(ev->stream),
                     .kind = (int16_t)kind,
                     .aux = aux,
                     .due = MODEL_NONE,
                     .remaining = MODEL_NONE};
    return p;
}

/* The customer is seen at `at`: first_seen is the minimum. */
static int customer_seen(model *m, const char *id, int64_t at)
{
    model_customer *c = model_customer_make(m, id);
    if (!c)
        return -1;
    if (c->first_seen == MODEL_NONE || at < c->first_seen) {
        c->first_seen = at;
        c->dirty = true;
    }
    return 0;
}

static model_survey *survey_find(model_ticket *t, const char *id)
{
    for (size_t i = 0; i < t->nsurveys; i++)
        if (strcmp(t->surveys[i].id, id) == 0)
            return &t->surveys[i];
    return NULL;
}

/* The survey's entry, made if missing; the list stays sorted by id. */
static model_survey *survey_make(model_ticket *t, const char *id)
{
    model_survey *s = survey_find(t, id);
    if (s)
        return s;
    model_survey *n = realloc(t->surveys, (t->nsurveys + 1) * sizeof *n);
    if (!n)
        return NULL;
    t->surveys = n;
    size_t i = t->nsurveys;
    while (i > 0 && strcmp(n[i - 1].id, id) > 0) {
        n[i] = n[i - 1];
        i--;
    }
    memset(&n[i], 0, sizeof n[i]);
    if (!(n[i].id = strdup(id))) {
        memmove(&n[i], &n[i + 1], (t->nsurveys - i) * sizeof *n);
        return NULL;
    }
    n[i].requested = n[i].answered = MODEL_NONE;
    n[i].csat = n[i].ces = -1;
    t->nsurveys++;
    return &n[i];
}

static int apply_ticket(model *m, model_ticket *t, const event *ev, int64_t at)
{
    model_point p;
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED:
        t->opened = true;
        t->created = at;
        t->channel = ev->ticket_opened->channel;
        if (id_ok(ev->customer_id))
            id_set(t->customer, ev->customer_id);
        p = point_of(ev, at, PT_OPEN, 0);
        return model_list_insert(&t->status, &p);
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED:
        p = point_of(ev, at, 0, ev->ticket_contact_added->channel);
        return model_list_insert(&t->contacts, &p);
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED:
        t->category = ev->ticket_classified->category;
        t->priority = ev->ticket_classified->priority;
        return 0;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED:
        text_set(t->team, ev->ticket_assigned->team);
        text_set(t->agent, ev->ticket_assigned->agent_id);
        return 0;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED:
        text_set(t->team, ev->ticket_queued->team);
        t->agent[0] = '\0';
        return 0;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED:
        text_set(t->team, ev->ticket_transferred->to_team);
        t->agent[0] = '\0';
        t->transfers++;
        return 0;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ESCALATED:
        if (ev->ticket_escalated->to_team && ev->ticket_escalated->to_team[0])
            text_set(t->team, ev->ticket_escalated->to_team);
        text_set(t->agent, ev->ticket_escalated->to_agent_id);
        if (ev->ticket_escalated->priority)
            t->priority = ev->ticket_escalated->priority;
        t->escalations++;
        return 0;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED:
        t->reopens++;
        /* Only an unmerge reopens a ticket a merge closed: it counts as a
         * ticket of its own again. */
        if (t->merged_into[0]) {
            t->merged_into[0] = '\0';
            t->closed = MODEL_NONE;
        }
        p = point_of(ev, at, PT_OPEN, 0);
        return model_list_insert(&t->status, &p);
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED:
        t->solved = at;
        p = point_of(ev, at, PT_SOLVED, 0);
        return model_list_insert(&t->status, &p);
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED:
        t->closed = at;
        if (id_ok(ev->ticket_closed->merged_into_ticket_id))
            id_set(t->merged_into, ev->ticket_closed->merged_into_ticket_id);
        p = point_of(ev, at, PT_CLOSED, 0);
        return model_list_insert(&t->status, &p);
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED:
        if (ev->agent_replied->internal_note)
            return 1;
        p = point_of(ev, at, 0, 0);
        return model_list_insert(&t->replies, &p);
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED:
        /* solved and closed come from the router's own events */
        if (ev->ticket_status_changed->status == CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING)
            p = point_of(ev, at, PT_PENDING_REQ, 0);
        else if (ev->ticket_status_changed->status ==
                 CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN)
            p = point_of(ev, at, PT_OPEN_REQ, 0);
        else
            return 1;
        return model_list_insert(&t->status, &p);
    case CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING:
        p = point_of(ev, at, SLA_WARNING, ev->sla_warning->target);
        if (ev->sla_warning->due_at)
            p.due = event_ts_us(ev->sla_warning->due_at) / 1000;
        p.remaining = ev->sla_warning->remaining_business_secs;
        snprintf(p.event_id, ID_LEN, "%s", ev->event_id ? ev->event_id : "");
        return model_list_insert(&t->sla, &p);
    case CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH:
        p = point_of(ev, at, SLA_BREACH, ev->sla_breach->target);
        if (ev->sla_breach->due_at)
            p.due = event_ts_us(ev->sla_breach->due_at) / 1000;
        snprintf(p.event_id, ID_LEN, "%s", ev->event_id ? ev->event_id : "");
        return model_list_insert(&t->sla, &p);
    case CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION:
        p = point_of(ev, at, SLA_ESCALATION, ev->sla_escalation->target);
        snprintf(p.event_id, ID_LEN, "%s", ev->event_id ? ev->event_id : "");
        return model_list_insert(&t->sla, &p);
    case CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED: {
        const Carebus__V1__SurveyRequested *b = ev->survey_requested;
        char sid[MODEL_TEXT_MAX];
        text_set(sid, b->survey_id && b->survey_id[0] ? b->survey_id : ev->event_id);
        model_survey *s = survey_make(t, sid);
        if (!s || model_survey_note(m, sid, t->id) != 0)
            return -1;
        s->requested = at;
        s->channel = b->channel;
        return 0;
    }
    case CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED: {
        const Carebus__V1__SurveyAnswered *b = ev->survey_answered;
        if (!b->survey_id || !b->survey_id[0])
            return 1;
        char sid[MODEL_TEXT_MAX];
        text_set(sid, b->survey_id);
        model_survey *s = survey_make(t, sid);
        if (!s || model_survey_note(m, sid, t->id) != 0)
            return -1;
        /* The first answer counts (survey refuses a second one anyway). */
        if (s->answered != MODEL_NONE)
            return 1;
        s->answered = at;
        s->csat = b->csat && b->csat->value >= 1 && b->csat->value <= 5 ? b->csat->value : -1;
        s->ces = b->ces && b->ces->value >= 1 && b->ces->value <= 7 ? b->ces->value : -1;
        free(s->comment);
        s->comment = text_dup(b->comment, MODEL_COMMENT_MAX);
        return 0;
    }
    default:
        return 1;
    }
}

/* Every customer whose root is from becomes a member of to's tree. */
static void tree_move(model *m, const char *from, const char *to)
{
    char old[ID_LEN];
    snprintf(old, sizeof old, "%s", from);
    for (size_t i = 0; i < m->ncustomers; i++) {
        model_customer *c = m->customers[i];
        if (strcmp(c->root, old) == 0) {
            snprintf(c->root, ID_LEN, "%s", to);
            c->dirty = true;
        }
    }
}

/* The customers' ids are the refs' (r->customers: lower case), not the
 * event's spelling. */
static int apply_customer(model *m, const event *ev, const struct model_refs *r, int64_t at)
{
    if (ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED) {
        const Carebus__V1__CustomerProfileUpdated *b = ev->customer_profile_updated;
        model_customer *c = model_customer_make(m, r->customers[0]);
        if (!c || customer_seen(m, r->customers[0], at) != 0)
            return -1;
        int16_t rank = (int16_t)model_stream_rank(ev->stream);
        if (b->segment != CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED &&
            (c->seg_at == MODEL_NONE || at > c->seg_at ||
             (at == c->seg_at &&
              (rank > c->seg_rank || (rank == c->seg_rank && ev->seq > c->seg_seq))))) {
            c->segment = b->segment;
            c->seg_at = at;
            c->seg_rank = rank;
            c->seg_seq = ev->seq;
            c->dirty = true;
        }
        if (b->status != CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_UNSPECIFIED) {
            model_point p = point_of(
                ev, at,
                b->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED ? CS_CHURNED
                                                                                   : CS_ACTIVE,
                0);
            if (model_list_insert(&c->status, &p) != 0)
                return -1;
            c->dirty = true;
        }
        return 0;
    }
    assert(ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED);
    model_customer *s = model_customer_make(m, r->customers[0]);
    model_customer *mc = s ? model_customer_make(m, r->customers[1]) : NULL;
    if (!mc)
        return -1;
    s = model_customer_get(m, r->customers[0]); /* make may have moved nothing, but be plain */
    if (strcmp(s->root, mc->root) == 0)
        return 1; /* already one customer (a repeat, or a cycle the router never makes) */
    char to[ID_LEN];
    snprintf(to, sizeof to, "%s", s->root);
    snprintf(mc->merged_into, ID_LEN, "%s", s->id);
    mc->dirty = true;
    tree_move(m, mc->root, to);
    return 0;
}

int model_apply(model *m, const event *ev, int64_t at)
{
    struct model_refs r;
    if (at == MODEL_NONE || !model_refs_of(ev, &r))
        return 1;
    return model_apply_refs(m, ev, &r, at);
}

int model_apply_refs(model *m, const event *ev, const struct model_refs *r, int64_t at)
{
    if (at == MODEL_NONE)
        return 1;
    if (r->customer_level)
        return apply_customer(m, ev, r, at);
    const char *tid = r->ticket;
    if (!tid[0]) {
        tid = model_survey_ticket(m, r->survey);
        if (!tid[0])
            return 1; /* an answer to a survey nobody requested */
    }
    model_ticket *t = model_ticket_make(m, tid);
    if (!t)
        return -1;
    for (int i = 0; i < r->ncustomers; i++)
        if (customer_seen(m, r->customers[i], at) != 0)
            return -1;
    int rc = apply_ticket(m, t, ev, at);
    if (rc == 0)
        t->dirty = true;
    return rc;
}

static bool seg_later(const model_customer *x, const model_customer *y)
{
    if (x->seg_at != y->seg_at)
        return x->seg_at > y->seg_at;
    if (x->seg_rank != y->seg_rank)
        return x->seg_rank > y->seg_rank;
    return x->seg_seq > y->seg_seq;
}

void model_resolve_segments(model *m)
{
    /* tree_segment of a root: first the index + 1 of its latest member
     * (0: none yet), then that member's segment. Members are looked at
     * before any root is resolved, so the two uses never mix. */
    for (size_t i = 0; i < m->ncustomers; i++)
        m->customers[i]->tree_segment = 0;
    for (size_t i = 0; i < m->ncustomers; i++) {
        const model_customer *x = m->customers[i];
        model_customer *root = x->seg_at == MODEL_NONE ? NULL : model_customer_get(m, x->root);
        if (!root)
            continue;
        if (root->tree_segment == 0 || seg_later(x, m->customers[root->tree_segment - 1]))
            root->tree_segment = (int32_t)i + 1;
    }
    int32_t *best = malloc((m->ncustomers ? m->ncustomers : 1) * sizeof *best);
    assert(best && "resolving segments: out of memory");
    for (size_t i = 0; i < m->ncustomers; i++)
        best[i] = m->customers[i]->tree_segment;
    for (size_t i = 0; i < m->ncustomers; i++) {
        model_customer *c = m->customers[i];
        c->tree_segment = best[i] > 0 && strcmp(c->root, c->id) == 0
                              ? m->customers[best[i] - 1]->segment
                              : CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    }
    free(best);
}

int32_t model_segment_of(model *m, const char *customer_id)
{
    model_customer *c = customer_id[0] ? model_customer_get(m, customer_id) : NULL;
    model_customer *root = c ? model_customer_get(m, c->root) : NULL;
    if (!root || root->tree_segment <= 0)
        return CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    return root->tree_segment;
}

int model_ticket_status(const model_ticket *t)
{
    int st = TS_NONE;
    for (size_t i = 0; i < t->status.n; i++) {
        switch (t->status.v[i].kind) {
        case PT_OPEN:
            st = TS_OPEN;
            break;
        case PT_SOLVED:
            st = TS_SOLVED;
            break;
        case PT_CLOSED:
            st = TS_CLOSED;
            break;
        case PT_PENDING_REQ:
            if (st == TS_OPEN)
                st = TS_PENDING;
            break;
        case PT_OPEN_REQ:
            if (st == TS_PENDING)
                st = TS_OPEN;
            break;
        }
    }
    return st;
}

/* --- JSON ---------------------------------------------------------------------- */

static json_t *jtime(int64_t v)
{
    return v == MODEL_NONE ? json_null() : json_integer(v);
}

static int64_t jtime_get(json_t *j)
{
    return json_is_integer(j) ? json_integer_value(j) : MODEL_NONE;
}

static json_t *list_json(const model_list *l, bool sla)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++) {
        const model_point *p = &l->v[i];
        json_t *e = json_pack("[I,I,i,i,i]", (json_int_t)p->at, (json_int_t)p->seq, p->rank,
                              p->kind, p->aux);
        if (e && sla) {
            json_array_append_new(e, jtime(p->due));
            json_array_append_new(e, jtime(p->remaining));
            json_array_append_new(e, json_string(p->event_id));
        }
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int list_from_json(model_list *l, json_t *a, bool sla)
{
    size_t i;
    json_t *e;
    if (!json_is_array(a))
        return -1;
    json_array_foreach(a, i, e)
    {
        model_point p = {.due = MODEL_NONE, .remaining = MODEL_NONE};
        json_int_t at, seq;
        int rank, kind, aux;
        if (json_unpack(e, "[I,I,i,i,i!]", &at, &seq, &rank, &kind, &aux) != 0 &&
            (!sla || json_unpack(e, "[I,I,i,i,i,*]", &at, &seq, &rank, &kind, &aux) != 0))
            return -1;
        p.at = at;
        p.seq = (uint64_t)seq;
        p.rank = (int16_t)rank;
        p.kind = (int16_t)kind;
        p.aux = aux;
        if (sla) {
            p.due = jtime_get(json_array_get(e, 5));
            p.remaining = jtime_get(json_array_get(e, 6));
            const char *id = json_string_value(json_array_get(e, 7));
            snprintf(p.event_id, ID_LEN, "%s", id ? id : "");
        }
        if (model_list_insert(l, &p) != 0)
            return -1;
    }
    return 0;
}

static json_t *score_json(int32_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

json_t *model_ticket_json(const model_ticket *t)
{
    json_t *sv = json_array();
    for (size_t i = 0; sv && i < t->nsurveys; i++) {
        const model_survey *s = &t->surveys[i];
        json_t *e = json_pack("[s,o,o,o,o,i,o]", s->id, jtime(s->requested), jtime(s->answered),
                              score_json(s->csat), score_json(s->ces), s->channel,
                              s->comment ? json_string(s->comment) : json_null());
        if (!e || json_array_append_new(sv, e) != 0) {
            json_decref(sv);
            return NULL;
        }
    }
    if (!sv)
        return NULL;
    return json_pack("{s:i,s:b,s:o,s:i,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,"
                     "s:o,s:o,s:s}",
                     "v", 1, "o", t->opened, "c", jtime(t->created), "ch", t->channel, "cu",
                     t->customer, "tm", t->team, "ag", t->agent, "ca", t->category, "pr",
                     t->priority, "tr", t->transfers, "ro", t->reopens, "es", t->escalations, "so",
                     jtime(t->solved), "cl", jtime(t->closed), "st", list_json(&t->status, false),
                     "ct", list_json(&t->contacts, false), "rp", list_json(&t->replies, false),
                     "sl", list_json(&t->sla, true), "sv", sv, "mi", t->merged_into);
}

int model_ticket_from_json(model_ticket *t, json_t *j)
{
    int v, opened, channel, category, priority, transfers, reopens, escalations;
    json_t *c, *so, *cl, *st, *ct, *rp, *sl, *sv;
    const char *cu, *tm, *ag, *mi = "";
    if (json_unpack(
            j, "{s:i,s:b,s:o,s:i,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s?s}",
            "v", &v, "o", &opened, "c", &c, "ch", &channel, "cu", &cu, "tm", &tm, "ag", &ag, "ca",
            &category, "pr", &priority, "tr", &transfers, "ro", &reopens, "es", &escalations, "so",
            &so, "cl", &cl, "st", &st, "ct", &ct, "rp", &rp, "sl", &sl, "sv", &sv, "mi",
            &mi) != 0 ||
        v != 1)
        return -1;
    snprintf(t->merged_into, ID_LEN, "%s", mi);
    t->opened = opened;
    t->created = jtime_get(c);
    t->channel = channel;
    snprintf(t->customer, ID_LEN, "%s", cu);
    text_set(t->team, tm);
    text_set(t->agent, ag);
    t->category = category;
    t->priority = priority;
    t->transfers = transfers;
    t->reopens = reopens;
    t->escalations = escalations;
    t->solved = jtime_get(so);
    t->closed = jtime_get(cl);
    if (list_from_json(&t->status, st, false) != 0 ||
        list_from_json(&t->contacts, ct, false) != 0 ||
        list_from_json(&t->replies, rp, false) != 0 || list_from_json(&t->sla, sl, true) != 0 ||
        !json_is_array(sv))
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(sv, i, e)
    {
        const char *id;
        json_t *req, *ans, *csat, *ces, *comment;
        int ch;
        if (json_unpack(e, "[s,o,o,o,o,i,o!]", &id, &req, &ans, &csat, &ces, &ch, &comment) != 0)
            return -1;
        model_survey *s = survey_make(t, id);
        if (!s)
            return -1;
        s->requested = jtime_get(req);
        s->answered = jtime_get(ans);
        s->csat = json_is_integer(csat) ? (int32_t)json_integer_value(csat) : -1;
        s->ces = json_is_integer(ces) ? (int32_t)json_integer_value(ces) : -1;
        s->channel = ch;
        free(s->comment);
        s->comment = json_is_string(comment) ? strdup(json_string_value(comment)) : NULL;
    }
    return 0;
}

json_t *model_customer_json(const model_customer *c)
{
    json_t *sk = c->seg_at == MODEL_NONE ? json_null()
                                         : json_pack("[I,i,I]", (json_int_t)c->seg_at, c->seg_rank,
                                                     (json_int_t)c->seg_seq);
    return json_pack("{s:i,s:o,s:i,s:o,s:o}", "v", 1, "fs", jtime(c->first_seen), "sg", c->segment,
                     "sk", sk, "st", list_json(&c->status, false));
}

int model_customer_from_json(model_customer *c, json_t *j)
{
    int v, seg;
    json_t *fs, *sk, *st;
    if (json_unpack(j, "{s:i,s:o,s:i,s:o,s:o}", "v", &v, "fs", &fs, "sg", &seg, "sk", &sk, "st",
                    &st) != 0 ||
        v != 1)
        return -1;
    c->first_seen = jtime_get(fs);
    c->segment = seg;
    c->seg_at = MODEL_NONE;
    if (json_is_array(sk)) {
        json_int_t at, seq;
        int rank;
        if (json_unpack(sk, "[I,i,I]", &at, &rank, &seq) != 0)
            return -1;
        c->seg_at = at;
        c->seg_rank = (int16_t)rank;
        c->seg_seq = (uint64_t)seq;
    }
    return list_from_json(&c->status, st, false);
}
