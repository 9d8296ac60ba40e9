/* fold.c — the clock rules of fold.h, one fact at a time.
 *
 * Each target occurrence keeps its business-time budget left (left_us) and
 * the instant its current running period started (run_start): pausing
 * charges the period to the budget, resuming starts a new period, and the
 * deadline is always run_start + left in business time. So a pause never
 * costs business time and a deadline never depends on when it was computed.
 */
#include "fold.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

static const char *const fact_names[SLA_FACT_NKINDS] = {
    [SLA_FACT_OPENED] = "opened",
    [SLA_FACT_CUSTOMER] = "customer_message",
    [SLA_FACT_REPLY] = "agent_reply",
    [SLA_FACT_PENDING] = "pending",
    [SLA_FACT_OPEN] = "open",
    [SLA_FACT_SOLVED] = "solved",
    [SLA_FACT_CLOSED] = "closed",
    [SLA_FACT_REOPENED] = "reopened",
    [SLA_FACT_CLASSIFIED] = "classified",
    [SLA_FACT_ESCALATED] = "escalated",
    [SLA_FACT_TEAM] = "team",
};

const char *sla_fact_kind_name(enum sla_fact_kind k)
{
    return (unsigned)k < SLA_FACT_NKINDS ? fact_names[k] : NULL;
}

int sla_fact_kind_parse(const char *s, enum sla_fact_kind *out)
{
    for (int k = 0; k < SLA_FACT_NKINDS; k++)
        if (strcmp(s, fact_names[k]) == 0) {
            *out = (enum sla_fact_kind)k;
            return 0;
        }
    return -1;
}

static const char *const status_names[] = {"running", "paused", "achieved", "cancelled"};

const char *sla_status_name(enum sla_status s)
{
    return status_names[s];
}

int sla_status_parse(const char *s, enum sla_status *out)
{
    for (size_t k = 0; k < sizeof status_names / sizeof status_names[0]; k++)
        if (strcmp(s, status_names[k]) == 0) {
            *out = (enum sla_status)k;
            return 0;
        }
    return -1;
}

void sla_rows_release(struct sla_rows *r)
{
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

struct fold {
    const struct sla_fold_in *in;
    const calendar *cal;
    struct sla_rows *out;
    int pct;
    /* indexes into out->v of the running (or paused) occurrences; -1: none */
    long fr, nr, res;
    uint32_t nr_cycles, res_cycles;
    enum { T_OPEN, T_PENDING, T_SOLVED, T_CLOSED } status;
    bool awaiting_customer; /* the last public message was an agent's */
    bool failed;
};

static int64_t fold_budget_us(const struct fold *f, Carebus__V1__SlaTarget t)
{
    Carebus__V1__Priority p = f->in->priority;
    if (p <= CAREBUS__V1__PRIORITY__PRIORITY_UNSPECIFIED ||
        p > CAREBUS__V1__PRIORITY__PRIORITY_URGENT)
        p = CAREBUS__V1__PRIORITY__PRIORITY_NORMAL;
    return (int64_t)f->in->policy->secs[p][t] * 1000000;
}

/* Deadline and warning time of a running occurrence. */
static void fold_schedule(const struct fold *f, struct sla_row *r)
{
    int64_t due = calendar_add_business_us(f->cal, r->run_start, r->left_us);
    r->due_at = due == CALENDAR_NEVER ? 0 : due;
    r->warn_at = 0;
    if (f->pct > 0 && r->due_at) {
        /* Warn once pct% of the whole target is used, pauses excluded. */
        int64_t threshold = (r->target_us * f->pct + 99) / 100;
        int64_t need = threshold - (r->target_us - r->left_us);
        int64_t w = need > 0 ? calendar_add_business_us(f->cal, r->run_start, need) : r->run_start;
        r->warn_at = w == CALENDAR_NEVER ? 0 : w;
    }
}

/* Starts an occurrence; its index in out, or -1 (not tracked, or no memory). */
static long fold_start(struct fold *f, Carebus__V1__SlaTarget t, uint32_t cycle, int64_t at)
{
    int64_t budget = fold_budget_us(f, t);
    if (budget <= 0)
        return -1;
    struct sla_rows *o = f->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        struct sla_row *v = realloc(o->v, cap * sizeof *v);
        if (!v) {
            f->failed = true;
            return -1;
        }
        o->v = v;
        o->cap = cap;
    }
    struct sla_row *r = &o->v[o->n];
    memset(r, 0, sizeof *r);
    r->target = t;
    r->cycle = cycle;
    r->status = SLA_RUNNING;
    r->target_us = budget;
    r->started_at = r->run_start = at;
    r->left_us = budget;
    fold_schedule(f, r);
    return (long)o->n++;
}

static struct sla_row *row(struct fold *f, long i)
{
    return i < 0 ? NULL : &f->out->v[i];
}

/* Business time left at `at`, charging the running period. */
static int64_t fold_left_at(const struct fold *f, const struct sla_row *r, int64_t at)
{
    if (r->status != SLA_RUNNING)
        return r->left_us;
    return r->left_us - calendar_business_us_between(f->cal, r->run_start, at);
}

