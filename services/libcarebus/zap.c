/* zap.c — a ZAP handler thread answering from the CURVE allow-list.
 *
 * The REP socket and one end of the stop pipe are made and bound here, by
 * the caller's thread, then handed to the handler's thread (ZeroMQ allows
 * moving a socket across a full memory barrier: pthread_create is one) and
 * never touched by the caller again. The allow-list is the thread's alone;
 * only the revocation counter is shared (atomic). The thread blocks every
 * signal: they belong to the service's loop (signalfd). Refusals are
 * counted in metrics and logged at most once every ZAP_LOG_EVERY_MS, since
 * a refused client retries about ten times a second.
 */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_STOP_ENDPOINT "inproc://carebus-zap-stop"
/* How often the file is looked at when no handshake asks. */
#define ZAP_CHECK_MS 1000
#define ZAP_LOG_EVERY_MS 10000
/* RFC 27: version, request id, domain, address, identity, mechanism, then
 * the mechanism's credentials (CURVE: one frame, the client's key). */
#define ZAP_FRAMES_MAX 8

struct zap {
    void *rep;
    void *stop_main;
    void *stop_thread;
    pthread_t thread;
    bool started;
    char path[PATH_MAX];
    struct curve_allowlist list;
    struct stat seen; /* the file as last read (loaded or refused) */
    bool missing;     /* logged that the file is gone */
    atomic_ulong revocations;
    int64_t next_log_ms;
    unsigned long refused_unlogged;
};

static bool zap_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Rereads the allow-list if the file changed since it was last read. */
static void zap_reload(zap *z)
{
    struct stat st;
    if (stat(z->path, &st) != 0) {
        if (!z->missing)
            log_error("the bus's allow-list \"%s\" cannot be read (%s): the %zu clients "
                      "allowed so far stay allowed",
                      z->path, strerror(errno), z->list.n);
        z->missing = true;
        return;
    }
    if (!z->missing && zap_same_file(&st, &z->seen))
        return;
    z->missing = false;
    z->seen = st;
    struct curve_allowlist next;
    char err[CURVE_ERR_MAX];
    if (curve_allowlist_read(z->path, &next, err) != 0) {
        log_error("the bus's allow-list was not reloaded: %s; the %zu clients allowed so far "
                  "stay allowed",
                  err, z->list.n);
        return;
    }
    bool revoked = !curve_allowlist_keeps(&z->list, &next);
    curve_allowlist_release(&z->list);
    z->list = next;
    if (revoked) {
        atomic_fetch_add(&z->revocations, 1);
        metrics_add("carebus_bus_revocations_total", 1);
        log_info("the bus's allow-list lost a key (%zu clients now): dropping every "
                 "subscriber's connection so that each authenticates again",
                 z->list.n);
    } else {
        log_info("the bus's allow-list was reloaded: clients allowed: %zu", z->list.n);
    }
}

static bool zap_frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

static void zap_note_refusal(zap *z, const char *address, const uint8_t *key)
{
    metrics_add("carebus_bus_auth_refused_total", 1);
    z->refused_unlogged++;
    int64_t now = time_mono_ms();
    if (now < z->next_log_ms)
        return;
    char text[CURVE_KEY_TEXT + 1] = "(none)";
    if (key)
        curve_key_encode(key, text);
    log_warn("refused a bus subscriber from %s: its key %s is not in the allow-list "
             "(%lu refused since the last such line)",
             address, text, z->refused_unlogged);
    z->refused_unlogged = 0;
    z->next_log_ms = now + ZAP_LOG_EVERY_MS;
}

/* Receives one request and answers it. A REP socket must answer every
 * request it received, malformed ones too. */
