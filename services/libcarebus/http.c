/* http.c — HTTP servers over libmicrohttpd in external epoll mode.
 *
 * The loop watches two fds per server: MHD's epoll fd (readable when any
 * socket MHD cares about is) and a timerfd armed from MHD_get_timeout after
 * every MHD_run. The timerfd, not a loop timeout source, carries MHD's
 * timeouts because the loop cannot remove a timer or a timeout source and a
 * server may be destroyed before its loop; an fd can be removed. A timeout of
 * 0 ("work already waiting", e.g. edge-triggered sockets not yet drained)
 * arms the timerfd for 1 ns, so the next turn runs MHD again; so does
 * answering a suspended request, because in external epoll mode 0.9.75's
 * MHD_resume_connection neither wakes the epoll fd nor lowers the timeout.
 *
 * A request is born in the URI log callback (the only place 0.9.75 shows
 * the raw, still percent-encoded URI: routes match on raw segments so "%2F"
 * stays inside a ":name" value) and freed in the completion callback. The
 * access handler is called once for the headers, once per body chunk and
 * once at the end: only then does the route's handler run. An answer is
 * stored in the request and queued by the access handler, which MHD calls
 * again after MHD_resume_connection for a suspended request.
 */
#include "http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "url.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define HTTP_CONNECTION_LIMIT 1024
/* MHD's memory pool per connection (its default: 32 KiB). MHD zeroes the
 * whole pool at the start of every request on a kept-alive connection:
 * with the default, that memset was 5-6% of channel-ingest's CPU. Half goes
 * to the read buffer; a request's line and headers must fit in the pool
 * (MHD answers 431 otherwise), which 16 KiB leaves room for (nginx's default
 * limit for a header line is 8 KiB). */
#define HTTP_CONNECTION_MEMORY ((size_t)16 * 1024)
/* What a request's line and headers may take of that pool (their bytes,
 * and MHD's record of each, about HTTP_HEAD_ENTRY bytes): the rest is for
 * the answer's headers, which MHD builds in the same pool. A request that
 * fits in the pool but leaves less would have its handler run and then no
 * answer sent (MHD: "failed to create response header"): it is answered
 * 431 before its handler runs. */
#define HTTP_HEAD_BUDGET (HTTP_CONNECTION_MEMORY - (size_t)4 * 1024)
#define HTTP_HEAD_ENTRY 64
#define HTTP_MAX_PARAMS 8
/* How long http_server_destroy lets answered requests flush. */
#define HTTP_DRAIN_ROUNDS 100
#define HTTP_DRAIN_WAIT_MS 10

struct http_header {
    struct http_header *next;
    const char *name; /* both point into the same allocation */
    const char *value;
};

struct http_param {
    const char *name; /* in the route's pattern, not NUL-terminated */
    size_t nlen;
    const char *value; /* percent-decoded, in http_req.pbuf */
};

struct http_req {
    http_server *s;
    struct MHD_Connection *conn;
    const char *method; /* MHD's, lives as long as the request */
    char *path;         /* raw path, without the query */
    const char *query;  /* raw query after "?", in path's allocation; "" if none */
    int64_t t0_us;
    const struct http_route *route; /* NULL: no route for method and path */
    const char *label;              /* route label for metrics */
    char *allow;                    /* for 405: the methods the path has */
    struct http_param params[HTTP_MAX_PARAMS];
    size_t nparams;
    char *pbuf;
    char *body;
    size_t body_len, body_cap;
    size_t discarded; /* body bytes read for a request over the limit */
    struct http_header *headers;
    struct MHD_Response *resp; /* the answer, until queued */
    unsigned status;
    void *data;
    void (*data_free)(void *);
    void *auth;            /* http_set_auth's copy */
    http_req *prev, *next; /* the server's list of suspended requests */
    bool started;          /* the access handler has seen the headers */
    bool too_large;        /* the body is over the limit: being discarded */
    bool answered;         /* an http_reply* was called */
    bool queued;           /* the answer is handed to MHD */
    bool suspended;
    bool builtin; /* the route is one of builtins[]: not guarded */
};