static void fold_stop(struct fold *f, long *idx, int64_t at, enum sla_status how)
{
    struct sla_row *r = row(f, *idx);
    if (!r)
        return;
    /* due_at stays: the deadline it was held to. */
    r->remaining_us = fold_left_at(f, r, at);
    if (r->status == SLA_RUNNING && r->due_at && at > r->due_at)
        r->breached = true;
    r->status = how;
    if (how == SLA_ACHIEVED)
        r->achieved_at = at;
    else
        r->cancelled_at = at;
    *idx = -1;
}

static void fold_pause(struct fold *f, long idx, int64_t at)
{
    struct sla_row *r = row(f, idx);
    if (!r || r->status != SLA_RUNNING)
        return;
    if (r->due_at && at > r->due_at)
        r->breached = true;
    r->left_us = fold_left_at(f, r, at);
    r->remaining_us = r->left_us;
    r->status = SLA_PAUSED;
    r->due_at = r->warn_at = 0;
}

static void fold_resume(struct fold *f, long idx, int64_t at)
{
    struct sla_row *r = row(f, idx);
    if (!r || r->status != SLA_PAUSED)
        return;
    r->status = SLA_RUNNING;
    r->run_start = at;
    r->remaining_us = 0;
    fold_schedule(f, r);
}

static void fold_reopen(struct fold *f, int64_t at)
{
    f->status = T_OPEN;
    if (f->res < 0)
        f->res = fold_start(f, CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION, f->res_cycles++, at);
}

static void fold_fact(struct fold *f, enum sla_fact_kind kind, int64_t at)
{
    if (f->status == T_CLOSED)
        return; /* a closed ticket is final: the router opens a new one */
    switch (kind) {
    case SLA_FACT_CUSTOMER:
        if (f->status == T_PENDING) {
            f->status = T_OPEN;
            fold_resume(f, f->res, at);
        }
        if (f->awaiting_customer && f->nr < 0)
            f->nr = fold_start(f, CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE, f->nr_cycles++,
                               at);
        f->awaiting_customer = false;
        break;
    case SLA_FACT_REPLY:
        fold_stop(f, &f->fr, at, SLA_ACHIEVED);
        fold_stop(f, &f->nr, at, SLA_ACHIEVED);
        f->awaiting_customer = true;
        break;
    case SLA_FACT_PENDING:
        if (f->status == T_OPEN) {
            f->status = T_PENDING;
            fold_pause(f, f->res, at);
        }
        break;
    case SLA_FACT_OPEN:
        if (f->status == T_PENDING) {
            f->status = T_OPEN;
            fold_resume(f, f->res, at);
        } else if (f->status == T_SOLVED) {
            fold_reopen(f, at);
        }
        break;
    case SLA_FACT_SOLVED:
    case SLA_FACT_CLOSED:
        if (f->status != T_SOLVED) {
            fold_stop(f, &f->res, at, SLA_ACHIEVED);
            fold_stop(f, &f->fr, at, SLA_CANCELLED);
            fold_stop(f, &f->nr, at, SLA_CANCELLED);
        }
        f->status = kind == SLA_FACT_SOLVED ? T_SOLVED : T_CLOSED;
        break;
    case SLA_FACT_REOPENED:
        if (f->status == T_SOLVED)
            fold_reopen(f, at);
        break;
    case SLA_FACT_OPENED:
    case SLA_FACT_CLASSIFIED:
    case SLA_FACT_ESCALATED:
    case SLA_FACT_TEAM:
    case SLA_FACT_NKINDS:
        break;
    }
}

int sla_fold(const struct sla_fold_in *in, struct sla_rows *out)
{
    assert(in->policy && in->policy->cal);
    out->n = 0;
    size_t opened = in->nfacts;
    for (size_t i = 0; i < in->nfacts; i++)
        if (in->facts[i].kind == SLA_FACT_OPENED) {
            opened = i;
            break;
        }
    if (opened == in->nfacts)
        return 0;
    struct fold f = {
        .in = in,
        .cal = in->policy->cal,
        .out = out,
        .pct = in->policy->warning_pct,
        .fr = -1,
        .nr = -1,
        .res = -1,
        .status = T_OPEN,
    };
    int64_t t0 = in->facts[opened].at;
    f.fr = fold_start(&f, CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE, 0, t0);
    f.res = fold_start(&f, CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION, f.res_cycles++, t0);
    for (size_t i = 0; i < in->nfacts; i++) {
        if (i == opened || in->facts[i].kind == SLA_FACT_OPENED)
            continue;
        fold_fact(&f, in->facts[i].kind, in->facts[i].at > t0 ? in->facts[i].at : t0);
    }
    if (f.failed)
        return -1;
    for (size_t i = 0; i < out->n; i++) {
        struct sla_row *r = &out->v[i];
        if (in->emitted) {
            r->warned = in->emitted(in->arg, r->target, r->cycle, false);
            r->breached |= in->emitted(in->arg, r->target, r->cycle, true);
        }
        r->next_fire_at = 0;
        if (r->status != SLA_RUNNING || !r->due_at)
            continue;
        if (r->warn_at && !r->warned && !r->breached && r->warn_at < r->due_at)
            r->next_fire_at = r->warn_at;
        else if (!r->breached)
            r->next_fire_at = r->due_at;
    }
    return 0;
}
