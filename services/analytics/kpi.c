/* kpi.c — the KPI query in two steps (see kpi.h). */
#include "kpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "contrib.h"
#include "log.h"

#define KPI_NAME(id, name, real) name,
const char *const kpi_col_names[KPI_NCOLS] = {KPI_COLUMNS(KPI_NAME)};
#undef KPI_NAME

/* kpi_sums' result columns, by position. */
enum {
    S_KEY,
    S_CONTACTS,
    S_TICKETS_CREATED,
    S_TICKETS_SOLVED,
    S_FCR,
    S_CSAT,
    S_CES,
    S_SURVEY,
    S_FR_AVG,
    S_FRB_AVG,
    S_RES_AVG,
    S_RESB_AVG,
    S_SLA,
    S_SLA_FR,
    S_SLA_NR,
    S_SLA_RES,
    S_BREACHES,
    S_BACKLOG,
    S_BACKLOG_PENDING,
    S_BL_1D,
    S_BL_3D,
    S_BL_7D,
    S_BL_OLDER,
    S_CHURN,
    S_CPT,
    S_FR_COUNT,
    S_RES_COUNT,
    S_HIST0,
    S_NCOLS = S_HIST0 + H_COUNT
};

/* Where each API column comes from in kpi_sums (-1: from kpi_p90). */
static const int from_sums[KPI_NCOLS] = {
    [KPI_KEY] = S_KEY,
    [KPI_CONTACTS] = S_CONTACTS,
    [KPI_TICKETS_CREATED] = S_TICKETS_CREATED,
    [KPI_TICKETS_SOLVED] = S_TICKETS_SOLVED,
    [KPI_FCR_PCT] = S_FCR,
    [KPI_CSAT_PCT] = S_CSAT,
    [KPI_CES_AVG] = S_CES,
    [KPI_SURVEY_RESPONSE_PCT] = S_SURVEY,
    [KPI_FR_AVG] = S_FR_AVG,
    [KPI_FR_P90] = -1,
    [KPI_RES_AVG] = S_RES_AVG,
    [KPI_RES_P90] = -1,
    [KPI_SLA_PCT] = S_SLA,
    [KPI_SLA_BREACHES] = S_BREACHES,
    [KPI_BACKLOG_OPEN] = S_BACKLOG,
    [KPI_CHURN_PCT] = S_CHURN,
    [KPI_CONTACTS_PER_TICKET] = S_CPT,
    [KPI_FRB_AVG] = S_FRB_AVG,
    [KPI_FRB_P90] = -1,
    [KPI_RESB_AVG] = S_RESB_AVG,
    [KPI_RESB_P90] = -1,
    [KPI_SLA_FR_PCT] = S_SLA_FR,
    [KPI_SLA_NR_PCT] = S_SLA_NR,
    [KPI_SLA_RES_PCT] = S_SLA_RES,
    [KPI_BACKLOG_PENDING] = S_BACKLOG_PENDING,
    [KPI_BACKLOG_1D] = S_BL_1D,
    [KPI_BACKLOG_3D] = S_BL_3D,
    [KPI_BACKLOG_7D] = S_BL_7D,
    [KPI_BACKLOG_OLDER] = S_BL_OLDER,
};
/* The API column of each duration metric's percentile. */
static const int p90_col[H_COUNT] = {KPI_FR_P90, KPI_FRB_P90, KPI_RES_P90, KPI_RESB_P90};

struct kpi_job {
    dbq *q;
    char from[11], to[11], group[8];
    kpi_fn fn;
    void *arg;
    kpi_result *res;
    /* step 2's arrays */
    buf metric, key, n, blo, olo, bhi, ohi;
    size_t nwant;
};

void kpi_result_free(kpi_result **pr)
{
    kpi_result *r = *pr;
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++)
        for (int c = 0; c < KPI_NCOLS; c++)
            free(r->rows[i].vals[c]);
    free(r->rows);
    free(r);
    *pr = NULL;
}

static void job_free(struct kpi_job *j)
{
    kpi_result_free(&j->res);
    buf *bs[] = {&j->metric, &j->key, &j->n, &j->blo, &j->olo, &j->bhi, &j->ohi};
    for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++)
        buf_release(bs[i]);
    free(j);
}

static void job_done(struct kpi_job *j, bool ok)
{
    kpi_result *r = ok ? j->res : NULL;
    if (ok)
        j->res = NULL;
    j->fn(r, j->arg);
    job_free(j);
}

bool kpi_locate(const char *hist, long long n, int *blo, long long *olo, int *bhi, long long *ohi)
{
    int64_t counts[HIST_BUCKETS];
    if (n <= 0 || contrib_hist_unpack(hist, counts) != 0)
        return false;
    long long total = 0;
    for (int b = 0; b < HIST_BUCKETS; b++)
        total += counts[b];
    if (total != n)
        return false;
    /* The ranks percentile_cont(0.9) interpolates between. */
    double pos = 0.9 * (double)(n - 1);
    long long r[2] = {(long long)floor(pos), (long long)ceil(pos)};
    int *bs[2] = {blo, bhi};
    long long *os[2] = {olo, ohi};
    for (int k = 0; k < 2; k++) {
        long long below = 0;
        int b = 0;
        while (below + counts[b] <= r[k]) {
            below += counts[b];
            b++;
        }
        *bs[k] = b;
        *os[k] = r[k] - below;
    }
    return true;
}

