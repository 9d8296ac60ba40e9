/* contrib.c — KPI contributions of tickets and customers (see contrib.h).
 *
 * The day conventions (all in the analytics time zone):
 *   - an event counts on the local day of its time;
 *   - "at the end of day d" means at the instant day d+1 starts, seeing the
 *     points strictly before it; backlog is measured there;
 *   - "at the start of day d" likewise; active customers are counted there.
 * With those, a state interval (x, y] holds at the end of day d exactly for
 * day(x) <= d < day(y), so an interval is two deltas (+1 on day(x), -1 on
 * day(y)) and "backlog at the end of day D" is the sum of deltas on days
 * <= D: one interval is two numbers, however long it lasts.
 */
#include "contrib.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define COL_NAME(name, col) [M_##name] = col,
const char *const contrib_measure_names[M_COUNT] = {CONTRIB_MEASURES(COL_NAME)};
#undef COL_NAME

const char *const contrib_hist_names[H_COUNT] = {"fr_hist", "frb_hist", "res_hist", "resb_hist"};
const char *const contrib_dim_names[DIM_COUNT] = {"all",   "channel", "team",
                                                  "agent", "segment", "category"};

static char measures_text[(M_COUNT + H_COUNT) * 32];
static pthread_once_t measures_once = PTHREAD_ONCE_INIT;

static void measures_build(void)
{
    size_t n = 0;
    for (int i = 0; i < M_COUNT + H_COUNT; i++) {
        const char *name = i < M_COUNT ? contrib_measure_names[i] : contrib_hist_names[i - M_COUNT];
        n += (size_t)snprintf(measures_text + n, sizeof measures_text - n, "%s%s", i ? "," : "",
                              name);
        assert(n < sizeof measures_text);
    }
}

const char *contrib_measures_text(void)
{
    pthread_once(&measures_once, measures_build);
    return measures_text;
}

#define DAY_MS INT64_C(86400000)

/* --- histogram buckets ------------------------------------------------------ */

/* floors[k] is the smallest duration of bucket k (ms); bucket 0 is [0, 1 s). */
static int64_t floors[HIST_BUCKETS];
static bool floors_ready;

static void floors_init(void)
{
    if (floors_ready)
        return;
    floors[0] = 0;
    for (int k = 1; k < HIST_BUCKETS; k++)
        floors[k] = (int64_t)ceil(1000.0 * pow(2.0, (double)(k - 1) / 8.0));
    floors_ready = true;
}

int contrib_bucket(int64_t ms)
{
    floors_init();
    if (ms < floors[1])
        return 0;
    int lo = 1, hi = HIST_BUCKETS - 1; /* floors[lo] <= ms */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (floors[mid] <= ms)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int64_t contrib_bucket_floor(int bucket)
{
    floors_init();
    assert(bucket >= 0 && bucket < HIST_BUCKETS);
    return floors[bucket];
}

void contrib_hist_pack(const int32_t *counts, char *out)
{
    enum { FIELD = 1000000 }; /* 10^HIST_FIELD_DIGITS */
    int h = HIST_BUCKETS - 1;
    while (h > 0 && counts[h] == 0)
        h--;
    /* The number's sign is its highest field's; its magnitude is the
     * fields of that sign, each field borrowing from the next one up when
     * it holds the other sign. */
    int64_t sign = counts[h] < 0 ? -1 : 1, f[HIST_BUCKETS], borrow = 0;
    for (int b = 0; b <= h; b++) {
        assert(counts[b] > -FIELD && counts[b] < FIELD);
        f[b] = sign * (int64_t)counts[b] - borrow;
        borrow = f[b] < 0;
        f[b] += borrow * FIELD;
    }
    while (h > 0 && f[h] == 0)
        h--;
    char *p = out;
    p += sprintf(p, "%s%" PRId64, sign < 0 ? "-" : "", f[h]);
    for (int b = h - 1; b >= 0; b--) {
        int64_t v = f[b];
        memset(p, '0', HIST_FIELD_DIGITS); /* most fields: a histogram is sparse */
        for (int k = HIST_FIELD_DIGITS - 1; v && k >= 0; k--, v /= 10)
            p[k] = (char)('0' + v % 10);
        p += HIST_FIELD_DIGITS;
    }
    *p = '\0';
}

int contrib_hist_unpack(const char *text, int64_t *counts)
{
    size_t n = strlen(text);
    if (n == 0 || n > (size_t)HIST_BUCKETS * HIST_FIELD_DIGITS)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (text[i] < '0' || text[i] > '9')
            return -1;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        int64_t v = 0;
        size_t end = n > (size_t)b * HIST_FIELD_DIGITS ? n - (size_t)b * HIST_FIELD_DIGITS : 0;
        size_t start = end > HIST_FIELD_DIGITS ? end - HIST_FIELD_DIGITS : 0;
        for (size_t i = start; i < end; i++)
            v = v * 10 + (text[i] - '0');
        counts[b] = v;
    }
    return 0;
}

