/* kpi.h — the KPIs of a period, grouped, without blocking the loop.
 *
 * Two statements on the service's query queue (dbq.h):
 *   1. analytics.kpi_sums(): per key, the KPIs that are ratios of sums, the
 *      counts, and each duration metric's histogram summed over the period;
 *   2. analytics.kpi_p90(): for each key and metric, the exact values around
 *      the 90th percentile's rank, read from the one or two histogram
 *      buckets that hold them (located here, in C, from step 1).
 * So a 90-day query reads a few thousand daily rows and a few thousand
 * samples, not every ticket of the period. The values are PostgreSQL's own
 * text (float8 shortest form), which the API prints as they are: the API
 * and bi.kpi_daily give the very same numbers.
 */
#ifndef CAREBUS_ANALYTICS_KPI_H
#define CAREBUS_ANALYTICS_KPI_H

#include <stdbool.h>
#include <stddef.h>

#include "dbq.h"

/* Groupings: per day, the whole period, or one dimension (contrib.h's
 * DIM_CHANNEL ... DIM_CATEGORY). */
#define KPI_GROUP_DAY (-1)
#define KPI_GROUP_ALL 0

/* The columns of a KPI row, in the API's order. */
#define KPI_COLUMNS(X)                                                                             \
    X(KEY, "key", 0)                                                                               \
    X(CONTACTS, "contacts", 0)                                                                     \
    X(TICKETS_CREATED, "tickets_created", 0)                                                       \
    X(TICKETS_SOLVED, "tickets_solved", 0)                                                         \
    X(FCR_PCT, "fcr_pct", 1)                                                                       \
    X(CSAT_PCT, "csat_pct", 1)                                                                     \
    X(CES_AVG, "ces_avg", 1)                                                                       \
    X(SURVEY_RESPONSE_PCT, "survey_response_pct", 1)                                               \
    X(FR_AVG, "first_response_avg_s", 1)                                                           \
    X(FR_P90, "first_response_p90_s", 1)                                                           \
    X(RES_AVG, "resolution_avg_s", 1)                                                              \
    X(RES_P90, "resolution_p90_s", 1)                                                              \
    X(SLA_PCT, "sla_compliance_pct", 1)                                                            \
    X(SLA_BREACHES, "sla_breaches", 0)                                                             \
    X(BACKLOG_OPEN, "backlog_open", 0)                                                             \
    X(CHURN_PCT, "churn_pct", 1)                                                                   \
    X(CONTACTS_PER_TICKET, "contacts_per_ticket", 1)                                               \
    X(FRB_AVG, "first_response_business_avg_s", 1)                                                 \
    X(FRB_P90, "first_response_business_p90_s", 1)                                                 \
    X(RESB_AVG, "resolution_business_avg_s", 1)                                                    \
    X(RESB_P90, "resolution_business_p90_s", 1)                                                    \
    X(SLA_FR_PCT, "sla_first_response_pct", 1)                                                     \
    X(SLA_NR_PCT, "sla_next_response_pct", 1)                                                      \
    X(SLA_RES_PCT, "sla_resolution_pct", 1)                                                        \
    X(BACKLOG_PENDING, "backlog_pending", 0)                                                       \
    X(BACKLOG_1D, "backlog_1d", 0)                                                                 \
    X(BACKLOG_3D, "backlog_3d", 0)                                                                 \
    X(BACKLOG_7D, "backlog_7d", 0)                                                                 \
    X(BACKLOG_OLDER, "backlog_older", 0)

#define KPI_ENUM(id, name, real) KPI_##id,
enum kpi_col { KPI_COLUMNS(KPI_ENUM) KPI_NCOLS };
#undef KPI_ENUM
extern const char *const kpi_col_names[KPI_NCOLS];

typedef struct kpi_row {
    char *vals[KPI_NCOLS]; /* PostgreSQL's text; NULL: null (key: not known) */
} kpi_row;

typedef struct kpi_result {
    int group;
    kpi_row *rows;
    size_t nrows;
} kpi_result;

void kpi_result_free(kpi_result **pr);

/* res: owned by the callee (kpi_result_free); NULL when the database
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