/* Appends an element to a PostgreSQL array literal being built. */
static void arr_put(buf *b, const char *s, bool quote)
{
    buf_putc(b, b->len ? ',' : '{');
    if (!quote) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void arr_close(buf *b)
{
    if (!b->len)
        buf_putc(b, '{');
    buf_putc(b, '}');
}

static kpi_row *row_by_key(kpi_result *r, const char *key)
{
    /* Rows come sorted by key from kpi_sums; a linear scan would do for the
     * dashboard, but group_by=agent has hundreds: bisect. */
    size_t lo = 0, hi = r->nrows;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *k = r->rows[mid].vals[KPI_KEY] ? r->rows[mid].vals[KPI_KEY] : "";
        int c = strcmp(k, key);
        if (c == 0)
            return &r->rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < r->nrows; i++) { /* collation order differs from strcmp */
        const char *k = r->rows[i].vals[KPI_KEY] ? r->rows[i].vals[KPI_KEY] : "";
        if (strcmp(k, key) == 0)
            return &r->rows[i];
    }
    return NULL;
}

static void on_p90(PGresult *res, void *arg)
{
    struct kpi_job *j = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("analytics: KPI percentiles failed: %s", PQresultErrorMessage(res));
        job_done(j, false);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int metric = atoi(PQgetvalue(res, i, 0));
        kpi_row *row = row_by_key(j->res, PQgetvalue(res, i, 1));
        if (!row || metric < 0 || metric >= H_COUNT || PQgetisnull(res, i, 2))
            continue;
        char **v = &row->vals[p90_col[metric]];
        free(*v);
        *v = strdup(PQgetvalue(res, i, 2));
    }
    job_done(j, true);
}

/* Queues the p90 lookups of one row's metric. */
static void want(struct kpi_job *j, const char *key, int metric, const char *hist, long long n)
{
    if (n <= 0)
        return;
    int blo = -1, bhi = -1;
    long long olo = 0, ohi = 0;
    if (!kpi_locate(hist, n, &blo, &olo, &bhi, &ohi)) {
        /* a field overflowed: the exact percentile, the slow way */
        log_info("analytics: histogram of metric %d for \"%s\" overflowed: exact scan", metric,
                 key);
        blo = bhi = -1;
    }
    char t[32];
    snprintf(t, sizeof t, "%d", metric);
    arr_put(&j->metric, t, false);
    arr_put(&j->key, key, true);
    snprintf(t, sizeof t, "%lld", n);
    arr_put(&j->n, t, false);
    snprintf(t, sizeof t, "%d", blo);
    arr_put(&j->blo, t, false);
    snprintf(t, sizeof t, "%lld", olo);
    arr_put(&j->olo, t, false);
    snprintf(t, sizeof t, "%d", bhi);
    arr_put(&j->bhi, t, false);
    snprintf(t, sizeof t, "%lld", ohi);
    arr_put(&j->ohi, t, false);
    j->nwant++;
}

static void on_sums(PGresult *res, void *arg)
{
    struct kpi_job *j = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != S_NCOLS) {
        if (res)
            log_error("analytics: KPI sums failed: %s", PQresultErrorMessage(res));
        job_done(j, false);
        return;
    }
    int n = PQntuples(res);
    j->res->rows = calloc(n ? (size_t)n : 1, sizeof *j->res->rows);
    if (!j->res->rows) {
        job_done(j, false);
        return;
    }
    j->res->nrows = (size_t)n;
    for (int i = 0; i < n; i++) {
        kpi_row *row = &j->res->rows[i];
        for (int c = 0; c < KPI_NCOLS; c++) {
            int s = from_sums[c];
            if (s < 0 || PQgetisnull(res, i, s))
                continue;
            if (c == KPI_KEY && PQgetvalue(res, i, s)[0] == '\0')
                continue; /* not known, or the whole period: null */
            row->vals[c] = strdup(PQgetvalue(res, i, s));
        }
        const char *key = PQgetvalue(res, i, S_KEY);
        long long frn = atoll(PQgetvalue(res, i, S_FR_COUNT));
        long long resn = atoll(PQgetvalue(res, i, S_RES_COUNT));
        for (int h = 0; h < H_COUNT; h++)
            want(j, key, h, PQgetvalue(res, i, S_HIST0 + h), h < H_RES ? frn : resn);
    }
    if (j->nwant == 0) {
        job_done(j, true);
        return;
    }
    buf *arrs[] = {&j->metric, &j->key, &j->n, &j->blo, &j->olo, &j->bhi, &j->ohi};
    const char *params[10] = {j->from, j->to, j->group};
    for (int k = 0; k < 7; k++) {
        arr_close(arrs[k]);
        params[3 + k] = buf_str(arrs[k]);
        if (arrs[k]->failed) {
            job_done(j, false);
            return;
        }
    }
    if (dbq_query(j->q,
                  "SELECT metric, key, p90_s FROM analytics.kpi_p90($1::date, $2::date,"
                  " $3::smallint, $4::smallint[], $5::text[], $6::bigint[], $7::smallint[],"
                  " $8::bigint[], $9::smallint[], $10::bigint[])",
                  10, params, on_p90, j) != 0)
        job_done(j, false);
}

int kpi_query(dbq *q, const char *from, const char *to, int group, kpi_fn fn, void *arg)
{
    struct kpi_job *j = calloc(1, sizeof *j);
    if (!j || !(j->res = calloc(1, sizeof *j->res))) {
        free(j);
        return -1;
    }
    j->q = q;
    j->fn = fn;
    j->arg = arg;
    j->res->group = group;
    snprintf(j->from, sizeof j->from, "%s", from);
    snprintf(j->to, sizeof j->to, "%s", to);
    snprintf(j->group, sizeof j->group, "%d", group);
    const char *params[] = {j->from, j->to, j->group};
    if (dbq_query(q, "SELECT * FROM analytics.kpi_sums($1::date, $2::date, $3::smallint)", 3,
                  params, on_sums, j) != 0) {
        job_free(j);
        return -1;
    }
    return 0;
}
