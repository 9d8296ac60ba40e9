/* model.c — the batch model's containers and indexes (see model.h). */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void model_init(model *m, db *d, const rules *r, int64_t reopen_window_us)
{
    memset(m, 0, sizeof *m);
    m->db = d;
    m->rules = r;
    m->reopen_window_us = reopen_window_us;
}

void model_release(model *m)
{
    for (size_t i = 0; i < m->ncust; i++)
        json_decref(m->cust[i].attr_patch);
    hmap_release(&m->cust_by_id);
    hmap_release(&m->tick_by_id);
    hmap_release(&m->agent_by_id);
    hmap_release(&m->team_by_id);
    hmap_release(&m->ident);
    hmap_release(&m->ident_origin);
    hmap_release(&m->ref_by_ext);
    arena_release(&m->a);
    memset(m, 0, sizeof *m);
}

/* Puts into one of the model's indexes. Like the arena, out of memory is
 * fatal: the batch is not committed and the log replays it on restart. */
static void model_index(hmap *h, const char *key, size_t len, int value)
{
    if (hmap_put(h, key, len, value) != 0) {
        log_error("router: out of memory growing an index: exiting, the log replays the batch");
        abort();
    }
}

char *model_strdup(model *m, const char *s)
{
    return arena_strdup(&m->a, s);
}

int model_customer(const model *m, const char *id)
{
    return id ? hmap_gets(&m->cust_by_id, id) : -1;
}

int model_ticket(const model *m, const char *id)
{
    return id ? hmap_gets(&m->tick_by_id, id) : -1;
}

int model_agent(const model *m, const char *id)
{
    return id ? hmap_gets(&m->agent_by_id, id) : -1;
}

int model_team(const model *m, const char *id)
{
    return id ? hmap_gets(&m->team_by_id, id) : -1;
}

int model_customer_final(const model *m, int c)
{
    /* Chains are flattened on merge, but a bound keeps a bug from
     * looping. */
    for (int hops = 0; c >= 0 && m->cust[c].merged_into >= 0 && hops < 64; hops++)
        c = m->cust[c].merged_into;
    return c;
}

int model_ticket_final(const model *m, int t)
{
    for (int hops = 0; t >= 0 && m->tick[t].merged_into >= 0 && hops < 64; hops++)
        t = m->tick[t].merged_into;
    return t;
}

static const char *ident_key(model *m, const char *kind, const char *value, size_t *len)
{
    size_t kl = strlen(kind), vl = strlen(value);
    char *k = arena_alloc(&m->a, kl + vl + 2);
    memcpy(k, kind, kl);
    k[kl] = '\x1f';
    memcpy(k + kl + 1, value, vl + 1);
    *len = kl + vl + 1;
    return k;
}

/* A handle's entry in one of the handle indexes, -1 when absent. */
static int ident_get(const hmap *h, const char *kind, const char *value)
{
    char key[320];
    size_t kl = strlen(kind), vl = strlen(value);
    if (kl + vl + 2 > sizeof key)
        return -1;
    memcpy(key, kind, kl);
    key[kl] = '\x1f';
    memcpy(key + kl + 1, value, vl + 1);
    return hmap_get(h, key, kl + vl + 1);
}

int model_identity(const model *m, const char *kind, const char *value)
{
    return ident_get(&m->ident, kind, value);
}

void model_identity_set(model *m, const char *kind, const char *value, int cust)
{
    size_t len;
    const char *key = ident_key(m, kind, value, &len);
    model_index(&m->ident, key, len, cust);
}

const char *model_identity_origin(const model *m, const char *kind, const char *value)
{
    int i = ident_get(&m->ident_origin, kind, value);
    return i >= 0 ? m->origins[i] : NULL;
}

void model_identity_set_origin(model *m, const char *kind, const char *value, const char *origin)
{
    if (!origin)
        return;
    size_t len;
    const char *key = ident_key(m, kind, value, &len);
    arena_grow(&m->a, (void **)&m->origins, &m->origincap, m->norigins + 1, sizeof *m->origins);
    m->origins[m->norigins] = arena_strdup(&m->a, origin);
    model_index(&m->ident_origin, key, len, (int)m->norigins++);
}

void model_unlink_ticket(model *m, int c, int t)
{
    m_customer *cu = &m->cust[c];
    for (size_t i = 0; i < cu->ntickets; i++)
        if (cu->tickets[i] == t) {
            memmove(&cu->tickets[i], &cu->tickets[i + 1],
                    (cu->ntickets - i - 1) * sizeof *cu->tickets);
            cu->ntickets--;
            return;
        }
}

int model_add_customer(model *m, const m_customer *c)
{
    arena_grow(&m->a, (void **)&m->cust, &m->custcap, m->ncust + 1, sizeof *m->cust);
    int i = (int)m->ncust++;
    m->cust[i] = *c;
    m->cust[i].tickets = NULL;
    m->cust[i].ntickets = m->cust[i].tcap = 0;
    model_index(&m->cust_by_id, m->cust[i].id, strlen(m->cust[i].id), i);
    return i;
}

