/* analytics.h — the service's parts, for main.c and the route handlers.
 *
 * One thread: the consumer applies events on the blocking connection
 * (service.h's db), the HTTP handlers query through a separate
 * non-blocking queue (dbq.h) so that no request waits on PostgreSQL in the
 * loop, and a start-up task (setup.c) checks the calendar the state was
 * built with and prepares the bi_reader role.
 */
#ifndef CAREBUS_ANALYTICS_ANALYTICS_H
#define CAREBUS_ANALYTICS_ANALYTICS_H

#include <stdbool.h>
#include <stdio.h>

#include "dbq.h"
#include "http.h"
#include "service.h"
#include "timebase.h"

#define ANALYTICS_DEFAULT_TZ "Asia/Ho_Chi_Minh"
/* The longest period the API answers, in days (about ten years). */
#define ANALYTICS_MAX_DAYS 3700
/* Behind the log by more than this at start: rebuild in bulk. */
#define ANALYTICS_DEFAULT_REBUILD_LAG 100000

typedef struct analytics {
    service *svc;
    timebase *cal;           /* the KPIs' days and business time */
    dbq *q;                  /* the HTTP handlers' queries */
    const char *bi_password; /* CAREBUS_BI_PASSWORD, NULL when unset */
    long rebuild_lag;        /* CAREBUS_ANALYTICS_REBUILD_LAG; 0: never */
    int setup_timer;
    int setup_attempts;
    bool setup_done;
} analytics;

/* The service's life (analytics.c): settings (CAREBUS_BI_PASSWORD,
 * CAREBUS_ANALYTICS_*; 0 or -1, logged), then once a->svc exists the
 * API's queue, the start-up task and the consumer (0 or -1), and at the
 * end the queue (before the service goes) and the settings. */
int analytics_configure(analytics *a);
int analytics_open(analytics *a);
void analytics_close(analytics *a);
void analytics_release(analytics *a);
/* /readyz: the consumer's and the API's connections are up. */
bool analytics_ready(void *arg);

/* The routes (routes.c) and their handlers. */
extern const struct http_route analytics_routes[];
extern const size_t analytics_routes_count;
http_status api_kpis(http_req *r, void *arg);
http_status dashboard_get(http_req *r, void *arg);

/* Start-up work that needs the database (setup.c): the calendar check, a
 * bulk rebuild when far behind, the bi_reader role. Blocks (a rebuild may
 * take a while). 0 when done, -1 to be called again later. */
int setup_run(analytics *a);

/* --describe (kpi_doc.c): kpi.def and the SQL written from it, as JSON on
 * out. 0, or -1 out of memory. */
int kpi_doc_print(FILE *out);

/* The bi views' column comments that list the schema's enum values
 * (bidoc.c): idempotent DDL for migrate_derived; NULL out of memory. */
const char *bidoc_sql(void);

/* Records the measures the sums now hold (after a rebuild). 0 or -1. */
int setup_measures_save(db *d);

/* A validated period: from and to as "YYYY-MM-DD" (both within reach),
 * or an error naming the field. */
struct period {
    char from[11], to[11];
    int32_t from_day, to_day;
};
/* Reads ?from= and ?to= (defaults: the 30 days up to today when allowed).
 * 0, or -1 with *field and *why set (static strings). */
int period_parse(analytics *a, http_req *r, bool defaults, struct period *p, const char **field,
                 const char **why);

#endif
