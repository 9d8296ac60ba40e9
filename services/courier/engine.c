/* engine.c — libcurl multi in the service's loop (grown from the survey
 * service's webhook pump, which it replaces).
 *
 * Subtle:
 *  - A done function may start new requests; completions are therefore
 *    collected from curl_multi_info_read first and their callbacks called
 *    after, never while curl is inside a socket action.
 *  - curl_easy_reset keeps an easy handle's connection ties out of the way
 *    and lets the handle be reused; connections live in the multi handle's
 *    cache, so keep-alive survives the reuse.
 *  - The response body is capped (ENGINE_BODY_MAX): the rest is read and
 *    dropped, so that a huge answer neither fails the transfer nor grows
 *    memory. For SMTP the "body" is the server's replies.
 */
#include "engine.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "buf.h"
#include "log.h"
#include "timeutil.h"

#define ENGINE_SPARE_HANDLES 64

struct xfer {
    struct xfer *next, *prev;
    engine *e;
    CURL *easy;
    const struct outbound_request *req;
    engine_done_fn done;
    void *ctx;
    struct curl_slist *headers, *rcpt;
    buf body;
    char retry_after[64];
    char err[CURL_ERROR_SIZE];
    size_t upload_off;
    int64_t started_us;
};

struct sock {
    engine *e;
    int fd;
};

struct engine {
    loop *loop;
    CURLM *multi;
    struct engine_opts o;
    int curl_timer; /* loop timer id, 0 when none */
    struct xfer *xfers;
    size_t inflight;
    CURL *spare[ENGINE_SPARE_HANDLES];
    size_t nspare;
    bool collecting;
};

static void engine_collect(engine *e);

/* --- curl <-> loop ------------------------------------------------------------ */

static int on_socket_ready(loop *l, short revents, void *arg)
{
    (void)l;
    struct sock *s = arg;
    engine *e = s->e;
    int flags = (revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0) |
                (revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0) |
                (revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0);
    int running;
    /* s may be freed inside (CURL_POLL_REMOVE): not used after this. */
    curl_multi_socket_action(e->multi, s->fd, flags, &running);
    engine_collect(e);
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    engine *e = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            loop_remove_fd(e->loop, fd);
            curl_multi_assign(e->multi, fd, NULL);
            free(s);
        }
        return 0;
    }
    short events =
        (short)((what & CURL_POLL_IN ? ZMQ_POLLIN : 0) | (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
    if (s)
        return loop_set_fd_events(e->loop, fd, events);
    if (!(s = malloc(sizeof *s)))
        return -1;
    s->e = e;
    s->fd = fd;
    if (loop_add_fd(e->loop, fd, events, on_socket_ready, s) != 0) {
        free(s);
        return -1;
    }
    curl_multi_assign(e->multi, fd, s);
    return 0;
}

static int on_curl_timer_due(loop *l, void *arg)
{
    engine *e = arg;
    /* One-shot: curl re-arms through on_curl_timer if it needs to. */
    loop_remove_timer(l, e->curl_timer);
    e->curl_timer = 0;
    int running;
    curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    engine_collect(e);
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    engine *e = userp;
    if (e->curl_timer) {
        loop_remove_timer(e->loop, e->curl_timer);
        e->curl_timer = 0;
    }
    if (timeout_ms < 0)
        return 0;
    int id = loop_add_timer(e->loop, timeout_ms > 0 ? timeout_ms : 1, on_curl_timer_due, e);
    if (id < 0)
        return -1;
    e->curl_timer = id;
    return 0;
}

/* --- one transfer --------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (x->body.len < ENGINE_BODY_MAX) {
        size_t keep = ENGINE_BODY_MAX - x->body.len;
        buf_append(&x->body, p, len < keep ? len : keep);
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1;
        size_t vn = len - (sizeof name - 1);
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        snprintf(x->retry_after, sizeof x->retry_after, "%.*s", (int)vn, v);
    }
    return len;
}

/* SMTP: the message is the upload. */
static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t left = x->req->body_len - x->upload_off;
    size_t len = size * n < left ? size * n : left;
    memcpy(p, x->req->body + x->upload_off, len);
    x->upload_off += len;
    return len;
}

static void xfer_free(engine *e, struct xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(e->multi, x->easy);
        if (e->nspare < ENGINE_SPARE_HANDLES) {
            curl_easy_reset(x->easy);
            e->spare[e->nspare++] = x->easy;
        } else {
            curl_easy_cleanup(x->easy);
        }
    }
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->rcpt);
    buf_release(&x->body);
    free(x);
}

