/* outbound.c — webhook deliveries: libcurl multi in the service's loop.
 *
 * Pending deliveries live in survey.deliveries. The pump claims due rows
 * (a lease, so that two instances never send one at once and a crash
 * mid-attempt only delays it until the lease runs out), POSTs each body
 * with its delivery id and signature, and records the outcome: delivered,
 * or the next attempt after an exponential backoff with jitter, or failed
 * once CAREBUS_OUTBOUND_RETRY_S has passed. Every query goes through the
 * non-blocking queue (dbq), every transfer through curl's multi socket
 * interface: sockets are watched by the loop (CURLMOPT_SOCKETFUNCTION) and
 * curl's timeout is a one-shot loop timer (CURLMOPT_TIMERFUNCTION), so
 * nothing here ever blocks the loop.
 *
 * Delivery is at least once: an attempt whose outcome could not be recorded
 * (crash, database down) is made again, with the same delivery id and the
 * same bytes, so that receivers deduplicate on X-Carebus-Delivery.
 */
#include <assert.h>
#include <curl/curl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "hex.h"
#include "hmac.h"
#include "log.h"
#include "metrics.h"
#include "survey.h"
#include "timeutil.h"

#define OUTBOUND_MAX_INFLIGHT 16
#define OUTBOUND_IDLE_POLL_MS 1000
#define OUTBOUND_TICK_MS 50
/* A lease outlives the longest attempt by this much. */
#define OUTBOUND_LEASE_MARGIN_S 5
#define OUTBOUND_ERROR_MAX 200

struct xfer {
    struct xfer *next;
    outbound *o;
    CURL *easy;
    struct curl_slist *headers;
    char id[ID_LEN];
    char *url;
    char *body;
    int attempts; /* before this one */
    char err[CURL_ERROR_SIZE];
};

struct sock {
    outbound *o;
    int fd;
};

struct outbound {
    survey *sv;
    loop *loop;
    CURLM *multi;
    int curl_timer; /* loop timer id, 0 when none */
    int tick;
    struct xfer *xfers; /* in flight */
    size_t inflight;
    bool claiming;        /* a claim query is queued */
    int64_t next_poll_ms; /* monotonic: the next claim */
};

static void check_done(outbound *o);

long outbound_backoff_ms(long base_ms, long max_ms, int failed_attempts, uint32_t rnd)
{
    long d = base_ms;
    for (int i = 1; i < failed_attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    long half = d / 2;
    return d - half + (long)(rnd % (uint32_t)(half + 1));
}

void outbound_signature(const char *secret, const char *body, size_t len, char out[72])
{
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {body, len};
    /* Fails only when libcrypto is broken or out of memory: better the
     * abort than a delivery signed with garbage. */
    int rc = hmac_compute(HMAC_SHA256, secret, strlen(secret), &part, 1, mac);
    assert(rc == 0);
    (void)rc;
    memcpy(out, "sha256=", 7);
    hex_encode(mac, HMAC_SHA256_LEN, out + 7);
}

/* --- curl <-> loop --------------------------------------------------------- */

static int on_socket_ready(loop *l, short revents, void *arg)
{
    (void)l;
    struct sock *s = arg;
    outbound *o = s->o;
    int flags = (revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0) |
                (revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0) |
                (revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0);
    int running;
    /* s may be freed inside (CURL_POLL_REMOVE): not used after this. */
    curl_multi_socket_action(o->multi, s->fd, flags, &running);
    check_done(o);
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    outbound *o = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            loop_remove_fd(o->loop, fd);
            curl_multi_assign(o->multi, fd, NULL);
            free(s);
        }
        return 0;
    }
    short events =
        (short)((what & CURL_POLL_IN ? ZMQ_POLLIN : 0) | (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
    if (s)
        return loop_set_fd_events(o->loop, fd, events);
    if (!(s = malloc(sizeof *s)))
        return -1;
    s->o = o;
    s->fd = fd;
    if (loop_add_fd(o->loop, fd, events, on_socket_ready, s) != 0) {
        free(s);
        return -1;
    }
    curl_multi_assign(o->multi, fd, s);
    return 0;
}

static int on_curl_timer_due(loop *l, void *arg)
{
    outbound *o = arg;
    /* One-shot: curl re-arms through on_curl_timer if it needs to. */
    loop_remove_timer(l, o->curl_timer);
    o->curl_timer = 0;
    int running;
    curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(o);
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    outbound *o = userp;
    if (o->curl_timer) {
        loop_remove_timer(o->loop, o->curl_timer);
        o->curl_timer = 0;
    }
    if (timeout_ms < 0)
        return 0;
    int id = loop_add_timer(o->loop, timeout_ms > 0 ? timeout_ms : 1, on_curl_timer_due, o);
    if (id < 0)
        return -1;
    o->curl_timer = id;
    return 0;
}

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* --- recording outcomes ---------------------------------------------------- */

#define SQL_DELIVERED                                                                              \
    "UPDATE survey.deliveries SET status = 'delivered', attempts = attempts + 1,"                  \
    " delivered_at = now(), last_status = $2, last_error = NULL, lease_until = NULL"               \
    " WHERE id = $1"

#define SQL_FAILED                                                                                 \
    "UPDATE survey.deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,"     \
    " lease_until = NULL, next_at = now() + make_interval(secs => $4::double precision / 1000),"   \
    " status = CASE WHEN now() + make_interval(secs => $4::double precision / 1000) > deadline"    \
    "               THEN 'failed' ELSE 'pending' END"                                              \
    " WHERE id = $1 RETURNING status, attempts"

static void on_recorded(PGresult *res, void *arg)
{
    char *id = arg;
    if (!res ||
        (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)) {
        /* The lease runs out and the delivery is attempted again. */
        log_warn("could not record the outcome of delivery %s: it will be attempted again", id);
    } else if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
               strcmp(db_value(res, 0, "status"), "failed") == 0) {
        log_warn("delivery %s failed after %s attempts: giving up", id,
                 db_value(res, 0, "attempts"));
        metrics_add("carebus_webhook_deliveries_total{result=\"failed\"}", 1);
    }
    free(id);
}