/* --- the sums ------------------------------------------------------------------ */

struct agg {
    agg_entry **v;
    size_t n, cap;
    hmap index; /* an entry (dim, day, key) -> its index in v */
    bool failed;
    /* The entries of the last day and dimension keys added to (one per
     * dimension): a ticket adds several measures to the same day's rows
     * in a row. Valid only within one contrib_ticket (the keys are
     * compared by address: the ticket they are borrowed from does not
     * change meanwhile). */
    bool memo_ok;
    int32_t memo_day;
    const char *memo_keys[DIM_COUNT];
    agg_entry *memo[DIM_COUNT];
};

/* An entry is its own key: the map borrows the entry, a probe is an entry
 * on the stack. FNV-1a seeded with the day and the dimension, in one pass
 * over the text: this runs for every event of a rebuild. */
static uint64_t entry_hash(const void *key, size_t klen)
{
    (void)klen;
    const agg_entry *e = key;
    uint64_t h =
        HMAP_FNV_BASIS ^ (uint64_t)(uint32_t)e->day * 0x9e3779b97f4a7c15u ^ (uint64_t)e->dim;
    for (const char *p = e->key; *p; p++)
        h = (h ^ (unsigned char)*p) * HMAP_FNV_PRIME;
    return h;
}

static bool entry_eq(const void *stored, const void *key, size_t klen)
{
    (void)klen;
    const agg_entry *a = stored, *b = key;
    return a->dim == b->dim && a->day == b->day && strcmp(a->key, b->key) == 0;
}

static const hmap_type entry_type = {entry_hash, entry_eq};

agg *agg_new(void)
{
    agg *a = calloc(1, sizeof(agg));
    if (a)
        a->index = (hmap)HMAP_INIT_TYPE(&entry_type);
    return a;
}

void agg_destroy(agg **pa)
{
    agg *a = *pa;
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i]->key);
        free(a->v[i]->hist);
        free(a->v[i]);
    }
    free(a->v);
    hmap_release(&a->index);
    free(a);
    *pa = NULL;
}

agg_entry **agg_entries(agg *a, size_t *n)
{
    *n = a->n;
    return a->v;
}

bool agg_failed(const agg *a)
{
    return a->failed;
}

bool agg_entry_zero(const agg_entry *e)
{
    for (int i = 0; i < M_COUNT; i++)
        if (e->m[i])
            return false;
    if (e->hist)
        for (int i = 0; i < H_COUNT * HIST_BUCKETS; i++)
            if (e->hist[i])
                return false;
    return true;
}

static agg_entry *agg_get(agg *a, int dim, int32_t day, const char *key)
{
    /* Only the key fields: zeroing the measures on every call would cost
     * more than the look-up (this runs for every event of a rebuild). */
    agg_entry probe;
    probe.dim = (int16_t)dim;
    probe.day = day;
    probe.key = (char *)key;
    int i = hmap_get(&a->index, &probe, sizeof probe);
    if (i != HMAP_ABSENT)
        return a->v[i];
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        agg_entry **v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return NULL;
        a->v = v;
        a->cap = cap;
    }
    agg_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return NULL;
    }
    e->dim = (int16_t)dim;
    e->day = day;
    if (a->n >= INT_MAX || hmap_put(&a->index, e, sizeof *e, (int)a->n) != 0) {
        free(e->key);
        free(e);
        return NULL;
    }
    a->v[a->n++] = e;
    return e;
}

/* The day's rows for dims (one per dimension), or NULL (a->failed) when
 * out of memory. */