static void xfer_unlink(engine *e, struct xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        e->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    e->inflight--;
}

static int setup_http(engine *e, struct xfer *x)
{
    const struct outbound_request *r = x->req;
    CURL *c = x->easy;
    for (size_t i = 0; i <= r->nheaders; i++) {
        /* Last, no 100-continue round trip before a body. */
        const char *h = i < r->nheaders ? r->headers[i] : "Expect:";
        struct curl_slist *l = curl_slist_append(x->headers, h);
        if (!l)
            return -1;
        x->headers = l;
    }
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    if (r->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (r->method && strcmp(r->method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    else if (!r->body)
        curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (e->o.user_agent)
        curl_easy_setopt(c, CURLOPT_USERAGENT, e->o.user_agent);
    return 0;
}

static int setup_smtp(struct xfer *x)
{
    const struct outbound_request *r = x->req;
    CURL *c = x->easy;
    for (size_t i = 0; i < r->nrcpt; i++) {
        struct curl_slist *l = curl_slist_append(x->rcpt, r->rcpt[i]);
        if (!l)
            return -1;
        x->rcpt = l;
    }
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, r->mail_from ? r->mail_from : "");
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, x->rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, x);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    if (r->require_tls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    /* The server's replies, one a line, are the answer's body (libcurl
     * hands them to the header callback, never the client's commands): an
     * adapter quotes a refusal in the server's own words. */
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    return 0;
}

int engine_start(engine *e, const struct outbound_request *req, engine_done_fn done, void *ctx)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->e = e;
    x->req = req;
    x->done = done;
    x->ctx = ctx;
    x->easy = e->nspare ? e->spare[--e->nspare] : curl_easy_init();
    if (!x->easy) {
        free(x);
        return -1;
    }
    CURL *c = x->easy;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    if (e->o.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, e->o.ca_file);
    if (req->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
        if (req->proto == OUTBOUND_HTTP)
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    int rc = req->proto == OUTBOUND_SMTP ? setup_smtp(x) : setup_http(e, x);
    if (rc != 0 || curl_multi_add_handle(e->multi, c) != CURLM_OK) {
        curl_easy_cleanup(c);
        x->easy = NULL;
        xfer_free(e, x);
        return -1;
    }
    x->started_us = time_now_us();
    x->next = e->xfers;
    if (e->xfers)
        e->xfers->prev = x;
    e->xfers = x;
    e->inflight++;
    return 0;
}

/* Finished transfers: their callbacks run once curl is out of the way. */
static void engine_collect(engine *e)
{
    if (e->collecting)
        return; /* a done function started a request that finished at once */
    e->collecting = true;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode cc = m->data.result;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        xfer_unlink(e, x);
        struct outbound_response resp = {
            .status = status,
            .transport_error = (int)cc,
            .retry_after = x->retry_after[0] ? x->retry_after : NULL,
            .body = x->body.data ? x->body.data : "",
            .body_len = x->body.len,
        };
        if (cc != CURLE_OK)
            log_debug("request to %s: %s", x->req->url,
                      x->err[0] ? x->err : curl_easy_strerror(cc));
        x->done(x->ctx, &resp, x->started_us, time_now_us());
        xfer_free(e, x);
    }
    e->collecting = false;
}

void engine_drive(engine *e)
{
    /* New transfers are due at once (curl asked for a 0 ms timer): the
     * timeout action starts them, as the loop's timer would. */
    if (e->curl_timer) {
        loop_remove_timer(e->loop, e->curl_timer);
        e->curl_timer = 0;
    }
    int running;
    curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    engine_collect(e);
}

engine *engine_new(loop *l, const struct engine_opts *o)
{
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->loop = l;
    e->o = *o;
    if (!(e->multi = curl_multi_init())) {
        free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    if (o->host_connections > 0)
        curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->host_connections);
    /* Keep as many idle connections as may be busy at once. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS,
                      o->host_connections > 0 ? o->host_connections * 4 : 256L);
    return e;
}

void engine_destroy(engine **pe)
{
    engine *e = *pe;
    if (!e)
        return;
    while (e->xfers) {
        struct xfer *x = e->xfers;
        xfer_unlink(e, x);
        xfer_free(e, x);
    }
    for (size_t i = 0; i < e->nspare; i++)
        curl_easy_cleanup(e->spare[i]);
    if (e->curl_timer)
        loop_remove_timer(e->loop, e->curl_timer);
    curl_multi_cleanup(e->multi);
    free(e);
    *pe = NULL;
}
