/* desk — the agent desk: the pages a care department works its day in.
 *
 *   carebus-desk    serves the desk on CAREBUS_DESK_PORT (8086): sign-in
 *                   with an agent's password, the inbox, the ticket, the
 *                   customer and the supervisor's view, all through
 *                   channel-ingest's public API in the agent's name
 *
 * desk.h says what each file owns. Configuration: CAREBUS_DESK_API_URL
 * (channel-ingest; default on loopback at CAREBUS_INGEST_PORT),
 * CAREBUS_DESK_THREADS (workers: calls to the API; default 16),
 * CAREBUS_DESK_STREAMS (workers of the pages' event streams, one per open
 * page; default 128), CAREBUS_SESSION_TTL_S (12 hours: the session
 * cookie's life when its key's expiry, which it follows, is not told),
 * CAREBUS_TLS_CERT and CAREBUS_TLS_KEY (HTTPS; the cookie is then Secure),
 * CAREBUS_DESK_SECRET or CAREBUS_DESK_SECRET_FILE (the 32-byte key the
 * cookies are sealed under, 64 hex digits; unset: a random one, warned).
 * The desk keeps no session (sessions.h): given one secret, it can restart,
 * or run as many instances behind any load balancer, without signing
 * anyone out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "config.h"
#include "desk.h"
#include "keyfile.h"
#include "log.h"

int desk_configure(desk *d)
{
    const char *err = NULL;
    long threads, streams, ttl, port, dash;
    bool secure;
    if (config_long("DESK_THREADS", 16, 1, 64, &threads, &err) != 0 ||
        config_long("DESK_STREAMS", 128, 1, 1024, &streams, &err) != 0 ||
        config_long("SESSION_TTL_S", 12 * 3600, 60, 30L * 86400, &ttl, &err) != 0 ||
        config_long("INGEST_PORT", 8080, 1, 65535, &port, &err) != 0 ||
        config_long("ANALYTICS_PORT", 8084, 1, 65535, &dash, &err) != 0 ||
        config_bool("DESK_SECURE_COOKIE", false, &secure, &err) != 0) {
        log_error("desk: %s", err ? err : "bad configuration");
        return -1;
    }
    d->threads = (int)threads;
    d->stream_threads = (int)streams;
    d->dashboard_port = (int)dash;
    const char *url = config_str("DESK_API_URL", NULL);
    int n = url ? snprintf(d->api_url, sizeof d->api_url, "%s", url)
                : snprintf(d->api_url, sizeof d->api_url, "http://127.0.0.1:%ld", port);
    if (n < 0 || (size_t)n >= sizeof d->api_url) {
        log_error("desk: CAREBUS_DESK_API_URL is too long");
        return -1;
    }
    while (n > 0 && d->api_url[n - 1] == '/')
        d->api_url[--n] = '\0';
    if (config_tls(&d->tls_cert, &d->tls_key) != 0)
        return -1;
    uint8_t secret[DESK_SECRET_LEN];
    int has = keyfile_load("DESK_SECRET", secret);
    if (has < 0)
        return -1;
    if (has == 0) {
        if (RAND_bytes(secret, sizeof secret) != 1) {
            log_error("desk: RAND_bytes failed");
            return -1;
        }
        log_warn("no CAREBUS_DESK_SECRET or CAREBUS_DESK_SECRET_FILE: the session cookies are"
                 " sealed under a random secret of this process, so every session ends when"
                 " the desk restarts and no other desk instance accepts them");
    }
    d->sessions = sessions_new(ttl, secret, secure);
    OPENSSL_cleanse(secret, sizeof secret);
    if (!d->sessions) {
        log_error("desk: out of memory");
        return -1;
    }
    return 0;
}

static void *worker_new(void *arg)
{
    (void)arg;
    struct desk_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->curl = curl_easy_init();
    return w;
}

static void worker_free(void *state)
{
    struct desk_worker *w = state;
    if (!w)
        return;
    curl_easy_cleanup(w->curl);
    free(w);
}

int desk_open(desk *d)
{
    if (!(d->pool = pool_new(d->svc->loop, d->threads, worker_new, worker_free, d)) ||
        !(d->streams = pool_new(d->svc->loop, d->stream_threads, worker_new, worker_free, d)))
        return -1;
    return 0;
}

void desk_close(desk *d)
{
    pool_destroy(&d->streams);
    pool_destroy(&d->pool);
}

bool desk_ready(void *arg)
{
    desk *d = arg;
    return d->pool && d->streams && db_up(d->svc->db);
}

bool desk_key(desk *d, http_req *r, char key[APIKEY_LEN])
{
    return sessions_key(d->sessions, r, key);
}

void desk_signed_out(http_req *r, bool page)
{
    if (http_cookie(r, DESK_COOKIE))
        sessions_clear_cookie(r); /* expired, revoked, or does not open */
    http_add_header(r, "Cache-Control", "no-store");
    if (!page) {
        http_reply_error(r, 401, "unauthorized", NULL, "sign in first");
        return;
    }
    const char *lang = http_query(r, "lang");
    char loc[64];
    snprintf(loc, sizeof loc, "/signin%s", lang && strcmp(lang, "en") == 0 ? "?lang=en" : "");
    http_add_header(r, "Location", loc);
    http_reply(r, 303, "text/plain; charset=utf-8", "sign in first\n", 14);
}

/* Lets through a cookie that opens under the desk's secret; whether the
 * key inside still stands is the API's to say, on the call the handler
 * makes with it. */
bool desk_guard(http_req *r, const struct http_route *route, void *arg)
{
    desk *d = arg;
    if (route->access & SCOPE_PUBLIC)
        return true;
    char key[APIKEY_LEN];
    bool ok = desk_key(d, r, key);
    OPENSSL_cleanse(key, sizeof key);
    if (ok)
        return true;
    desk_signed_out(r, route->access & DESK_PAGE);
    return false;
}

const char *desk_lang(http_req *r)
{
    const char *q = http_query(r, "lang");
    if (!q)
        q = http_cookie(r, "desk_lang");
    if (q)
        return strcmp(q, "en") == 0 ? "en" : "vi";
    const char *al = http_header(r, "Accept-Language");
    return al && strncasecmp(al, "en", 2) == 0 ? "en" : "vi";
}

void desk_page_headers(http_req *r)
{
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                    "data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                    "base-uri 'none'");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    /* Not no-referrer: Chromium then sends "Origin: null" with the forms. */
    http_add_header(r, "Referrer-Policy", "same-origin");
    http_add_header(r, "Cache-Control", "no-store");
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: carebus-desk\n");
        return 2;
    }
    desk d = {0};
    log_init("desk");
    int rc = 1;
    if (desk_configure(&d) != 0)
        goto out;
    struct service_opts o = {
        .name = "desk",
        .port_var = "DESK_PORT",
        .default_port = 8086,
        .routes = desk_routes,
        .nroutes = desk_routes_count,
        .arg = &d,
        .ready = desk_ready,
        .guard = desk_guard,
        .rejected_family = "carebus_desk_rejected_total",
        .tls_cert_pem = d.tls_cert,
        .tls_key_pem = d.tls_key,
    };
    bool up = (d.svc = service_new(&o)) && desk_open(&d) == 0;
    if (d.svc && !up)
        log_error("could not start the desk");
    if (up)
        rc = service_run(d.svc);
    desk_close(&d);
    service_destroy(&d.svc);
out:
    config_tls_release(&d.tls_cert, &d.tls_key);
    sessions_destroy(&d.sessions);
    return rc;
}