int model_add_ticket(model *m, const m_ticket *t)
{
    arena_grow(&m->a, (void **)&m->tick, &m->tickcap, m->ntick + 1, sizeof *m->tick);
    arena_grow(&m->a, (void **)&m->tick_orig, &m->origcap, m->ntick + 1, sizeof *m->tick_orig);
    int i = (int)m->ntick++;
    m->tick[i] = *t;
    m->tick_orig[i] = *t;
    model_index(&m->tick_by_id, m->tick[i].id, strlen(m->tick[i].id), i);
    return i;
}

int model_add_agent(model *m, const m_agent *a)
{
    arena_grow(&m->a, (void **)&m->agent, &m->agentcap, m->nagent + 1, sizeof *m->agent);
    int i = (int)m->nagent++;
    m->agent[i] = *a;
    model_index(&m->agent_by_id, m->agent[i].id, strlen(m->agent[i].id), i);
    return i;
}

int model_add_team(model *m, const m_team *t)
{
    arena_grow(&m->a, (void **)&m->team, &m->teamcap, m->nteam + 1, sizeof *m->team);
    int i = (int)m->nteam++;
    m->team[i] = *t;
    model_index(&m->team_by_id, m->team[i].id, strlen(m->team[i].id), i);
    return i;
}

void model_add_ref(model *m, const char *external_id, const char *channel, int ticket, int64_t at,
                   const char *stream, uint64_t seq)
{
    arena_grow(&m->a, (void **)&m->refs, &m->refcap, m->nrefs + 1, sizeof *m->refs);
    int i = (int)m->nrefs++;
    m_ref *r = &m->refs[i];
    r->external_id = arena_strdup(&m->a, external_id);
    r->channel = arena_strdup(&m->a, channel);
    r->ticket = ticket;
    r->at = at;
    r->stream = arena_strdup(&m->a, stream);
    r->seq = seq;
    r->next = hmap_gets(&m->ref_by_ext, r->external_id);
    model_index(&m->ref_by_ext, r->external_id, strlen(r->external_id), i);
}

int model_ref(const model *m, const char *external_id)
{
    return hmap_gets(&m->ref_by_ext, external_id);
}

void model_link_ticket(model *m, int c, int t)
{
    m_customer *cu = &m->cust[c];
    for (size_t i = 0; i < cu->ntickets; i++)
        if (cu->tickets[i] == t)
            return;
    arena_grow(&m->a, (void **)&cu->tickets, &cu->tcap, cu->ntickets + 1, sizeof *cu->tickets);
    cu->tickets[cu->ntickets++] = t;
    m->tick[t].cust = c;
}

void model_link_loaded(model *m, int c, int t)
{
    model_link_ticket(m, model_customer_final(m, c), t);
    /* Read with cust -1 (model_add_ticket's copy came before the link). */
    if (m->tick_orig[t].cust < 0)
        m->tick_orig[t].cust = c;
}

m_queue *model_queue(model *m, const char *team)
{
    for (size_t i = 0; i < m->nqueues; i++)
        if (strcmp(m->queues[i].team, team) == 0)
            return &m->queues[i];
    arena_grow(&m->a, (void **)&m->queues, &m->qcap, m->nqueues + 1, sizeof *m->queues);
    m_queue *q = &m->queues[m->nqueues++];
    memset(q, 0, sizeof *q);
    q->team = arena_strdup(&m->a, team);
    return q;
}

bool model_ticket_active(const m_ticket *t)
{
    return t->status == CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN ||
           t->status == CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING;
}

bool model_queue_before(int rank_a, int64_t queued_a, const char *id_a, int rank_b,
                        int64_t queued_b, const char *id_b)
{
    if (rank_a != rank_b)
        return rank_a > rank_b;
    if (queued_a != queued_b)
        return queued_a < queued_b;
    return strcmp(id_a, id_b) < 0;
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_strings(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!same(a[i], b[i]))
            return false;
    return true;
}

bool model_ticket_changed(const model *m, int i)
{
    const m_ticket *t = &m->tick[i], *o = &m->tick_orig[i];
    return t->is_new || t->cust != o->cust || t->merged_into != o->merged_into ||
           t->status != o->status || t->category != o->category || !same(t->rule, o->rule) ||
           !same(t->phrase, o->phrase) || t->rank != o->rank || !same(t->reasons, o->reasons) ||
           !same(t->team, o->team) || !same(t->assignee, o->assignee) ||
           !same(t->urgent_word, o->urgent_word) || t->escalated_rank != o->escalated_rank ||
           t->reopened != o->reopened || t->assigned != o->assigned || t->queued != o->queued ||
           t->solved != o->solved || t->closed != o->closed || t->escalated != o->escalated ||
           !same_strings(t->tags, t->ntags, o->tags, o->ntags) ||
           t->prio_override != o->prio_override || t->cat_override != o->cat_override ||
           t->cat_rules != o->cat_rules;
}
