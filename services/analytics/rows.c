/* rows.c — analytics' tables at the border (see rows.h).
 *
 * A column's NULL is decided once, in the builder (a time of MODEL_NONE, an
 * empty id, a day not reached), so that the JSON of the live path and the
 * COPY of the rebuild cannot differ. The daily tables' measure and
 * histogram columns come from contrib.h's lists, so a KPI added there is a
 * column here without an edit.
 */
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "rowcopy.h"

/* --- descriptions ------------------------------------------------------------ */

static void tk_fcr_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    int fcr = ((const struct ticket_row *)row)->fcr;
    if (fcr < 0)
        rowset_put_null(p);
    else
        rowset_put_bool(p, fcr);
}

#define TK(f) ROWSET_AT(struct ticket_row, f)
#define TIME(name, T, f)                                                                           \
    {                                                                                              \
        name, "timestamptz", ROWSET_TIME, ROWSET_AT(T, f), .none = ROWS_NONE                       \
    }
#define NULLABLE(name, type, T, f)                                                                 \
    {                                                                                              \
        name, type, ROWSET_I64, ROWSET_AT(T, f), .none = ROWS_NONE, .flags = ROWSET_NULLABLE       \
    }
static const struct rowset_col ticket_cols[] = {
    {"ticket_id", "uuid", ROWSET_STR, TK(ticket_id)},
    {"customer_id", "uuid", ROWSET_STR, TK(customer_id)},
    {"state", "json", ROWSET_JSON, TK(state)},
    {"opened", "boolean", ROWSET_BOOL, TK(opened)},
    TIME("created_at", struct ticket_row, created_at),
    {"created_day", "date", ROWSET_ID, TK(created_day)},
    {"channel", "text", ROWSET_STR, TK(channel)},
    {"team", "text", ROWSET_STR, TK(team)},
    {"agent", "text", ROWSET_STR, TK(agent)},
    {"segment", "text", ROWSET_STR, TK(segment)},
    {"category", "text", ROWSET_STR, TK(category)},
    {"priority", "text", ROWSET_STR, TK(priority)},
    {"status", "text", ROWSET_STR, TK(status)},
    {"contacts", "integer", ROWSET_I64, TK(contacts)},
    {"public_replies", "integer", ROWSET_I64, TK(public_replies)},
    {"transfers", "integer", ROWSET_I64, TK(transfers)},
    {"reopens", "integer", ROWSET_I64, TK(reopens)},
    {"escalations", "integer", ROWSET_I64, TK(escalations)},
    TIME("first_response_at", struct ticket_row, first_response_at),
    {"first_response_day", "date", ROWSET_ID, TK(first_response_day)},
    NULLABLE("first_response_ms", "bigint", struct ticket_row, first_response_ms),
    NULLABLE("first_response_business_ms", "bigint", struct ticket_row, first_response_business_ms),
    TIME("solved_at", struct ticket_row, solved_at),
    {"solved_day", "date", ROWSET_ID, TK(solved_day)},
    NULLABLE("resolution_ms", "bigint", struct ticket_row, resolution_ms),
    NULLABLE("resolution_business_ms", "bigint", struct ticket_row, resolution_business_ms),
    {"fcr", "boolean", ROWSET_FN, .get = tk_fcr_get},
    {"sla_first_response_breached", "boolean", ROWSET_BOOL, TK(fr_breached)},
    {"sla_resolution_breached", "boolean", ROWSET_BOOL, TK(res_breached)},
    {"sla_next_response_total", "integer", ROWSET_I64, TK(nr_total)},
    {"sla_next_response_met", "integer", ROWSET_I64, TK(nr_met)},
    {"sla_breaches", "integer", ROWSET_I64, TK(breaches)},
    {"merged_into", "uuid", ROWSET_STR, TK(merged_into)},
};
#undef TK
const rowset_table rows_tickets = {"analytics.tickets", ticket_cols, ROWSET_COUNT(ticket_cols),
                                   NULL};

#define CU(f) ROWSET_AT(struct customer_row, f)
static const struct rowset_col customer_cols[] = {
    {"customer_id", "uuid", ROWSET_STR, CU(customer_id)},
    {"root", "uuid", ROWSET_STR, CU(root)},
    {"merged_into", "uuid", ROWSET_STR, CU(merged_into)},
    {"state", "json", ROWSET_JSON, CU(state)},
    TIME("first_seen", struct customer_row, first_seen),
    {"segment", "text", ROWSET_STR, CU(segment)},
    {"status", "text", ROWSET_STR, CU(status)},
    TIME("churned_at", struct customer_row, churned_at),
};
#undef CU
const rowset_table rows_customers = {"analytics.customers", customer_cols,
                                     ROWSET_COUNT(customer_cols), NULL};

