/* kpi.c — the KPI table (kpi.def) and the KPI query in two steps (kpi.h).
 *
 * The table's lines become kpi_defs[] here, and the query's SQL comes from
 * them (kpi_sql.c): the first step's columns are the KPIs in column order,
 * then a count and a histogram per P90 KPI, which the second step turns
 * into exact percentiles.
 */
#include "kpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "contrib.h"
#include "log.h"

/* kpi.def's "how" and "dims" spelt as the table's fields. */
#define SUM(expr) KPI_SUM, expr, NULL, 0, -1
#define RATIO(num, den, scale) KPI_RATIO, num, den, scale, -1
#define P90(metric, count) KPI_P90, NULL, count, 0, metric
#define LEVEL(expr) KPI_LEVEL, expr, NULL, 0, -1
#define PER_START(num, den, scale) KPI_PER_START, num, den, scale, -1
#define DIMS_ALL ((1u << DIM_COUNT) - 1)
#define DIMS(d) ((1u << DIM_ALL) | (1u << (d)))
#define KPI(id, name, how, dims, format, tile, vi, en, doc)                                        \
    [KPI_##id] = {name, how, dims, KPI_FMT_##format, tile, {vi, en}, doc},
const struct kpi_def kpi_defs[KPI_NCOLS] = {
    [KPI_KEY] = {"key", KPI_SUM, NULL, NULL, 0, -1, DIMS_ALL, KPI_FMT_COUNT, false, {"", ""}, ""},
#include "kpi.def"
};
#undef KPI
#undef SUM
#undef RATIO
#undef P90
#undef LEVEL
#undef PER_START
#undef DIMS_ALL
#undef DIMS

#define KPI_NAME(id, name, ...) name,
const char *const kpi_col_names[KPI_NCOLS] = {
    "key",
#define KPI KPI_NAME
#include "kpi.def"
#undef KPI
};
#undef KPI_NAME

bool kpi_is_count(int col)
{
    return col > KPI_KEY && col < KPI_NCOLS &&
           (kpi_defs[col].how == KPI_SUM || kpi_defs[col].how == KPI_LEVEL);
}

bool kpi_has_group(int col, int group)
{
    if (col <= KPI_KEY || col >= KPI_NCOLS)
        return false;
    int dim = group == KPI_GROUP_DAY ? DIM_ALL : group;
    return dim >= 0 && dim < DIM_COUNT && (kpi_defs[col].dims & (1u << dim));
}

/* The P90 KPIs, in column order: the query's tail holds, for each, its
 * count and its histogram. */
static int p90_cols[KPI_NCOLS], np90;

static void p90_init(void)
{
    if (np90)
        return;
    for (int c = 1; c < KPI_NCOLS; c++)
        if (kpi_defs[c].how == KPI_P90)
            p90_cols[np90++] = c;
}

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

void kpi_result_destroy(kpi_result **pr)
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

static void job_destroy(struct kpi_job *j)
{
    kpi_result_destroy(&j->res);
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
    job_destroy(j);
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
        int col = -1;
        for (int k = 0; k < np90; k++)
            if (kpi_defs[p90_cols[k]].metric == metric)
                col = p90_cols[k];
        if (!row || col < 0 || PQgetisnull(res, i, 2))
            continue;
        char **v = &row->vals[col];
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
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != KPI_NCOLS + 2 * np90) {
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
            if (PQgetisnull(res, i, c))
                continue; /* a P90 (step 2), a ratio without data */
            if (c == KPI_KEY && PQgetvalue(res, i, c)[0] == '\0')
                continue; /* not known, or the whole period: null */
            row->vals[c] = strdup(PQgetvalue(res, i, c));
        }
        const char *key = PQgetvalue(res, i, KPI_KEY);
        for (int k = 0; k < np90; k++) {
            int c = p90_cols[k];
            if (!kpi_has_group(c, j->res->group))
                continue;
            want(j, key, kpi_defs[c].metric, PQgetvalue(res, i, KPI_NCOLS + 2 * k + 1),
                 atoll(PQgetvalue(res, i, KPI_NCOLS + 2 * k)));
        }
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
    p90_init();
    const char *sql = kpi_sql_query();
    const char *params[] = {j->from, j->to, j->group};
    if (!sql || dbq_query(q, sql, 3, params, on_sums, j) != 0) {
        job_destroy(j);
        return -1;
    }
    return 0;
}
