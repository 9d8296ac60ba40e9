/* session.c — signed session cookies and the guard of services with pages.
 *
 * Every MAC is HMAC-SHA256 under the one secret with a label first, so a
 * cookie's MAC can never pass for a CSRF token or the reverse. The cookie's
 * expiry is in the signed part: a client cannot stretch it; the key id is
 * too: a client cannot move a session to another key. The secret from
 * PostgreSQL is 32 random bytes as hex, inserted by whichever service comes
 * first (ON CONFLICT DO NOTHING): an empty answer (another one was inserting
 * at the same moment) is retried on the next tick.
 */
#include "session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hex.h"
#include "hmac.h"
#include "log.h"
#include "timeutil.h"
#include "url.h"

#define SESSION_TICK_MS 100
#define SESSION_SECRET_MAX 1024
#define SESSION_MAC_LABEL "carebus session v1\n"
#define SESSION_CSRF_LABEL "carebus csrf v1\n"

struct session {
    char *secret; /* NULL until known */
    size_t secret_len;
    long ttl_s;
    loop *loop;
    dbq *q;
    int timer;
    bool inflight;
    bool failing;
};

int session_config(const char **secret, long *ttl_s)
{
    const char *err = NULL;
    if (config_long("SESSION_TTL_S", 12 * 3600, 60, 30L * 86400, ttl_s, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    *secret = config_str("SESSION_SECRET", NULL);
    if (*secret && (strlen(*secret) < SESSION_SECRET_MIN || strlen(*secret) > SESSION_SECRET_MAX)) {
        log_error("CAREBUS_SESSION_SECRET must be %d to %d characters (e.g. openssl rand -hex 32)",
                  SESSION_SECRET_MIN, SESSION_SECRET_MAX);
        return -1;
    }
    return 0;
}

static int secret_set(session *s, const char *secret, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, secret, len);
    copy[len] = '\0';
    if (s->secret)
        OPENSSL_cleanse(s->secret, s->secret_len);
    free(s->secret);
    s->secret = copy;
    s->secret_len = len;
    return 0;
}

session *session_new(const char *secret, long ttl_s)
{
    session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ttl_s = ttl_s;
    s->timer = -1;
    if (secret && secret[0] && secret_set(s, secret, strlen(secret)) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void session_destroy(session **ps)
{
    session *s = *ps;
    if (!s)
        return;
    if (s->timer > 0)
        loop_remove_timer(s->loop, s->timer);
    if (s->secret)
        OPENSSL_cleanse(s->secret, s->secret_len);
    free(s->secret);
    free(s);
    *ps = NULL;
}

bool session_ready(const session *s)
{
    return s->secret != NULL;
}

long session_ttl(const session *s)
{
    return s->ttl_s;
}

/* --- the secret from PostgreSQL -------------------------------------------- */

static void session_on_secret(PGresult *res, void *arg)
{
    session *s = arg;
    s->inflight = false;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res && !s->failing) {
            const char *msg = PQresultErrorMessage(res);
            log_error("could not read the session secret: %.*s", (int)strcspn(msg, "\n"), msg);
        }
        s->failing = true;
        return;
    }
    if (PQntuples(res) == 0)
        return; /* another service is inserting it: next tick */
    const char *v = PQgetvalue(res, 0, 0);
    size_t len = strlen(v);
    if (len < SESSION_SECRET_MIN || len > SESSION_SECRET_MAX) {
        if (!s->failing)
            log_error("the session secret in public.carebus_settings is not %d to %d "
                      "characters: sessions are off until it is",
                      SESSION_SECRET_MIN, SESSION_SECRET_MAX);
        s->failing = true;
        return;
    }
    if (secret_set(s, v, len) != 0) {
        log_error("out of memory reading the session secret");
        return;
    }
    log_info("read the session secret from PostgreSQL");
    loop_remove_timer(s->loop, s->timer);
    s->timer = -1;
}

static int session_on_tick(loop *l, void *arg)
{
    (void)l;
    session *s = arg;
    if (s->inflight || s->secret)
        return 0;
    static const char sql[] =
        "WITH made AS (INSERT INTO public.carebus_settings (name, value)"
        "              VALUES ('session_secret', $1) ON CONFLICT (name) DO NOTHING"
        "              RETURNING value)"
        " SELECT value FROM made"
        " UNION ALL SELECT value FROM public.carebus_settings WHERE name = 'session_secret'";
    unsigned char r[32];
    char hex[2 * sizeof r + 1];
    if (RAND_bytes(r, sizeof r) != 1) {
        log_error("could not make a session secret (OpenSSL's random generator)");
        return 0;
    }
    hex_encode(r, sizeof r, hex);
    const char *params[] = {hex};
    if (dbq_query(s->q, sql, 1, params, session_on_secret, s) == 0)
        s->inflight = true;
    OPENSSL_cleanse(r, sizeof r);
    OPENSSL_cleanse(hex, sizeof hex); /* dbq copied it */
    return 0;
}

int session_start(session *s, loop *l, dbq *q)
{
    if (s->secret)
        return 0;
    s->loop = l;
    s->q = q;
    s->timer = loop_add_timer(l, SESSION_TICK_MS, session_on_tick, s);
    return s->timer > 0 ? 0 : -1;
}

/* --- the cookie --------------------------------------------------------------- */

static int mac_raw(const session *s, const char *label, const char *a, size_t alen,
                   unsigned char mac[HMAC_MAX_LEN])
{
    struct hmac_part parts[] = {{label, strlen(label)}, {a, alen}};
    return s->secret && hmac_compute(HMAC_SHA256, s->secret, s->secret_len, parts, 2, mac) == 0
               ? 0
               : -1;
}

static int mac_hex(const session *s, const char *label, const char *a, size_t alen, char *out)
{
    unsigned char mac[HMAC_MAX_LEN];
    if (mac_raw(s, label, a, alen, mac) != 0)
        return -1;
    hex_encode(mac, HMAC_SHA256_LEN, out);
    return 0;
}

int session_sign(const session *s, const char *key_id, int64_t expires, char *out, size_t n)
{
    char signed_part[ID_LEN + 24];
    int len = snprintf(signed_part, sizeof signed_part, "%s.%lld", key_id, (long long)expires);
    char mac[2 * HMAC_SHA256_LEN + 1];
    if (len < 0 || (size_t)len >= sizeof signed_part || strchr(key_id, '.') ||
        mac_hex(s, SESSION_MAC_LABEL, signed_part, (size_t)len, mac) != 0)
        return -1;
    int w = snprintf(out, n, "%s.%s", signed_part, mac);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int session_verify(const session *s, const char *value, int64_t now, char key_id[ID_LEN])
{
    if (!value || !s->secret)
        return -1;
    const char *dot2 = strrchr(value, '.');
    const char *dot1 = strchr(value, '.');
    if (!dot1 || dot1 == dot2 || (size_t)(dot1 - value) >= ID_LEN || dot1 == value)
        return -1;
    size_t signed_len = (size_t)(dot2 - value);
    unsigned char want[HMAC_MAX_LEN];
    if (signed_len > ID_LEN + 24 || mac_raw(s, SESSION_MAC_LABEL, value, signed_len, want) != 0 ||
        !hmac_equal_hex(dot2 + 1, strlen(dot2 + 1), want, HMAC_SHA256_LEN))
        return -1;
    /* Signed by us: the expiry is ours too, but read it with care all the
     * same (a secret shared with a future format). */
    char *end;
    long long expires = strtoll(dot1 + 1, &end, 10);
    if (end != dot2 || expires <= now)
        return -1;
    memcpy(key_id, value, (size_t)(dot1 - value));
    key_id[dot1 - value] = '\0';
    return 0;
}

int session_csrf(const session *s, const char *value, char out[SESSION_CSRF_LEN])
{
    return value ? mac_hex(s, SESSION_CSRF_LABEL, value, strlen(value), out) : -1;
}

bool session_csrf_ok(const session *s, const char *value, const char *token)
{
    unsigned char want[HMAC_MAX_LEN];
    return value && token && mac_raw(s, SESSION_CSRF_LABEL, value, strlen(value), want) == 0 &&
           hmac_equal_hex(token, strlen(token), want, HMAC_SHA256_LEN);
}

/* --- requests ------------------------------------------------------------------- */

static int64_t now_s(void)
{
    return time_now_us() / 1000000;
}

struct auth_key *session_key(session *s, auth *a, http_req *r)
{
    char id[ID_LEN];
    if (session_verify(s, http_cookie(r, SESSION_COOKIE), now_s(), id) != 0)
        return NULL;
    return auth_lookup_id(a, id);
}

static void cookie_header(http_req *r, const char *value, long max_age)
{
    char h[SESSION_VALUE_LEN + 128];
    snprintf(h, sizeof h, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", SESSION_COOKIE,
             value, max_age, http_tls(r) ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", h);
}

int session_set_cookie(session *s, http_req *r, const char *key_id)
{
    char v[SESSION_VALUE_LEN];
    if (session_sign(s, key_id, now_s() + s->ttl_s, v, sizeof v) != 0)
        return -1;
    cookie_header(r, v, s->ttl_s);
    return 0;
}

void session_clear_cookie(http_req *r)
{
    cookie_header(r, "", 0);
}

bool session_same_origin(http_req *r)
{
    const char *origin = http_header(r, "Origin");
    const char *host = http_header(r, "Host");
    if (!origin)
        return true; /* not sent: not a browser's cross-site form */
    const char *p = strstr(origin, "://");
    return host && p && strcmp(p + 3, host) == 0;
}

int session_form(http_req *r, struct form *f)
{
    size_t len;
    const char *body = http_body(r, &len);
    if (form_parse(body, len, f) == 0)
        return 0;
    http_reply_error(r, 400, "invalid", NULL, "could not read the form");
    return -1;
}

bool session_guard(session *s, auth *a, http_req *r, unsigned access)
{
    if (access & SCOPE_PUBLIC)
        return true;
    unsigned need = access & SCOPE_MASK;
    if (!scope_name(need)) {
        log_error("route %s %s states no scope: refused", http_method(r), http_path(r));
        http_reply_error(r, 500, "internal", NULL, "this route is not configured");
        return false;
    }
    if (http_header(r, "Authorization")) {
        const struct auth_key *k = auth_request(a, r);
        return k && auth_admit(a, r, &k->grant, need);
    }
    struct auth_key *k = session_key(s, a, r);
    if (k)
        return auth_take(a, r, k) && auth_admit(a, r, &k->grant, need);
    if (!(access & SESSION_PAGE)) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"carebus\"");
        auth_reject(a, r, 401, "unauthorized", NULL,
                    "missing \"Authorization: Bearer <key>\" or a session");
        return false;
    }
    /* Where it was, so that signing in comes back to it. */
    const char *q = http_raw_query(r);
    char where[2048], enc[3 * sizeof where + 1], loc[sizeof enc + 32];
    int n = snprintf(where, sizeof where, "%s%s%s", http_path(r), *q ? "?" : "", q);
    if (n < 0 || (size_t)n >= sizeof where)
        snprintf(where, sizeof where, "/");
    url_encode(enc, where);
    snprintf(loc, sizeof loc, "%s?next=%s", SESSION_SIGNIN, enc);
    if (http_cookie(r, SESSION_COOKIE))
        session_clear_cookie(r); /* expired or its key revoked */
    http_add_header(r, "Location", loc);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply(r, 303, "text/plain; charset=utf-8", "sign in first\n", 14);
    return false;
}