static agg_entry *const *agg_row(agg *a, int32_t day, const char *const *dims)
{
    if (a->memo_ok && a->memo_day == day &&
        memcmp(a->memo_keys, dims, sizeof a->memo_keys) == 0)
        return a->memo;
    a->memo_ok = false;
    for (int d = 0; d < DIM_COUNT; d++)
        if (!(a->memo[d] = agg_get(a, d, day, dims[d]))) {
            a->failed = true;
            return NULL;
        }
    a->memo_day = day;
    memcpy(a->memo_keys, dims, sizeof a->memo_keys);
    a->memo_ok = true;
    return a->memo;
}

/* Adds v to measure m of the day's rows for dims (one per dimension). */
static void add(agg *a, int32_t day, const char *const *dims, int m, int64_t v)
{
    if (v == 0)
        return;
    agg_entry *const *row = agg_row(a, day, dims);
    for (int d = 0; row && d < DIM_COUNT; d++)
        row[d]->m[m] += v;
}

static void add_hist(agg *a, int32_t day, const char *const *dims, int metric, int64_t ms, int sign)
{
    int b = contrib_bucket(ms);
    agg_entry *const *row = agg_row(a, day, dims);
    for (int d = 0; row && d < DIM_COUNT; d++) {
        agg_entry *e = row[d];
        if (!e->hist && !(e->hist = calloc(H_COUNT * HIST_BUCKETS, sizeof *e->hist))) {
            a->failed = true;
            return;
        }
        e->hist[metric * HIST_BUCKETS + b] += sign;
    }
}

/* --- tickets --------------------------------------------------------------------- */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Next-response cycles: a customer contact after an agent reply opens one,
 * the next public reply closes it. Replies sort before contacts of the same
 * millisecond (stream order), so a reply never answers a later contact. */
struct cycle {
    int64_t start, end, breached; /* end, breached: MODEL_NONE if none */
};

static size_t nr_cycles(const model_ticket *t, struct cycle *out, size_t max)
{
    size_t n = 0, i = 0, j = 0;
    bool replied = false, waiting = false;
    while (i < t->contacts.n || j < t->replies.n) {
        bool take_reply =
            j < t->replies.n && (i >= t->contacts.n || t->replies.v[j].at < t->contacts.v[i].at ||
                                 (t->replies.v[j].at == t->contacts.v[i].at &&
                                  t->replies.v[j].rank <= t->contacts.v[i].rank));
        if (take_reply) {
            if (waiting && n > 0)
                out[n - 1].end = t->replies.v[j].at;
            waiting = false;
            replied = true;
            j++;
        } else {
            if (replied && !waiting && n < max) {
                out[n++] = (struct cycle){t->contacts.v[i].at, MODEL_NONE, MODEL_NONE};
                waiting = true;
            }
            i++;
        }
    }
    return n;
}

#define MAX_CYCLES 256

/* One SLA target settled: on its day, met or missed. */
struct sla_eval {
    int32_t day;
    int target; /* Carebus__V1__SlaTarget */
    bool met;
};

#define MAX_EVALS (MAX_CYCLES + 64)

static size_t sla_evals(timebase *c, const model_ticket *t, const struct ticket_facts *f,
                        struct sla_eval *out);