static void record(outbound *o, struct xfer *x, long status, const char *error)
{
    char *id = strdup(x->id);
    char st[16];
    snprintf(st, sizeof st, "%ld", status);
    int rc = -1;
    if (id && !error) {
        const char *p[] = {id, st};
        rc = dbq_query(o->sv->web, SQL_DELIVERED, 2, p, on_recorded, id);
    } else if (id) {
        uint32_t rnd = 0;
        RAND_bytes((unsigned char *)&rnd, sizeof rnd);
        long wait = outbound_backoff_ms(o->sv->cfg.backoff_ms, o->sv->cfg.backoff_max_s * 1000,
                                        x->attempts + 1, rnd);
        char ms[24];
        snprintf(ms, sizeof ms, "%ld", wait);
        const char *p[] = {id, status ? st : NULL, error, ms};
        rc = dbq_query(o->sv->web, SQL_FAILED, 4, p, on_recorded, id);
        /* Look again when this one is due (others' rows: the idle poll). */
        int64_t due = time_mono_ms() + wait;
        if (due < o->next_poll_ms)
            o->next_poll_ms = due;
    }
    if (rc != 0) {
        log_warn("could not record the outcome of delivery %s: it will be attempted again", x->id);
        free(id);
    }
}

static void xfer_destroy(struct xfer *x)
{
    curl_slist_free_all(x->headers);
    free(x->url);
    free(x->body);
    free(x);
}

static void xfer_unlink(outbound *o, struct xfer *x)
{
    for (struct xfer **pp = &o->xfers; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            o->inflight--;
            return;
        }
}

static void check_done(outbound *o)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(o->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode cc = m->data.result;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(o->multi, m->easy_handle);
        curl_easy_cleanup(m->easy_handle);
        x->easy = NULL;
        char error[OUTBOUND_ERROR_MAX];
        if (cc != CURLE_OK) {
            snprintf(error, sizeof error, "%.150s", x->err[0] ? x->err : curl_easy_strerror(cc));
            status = 0;
        } else if (status < 200 || status > 299) {
            snprintf(error, sizeof error, "HTTP %ld", status);
        }
        bool ok = cc == CURLE_OK && status >= 200 && status <= 299;
        metrics_add(ok ? "carebus_webhook_attempts_total{result=\"ok\"}"
                       : "carebus_webhook_attempts_total{result=\"error\"}",
                    1);
        if (ok) {
            metrics_add("carebus_webhook_deliveries_total{result=\"delivered\"}", 1);
            log_info("delivery %s to %s: HTTP %ld after %d attempt(s)", x->id, x->url, status,
                     x->attempts + 1);
        } else {
            log_info("delivery %s to %s failed (attempt %d): %s", x->id, x->url, x->attempts + 1,
                     error);
        }
        record(o, x, status, ok ? NULL : error);
        xfer_unlink(o, x);
        xfer_destroy(x);
    }
}

/* --- starting attempts ----------------------------------------------------- */

static int xfer_start(outbound *o, const char *id, const char *url, const char *body, int attempts)
{
    const struct survey_config *c = &o->sv->cfg;
    struct xfer *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->o = o;
    x->attempts = attempts;
    snprintf(x->id, sizeof x->id, "%s", id);
    x->url = strdup(url);
    x->body = strdup(body);
    char h[128];
    struct curl_slist *l = NULL;
    snprintf(h, sizeof h, "X-Carebus-Delivery: %s", id);
    l = curl_slist_append(l, "Content-Type: application/json");
    if (l)
        l = curl_slist_append(l, h);
    if (l)
        l = curl_slist_append(l, "X-Carebus-Event: survey.requested");
    if (l)
        l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    if (l && c->webhook_secret) {
        char sig[72], line[96];
        outbound_signature(c->webhook_secret, body, strlen(body), sig);
        snprintf(line, sizeof line, "X-Carebus-Signature: %s", sig);
        l = curl_slist_append(l, line);
    }
    x->headers = l;
    if (!x->url || !x->body || !l || !(x->easy = curl_easy_init())) {
        xfer_destroy(x);
        return -1;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "carebus-survey/1");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_s * 1000);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(o->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        xfer_destroy(x);
        return -1;
    }
    x->next = o->xfers;
    o->xfers = x;
    o->inflight++;
    return 0;
}