#define SM(f) ROWSET_AT(struct sample_row, f)
static const struct rowset_col sample_cols[] = {
    {"ticket_id", "uuid", ROWSET_STR, SM(ticket_id)},
    {"metric", "smallint", ROWSET_INT, SM(metric)},
    {"day", "date", ROWSET_ID, SM(day)},
    {"ms", "bigint", ROWSET_I64, SM(ms)},
    {"bucket", "smallint", ROWSET_INT, SM(bucket)},
    {"channel", "text", ROWSET_STR, SM(channel)},
    {"team", "text", ROWSET_STR, SM(team)},
    {"agent", "text", ROWSET_STR, SM(agent)},
    {"segment", "text", ROWSET_STR, SM(segment)},
    {"category", "text", ROWSET_STR, SM(category)},
};
#undef SM
const rowset_table rows_samples = {"analytics.samples", sample_cols, ROWSET_COUNT(sample_cols),
                                   NULL};

#define SV(f) ROWSET_AT(struct survey_row, f)
static const struct rowset_col survey_cols[] = {
    {"survey_id", "text", ROWSET_STR, SV(survey_id)},
    {"ticket_id", "uuid", ROWSET_STR, SV(ticket_id)},
    {"customer_id", "uuid", ROWSET_STR, SV(customer_id)},
    {"channel", "text", ROWSET_STR, SV(channel)},
    TIME("requested_at", struct survey_row, requested_at),
    TIME("answered_at", struct survey_row, answered_at),
    NULLABLE("csat", "smallint", struct survey_row, csat),
    NULLABLE("ces", "smallint", struct survey_row, ces),
    {"comment", "text", ROWSET_STR, SV(comment)},
};
#undef SV
const rowset_table rows_surveys = {"analytics.surveys", survey_cols, ROWSET_COUNT(survey_cols),
                                   NULL};

#define SL(f) ROWSET_AT(struct sla_event_row, f)
static const struct rowset_col sla_cols[] = {
    {"event_id", "text", ROWSET_STR, SL(event_id)},
    {"ticket_id", "uuid", ROWSET_STR, SL(ticket_id)},
    {"kind", "text", ROWSET_STR, SL(kind)},
    {"target", "text", ROWSET_STR, SL(target)},
    TIME("at", struct sla_event_row, at),
    TIME("due_at", struct sla_event_row, due_at),
    NULLABLE("remaining_business_s", "bigint", struct sla_event_row, remaining_business_s),
};
#undef SL
#undef NULLABLE
#undef TIME
const rowset_table rows_sla_events = {"analytics.sla_events", sla_cols, ROWSET_COUNT(sla_cols),
                                      NULL};

/* The daily table: dim, day, key, then contrib's measures and histograms,
 * laid out when first asked for. */
#define DAILY_FIXED 3
static struct rowset_col daily_cols[DAILY_FIXED + M_COUNT + H_COUNT];
static rowset_table daily_table;

static void daily_layout(void)
{
    if (daily_table.cols)
        return;
    static const struct rowset_col fixed[DAILY_FIXED] = {
        {"dim", "smallint", ROWSET_INT, ROWSET_AT(struct daily_row, dim)},
        {"day", "date", ROWSET_ID, ROWSET_AT(struct daily_row, day)},
        {"key", "text", ROWSET_STR, ROWSET_AT(struct daily_row, key)},
    };
    size_t n = 0;
    for (; n < DAILY_FIXED; n++)
        daily_cols[n] = fixed[n];
    for (int i = 0; i < M_COUNT; i++, n++)
        daily_cols[n] =
            (struct rowset_col){contrib_measure_names[i], "bigint", ROWSET_I64,
                                .off = offsetof(struct daily_row, m) + (size_t)i * sizeof(int64_t),
                                .size = sizeof(int64_t)};
    for (int h = 0; h < H_COUNT; h++, n++)
        daily_cols[n] =
            (struct rowset_col){contrib_hist_names[h], "numeric", ROWSET_ID,
                                .off = offsetof(struct daily_row, hist) + (size_t)h * HIST_TEXT_MAX,
                                .size = HIST_TEXT_MAX};
    daily_table = (rowset_table){"analytics.daily", daily_cols, n, NULL};
}

const rowset_table *rows_daily(void)
{
    daily_layout();
    return &daily_table;
}