struct http_server {
    loop *loop;
    struct MHD_Daemon *d;
    int epfd;         /* MHD's; MHD_stop_daemon closes it */
    int tfd;          /* ours */
    int64_t armed_us; /* the timerfd's deadline (monotonic), -1 if disarmed */
    const struct http_route *routes;
    size_t nroutes;
    void *arg;
    http_ready_fn ready;
    http_scrape_fn scrape;
    void *scrape_arg;
    http_guard_fn guard;
    size_t max_body, max_large_body;
    const char *rejected_family;
    int port;
    bool tls;
    http_req *suspended;
    size_t inflight; /* answered but not yet completed */
    bool running;    /* inside MHD_run: handlers are on the stack */
    bool kicked;     /* a connection was resumed during this MHD_run */
    bool stopping;
};

static void server_kick(http_server *s);
static http_status builtin_healthz(http_req *r, void *arg);
static http_status builtin_readyz(http_req *r, void *arg);
static http_status builtin_metrics(http_req *r, void *arg);

/* Every server answers these, after its own routes, to anyone: they are
 * not guarded (their access is never read). */
static const struct http_route builtins[] = {
    {"GET", "/healthz", builtin_healthz, 0},
    {"GET", "/readyz", builtin_readyz, 0},
    {"GET", "/metrics", builtin_metrics, 0},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- routing ------------------------------------------------------------ */

struct seg {
    const char *name;
    size_t nlen;
    const char *val;
    size_t vlen;
};

/* Matches a raw path against a pattern segment by segment; ":name" matches
 * one non-empty segment, recorded in segs. */
static bool route_match(const char *pattern, const char *path, struct seg *segs, size_t *nsegs)
{
    size_t n = 0;
    const char *p = pattern, *u = path;
    for (;;) {
        if (*p == '\0' && *u == '\0')
            break;
        if (*p != '/' || *u != '/')
            return false;
        p++;
        u++;
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (*p == ':') {
            if (ul == 0 || n == HTTP_MAX_PARAMS)
                return false;
            segs[n++] = (struct seg){p + 1, pl - 1, u, ul};
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return false;
        }
        p += pl;
        u += ul;
    }
    *nsegs = n;
    return true;
}

static const struct http_route *route_at(const http_server *s, size_t i)
{
    return i < s->nroutes ? &s->routes[i] : &builtins[i - s->nroutes];
}

static bool method_matches(const char *route_method, const char *method)
{
    /* MHD sends no body for HEAD: a GET route answers it. */
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Whether the Allow list ("GET, POST") names method. */
static bool allow_has(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Finds the route for the request; on a path match with another method,
 * gathers the Allow list. Returns -1 only when out of memory. */
static int req_route(http_req *r)
{
    const http_server *s = r->s;
    struct seg segs[HTTP_MAX_PARAMS];
    size_t nsegs = 0;
    buf allow = BUF_INIT;
    for (size_t i = 0; i < s->nroutes + NBUILTINS; i++) {
        const struct http_route *rt = route_at(s, i);
        if (!route_match(rt->pattern, r->path, segs, &nsegs))
            continue;
        if (!r->label)
            r->label = rt->pattern;
        if (!method_matches(rt->method, r->method)) {
            if (!allow_has(buf_str(&allow), rt->method)) {
                if (allow.len)
                    buf_puts(&allow, ", ");
                buf_puts(&allow, rt->method);
            }
            continue;
        }
        buf_release(&allow);
        r->route = rt;
        r->builtin = i >= s->nroutes;
        r->label = rt->pattern;
        r->pbuf = malloc(strlen(r->path) + 1);
        if (!r->pbuf)
            return -1;
        /* Each value came after a '/' in the path: they all fit. */
        char *o = r->pbuf;
        for (size_t k = 0; k < nsegs; k++) {
            r->params[k] = (struct http_param){segs[k].name, segs[k].nlen, o};
            o += url_decode(o, segs[k].val, segs[k].vlen, URL_PATH) + 1;
        }
        r->nparams = nsegs;
        return 0;
    }
    if (allow.len && !(r->allow = buf_detach(&allow, NULL)))
        return -1;
    buf_release(&allow);
    if (!r->label)
        r->label = "unmatched";
    return 0;
}

/* --- answers ------------------------------------------------------------ */

static void headers_release(http_req *r)
{
    while (r->headers) {
        struct http_header *h = r->headers;
        r->headers = h->next;
        free(h);
    }
}

static void suspended_unlink(http_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        r->s->suspended = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->suspended = false;
}

/* Adds v to a series "<family>{route=\"<label>\"<extra>}"; a label too long
 * for the buffer is not counted (a cut name would break the format). */
static void count_route(const char *family, const char *label, const char *extra, double v)
{
    /* Copied, not snprintf'd: three series per answer, and the formatting
     * cost more than the counting. */
    const char *parts[] = {family, "{route=\"", label, "\"", extra, "}"};
    char name[256];
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len = strlen(parts[i]);
        if (len >= sizeof name - n)
            return;
        memcpy(name + n, parts[i], len);
        n += len;
    }
    name[n] = '\0';
    metrics_add(name, v);
}

/* Counts a refusal of this file's own in the server's rejected family. */
static void count_rejected(const http_server *s, const char *reason)
{
    char name[160];
    int n = s->rejected_family
                ? snprintf(name, sizeof name, "%s{reason=\"%s\"}", s->rejected_family, reason)
                : -1;
    if (n > 0 && (size_t)n < sizeof name)
        metrics_add(name, 1);
}

static void count_answer(const http_req *r, unsigned status)
{
    char code[] = ",code=\"000\""; /* status is 100-599 (http_reply) */
    code[7] = (char)('0' + status / 100 % 10);
    code[8] = (char)('0' + status / 10 % 10);
    code[9] = (char)('0' + status % 10);
    count_route("carebus_http_requests_total", r->label, code, 1);
    double secs = (double)(mono_us() - r->t0_us) / 1e6;
    count_route("carebus_http_request_duration_seconds_sum", r->label, "", secs);
    count_route("carebus_http_request_duration_seconds_count", r->label, "", 1);
}

void http_reply(http_req *r, unsigned status, const char *content_type, const char *body,
                size_t len)
{
    assert(!r->answered && "a request is answered once");
    assert(status >= 100 && status <= 599);
    r->answered = true;
    r->status = status;
    r->s->inflight++;
    /* MUST_COPY: the caller's body may be on its stack. */
    r->resp =
        MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (r->resp) {
        const char *ct = content_type ? content_type : "text/plain; charset=utf-8";
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
        for (const struct http_header *h = r->headers; h; h = h->next)
            if (MHD_add_response_header(r->resp, h->name, h->value) != MHD_YES)
                log_warn("could not add response header \"%s\" for %s %s", h->name, r->method,
                         r->path);
    } else {
        /* The access handler closes the connection: nothing to answer with. */
        log_error("could not create a response for %s %s", r->method, r->path);
    }
    headers_release(r);
    count_answer(r, status);
    if (r->suspended) {
        suspended_unlink(r);
        MHD_resume_connection(r->conn);
        server_kick(r->s);
    }
}

void http_add_header(http_req *r, const char *name, const char *value)
{
    assert(!r->answered && "headers go before the answer");
    size_t nl = strlen(name), vl = strlen(value);
    struct http_header *h = malloc(sizeof *h + nl + vl + 2);
    if (!h) {
        log_error("out of memory adding header \"%s\"", name);
        return;
    }
    char *p = (char *)(h + 1);
    memcpy(p, name, nl + 1);
    memcpy(p + nl + 1, value, vl + 1);
    h->name = p;
    h->value = p + nl + 1;
    /* Appended, so headers keep the order they were added in. */
    h->next = NULL;
    struct http_header **tail = &r->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

void http_reply_json(http_req *r, unsigned status, json_t *json)
{
    char *txt = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!txt) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"could not "
                                  "encode the answer\"}}";
        log_error("could not encode the JSON answer for %s %s", r->method, r->path);
        http_reply(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_reply(r, status, "application/json", txt, strlen(txt));
    free(txt);
}

/* A JSON string of s; bytes jansson refuses (invalid UTF-8, e.g. a quoted
 * client value or a message cut mid-character) become '?'. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *c = strdup(s);
    if (!c)
        return NULL;
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    j = json_string(c);
    free(c);
    return j;
}

void http_reply_error(http_req *r, unsigned status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_object();
    if (err) {
        json_object_set_new(err, "code", json_text(code));
        json_object_set_new(err, "message", json_text(msg));
        if (field)
            json_object_set_new(err, "field", json_text(field));
    }
    json_t *root = err ? json_pack("{s:o}", "error", err) : NULL;
    http_reply_json(r, status, root);
}

/* --- built-in routes ---------------------------------------------------- */

static http_status builtin_healthz(http_req *r, void *arg)
{
    (void)arg;
    static const char ok[] = "{\"status\":\"ok\"}";
    http_reply(r, 200, "application/json", ok, sizeof ok - 1);
    return HTTP_DONE;
}

static http_status builtin_readyz(http_req *r, void *arg)
{
    static const char ready[] = "{\"status\":\"ready\"}";
    static const char not_ready[] = "{\"status\":\"not ready\"}";
    if (!r->s->ready || r->s->ready(arg))
        http_reply(r, 200, "application/json", ready, sizeof ready - 1);
    else
        http_reply(r, 503, "application/json", not_ready, sizeof not_ready - 1);
    return HTTP_DONE;
}

static http_status builtin_metrics(http_req *r, void *arg)
{
    (void)arg;
    if (r->s->scrape)
        r->s->scrape(r->s->scrape_arg);
    size_t len;
    char *text = metrics_render(&len);
    if (!text) {
        http_reply_error(r, 500, "internal", NULL, "could not render the metrics");
        return HTTP_DONE;
    }
    http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return HTTP_DONE;
}

/* --- requests ----------------------------------------------------------- */

static http_req *req_new(http_server *s, const char *uri)
{
    http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->t0_us = mono_us();
    /* One allocation, split at "?": the path, then the raw query. */
    r->path = strdup(uri);
    if (!r->path) {
        free(r);
        return NULL;
    }
    char *q = strchr(r->path, '?');
    r->query = q ? (*q = '\0', q + 1) : "";
    return r;
}

static void req_destroy(http_req *r)
{
    if (r->data_free)
        r->data_free(r->data);
    if (r->suspended)
        suspended_unlink(r);
    if (r->answered)
        r->s->inflight--;
    if (r->resp)
        MHD_destroy_response(r->resp);
    headers_release(r);
    free(r->path);
    free(r->allow);
    free(r->pbuf);
    free(r->body);
    free(r->auth);
    free(r);
}

/* Hands the stored answer to MHD. MHD_NO closes the connection. */
static enum MHD_Result req_queue(http_req *r)
{
    assert(r->answered && !r->queued);
    if (!r->resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->resp);
    MHD_destroy_response(r->resp);
    r->resp = NULL;
    r->queued = true;
    return ret;
}

/* The largest body the request's route takes. */
static size_t req_max_body(const http_req *r)
{
    return r->route && (r->route->access & HTTP_LARGE_BODY) ? r->s->max_large_body : r->s->max_body;
}

static void req_too_large(http_req *r)
{
    log_info("request body too large: %s %s (limit %zu bytes)", r->method, r->path,
             req_max_body(r));
    count_rejected(r->s, "body_too_large");
    r->too_large = true;
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    http_reply_error(r, 413, "body_too_large", NULL, "the request body is larger than %zu bytes",
                     req_max_body(r));
}

static enum MHD_Result head_count(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + HTTP_HEAD_ENTRY;
    return MHD_YES;
}

/* The pool the request's line and headers take, roughly (HTTP_HEAD_BUDGET). */
static size_t req_head_size(const http_req *r)
{
    size_t n = strlen(r->method) + strlen(r->path) + HTTP_HEAD_ENTRY;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND | MHD_COOKIE_KIND,
                              head_count, &n);
    return n;
}

/* The first call: headers are in, the body is not. */
static enum MHD_Result req_start(http_req *r, struct MHD_Connection *conn, const char *method)
{
    r->started = true;
    r->conn = conn;
    r->method = method;
    if (req_route(r) != 0) {
        log_error("out of memory routing %s %s", r->method, r->path);
        return MHD_NO;
    }
    if (req_head_size(r) > HTTP_HEAD_BUDGET) {
        log_info("request headers too large: %s %s", r->method, r->path);
        count_rejected(r->s, "headers_too_large");
        r->too_large = true; /* its body, if any, is read and thrown away */
        http_reply_error(r, 431, "headers_too_large", NULL,
                         "the request line and headers are larger than %zu bytes",
                         (size_t)HTTP_HEAD_BUDGET);
        return req_queue(r);
    }
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return MHD_YES;
    /* MHD answers 400 to a malformed Content-Length itself. */
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (end == cl || errno != 0)
        return MHD_YES;
    if (n > req_max_body(r)) {
        /* Answered before reading the body: MHD then closes the connection
         * instead of reading what we would throw away. */
        req_too_large(r);
        return req_queue(r);
    }
    if (n > 0 && !(r->body = malloc((size_t)n + 1)))
        return MHD_NO;
    r->body_cap = n > 0 ? (size_t)n + 1 : 0;
    return MHD_YES;
}

static enum MHD_Result req_body(http_req *r, const char *data, size_t n)
{
    if (r->too_large) {
        /* 0.9.75 refuses a response while the body is being uploaded, so
         * the 413 waits for the end of a chunked body. XXX: reading what we
         * throw away costs bandwidth; past twice the limit, close the
         * connection without an answer rather than read on. */
        r->discarded += n;
        if (r->discarded / 2 > req_max_body(r)) {
            log_info("closing %s %s: the body goes on past the limit", r->method, r->path);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (n > req_max_body(r) - r->body_len) {
        /* Chunked: the size shows only now. */
        r->discarded = r->body_len + n;
        req_too_large(r);
        return MHD_YES;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            log_error("out of memory reading the body of %s %s", r->method, r->path);
            return MHD_NO;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
}

/* The whole request is in: answer it, or run its handler. */
static enum MHD_Result req_dispatch(http_req *r)
{
    http_server *s = r->s;
    if (s->stopping) {
        http_add_header(r, "Retry-After", "1");
        http_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        http_reply_error(r, 503, "shutting_down", NULL, "the server is shutting down");
        return req_queue(r);
    }
    if (!r->route) {
        if (r->allow) {
            log_info("method not allowed: %s %s", r->method, r->path);
            count_rejected(s, "method_not_allowed");
            http_add_header(r, MHD_HTTP_HEADER_ALLOW, r->allow);
            http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                             r->method, r->path);
        } else {
            log_info("no route: %s %s", r->method, r->path);
            count_rejected(s, "no_route");
            http_reply_error(r, 404, "not_found", NULL, "no route for %s %s", r->method, r->path);
        }
        return req_queue(r);
    }
    if (s->guard && !r->builtin && !s->guard(r, r->route, s->arg)) {
        assert(r->answered && "a guard that refuses answers");
        return req_queue(r);
    }
    http_status st = r->route->fn(r, s->arg);
    if (r->answered)
        return req_queue(r); /* also when it answered and said SUSPENDED */
    if (st == HTTP_SUSPENDED) {
        MHD_suspend_connection(r->conn);
        r->suspended = true;
        r->prev = NULL;
        r->next = s->suspended;
        if (s->suspended)
            s->suspended->prev = r;
        s->suspended = r;
        return MHD_YES;
    }
    /* A bug in the handler: say so loudly, but answer the client. */
    log_error("handler for %s %s returned without answering", r->route->method, r->route->pattern);
    http_reply_error(r, 500, "internal", NULL, "the server did not answer the request");
    return req_queue(r);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_req *r = *con_cls;
    if (!r) {
        /* The URI log callback ran out of memory: the decoded URL is the
         * best we have. */
        if (!(r = req_new(cls, url)))
            return MHD_NO;
        *con_cls = r;
    }
    if (!r->started)
        return req_start(r, conn, method);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return req_body(r, upload_data, n);
    }
    if (r->queued)
        return MHD_YES;
    if (r->answered)
        return req_queue(r); /* resumed, or too large while uploading */
    assert(!r->suspended);
    return req_dispatch(r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    return req_new(cls, uri); /* NULL: on_access retries */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*con_cls)
        req_destroy(*con_cls);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("microhttpd: %s", msg);
}

/* --- the daemon and the loop -------------------------------------------- */

/* Runs MHD, then arms the timerfd for MHD's next deadline. */
static void server_pump(http_server *s)
{
    s->running = true;
    s->kicked = false;
    MHD_run(s->d);
    s->running = false;
    MHD_UNSIGNED_LONG_LONG t;
    struct itimerspec its = {{0, 0}, {0, 0}};
    int64_t deadline = -1;
    if (s->kicked) {
        /* A handler resumed a connection during this run. */
        its.it_value.tv_nsec = 1;
        deadline = 0;
    } else if (MHD_get_timeout(s->d, &t) == MHD_YES) {
        if (t == 0) {
            its.it_value.tv_nsec = 1; /* 0 would disarm */
            deadline = 0;
        } else {
            its.it_value.tv_sec = (time_t)(t / 1000);
            its.it_value.tv_nsec = (long)(t % 1000) * 1000000;
            deadline = mono_us() + (int64_t)t * 1000;
        }
    }
    /* A connection timeout's deadline moves little between runs: skip the
     * syscall when it is within a millisecond of the armed one. */
    if (deadline > 0 && s->armed_us > 0 && llabs(deadline - s->armed_us) < 1000)
        return;
    if (deadline < 0 && s->armed_us < 0)
        return;
    if (timerfd_settime(s->tfd, 0, &its, NULL) != 0)
        log_error("could not arm the HTTP timer: %s", strerror(errno));
    s->armed_us = deadline;
}

/* Makes the loop run MHD on its next turn. MHD_resume_connection needs it:
 * in external epoll mode 0.9.75 neither wakes the epoll fd nor lowers
 * MHD_get_timeout for a resumed connection. */
static void server_kick(http_server *s)
{
    if (s->running) {
        /* MHD may have passed its resume step: server_pump re-runs it. */
        s->kicked = true;
        return;
    }
    if (s->armed_us == 0)
        return;
    struct itimerspec its = {{0, 0}, {0, 1}};
    if (timerfd_settime(s->tfd, 0, &its, NULL) != 0)
        log_error("could not arm the HTTP timer: %s", strerror(errno));
    s->armed_us = 0;
}

static int on_epoll_ready(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    server_pump(arg);
    return 0;
}

static int on_timer_ready(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    http_server *s = arg;
    uint64_t n;
    if (read(s->tfd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_warn("could not read the HTTP timer: %s", strerror(errno));
    s->armed_us = -1; /* a one-shot timer that fired is disarmed */
    server_pump(s);
    return 0;
}

/* Builds the listening address. 0 or -1 (logged). */
static int server_sockaddr(const char *addr, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1)
            return 0;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1)
            return 0;
    }
    log_error("could not parse the HTTP address \"%s\": expected an IPv4 or IPv6 address", addr);
    return -1;
}

http_server *http_server_new(loop *l, const struct http_server_opts *o)
{
    const char *addr = o->addr ? o->addr : config_str("HTTP_ADDR", "127.0.0.1");
    long timeout_s;
    const char *err;
    if (config_long("HTTP_TIMEOUT_S", 30, 1, 86400, &timeout_s, &err) != 0) {
        log_error("%s", err);
        return NULL;
    }
    if (o->port < 0 || o->port > 65535) {
        log_error("could not start HTTP: port %d is out of range", o->port);
        return NULL;
    }
    struct sockaddr_storage ss;
    if (server_sockaddr(addr, o->port, &ss) != 0)
        return NULL;

    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = l;
    s->epfd = s->tfd = -1;
    s->armed_us = -1;
    s->routes = o->routes;
    s->nroutes = o->nroutes;
    s->arg = o->arg;
    s->ready = o->ready;
    s->scrape = o->scrape;
    s->scrape_arg = o->scrape_arg;
    s->guard = o->guard;
    s->max_body = o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY;
    s->max_large_body = o->max_large_body > s->max_body ? o->max_large_body : s->max_body;
    s->rejected_family = o->rejected_family;

    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* TLS options go in an array so that the one call below serves both. */
    bool tls = o->tls_cert_pem && o->tls_key_pem;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            log_error("could not start HTTPS: libmicrohttpd was built without TLS");
            goto fail;
        }
        flags |= MHD_USE_TLS;
        s->tls = true;
    }
    /* The logger goes first, or MHD logs its first complaints to stderr. */
    s->d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!s->d) {
        log_error("could not listen for HTTP on %s port %d: %s", addr, o->port, strerror(errno));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        log_error("could not get the HTTP server's epoll fd");
        goto fail;
    }
    s->epfd = info->epoll_fd;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tfd < 0) {
        log_error("could not create the HTTP timer: %s", strerror(errno));
        goto fail;
    }
    if (loop_add_fd(l, s->epfd, ZMQ_POLLIN, on_epoll_ready, s) != 0) {
        log_error("could not watch the HTTP server");
        goto fail;
    }
    if (loop_add_fd(l, s->tfd, ZMQ_POLLIN, on_timer_ready, s) != 0) {
        log_error("could not watch the HTTP timer");
        loop_remove_fd(l, s->epfd);
        goto fail;
    }
    metrics_describe("carebus_http_requests_total", "counter",
                     "HTTP requests answered, by route pattern and status code");
    metrics_describe("carebus_http_request_duration_seconds", "summary",
                     "Time from the request line to the answer, by route pattern");
    log_info("listening for %s on %s port %d", tls ? "HTTPS" : "HTTP", addr, s->port);
    return s;