void contrib_facts(timebase *c, const model_ticket *t, int32_t segment, struct ticket_facts *f)
{
    memset(f, 0, sizeof *f);
    f->opened = t->opened;
    f->created = t->created;
    f->dims[DIM_ALL] = "";
    f->dims[DIM_CHANNEL] = event_channel_name(t->channel);
    f->dims[DIM_TEAM] = t->team;
    f->dims[DIM_AGENT] = t->agent;
    f->dims[DIM_SEGMENT] = event_segment_name(segment);
    f->dims[DIM_CATEGORY] = event_category_name(t->category);
    for (int d = 0; d < DIM_COUNT; d++)
        if (!f->dims[d])
            f->dims[d] = "";
    f->status = model_ticket_status(t);
    f->fr_at = f->fr_ms = f->frb_ms = MODEL_NONE;
    f->solved_at = f->res_ms = f->resb_ms = MODEL_NONE;
    for (size_t i = 0; i < t->sla.n; i++)
        f->breaches += t->sla.v[i].kind == SLA_BREACH;
    if (!t->opened)
        return;
    f->created_day = timebase_day(c, t->created);
    if (t->replies.n > 0) {
        f->fr_at = t->replies.v[0].at;
        f->fr_ms = max64(0, f->fr_at - t->created);
        f->frb_ms = timebase_business_ms(c, t->created, f->fr_at);
        f->fr_day = timebase_day(c, f->fr_at);
    }
    /* A close without a solve counts as the resolution, unless the close
     * was a merge into another ticket: that one goes on with the need. */
    f->merged = t->merged_into[0] != '\0';
    f->solved_at = t->solved != MODEL_NONE ? t->solved : f->merged ? MODEL_NONE : t->closed;
    if (f->solved_at != MODEL_NONE) {
        f->res_ms = max64(0, f->solved_at - t->created);
        f->resb_ms = timebase_business_ms(c, t->created, f->solved_at);
        f->solved_day = timebase_day(c, f->solved_at);
        f->fcr = t->replies.n == 1 && t->transfers == 0 && t->reopens == 0;
    }
    struct sla_eval ev[MAX_EVALS];
    size_t n = sla_evals(c, t, f, ev);
    for (size_t i = 0; i < n; i++) {
        switch (ev[i].target) {
        case CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE:
            f->fr_breached = !ev[i].met;
            break;
        case CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION:
            f->res_breached = !ev[i].met;
            break;
        default:
            f->nr_total++;
            f->nr_met += ev[i].met;
        }
    }
}

/* The ticket's SLA evaluations (see contrib.h): first response and
 * resolution once each, next response once per cycle; a target with a
 * breach is missed on the breach's day, one achieved without is met on the
 * day it was achieved. fr_at and solved_at come from f. */
static size_t sla_evals(timebase *c, const model_ticket *t, const struct ticket_facts *f,
                        struct sla_eval *out)
{
    size_t n = 0;
    int64_t fr_breach = MODEL_NONE, res_breach = MODEL_NONE;
    struct cycle cy[MAX_CYCLES];
    size_t ncy = nr_cycles(t, cy, MAX_CYCLES);
    for (size_t i = 0; i < t->sla.n; i++) {
        const model_point *p = &t->sla.v[i];
        if (p->kind != SLA_BREACH)
            continue;
        switch (p->aux) {
        case CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE:
            if (fr_breach == MODEL_NONE)
                fr_breach = p->at;
            break;
        case CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION:
            if (res_breach == MODEL_NONE)
                res_breach = p->at;
            break;
        case CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE: {
            size_t k = 0;
            while (k < ncy &&
                   !(cy[k].start <= p->at && (cy[k].end == MODEL_NONE || p->at < cy[k].end)))
                k++;
            if (k < ncy) {
                if (cy[k].breached == MODEL_NONE)
                    cy[k].breached = p->at;
            } else if (n < MAX_EVALS) {
                /* A breach outside every cycle still is a missed target. */
                out[n++] = (struct sla_eval){timebase_day(c, p->at), p->aux, false};
            }
            break;
        }
        default:
            break;
        }
    }
    if (fr_breach != MODEL_NONE)
        out[n++] = (struct sla_eval){timebase_day(c, fr_breach),
                                     CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE, false};
    else if (f->fr_at != MODEL_NONE)
        out[n++] =
            (struct sla_eval){f->fr_day, CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE, true};
    if (res_breach != MODEL_NONE)
        out[n++] = (struct sla_eval){timebase_day(c, res_breach),
                                     CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION, false};
    else if (f->solved_at != MODEL_NONE)
        out[n++] =
            (struct sla_eval){f->solved_day, CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION, true};
    for (size_t k = 0; k < ncy && n < MAX_EVALS; k++) {
        if (cy[k].breached != MODEL_NONE)
            out[n++] = (struct sla_eval){timebase_day(c, cy[k].breached),
                                         CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE, false};
        else if (cy[k].end != MODEL_NONE)
            out[n++] = (struct sla_eval){timebase_day(c, cy[k].end),
                                         CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE, true};
    }
    return n;
}