static void zap_answer(zap *z)
{
    zmq_msg_t f[ZAP_FRAMES_MAX];
    int n = 0;
    for (bool more = true; more;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES_MAX)
            f[n++] = m; /* moved: closed below */
        else
            zmq_msg_close(&m);
    }
    if (n == 0)
        return; /* nothing was received: nothing to answer */
    const char *status = "500", *text = "malformed request", *user = "";
    char address[64] = "an unknown address";
    if (n >= 7 && zap_frame_is(&f[0], "1.0")) {
        size_t an = zmq_msg_size(&f[3]);
        if (an > 0 && an < sizeof address) {
            memcpy(address, zmq_msg_data(&f[3]), an);
            address[an] = '\0';
        }
        const uint8_t *key = zmq_msg_size(&f[6]) == CURVE_KEY_BYTES ? zmq_msg_data(&f[6]) : NULL;
        const struct curve_client *cl =
            zap_frame_is(&f[5], "CURVE") && key ? curve_allowlist_find(&z->list, key) : NULL;
        if (cl) {
            status = "200";
            text = "OK";
            user = cl->name;
            metrics_add("carebus_bus_auth_accepted_total", 1);
        } else {
            status = "400";
            text = "not in the allow-list";
            zap_note_refusal(z, address, key);
        }
    }
    const char *version = "1.0";
    const void *rid = n >= 2 ? zmq_msg_data(&f[1]) : "";
    size_t rid_len = n >= 2 ? zmq_msg_size(&f[1]) : 0;
    if (zmq_send(z->rep, version, strlen(version), ZMQ_SNDMORE) < 0 ||
        zmq_send(z->rep, rid, rid_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(z->rep, status, strlen(status), ZMQ_SNDMORE) < 0 ||
        zmq_send(z->rep, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(z->rep, user, strlen(user), ZMQ_SNDMORE) < 0 || zmq_send(z->rep, "", 0, 0) < 0)
        log_error("could not answer a bus handshake: %s", zmq_strerror(zmq_errno()));
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void *zap_main(void *arg)
{
    zap *z = arg;
    for (;;) {
        zmq_pollitem_t items[2] = {
            {z->rep, 0, ZMQ_POLLIN, 0},
            {z->stop_thread, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, 2, ZAP_CHECK_MS);
        if (rc < 0 && zmq_errno() == EINTR)
            continue;
        if (rc < 0) {
            log_error("the bus's handshake handler stops: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        zap_reload(z);
        if (items[0].revents & ZMQ_POLLIN)
            zap_answer(z);
    }
    int zero = 0;
    zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(z->stop_thread, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(z->rep);
    zmq_close(z->stop_thread);
    z->rep = z->stop_thread = NULL;
    return NULL;
}

static void *zap_socket(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    int zero = 0;
    if (s)
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

zap *zap_new(void *ctx, const char *path)
{
    zap *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    atomic_init(&z->revocations, 0);
    metrics_describe("carebus_bus_auth_accepted_total", "counter",
                     "Bus subscribers whose CURVE key the allow-list let in");
    metrics_describe("carebus_bus_auth_refused_total", "counter",
                     "Bus connection attempts refused: a CURVE key not in the allow-list");
    metrics_describe("carebus_bus_revocations_total", "counter",
                     "Reloads of the allow-list that removed a key (every subscriber reconnects)");
    char err[CURVE_ERR_MAX];
    if (snprintf(z->path, sizeof z->path, "%s", path) >= (int)sizeof z->path) {
        log_error("the bus's allow-list path is too long");
        goto fail;
    }
    if (curve_allowlist_read(path, &z->list, err) != 0) {
        log_error("CURVE is on but the bus's allow-list cannot be used: %s "
                  "(carebusctl bus keys makes it)",
                  err);
        goto fail;
    }
    stat(path, &z->seen);
    if (!(z->rep = zap_socket(ctx, ZMQ_REP)) || zmq_bind(z->rep, ZAP_ENDPOINT) != 0 ||
        !(z->stop_main = zap_socket(ctx, ZMQ_PAIR)) ||
        zmq_bind(z->stop_main, ZAP_STOP_ENDPOINT) != 0 ||
        !(z->stop_thread = zap_socket(ctx, ZMQ_PAIR)) ||
        zmq_connect(z->stop_thread, ZAP_STOP_ENDPOINT) != 0) {
        log_error("could not start the bus's handshake handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* inherited by the thread */
    int rc = pthread_create(&z->thread, NULL, zap_main, z);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("could not start the bus's handshake handler: %s", strerror(rc));
        goto fail;
    }
    z->started = true;
    log_info("bus: CURVE on; clients allowed: %zu (%s)", z->list.n, path);
    return z;
fail:
    zap_destroy(&z);
    return NULL;
}

void zap_destroy(zap **pz)
{
    zap *z = *pz;
    if (!z)
        return;
    if (z->started) {
        /* Not sent (EAGAIN) only when the thread is gone already. */
        zmq_send(z->stop_main, "", 0, ZMQ_DONTWAIT);
        pthread_join(z->thread, NULL);
    } else {
        if (z->rep)
            zmq_close(z->rep);
        if (z->stop_thread)
            zmq_close(z->stop_thread);
    }
    if (z->stop_main)
        zmq_close(z->stop_main);
    curve_allowlist_release(&z->list);
    free(z);
    *pz = NULL;
}

unsigned long zap_revocations(const zap *z)
{
    return atomic_load(&z->revocations);
}
