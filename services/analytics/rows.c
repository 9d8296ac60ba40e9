/* rows.c — text rows of analytics' tables (see rows.h).
 *
 * Times are written as RFC 3339 UTC with microseconds, days as
 * YYYY-MM-DD, booleans as t/f, so that the two paths cannot differ.
 */
#include "rows.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "timeutil.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const tickets_cols[] = {
    "ticket_id",
    "customer_id",
    "state",
    "opened",
    "created_at",
    "created_day",
    "channel",
    "team",
    "agent",
    "segment",
    "category",
    "priority",
    "status",
    "contacts",
    "public_replies",
    "transfers",
    "reopens",
    "escalations",
    "first_response_at",
    "first_response_day",
    "first_response_ms",
    "first_response_business_ms",
    "solved_at",
    "solved_day",
    "resolution_ms",
    "resolution_business_ms",
    "fcr",
    "sla_first_response_breached",
    "sla_resolution_breached",
    "sla_next_response_total",
    "sla_next_response_met",
    "sla_breaches",
    "merged_into",
};
const struct row_table rows_tickets = {"analytics.tickets", tickets_cols, COUNT(tickets_cols)};

static const char *const customers_cols[] = {
    "customer_id", "root", "merged_into", "state", "first_seen", "segment", "status", "churned_at",
};
const struct row_table rows_customers = {"analytics.customers", customers_cols,
                                         COUNT(customers_cols)};

static const char *const samples_cols[] = {
    "ticket_id", "metric", "day", "ms", "bucket", "channel", "team", "agent", "segment", "category",
};
const struct row_table rows_samples = {"analytics.samples", samples_cols, COUNT(samples_cols)};

static const char *const surveys_cols[] = {
    "survey_id",   "ticket_id", "customer_id", "channel", "requested_at",
    "answered_at", "csat",      "ces",         "comment",
};
const struct row_table rows_surveys = {"analytics.surveys", surveys_cols, COUNT(surveys_cols)};

static const char *const sla_cols[] = {
    "event_id", "ticket_id", "kind", "target", "at", "due_at", "remaining_business_s",
};
const struct row_table rows_sla_events = {"analytics.sla_events", sla_cols, COUNT(sla_cols)};

#define DAILY_COL(name, col) col,
static const char *const daily_cols[] = {
    "dim", "day", "key", CONTRIB_MEASURES(DAILY_COL) "fr_hist", "frb_hist", "res_hist", "resb_hist",
};
#undef DAILY_COL
const struct row_table rows_daily = {"analytics.daily", daily_cols, COUNT(daily_cols)};

void row_init(row *r, const struct row_table *t)
{
    memset(r, 0, sizeof *r);
    r->table = t;
}

void row_clear(row *r)
{
    for (int i = 0; i < ROW_MAX_COLS; i++)
        free(r->vals[i]);
    const struct row_table *t = r->table;
    row_init(r, t);
}

static void set(row *r, int i, const char *v)
{
    free(r->vals[i]);
    r->vals[i] = v ? strdup(v) : NULL;
    if (v && !r->vals[i])
        r->failed = 1;
}

static void setf(row *r, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(row *r, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        s = NULL;
        r->failed = 1;
    }
    va_end(ap);
    free(r->vals[i]);
    r->vals[i] = s;
}

static void set_time(row *r, int i, int64_t ms)
{
    if (ms == MODEL_NONE) {
        set(r, i, NULL);
        return;
    }
    char t[TIME_RFC3339_LEN];
    time_format_rfc3339(ms * 1000, t);
    set(r, i, t);
}

static void set_day(row *r, int i, int32_t day, bool present)
{
    if (!present) {
        set(r, i, NULL);
        return;
    }
    char d[11];
    civil_date_format(day, d);
    set(r, i, d);
}

static void set_i64(row *r, int i, int64_t v, bool present)
{
    if (present)
        setf(r, i, "%" PRId64, v);
    else
        set(r, i, NULL);
}

static const char *uuid_or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