/* --- builders ------------------------------------------------------------------ */

static int64_t us(int64_t ms)
{
    return ms == MODEL_NONE ? ROWS_NONE : ms * 1000;
}

static void day(char out[ROWS_DAY_LEN], int32_t d, bool present)
{
    if (present)
        civil_date_format(d, out);
    else
        out[0] = '\0';
}

static const char *uuid_or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

static const char *nonnull(const char *s)
{
    return s ? s : "";
}

char *rows_state_text(json_t *state)
{
    char *text = state ? json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(state);
    return text;
}

int rows_ticket(struct ticket_row *r, const model_ticket *t, const struct ticket_facts *f)
{
    memset(r, 0, sizeof *r);
    bool fr = f->fr_at != MODEL_NONE, so = f->solved_at != MODEL_NONE;
    r->ticket_id = t->id;
    r->customer_id = uuid_or_null(t->customer);
    r->state = rows_state_text(model_ticket_json(t));
    r->opened = f->opened;
    r->created_at = us(f->opened ? f->created : MODEL_NONE);
    day(r->created_day, f->created_day, f->opened);
    r->channel = f->dims[DIM_CHANNEL];
    r->team = f->dims[DIM_TEAM];
    r->agent = f->dims[DIM_AGENT];
    r->segment = f->dims[DIM_SEGMENT];
    r->category = f->dims[DIM_CATEGORY];
    r->priority = nonnull(event_priority_name(t->priority));
    r->status = event_ticket_status_name((Carebus__V1__TicketStatus)f->status); /* TS_* */
    r->contacts = (int64_t)t->contacts.n;
    r->public_replies = (int64_t)t->replies.n;
    r->transfers = t->transfers;
    r->reopens = t->reopens;
    r->escalations = t->escalations;
    r->first_response_at = us(f->fr_at);
    day(r->first_response_day, f->fr_day, fr);
    r->first_response_ms = fr ? f->fr_ms : ROWS_NONE;
    r->first_response_business_ms = fr ? f->frb_ms : ROWS_NONE;
    r->solved_at = us(f->solved_at);
    day(r->solved_day, f->solved_day, so);
    r->resolution_ms = so ? f->res_ms : ROWS_NONE;
    r->resolution_business_ms = so ? f->resb_ms : ROWS_NONE;
    r->fcr = so ? f->fcr : -1;
    r->fr_breached = f->fr_breached;
    r->res_breached = f->res_breached;
    r->nr_total = f->nr_total;
    r->nr_met = f->nr_met;
    r->breaches = f->breaches;
    r->merged_into = uuid_or_null(t->merged_into);
    return r->state ? 0 : -1;
}

void rows_ticket_clear(struct ticket_row *r)
{
    free(r->state);
    r->state = NULL;
}

int rows_customer(struct customer_row *r, const model_customer *c)
{
    memset(r, 0, sizeof *r);
    r->customer_id = c->id;
    r->root = c->root;
    r->merged_into = uuid_or_null(c->merged_into);
    r->state = rows_state_text(model_customer_json(c));
    r->first_seen = us(c->first_seen);
    r->segment = c->segment ? event_segment_name(c->segment) : NULL;
    /* The customer's own status after its points, and its latest churn. */
    bool churned = false;
    int64_t churned_at = MODEL_NONE;
    for (size_t i = 0; i < c->status.n; i++) {
        bool now = c->status.v[i].kind == CS_CHURNED;
        if (now && !churned)
            churned_at = c->status.v[i].at;
        churned = now;
    }
    r->status =
        event_customer_status_name(churned ? CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                                           : CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE);
    r->churned_at = us(churned ? churned_at : MODEL_NONE);
    return r->state ? 0 : -1;
}

void rows_customer_clear(struct customer_row *r)
{
    free(r->state);
    r->state = NULL;
}

int rows_sample_count(const struct ticket_facts *f, int64_t *ms, int32_t *d, int *metric)
{
    int n = 0;
    if (f->opened && f->fr_at != MODEL_NONE && !f->merged) {
        metric[n] = H_FR, ms[n] = f->fr_ms, d[n++] = f->fr_day;
        metric[n] = H_FRB, ms[n] = f->frb_ms, d[n++] = f->fr_day;
    }
    if (f->opened && f->solved_at != MODEL_NONE) {
        metric[n] = H_RES, ms[n] = f->res_ms, d[n++] = f->solved_day;
        metric[n] = H_RESB, ms[n] = f->resb_ms, d[n++] = f->solved_day;
    }
    return n;
}