fail:
    if (s->d)
        MHD_stop_daemon(s->d);
    if (s->tfd >= 0)
        close(s->tfd);
    free(s);
    return NULL;
}

void http_server_destroy(http_server **ps)
{
    http_server *s = *ps;
    if (!s)
        return;
    assert(!s->running && "a handler cannot destroy its own server");
    *ps = NULL;
    s->stopping = true;
    /* MHD cannot stop with suspended connections: answer each, then let
     * MHD resume and flush them before it closes everything. */
    size_t n = 0;
    while (s->suspended) {
        http_req *r = s->suspended;
        headers_release(r);
        http_add_header(r, "Retry-After", "1");
        http_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        http_reply_error(r, 503, "shutting_down", NULL, "the server is shutting down");
        assert(!r->suspended && r != s->suspended);
        n++;
    }
    if (n > 0)
        log_warn("answered %zu suspended HTTP requests with 503 on shutdown", n);
    for (int i = 0; i < HTTP_DRAIN_ROUNDS; i++) {
        MHD_run(s->d);
        if (s->inflight == 0)
            break;
        struct pollfd p = {s->epfd, POLLIN, 0};
        poll(&p, 1, HTTP_DRAIN_WAIT_MS);
    }
    if (s->inflight > 0)
        log_warn("%zu HTTP answers were not sent before shutdown", s->inflight);
    loop_remove_fd(s->loop, s->epfd);
    loop_remove_fd(s->loop, s->tfd);
    MHD_stop_daemon(s->d);
    close(s->tfd);
    free(s);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

/* --- request accessors -------------------------------------------------- */

const char *http_method(const http_req *r)
{
    return r->method;
}

const struct http_route *http_route_of(const http_req *r)
{
    return r->builtin ? NULL : r->route;
}

const char *http_raw_query(const http_req *r)
{
    return r->query;
}

const char *http_path(const http_req *r)
{
    return r->path;
}

const char *http_param(const http_req *r, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].nlen == nl && memcmp(r->params[i].name, name, nl) == 0)
            return r->params[i].value;
    return NULL;
}

const char *http_header(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct http_query_walk {
    http_query_fn fn;
    void *arg;
    size_t calls;
    bool stopped;
};

static enum MHD_Result http_query_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    struct http_query_walk *w = cls;
    if (w->stopped)
        return MHD_NO;
    w->calls++;
    if (!w->fn(key, value, w->arg))
        w->stopped = true;
    return w->stopped ? MHD_NO : MHD_YES;
}

size_t http_query_each(const http_req *r, http_query_fn fn, void *arg)
{
    struct http_query_walk w = {fn, arg, 0, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, http_query_visit, &w);
    return w.calls;
}

const char *http_body(const http_req *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body_len ? r->body : "";
}

const char *http_cookie(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

bool http_tls(const http_req *r)
{
    return r->s->tls;
}

int http_set_auth(http_req *r, const void *who, size_t len)
{
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, who, len);
    free(r->auth);
    r->auth = copy;
    return 0;
}

const void *http_auth(const http_req *r)
{
    return r->auth;
}

void http_set_data(http_req *r, void *data, void (*free_fn)(void *))
{
    if (r->data_free && r->data != data)
        r->data_free(r->data);
    r->data = data;
    r->data_free = free_fn;
}

void *http_data(const http_req *r)
{
    return r->data;
}