static const char *nonnull(const char *s)
{
    return s ? s : "";
}

void rows_ticket(row *r, const model_ticket *t, const struct ticket_facts *f)
{
    set(r, 0, t->id);
    set(r, 1, uuid_or_null(t->customer));
    json_t *state = model_ticket_json(t);
    char *text = state ? json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(state);
    if (!text)
        r->failed = 1;
    free(r->vals[2]);
    r->vals[2] = text;
    set(r, 3, f->opened ? "t" : "f");
    set_time(r, 4, f->opened ? f->created : MODEL_NONE);
    set_day(r, 5, f->created_day, f->opened);
    set(r, 6, f->dims[DIM_CHANNEL]);
    set(r, 7, f->dims[DIM_TEAM]);
    set(r, 8, f->dims[DIM_AGENT]);
    set(r, 9, f->dims[DIM_SEGMENT]);
    set(r, 10, f->dims[DIM_CATEGORY]);
    set(r, 11, nonnull(event_priority_name(t->priority)));
    set(r, 12, event_ticket_status_name((Carebus__V1__TicketStatus)f->status)); /* TS_* */
    setf(r, 13, "%zu", t->contacts.n);
    setf(r, 14, "%zu", t->replies.n);
    setf(r, 15, "%d", t->transfers);
    setf(r, 16, "%d", t->reopens);
    setf(r, 17, "%d", t->escalations);
    bool fr = f->fr_at != MODEL_NONE, so = f->solved_at != MODEL_NONE;
    set_time(r, 18, f->fr_at);
    set_day(r, 19, f->fr_day, fr);
    set_i64(r, 20, f->fr_ms, fr);
    set_i64(r, 21, f->frb_ms, fr);
    set_time(r, 22, f->solved_at);
    set_day(r, 23, f->solved_day, so);
    set_i64(r, 24, f->res_ms, so);
    set_i64(r, 25, f->resb_ms, so);
    set(r, 26, so ? (f->fcr ? "t" : "f") : NULL);
    set(r, 27, f->fr_breached ? "t" : "f");
    set(r, 28, f->res_breached ? "t" : "f");
    setf(r, 29, "%d", f->nr_total);
    setf(r, 30, "%d", f->nr_met);
    setf(r, 31, "%d", f->breaches);
    set(r, 32, uuid_or_null(t->merged_into));
}

void rows_customer(row *r, const model_customer *c)
{
    set(r, 0, c->id);
    set(r, 1, c->root);
    set(r, 2, uuid_or_null(c->merged_into));
    json_t *state = model_customer_json(c);
    char *text = state ? json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(state);
    if (!text)
        r->failed = 1;
    free(r->vals[3]);
    r->vals[3] = text;
    set_time(r, 4, c->first_seen);
    set(r, 5, c->segment ? event_segment_name(c->segment) : NULL);
    /* The customer's own status after its points, and its latest churn. */
    bool churned = false;
    int64_t churned_at = MODEL_NONE;
    for (size_t i = 0; i < c->status.n; i++) {
        bool now = c->status.v[i].kind == CS_CHURNED;
        if (now && !churned)
            churned_at = c->status.v[i].at;
        churned = now;
    }
    set(r, 6,
        event_customer_status_name(churned ? CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                                           : CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE));
    set_time(r, 7, churned ? churned_at : MODEL_NONE);
}

int rows_sample_count(const struct ticket_facts *f, int64_t *ms, int32_t *day, int *metric)
{
    int n = 0;
    if (f->opened && f->fr_at != MODEL_NONE && !f->merged) {
        metric[n] = H_FR, ms[n] = f->fr_ms, day[n++] = f->fr_day;
        metric[n] = H_FRB, ms[n] = f->frb_ms, day[n++] = f->fr_day;
    }
    if (f->opened && f->solved_at != MODEL_NONE) {
        metric[n] = H_RES, ms[n] = f->res_ms, day[n++] = f->solved_day;
        metric[n] = H_RESB, ms[n] = f->resb_ms, day[n++] = f->solved_day;
    }
    return n;
}

