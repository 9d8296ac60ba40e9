/* kpi.h — the KPIs of a period, grouped, without blocking the loop.
 *
 * Two statements on the service's query queue (dbq.h):
 *   1. the period query (kpi_sql_query()): per key, the KPIs that are sums,
 *      ratios of sums and levels, and each duration metric's histogram
 *      summed over the period;
 *   2. analytics.kpi_p90(): for each key and metric, the exact values around
 *      the 90th percentile's rank, read from the one or two histogram
 *      buckets that hold them (located here, in C, from step 1).
 * So a 90-day query reads a few thousand daily rows and a few thousand
 * samples, not every ticket of the period. The values are PostgreSQL's own
 * text (float8 shortest form), which the API prints as they are: the API
 * and bi.kpi_daily give the very same numbers, both computed by SQL that
 * kpi_sql.c writes from the one table of KPIs, kpi.def.
 */
#ifndef CAREBUS_ANALYTICS_KPI_H
#define CAREBUS_ANALYTICS_KPI_H

#include <stdbool.h>
#include <stddef.h>

#include "contrib.h"
#include "dbq.h"

/* Groupings: per day, the whole period, or one dimension (contrib.h's
 * DIM_CHANNEL ... DIM_CATEGORY). */
#define KPI_GROUP_DAY (-1)
#define KPI_GROUP_ALL 0

/* The columns of a KPI row, in the API's order: the key, then kpi.def's
 * KPIs (KPI_CONTACTS, KPI_FCR_PCT, ...). */
#define KPI(id, ...) KPI_##id,
enum kpi_col {
    KPI_KEY,
#include "kpi.def"
    KPI_NCOLS
};
#undef KPI

enum kpi_how { KPI_SUM, KPI_RATIO, KPI_P90, KPI_LEVEL, KPI_PER_START };
enum kpi_format { KPI_FMT_COUNT, KPI_FMT_PCT, KPI_FMT_DEC, KPI_FMT_SECONDS };

/* One line of kpi.def (see there for what each field means). */
struct kpi_def {
    const char *name;
    enum kpi_how how;
    const char *a, *b; /* SQL over measure names: the SUM/LEVEL expression, the
                          RATIO/PER_START numerator and denominator, P90's count */
    int scale;
    int metric;    /* P90: contrib.h's H_*; else -1 */
    unsigned dims; /* bits 1 << DIM_*: the groupings with a value (the day goes
                      with DIM_ALL) */
    enum kpi_format format;
    bool tile;
    const char *label[2]; /* vi, en (dashboard.h's dash_lang) */
    const char *doc;
};
/* Indexed by enum kpi_col; kpi_defs[KPI_KEY] is the key, not a KPI. */
extern const struct kpi_def kpi_defs[KPI_NCOLS];
/* "key", "contacts", ...: kpi_defs' names. */
extern const char *const kpi_col_names[KPI_NCOLS];
/* Whether a KPI is a count (an integer, 0 without data) rather than a
 * number that is null without data. */
bool kpi_is_count(int col);
/* Whether a KPI has a value on a grouping (KPI_GROUP_DAY, ALL or DIM_*). */
bool kpi_has_group(int col, int group);

/* SQL generated from kpi.def (kpi_sql.c); built on first use, static:
 *  - the period query ($1 from, $2 to, $3 the grouping): one row per key
 *    with the KPIs in column order (null for the P90s), then for each P90
 *    KPI in order its count and its summed histogram (as text);
 *  - bi.kpi_daily's definition with its KPI columns' comments: idempotent
 *    DDL that setup.c applies whenever it changed (migrate.h). */
const char *kpi_sql_query(void);
const char *kpi_sql_view(void);
/* analytics.apply_daily(p_prune), the live path's write of the daily sums
 * from its staging table (stage.h), from contrib.h's measures (derived the
 * same way). */
const char *kpi_sql_apply_daily(void);

typedef struct kpi_row {
    char *vals[KPI_NCOLS]; /* PostgreSQL's text; NULL: null (key: not known) */
} kpi_row;

typedef struct kpi_result {
    int group;
    kpi_row *rows;
    size_t nrows;
} kpi_result;

void kpi_result_destroy(kpi_result **pr);

/* res: owned by the callee (kpi_result_destroy); NULL when the database
 * failed or is down. */
typedef void (*kpi_fn)(kpi_result *res, void *arg);

/* from, to: validated "YYYY-MM-DD" (copied). 0, or -1 when the query
 * could not be queued (fn is not called then). */
int kpi_query(dbq *q, const char *from, const char *to, int group, kpi_fn fn, void *arg);

/* Exposed for tests: from a summed histogram (text) and its count, the
 * bucket and in-bucket offset of the values at 0-based ranks lo and hi.
 * false when the histogram does not add up to n (a field overflowed). */
bool kpi_locate(const char *hist, long long n, int *blo, long long *olo, int *bhi, long long *ohi);

#endif
