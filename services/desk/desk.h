/* desk.h — the agent desk: what its files share.
 *
 * The desk serves the pages agents and supervisors work in (pages.c, the
 * script and style sheet in assets/), signs agents in with their password
 * through the API's POST /v1/sessions (signin.c), whose key the session
 * cookie carries sealed (sessions.h: no session is kept here, so any instance
 * serves any session and a restart ends none), forwards the page's API
 * calls to channel-ingest with that key (proxy.c: an allow-list of the
 * public API's routes, CSRF-checked writes, the agent's scope on tickets)
 * and pushes the event feed to the page as server-sent events (stream.c).
 * Everything blocking runs on the worker pool (pool.h); the loop never
 * waits.
 */
#ifndef DESK_H
#define DESK_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>

#include "asset.h"
#include "http.h"
#include "pool.h"
#include "scope.h"
#include "service.h"
#include "sessions.h"

#define DESK_URL_MAX 512
#define DESK_CURSOR_MAX 4096
/* A route flag (scope.h's room above SCOPE_MASK): a page for people, which
 * redirects to /signin without a session (others answer 401). */
#define DESK_PAGE (1u << 18)
/* A route needing a session's cookie (the guard checks its shape; the API
 * whether its key stands); SCOPE_PUBLIC routes need none. */
#define DESK_SIGNED (1u << 19)

typedef struct desk {
    service *svc;
    pool *pool;                 /* calls to the API, sign-ins and sign-outs */
    pool *streams;              /* the event streams' long polls */
    int signing_in;             /* sign-ins in flight (each holds a worker: bounded) */
    sessions *sessions;         /* the cookie's life, copies of who keys are */
    char api_url[DESK_URL_MAX]; /* channel-ingest, no final "/" */
    int threads, stream_threads;
    int dashboard_port;       /* analytics', for the page's link to the KPIs */
    char *tls_cert, *tls_key; /* HTTPS: CAREBUS_TLS_CERT, _KEY (config_tls) */
    /* The feed's newest cursor any stream saw: where a new page's stream
     * starts. Written on the loop only. */
    char head[DESK_CURSOR_MAX];
} desk;

/* A worker's own: a curl handle. */
struct desk_worker {
    CURL *curl;
};

extern const struct http_route desk_routes[];
extern const size_t desk_routes_count;
extern const struct asset desk_assets[];
extern const size_t desk_assets_count;

/* main.c's phases */
int desk_configure(desk *d);
int desk_open(desk *d);
void desk_close(desk *d);
bool desk_ready(void *arg);
bool desk_guard(http_req *r, const struct http_route *route, void *arg);
/* The session key r's cookie carries, opened (sessions_key) into key: true
 * when it opens (the guard lets DESK_SIGNED routes in only so). */
bool desk_key(desk *d, http_req *r, char key[APIKEY_LEN]);
/* Answers r as signed out (a key the API refused, or none): a page
 * redirects to /signin, anything else is 401; a cookie is cleared. */
void desk_signed_out(http_req *r, bool page);

/* The language of the request: ?lang=, the cookie desk_lang, else
 * Accept-Language ("vi" unless English comes first). "vi" or "en". */
const char *desk_lang(http_req *r);
/* Security headers of every page (CSP: nothing but this origin). */
void desk_page_headers(http_req *r);

/* handlers */
http_status pages_app(http_req *r, void *arg);
http_status pages_asset(http_req *r, void *arg);
http_status signin_get(http_req *r, void *arg);
http_status signin_post(http_req *r, void *arg);
http_status signout_post(http_req *r, void *arg);
http_status proxy_any(http_req *r, void *arg);
http_status stream_get(http_req *r, void *arg);

#endif