static void contrib_sla(agg *a, timebase *c, const model_ticket *t, const struct ticket_facts *f,
                        const char *const *dims, int sign)
{
    struct sla_eval ev[MAX_EVALS];
    size_t n = f->merged ? 0 : sla_evals(c, t, f, ev); /* its targets went on there */
    for (size_t i = 0; i < n; i++) {
        int total =
            ev[i].target == CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE ? M_SLA_FR_TOTAL
            : ev[i].target == CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION   ? M_SLA_RES_TOTAL
                                                                               : M_SLA_NR_TOTAL;
        add(a, ev[i].day, dims, total, sign);
        add(a, ev[i].day, dims, total + 1, ev[i].met ? sign : 0); /* *_MET follows *_TOTAL */
    }
    for (size_t i = 0; i < t->sla.n; i++)
        if (t->sla.v[i].kind == SLA_BREACH)
            add(a, timebase_day(c, t->sla.v[i].at), dims, M_SLA_BREACHES, sign);
}

/* Backlog: the ticket's open and pending intervals, cut by age bucket. */
static void contrib_backlog(agg *a, timebase *c, const model_ticket *t, const char *const *dims,
                            int sign)
{
    static const int64_t age_lo[4] = {0, DAY_MS, 3 * DAY_MS, 7 * DAY_MS};
    int state = TS_NONE;
    int64_t from = 0;
    for (size_t i = 0; i <= t->status.n; i++) {
        int next = state;
        int64_t at = INT64_MAX; /* past the last point: the interval stays open */
        if (i < t->status.n) {
            at = t->status.v[i].at;
            switch (t->status.v[i].kind) {
            case PT_OPEN:
                next = TS_OPEN;
                break;
            case PT_SOLVED:
                next = TS_SOLVED;
                break;
            case PT_CLOSED:
                next = TS_CLOSED;
                break;
            case PT_PENDING_REQ:
                next = state == TS_OPEN ? TS_PENDING : state;
                break;
            case PT_OPEN_REQ:
                next = state == TS_PENDING ? TS_OPEN : state;
                break;
            }
            if (next == state)
                continue;
        }
        if (state == TS_OPEN || state == TS_PENDING) {
            int base = state == TS_OPEN ? M_BL_OPEN_0 : M_BL_PENDING_0;
            for (int k = 0; k < 4; k++) {
                int64_t x = max64(from, t->created + age_lo[k]);
                int64_t y = k < 3 ? t->created + age_lo[k + 1] : INT64_MAX;
                if (at < y)
                    y = at;
                if (y <= x)
                    continue;
                int32_t dx = timebase_day(c, x);
                if (y == INT64_MAX) {
                    add(a, dx, dims, base + k, sign);
                    continue;
                }
                int32_t dy = timebase_day(c, y);
                if (dy > dx) {
                    add(a, dx, dims, base + k, sign);
                    add(a, dy, dims, base + k, -sign);
                }
            }
        }
        state = next;
        from = at;
    }
}