void rows_sample(row *r, const model_ticket *t, const struct ticket_facts *f, int metric,
                 int64_t ms, int32_t day)
{
    set(r, 0, t->id);
    setf(r, 1, "%d", metric);
    set_day(r, 2, day, true);
    setf(r, 3, "%" PRId64, ms);
    setf(r, 4, "%d", contrib_bucket(ms));
    set(r, 5, f->dims[DIM_CHANNEL]);
    set(r, 6, f->dims[DIM_TEAM]);
    set(r, 7, f->dims[DIM_AGENT]);
    set(r, 8, f->dims[DIM_SEGMENT]);
    set(r, 9, f->dims[DIM_CATEGORY]);
}

void rows_survey(row *r, const model_ticket *t, size_t i)
{
    const model_survey *s = &t->surveys[i];
    set(r, 0, s->id);
    set(r, 1, t->id);
    set(r, 2, uuid_or_null(t->customer));
    set(r, 3, nonnull(event_channel_name(s->channel)));
    set_time(r, 4, s->requested);
    set_time(r, 5, s->answered);
    set_i64(r, 6, s->csat, s->csat >= 0);
    set_i64(r, 7, s->ces, s->ces >= 0);
    set(r, 8, s->comment);
}

int rows_sla_event(row *r, const model_ticket *t, size_t i)
{
    static const char *const kinds[] = {"", "warning", "breach", "escalation"};
    const model_point *p = &t->sla.v[i];
    if (!p->event_id[0] || p->kind < 1 || p->kind > 3)
        return -1;
    set(r, 0, p->event_id);
    set(r, 1, t->id);
    set(r, 2, kinds[p->kind]);
    set(r, 3, event_sla_target_name((Carebus__V1__SlaTarget)p->aux));
    set_time(r, 4, p->at);
    set_time(r, 5, p->due);
    set_i64(r, 6, p->remaining, p->remaining != MODEL_NONE);
    return 0;
}

void rows_daily_entry(row *r, const agg_entry *e)
{
    setf(r, 0, "%d", e->dim);
    set_day(r, 1, e->day, true);
    set(r, 2, e->key);
    for (int m = 0; m < M_COUNT; m++)
        setf(r, 3 + m, "%" PRId64, e->m[m]);
    for (int h = 0; h < H_COUNT; h++) {
        char text[HIST_TEXT_MAX];
        if (e->hist)
            contrib_hist_pack(&e->hist[h * HIST_BUCKETS], text);
        else
            strcpy(text, "0");
        set(r, 3 + M_COUNT + h, text);
    }
}

json_t *row_json(const row *r)
{
    json_t *o = json_object();
    for (int i = 0; o && i < r->table->ncols; i++) {
        /* jsonb columns (the states) go as JSON, not as a JSON string. */
        bool is_json = strcmp(r->table->cols[i], "state") == 0;
        json_t *v = !r->vals[i] ? json_null()
                    : is_json   ? json_loads(r->vals[i], 0, NULL)
                                : json_string(r->vals[i]);
        /* A value jansson refuses (not UTF-8: a comment cut by an
         * integrator) is stored as NULL rather than failing the event. */
        if (!v)
            v = json_null();
        if (json_object_set_new(o, r->table->cols[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

void row_copy(const row *r, buf *out)
{
    for (int i = 0; i < r->table->ncols; i++) {
        if (i)
            buf_putc(out, '\t');
        const char *v = r->vals[i];
        if (!v) {
            buf_puts(out, "\\N");
            continue;
        }
        while (*v) {
            size_t plain = strcspn(v, "\\\t\n\r");
            buf_append(out, v, plain);
            v += plain;
            if (!*v)
                break;
            static const char esc[] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};
            char two[2] = {'\\', esc[(unsigned char)*v]};
            buf_append(out, two, 2);
            v++;
        }
    }
    buf_putc(out, '\n');
}
