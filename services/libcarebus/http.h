/* http.h — HTTP servers over libmicrohttpd, driven by the service's loop.
 *
 * The daemon runs in external mode with epoll: the loop polls one fd and
 * calls MHD_run. Routes are a declarative table (method, pattern, handler),
 * patterns with ":name" segments ("/v1/events/:id"), and who may call each
 * (its access: scope.h's scopes, read by the server's guard, which runs
 * before every handler of the table). Every server answers GET /healthz,
 * GET /readyz and GET /metrics, to anyone.
 *
 * A handler either answers at once (http_reply_*) or keeps the request and
 * returns HTTP_SUSPENDED; it then answers later with http_reply_* from any
 * loop callback, which resumes the connection. Suspended requests never time
 * out in libmicrohttpd, so the owner must answer each one: on shutdown,
 * http_server_destroy answers the still-suspended ones with 503.
 *
 * Bodies larger than the server's limit (or the route's, HTTP_LARGE_BODY)
 * are answered 413 before the handler runs. Connections time out after CAREBUS_HTTP_TIMEOUT_S (default 30).
 */
#ifndef CAREBUS_HTTP_H
#define CAREBUS_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

typedef struct http_server http_server;
typedef struct http_req http_req;

typedef enum { HTTP_DONE = 0, HTTP_SUSPENDED = 1 } http_status;
typedef http_status (*http_handler)(http_req *r, void *arg);

struct http_route {
    const char *method;  /* "GET", "POST", "PUT" */
    const char *pattern; /* "/v1/tickets/:id/replies" */
    http_handler fn;
    /* Who may call it, for the guard: a SCOPE_* of scope.h, or
     * SCOPE_PUBLIC, plus the service's own flags. Every table states it, so
     * that a route cannot forget it (-Wmissing-field-initializers). */
    unsigned access;
};

/* A route flag beside the scope (scope.h's room above SCOPE_MASK): the
 * route takes bodies up to the server's max_large_body (bulk imports). */
#define HTTP_LARGE_BODY (1u << 24)

/* Runs before the handler of every route of the table: true to go on, or
 * false after answering (401, 403 ...). arg: the server's. */
typedef bool (*http_guard_fn)(http_req *r, const struct http_route *route, void *arg);

/* Readiness for /readyz: true when the service can do its work. */
typedef bool (*http_ready_fn)(void *arg);

/* Before /metrics renders: sets the gauges that must be true when scraped
 * rather than as of their last sample (a consumer's lag). arg: scrape_arg. */
typedef void (*http_scrape_fn)(void *arg);

struct http_server_opts {
    const char *addr; /* bind address; default CAREBUS_HTTP_ADDR or 127.0.0.1 */
    int port;
    const struct http_route *routes; /* borrowed, must outlive the server */
    size_t nroutes;
    void *arg; /* passed to handlers, guard and ready */
    http_ready_fn ready;
    http_scrape_fn scrape; /* NULL: /metrics renders the registry as it is */
    void *scrape_arg;
    http_guard_fn guard; /* NULL: every route is open */
    size_t max_body;     /* bytes; 0: 1 MiB */
    size_t max_large_body; /* bytes, routes flagged HTTP_LARGE_BODY; 0: max_body */
    /* HTTPS when both are set: PEM text (not file names) of the certificate
     * chain and its private key, borrowed until http_server_new returns.
     * Fails when libmicrohttpd was built without TLS. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    /* A counter family (NULL: none), e.g. "carebus_ingest_rejected_total",
     * that counts the requests refused here, before any handler, by reason:
     * "body_too_large" (413), "no_route" (404), "method_not_allowed" (405). */
    const char *rejected_family;
};

/* Starts listening and registers with the loop. NULL on failure (logged). */
http_server *http_server_new(loop *l, const struct http_server_opts *o);
void http_server_destroy(http_server **ps);
/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *s);

/* Request accessors; returned strings are borrowed for the request's life. */
const char *http_method(const http_req *r);
/* The route of the table the request matched (NULL: none, or a built-in
 * one): a handler that runs again after a suspension calls route->fn. */
const struct http_route *http_route_of(const http_req *r);
const char *http_path(const http_req *r); /* raw: still percent-encoded */
/* The query string as sent, after "?" ("" if none), still encoded: for
 * signatures computed over the URL (Twilio). */
const char *http_raw_query(const http_req *r);
const char *http_param(const http_req *r, const char *name); /* ":name" */
const char *http_header(const http_req *r, const char *name);
const char *http_query(const http_req *r, const char *name);
/* Calls fn for each query parameter in the order sent (value NULL for a
 * name without "="), decoded; stops when fn returns false. Returns the
 * number of calls. */
typedef bool (*http_query_fn)(const char *name, const char *value, void *arg);
size_t http_query_each(const http_req *r, http_query_fn fn, void *arg);
const char *http_body(const http_req *r, size_t *len);
/* The value of a cookie the request sent, or NULL. */
const char *http_cookie(const http_req *r, const char *name);
/* True when the request came over HTTPS. */
bool http_tls(const http_req *r);

/* Who the guard let in (a copy of len bytes, owned by the request, freed
 * with it), for the handler: a copy, so that it stays valid while the
 * request is suspended. 0, or -1 out of memory. http_auth: NULL if none. */
int http_set_auth(http_req *r, const void *who, size_t len);
const void *http_auth(const http_req *r);

/* Per-request user data (freed by free_fn when the request ends). */
void http_set_data(http_req *r, void *data, void (*free_fn)(void *));
void *http_data(const http_req *r);

/* Answers. Each may be called once per request, now or after suspension.
 * json: the reference is stolen. */
void http_reply_json(http_req *r, unsigned status, json_t *json);
void http_reply(http_req *r, unsigned status, const char *content_type, const char *body,
                size_t len);
/* {"error":{"code","message","field"}} (field NULL: omitted). */
void http_reply_error(http_req *r, unsigned status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds a header to the coming reply (call before http_reply*). */
void http_add_header(http_req *r, const char *name, const char *value);

#endif