int contrib_ticket(agg *a, timebase *c, const model_ticket *t, const struct ticket_facts *f,
                   int sign)
{
    if (!f->opened)
        return 0; /* a ticket the router never opened: nothing to count */
    const char *const *dims = f->dims;
    /* The keys are the ticket's: another one's, or this one's before a
     * batch changed it, may be at the same addresses. */
    a->memo_ok = false;
    /* A ticket merged into another is not a ticket of its own for the
     * KPIs (the other one carries the need); its contacts, backlog time
     * and SLA breaches still happened. */
    if (!f->merged) {
        add(a, f->created_day, dims, M_TICKETS_CREATED, sign);
        add(a, f->created_day, dims, M_TICKET_CONTACTS, sign * (int64_t)t->contacts.n);
    }
    for (size_t i = 0; i < t->contacts.n; i++) {
        const char *cd[DIM_COUNT];
        memcpy(cd, dims, sizeof cd);
        cd[DIM_CHANNEL] = event_channel_name(t->contacts.v[i].aux);
        if (!cd[DIM_CHANNEL])
            cd[DIM_CHANNEL] = "";
        add(a, timebase_day(c, t->contacts.v[i].at), cd, M_CONTACTS, sign);
    }
    if (f->fr_at != MODEL_NONE && !f->merged) {
        add(a, f->fr_day, dims, M_FR_COUNT, sign);
        add(a, f->fr_day, dims, M_FR_SUM, sign * f->fr_ms);
        add(a, f->fr_day, dims, M_FRB_SUM, sign * f->frb_ms);
        add_hist(a, f->fr_day, dims, H_FR, f->fr_ms, sign);
        add_hist(a, f->fr_day, dims, H_FRB, f->frb_ms, sign);
    }
    if (f->solved_at != MODEL_NONE) {
        add(a, f->solved_day, dims, M_TICKETS_SOLVED, sign);
        add(a, f->solved_day, dims, M_FCR_SOLVED, f->fcr ? sign : 0);
        add(a, f->solved_day, dims, M_RES_COUNT, sign);
        add(a, f->solved_day, dims, M_RES_SUM, sign * f->res_ms);
        add(a, f->solved_day, dims, M_RESB_SUM, sign * f->resb_ms);
        add_hist(a, f->solved_day, dims, H_RES, f->res_ms, sign);
        add_hist(a, f->solved_day, dims, H_RESB, f->resb_ms, sign);
    }
    for (size_t i = 0; i < t->nsurveys; i++) {
        const model_survey *s = &t->surveys[i];
        if (s->requested != MODEL_NONE) {
            int32_t d = timebase_day(c, s->requested);
            add(a, d, dims, M_SURVEYS_REQUESTED, sign);
            if (s->answered != MODEL_NONE)
                add(a, d, dims, M_SURVEYS_ANSWERED, sign);
        }
        if (s->answered == MODEL_NONE)
            continue;
        int32_t d = timebase_day(c, s->answered);
        if (s->csat >= 0) {
            add(a, d, dims, M_CSAT_ANSWERS, sign);
            add(a, d, dims, M_CSAT_POSITIVE, s->csat >= 4 ? sign : 0);
        }
        if (s->ces >= 0) {
            add(a, d, dims, M_CES_ANSWERS, sign);
            add(a, d, dims, M_CES_SUM, sign * s->ces);
        }
    }
    contrib_sla(a, c, t, f, dims, sign);
    contrib_backlog(a, c, t, dims, sign);
    return a->failed ? -1 : 0;
}

/* --- customers ------------------------------------------------------------------- */

int contrib_customer(agg *a, timebase *c, model_customer *const *members, size_t n, int32_t segment,
                     int sign)
{
    int64_t fs = MODEL_NONE;
    model_list pts = {0};
    for (size_t i = 0; i < n; i++) {
        if (members[i]->first_seen != MODEL_NONE &&
            (fs == MODEL_NONE || members[i]->first_seen < fs))
            fs = members[i]->first_seen;
        for (size_t k = 0; k < members[i]->status.n; k++)
            if (model_list_insert(&pts, &members[i]->status.v[k]) != 0) {
                free(pts.v);
                return -1;
            }
    }
    if (fs == MODEL_NONE) {
        free(pts.v);
        return 0;
    }
    const char *seg = event_segment_name(segment);
    const char *dims[DIM_COUNT] = {"", "", "", "", seg ? seg : "", ""};
    /* Only the total and the segment rows: churn is a customer KPI. */
    bool active = true;
    int64_t start = fs;
    for (size_t i = 0; i <= pts.n; i++) {
        if (i < pts.n && pts.v[i].kind == CS_ACTIVE && !active) {
            active = true;
            start = pts.v[i].at;
            continue;
        }
        if (i < pts.n && !(pts.v[i].kind == CS_CHURNED && active))
            continue;
        if (!active)
            break;
        /* An active interval (start, end]: counted at the start of the days
         * after start's, up to end's. */
        int32_t ds = timebase_day(c, start) + 1;
        for (int d = 0; d < DIM_COUNT; d += DIM_SEGMENT) {
            agg_entry *e = agg_get(a, d, ds, dims[d]);
            if (!e)
                goto oom;
            e->m[M_CUST_ACTIVE] += sign;
        }
        if (i == pts.n)
            break;
        int32_t de = timebase_day(c, pts.v[i].at) + 1;
        for (int d = 0; d < DIM_COUNT; d += DIM_SEGMENT) {
            agg_entry *e = agg_get(a, d, de, dims[d]);
            agg_entry *m = agg_get(a, d, de - 1, dims[d]);
            if (!e || !m)
                goto oom;
            e->m[M_CUST_ACTIVE] -= sign;
            m->m[M_CUST_CHURNED] += sign;
        }
        active = false;
    }
    free(pts.v);
    return 0;
oom:
    free(pts.v);
    a->failed = true;
    return -1;
}