void rows_sample(struct sample_row *r, const model_ticket *t, const struct ticket_facts *f,
                 int metric, int64_t ms, int32_t d)
{
    r->ticket_id = t->id;
    r->metric = metric;
    day(r->day, d, true);
    r->ms = ms;
    r->bucket = contrib_bucket(ms);
    r->channel = f->dims[DIM_CHANNEL];
    r->team = f->dims[DIM_TEAM];
    r->agent = f->dims[DIM_AGENT];
    r->segment = f->dims[DIM_SEGMENT];
    r->category = f->dims[DIM_CATEGORY];
}

void rows_samples_of(struct rows_samples *s, const struct ticket_facts *f)
{
    s->n = rows_sample_count(f, s->ms, s->day, s->metric);
    s->channel = f->dims[DIM_CHANNEL];
    s->segment = f->dims[DIM_SEGMENT];
    s->category = f->dims[DIM_CATEGORY];
    snprintf(s->team, sizeof s->team, "%s", f->dims[DIM_TEAM]);
    snprintf(s->agent, sizeof s->agent, "%s", f->dims[DIM_AGENT]);
}

void rows_samples_diff(const struct rows_samples *before, const struct rows_samples *after,
                       unsigned *put, unsigned *gone)
{
    /* A dimension moved: every sample's row changes. */
    bool dims = strcmp(before->channel, after->channel) != 0 ||
                strcmp(before->segment, after->segment) != 0 ||
                strcmp(before->category, after->category) != 0 ||
                strcmp(before->team, after->team) != 0 || strcmp(before->agent, after->agent) != 0;
    unsigned had = 0;
    *put = *gone = 0;
    for (int i = 0; i < before->n; i++)
        had |= 1u << before->metric[i];
    for (int j = 0; j < after->n; j++) {
        unsigned bit = 1u << after->metric[j];
        bool same = false;
        for (int i = 0; !dims && i < before->n; i++)
            same |= before->metric[i] == after->metric[j] && before->ms[i] == after->ms[j] &&
                    before->day[i] == after->day[j];
        if (!same)
            *put |= bit;
        had &= ~bit;
    }
    *gone = had;
}

void rows_survey(struct survey_row *r, const model_ticket *t, size_t i)
{
    const model_survey *s = &t->surveys[i];
    r->survey_id = s->id;
    r->ticket_id = t->id;
    r->customer_id = uuid_or_null(t->customer);
    r->channel = nonnull(event_channel_name(s->channel));
    r->requested_at = us(s->requested);
    r->answered_at = us(s->answered);
    r->csat = s->csat >= 0 ? s->csat : ROWS_NONE;
    r->ces = s->ces >= 0 ? s->ces : ROWS_NONE;
    r->comment = s->comment;
}

int rows_sla_event(struct sla_event_row *r, const model_ticket *t, size_t i)
{
    static const char *const kinds[] = {"", "warning", "breach", "escalation"};
    const model_point *p = &t->sla.v[i];
    if (!p->event_id[0] || p->kind < 1 || p->kind > 3)
        return -1;
    r->event_id = p->event_id;
    r->ticket_id = t->id;
    r->kind = kinds[p->kind];
    r->target = event_sla_target_name((Carebus__V1__SlaTarget)p->aux);
    r->at = us(p->at);
    r->due_at = us(p->due);
    r->remaining_business_s = p->remaining != MODEL_NONE ? p->remaining : ROWS_NONE;
    return 0;
}

static void daily_head(struct daily_row *r, const agg_entry *e)
{
    r->dim = e->dim;
    day(r->day, e->day, true);
    r->key = e->key;
    memcpy(r->m, e->m, sizeof r->m);
}

void rows_daily_entry(struct daily_row *r, const agg_entry *e)
{
    daily_head(r, e);
    for (int h = 0; h < H_COUNT; h++) {
        if (e->hist)
            contrib_hist_pack(&e->hist[h * HIST_BUCKETS], r->hist[h]);
        else
            strcpy(r->hist[h], "0");
    }
}

void rows_daily_delta_entry(struct daily_row *r, const agg_entry *e, bool *prune)
{
    rows_daily_entry(r, e);
    for (int i = 0; i < M_COUNT; i++)
        *prune |= e->m[i] < 0;
    for (int i = 0; e->hist && i < H_COUNT * HIST_BUCKETS; i++)
        *prune |= e->hist[i] < 0;
}