#define SQL_CLAIM                                                                                  \
    "UPDATE survey.deliveries d SET lease_until = now() + make_interval(secs => $2::int)"          \
    " WHERE d.id IN (SELECT id FROM survey.deliveries"                                             \
    "   WHERE status = 'pending' AND next_at <= now()"                                             \
    "     AND (lease_until IS NULL OR lease_until <= now())"                                       \
    "   ORDER BY next_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"                                    \
    " RETURNING d.id, d.url, d.body, d.attempts"

static void on_claimed(PGresult *res, void *arg)
{
    outbound *o = arg;
    o->claiming = false;
    int64_t now = time_mono_ms();
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("claiming deliveries failed: %.*s",
                      (int)strcspn(PQresultErrorMessage(res), "\n"), PQresultErrorMessage(res));
        o->next_poll_ms = now + OUTBOUND_IDLE_POLL_MS;
        return;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (xfer_start(o, db_value(res, i, "id"), db_value(res, i, "url"), db_value(res, i, "body"),
                       atoi(db_value(res, i, "attempts"))) != 0)
            log_error("could not start delivery %s: it will be attempted when its lease ends",
                      db_value(res, i, "id"));
    /* Something came: look again at once (a wasted query at most). Else the
     * idle poll, or sooner if a retry recorded meanwhile is due sooner. */
    int64_t idle = now + OUTBOUND_IDLE_POLL_MS;
    if (n > 0)
        o->next_poll_ms = now;
    else if (o->next_poll_ms <= now || o->next_poll_ms > idle)
        o->next_poll_ms = idle;
    if (n > 0) {
        int running;
        curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(o);
    }
}

static int on_tick(loop *l, void *arg)
{
    (void)l;
    outbound *o = arg;
    if (o->claiming || o->inflight >= OUTBOUND_MAX_INFLIGHT || time_mono_ms() < o->next_poll_ms ||
        !dbq_up(o->sv->web))
        return 0;
    char limit[24], lease[24];
    snprintf(limit, sizeof limit, "%zu", (size_t)OUTBOUND_MAX_INFLIGHT - o->inflight);
    snprintf(lease, sizeof lease, "%ld", o->sv->cfg.timeout_s + OUTBOUND_LEASE_MARGIN_S);
    const char *p[] = {limit, lease};
    if (dbq_query(o->sv->web, SQL_CLAIM, 2, p, on_claimed, o) == 0)
        o->claiming = true;
    return 0;
}

void outbound_kick(outbound *o)
{
    if (o)
        o->next_poll_ms = 0;
}

outbound *outbound_new(survey *sv)
{
    outbound *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->sv = sv;
    o->loop = sv->svc->loop;
    if (!(o->multi = curl_multi_init()))
        goto fail;
    curl_multi_setopt(o->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(o->multi, CURLMOPT_SOCKETDATA, o);
    curl_multi_setopt(o->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(o->multi, CURLMOPT_TIMERDATA, o);
    if ((o->tick = loop_add_timer(o->loop, OUTBOUND_TICK_MS, on_tick, o)) < 0)
        goto fail;
    metrics_describe("carebus_webhook_attempts_total", "counter",
                     "webhook delivery attempts by result");
    metrics_describe("carebus_webhook_deliveries_total", "counter",
                     "webhook deliveries delivered or given up");
    return o;
fail:
    if (o->multi)
        curl_multi_cleanup(o->multi);
    free(o);
    return NULL;
}

void outbound_destroy(outbound **po, db *d)
{
    outbound *o = *po;
    if (!o)
        return;
    /* Hand the leases of aborted attempts back, so the next start retries
     * them at once rather than after the lease. */
    buf ids = BUF_INIT;
    buf_putc(&ids, '{');
    for (struct xfer *x = o->xfers; x; x = x->next)
        buf_printf(&ids, "%s%s", x == o->xfers ? "" : ",", x->id);
    buf_putc(&ids, '}');
    if (o->xfers && d && db_up(d)) {
        const char *p[] = {buf_str(&ids)};
        db_command(d,
                   "UPDATE survey.deliveries SET lease_until = NULL"
                   " WHERE id = ANY($1::uuid[]) AND status = 'pending'",
                   1, p);
    }
    buf_release(&ids);
    while (o->xfers) {
        struct xfer *x = o->xfers;
        o->xfers = x->next;
        curl_multi_remove_handle(o->multi, x->easy);
        curl_easy_cleanup(x->easy);
        xfer_destroy(x);
    }
    if (o->curl_timer)
        loop_remove_timer(o->loop, o->curl_timer);
    loop_remove_timer(o->loop, o->tick);
    curl_multi_cleanup(o->multi);
    free(o);
    *po = NULL;
}
