/* analytics.h — the service's parts, for main.c and the route handlers.
 *
 * One thread: the consumer applies batches of events on the blocking
 * connection (service.h's db; store.h, the live path), the HTTP handlers query through a separate
 * non-blocking queue (dbq.h) so that no request waits on PostgreSQL in the
 * loop, and a start-up task (setup.c) checks the calendar the state was
 * built with and prepares the bi_reader role. The same queue reloads the
 * API keys (auth.h) and reads the sessions' secret (session.h): the routes
 * need a read-scoped key or a session (routes.c).
 */
#ifndef CAREBUS_ANALYTICS_ANALYTICS_H
#define CAREBUS_ANALYTICS_ANALYTICS_H

#include <stdbool.h>
#include <stdio.h>

#include "auth.h"
#include "dbq.h"
#include "http.h"
#include "service.h"
#include "session.h"
#include "timebase.h"

#define ANALYTICS_DEFAULT_TZ "Asia/Ho_Chi_Minh"
/* The longest period the API answers, in days (about ten years). */
#define ANALYTICS_MAX_DAYS 3700
/* Behind the log by more than this at start: rebuild in bulk. */
#define ANALYTICS_DEFAULT_REBUILD_LAG 100000

typedef struct analytics {
    service *svc;
    timebase *cal;              /* the KPIs' days and business time */
    dbq *q;                     /* the HTTP handlers' queries, the keys' reloads */
    auth *auth;                 /* the API keys (a read-scoped key opens the API) */
    session *sess;              /* the dashboard's signed-in people */
    struct ratelimit_conf rl;   /* CAREBUS_RATE_LIMIT_* */
    const char *session_secret; /* CAREBUS_SESSION_SECRET, NULL: PostgreSQL's */
    long session_ttl;           /* CAREBUS_SESSION_TTL_S */
    const char *bi_password;    /* CAREBUS_BI_PASSWORD, NULL when unset */
    long rebuild_lag;           /* CAREBUS_ANALYTICS_REBUILD_LAG; 0: never */
    long cache_max;             /* CAREBUS_ANALYTICS_CACHE: entities the live path holds */
    long cache_idle_s;          /* CAREBUS_ANALYTICS_CACHE_IDLE_S: held that long idle */
    struct store *store;        /* the live path (store.h) */
    int setup_timer;
    int setup_attempts;
    bool setup_done;
} analytics;

/* The service's life (analytics.c): settings (CAREBUS_BI_PASSWORD,
 * CAREBUS_ANALYTICS_*, CAREBUS_RATE_LIMIT_*, CAREBUS_SESSION_*; 0 or -1,
 * logged), then once a->svc exists the API's queue, the keys and sessions
 * it feeds, the start-up task and the consumer with its live path (0 or
 * -1), and at the end the queue, keys and sessions (before the service
 * goes), then the live path and the settings. */
int analytics_configure(analytics *a);
int analytics_open(analytics *a);
void analytics_close(analytics *a);
void analytics_release(analytics *a);
/* /readyz: the consumer's and the API's connections are up, the keys
 * loaded and the sessions' secret known. */
bool analytics_ready(void *arg);
/* Every route's access (routes.c): a Bearer key or a session with the
 * route's scope; the dashboard sends a person without one to sign in. */
bool analytics_guard(http_req *r, const struct http_route *route, void *arg);

/* The routes (routes.c) and their handlers. */
extern const struct http_route analytics_routes[];
extern const size_t analytics_routes_count;
http_status api_kpis(http_req *r, void *arg);
http_status dashboard_get(http_req *r, void *arg);
http_status signin_get(http_req *r, void *arg);   /* signin.c */
http_status signin_post(http_req *r, void *arg);  /* signin.c */
http_status signout_post(http_req *r, void *arg); /* signin.c */

/* The CSRF token of the request's session, for the dashboard's sign-out
 * button: true when the request came in by a session (not a Bearer key). */
bool signin_csrf(analytics *a, http_req *r, char out[SESSION_CSRF_LEN]);

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