/* The samples' order: that which leads six of their eight indexes (metric,
 * bucket, then day or a dimension). Rows written in it land on the same few
 * leaf pages of each index one after the other, still in the CPU's caches,
 * where the tickets' order scatters them over every index. A sample is
 * sorted as this key (24 bytes, not the row's 80: a rebuild sorts millions)
 * and made into its row when written; a day's number orders as its text. */
struct sample_key {
    int32_t metric, bucket, day;
    uint32_t ticket; /* its index in the batch */
    int64_t ms;
};

static int sample_cmp(const void *a, const void *b)
{
    const struct sample_key *x = a, *y = b;
    if (x->metric != y->metric)
        return x->metric < y->metric ? -1 : 1;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return 0;
}

/* The samples of the n tickets' facts fs (changed_only: those of each
 * ticket's samples_put), in sample_cmp's order, into a new array (*out,
 * *nout); -1 when out of memory. */
static int sample_keys(model_ticket *const *ts, const struct ticket_facts *fs, size_t n,
                       bool changed_only, struct sample_key **out, size_t *nout)
{
    int64_t ms[ROWS_SAMPLES_MAX];
    int32_t day[ROWS_SAMPLES_MAX];
    int metric[ROWS_SAMPLES_MAX];
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        ns += (size_t)rows_sample_count(&fs[i], ms, day, metric);
    struct sample_key *ks = malloc((ns ? ns : 1) * sizeof *ks);
    if (!ks)
        return -1;
    ns = 0;
    for (size_t i = 0; i < n; i++) {
        int k = rows_sample_count(&fs[i], ms, day, metric);
        for (int j = 0; j < k; j++)
            if (!changed_only || (ts[i]->samples_put & (1u << metric[j])))
                ks[ns++] = (struct sample_key){metric[j], contrib_bucket(ms[j]), day[j],
                                               (uint32_t)i, ms[j]};
    }
    qsort(ks, ns, sizeof *ks, sample_cmp);
    *out = ks;
    *nout = ns;
    return 0;
}

int rows_copy_tickets(PGconn *c, timebase *cal, model *m, model_ticket *const *ts,
                      const struct ticket_facts *const *facts, size_t n,
                      const char *const into[ROWS_TICKET_TABLES], agg *a, bool changed_only)
{
    struct ticket_facts *fs = malloc((n ? n : 1) * sizeof *fs);
    struct sample_key *ss = NULL;
    size_t ns = 0;
    rowcopy tk, sm, sv, sl;
    int rc = -1;
    if (!fs)
        goto out;
    rowcopy_begin(&tk, c, &rows_tickets, into[ROWS_TICKETS], NULL);
    for (size_t i = 0; i < n; i++) {
        if (facts)
            fs[i] = *facts[i];
        else
            contrib_facts(cal, ts[i], model_segment_of(m, ts[i]->customer), &fs[i]);
        if (a && contrib_ticket(a, cal, ts[i], &fs[i], +1) != 0)
            rowcopy_fail(&tk);
        struct ticket_row r;
        if (rows_ticket(&r, ts[i], &fs[i]) != 0)
            rowcopy_fail(&tk);
        rowcopy_row(&tk, &r);
        rows_ticket_clear(&r);
    }
    if (rowcopy_end(&tk) != 0 || sample_keys(ts, fs, n, changed_only, &ss, &ns) != 0)
        goto out;
    rowcopy_begin(&sm, c, &rows_samples, into[ROWS_SAMPLES], NULL);
    for (size_t i = 0; i < ns; i++) {
        struct sample_row r;
        rows_sample(&r, ts[ss[i].ticket], &fs[ss[i].ticket], ss[i].metric, ss[i].ms, ss[i].day);
        rowcopy_row(&sm, &r);
    }
    if (rowcopy_end(&sm) != 0)
        goto out;
    rowcopy_begin(&sv, c, &rows_surveys, into[ROWS_SURVEYS], NULL);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts[i]->nsurveys; j++) {
            struct survey_row r;
            rows_survey(&r, ts[i], j);
            rowcopy_row(&sv, &r);
        }
    if (rowcopy_end(&sv) != 0)
        goto out;
    rowcopy_begin(&sl, c, &rows_sla_events, into[ROWS_SLA_EVENTS], NULL);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; (!changed_only || ts[i]->sla_new) && j < ts[i]->sla.n; j++) {
            struct sla_event_row r;
            if (rows_sla_event(&r, ts[i], j) == 0)
                rowcopy_row(&sl, &r);
        }
    rc = rowcopy_end(&sl);
out:
    free(ss);
    free(fs);
    return rc;
}
