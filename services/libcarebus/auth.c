/* auth.c — API keys checked against an in-memory table of SHA-256 hashes.
 *
 * A key comes as a Bearer credential or, on a route flagged AUTH_BASIC
 * (a provider that can only send HTTP Basic: Postmark's inbound webhook),
 * as Basic's password, the user name free: keys stay the one credential.
 * The decoded Basic credential is wiped once looked up.
 *
 * The table is rebuilt whole on each reload (a few hundred keys at most, once
 * a second) and swapped in between two loop callbacks, so a handler never
 * sees it half-built. Buckets move with their key (matched by hash), so a
 * reload neither refills nor empties anyone's rate. The keys' SHA-256
 * hashes index the table through an hmap whose equality is hmac_equal
 * (CRYPTO_memcmp over the whole hash, in constant time); a second index on
 * the key ids serves sessions (session.h), which name their key by id.
 */
#include "auth.h"

#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hex.h"
#include "hmac.h"
#include "hmap.h"
#include "keyspec.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define AUTH_TICK_MS 100
#define AUTH_PREFIX_MAX 64

struct auth_table {
    struct auth_key *keys; /* never reallocated: the indexes borrow from them */
    size_t n;
    hmap index; /* a key's hash -> index into keys */
    hmap ids;   /* a key's id -> index into keys */
};

struct auth {
    struct auth_table t;
    bool has_bootstrap;
    unsigned char bootstrap[AUTH_HASH_LEN];
    struct ratelimit_conf rl;
    char prefix[AUTH_PREFIX_MAX]; /* of the metrics: "carebus_ingest" */
    loop *loop;
    dbq *q;
    int timer;
    bool inflight;       /* a reload query is queued */
    bool loaded;         /* one reload succeeded */
    bool failing;        /* the last reload failed (logged once) */
    bool warned;         /* an unknown channel or scope was logged */
    int64_t next_due_ms; /* monotonic time of the next reload */
};

int auth_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN])
{
    return apikey_hash(key, len, out);
}

static bool key_hash_eq(const void *stored, const void *key, size_t klen)
{
    return hmac_equal(stored, key, klen);
}

static const hmap_type key_hash_type = {NULL, key_hash_eq};

static struct auth_key *table_find(const struct auth_table *t, const unsigned char *hash)
{
    int i = hmap_get(&t->index, hash, AUTH_HASH_LEN);
    return i == HMAP_ABSENT ? NULL : &t->keys[i];
}

static void table_release(struct auth_table *t)
{
    if (t->keys)
        OPENSSL_cleanse(t->keys, t->n * sizeof *t->keys);
    free(t->keys);
    hmap_release(&t->index);
    hmap_release(&t->ids);
    *t = (struct auth_table){0};
}

/* Adds a key unless its hash is already there. keys has room. */
static void table_add(struct auth_table *t, const struct auth_table *old, const unsigned char *hash,
                      const struct access_grant *g, bool unlimited)
{
    if (table_find(t, hash))
        return;
    struct auth_key *k = &t->keys[t->n];
    memset(k, 0, sizeof *k);
    memcpy(k->hash, hash, AUTH_HASH_LEN);
    k->grant = *g;
    k->unlimited = unlimited;
    const struct auth_key *was = table_find(old, hash);
    if (was)
        k->bucket = was->bucket;
    int rc = hmap_put(&t->index, k->hash, AUTH_HASH_LEN, (int)t->n);
    assert(rc == 0); /* room was reserved */
    rc = hmap_puts(&t->ids, k->grant.id, (int)t->n);
    assert(rc == 0);
    (void)rc;
    t->n++;
}

/* A row as a grant; false (logged) when it must not be accepted. */
static bool row_grant(auth *a, const struct auth_row *row, struct access_grant *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", row->id);
    int unknown = 0;
    g->channels = access_channels_mask(row->channels, &unknown);
    char bad[32];
    int unknown_scopes = scope_parse(row->scopes, &g->scopes, bad, sizeof bad);
    /* Once: the table is reloaded every second. A newer carebusctl may know
     * more channels or scopes than this build: ignored, never granted. */
    if ((unknown || unknown_scopes) && !a->warned) {
        log_warn("API key %s names %s this build does not know: ignored", row->id,
                 unknown ? "a channel" : "a scope");
        a->warned = true;
    }
    const char *agent = row->agent_id ? row->agent_id : "";
    if (strlen(agent) > ACCESS_AGENT_MAX) {
        /* Cut, it would name another agent: refuse the key instead. */
        log_warn("API key %s is bound to an agent id over %d bytes: refused", row->id,
                 ACCESS_AGENT_MAX);
        return false;
    }
    snprintf(g->agent_id, sizeof g->agent_id, "%s", agent);
    g->expires_us = row->expires_us;
    return true;
}

int auth_replace(auth *a, const struct auth_row *rows, size_t n)
{
    struct auth_table t = {.index = HMAP_INIT_TYPE(&key_hash_type), .ids = HMAP_INIT};
    t.keys = calloc(n + 1, sizeof *t.keys);
    if (!t.keys || hmap_reserve(&t.index, n + 1) != 0 || hmap_reserve(&t.ids, n + 1) != 0) {
        table_release(&t);
        log_error("out of memory loading %zu API keys", n);
        return -1;
    }
    if (a->has_bootstrap) {
        struct access_grant g = {
            .id = "bootstrap", .scopes = SCOPE_ALL, .channels = ACCESS_ALL_CHANNELS};
        table_add(&t, &a->t, a->bootstrap, &g, true);
    }
    for (size_t i = 0; i < n; i++) {
        struct access_grant g;
        /* A key id that repeats (never from the table's primary key) would
         * make the id index ambiguous: the first one stays. */
        if (row_grant(a, &rows[i], &g) && hmap_gets(&t.ids, g.id) == HMAP_ABSENT)
            table_add(&t, &a->t, rows[i].hash, &g, false);
    }
    table_release(&a->t);
    a->t = t;
    char series[AUTH_PREFIX_MAX + 16];
    snprintf(series, sizeof series, "%s_api_keys", a->prefix);
    metrics_set(series, (double)t.n);
    return 0;
}

size_t auth_count(const auth *a)
{
    return a->t.n;
}

int auth_config(struct ratelimit_conf *rl)
{
    const char *err = NULL;
    long rps, burst;
    if (config_long("RATE_LIMIT_RPS", 1000, 0, 10000000, &rps, &err) != 0 ||
        config_long("RATE_LIMIT_BURST", rps > 0 ? 2 * rps : 1, 1, 100000000, &burst, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    *rl = (struct ratelimit_conf){(double)rps, (double)burst};
    return 0;
}

auth *auth_new(const char *bootstrap_key, const struct ratelimit_conf *rl, const char *prefix)
{
    auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->rl = *rl;
    a->timer = -1;
    snprintf(a->prefix, sizeof a->prefix, "%s", prefix);
    if (bootstrap_key && bootstrap_key[0]) {
        if (auth_hash(bootstrap_key, strlen(bootstrap_key), a->bootstrap) != 0)
            goto fail;
        a->has_bootstrap = true;
    } else {
        log_warn("CAREBUS_BOOTSTRAP_API_KEY is not set: only keys made with carebusctl are "
                 "accepted");
    }
    char family[AUTH_PREFIX_MAX + 32];
    snprintf(family, sizeof family, "%s_api_keys", a->prefix);
    metrics_describe(family, "gauge", "API keys accepted (bootstrap included)");
    snprintf(family, sizeof family, "%s_forbidden_total", a->prefix);
    metrics_describe(family, "counter",
                     "Requests refused 403, by the scope that would have allowed them (\"none\": "
                     "no scope would, e.g. a channel limit or another agent's name)");
    if (auth_replace(a, NULL, 0) != 0)
        goto fail;
    return a;
fail:
    OPENSSL_cleanse(a->bootstrap, sizeof a->bootstrap);
    free(a);
    return NULL;
}

void auth_destroy(auth **pa)
{
    auth *a = *pa;
    if (!a)
        return;
    if (a->timer > 0)
        loop_remove_timer(a->loop, a->timer);
    table_release(&a->t);
    OPENSSL_cleanse(a->bootstrap, sizeof a->bootstrap);
    free(a);
    *pa = NULL;
}

/* --- reloading from PostgreSQL ---------------------------------------------- */

static void auth_on_rows(PGresult *res, void *arg)
{
    auth *a = arg;
    a->inflight = false;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        /* Down: dbq logs the connection; a failing statement is ours. */
        if (res && !a->failing) {
            const char *msg = PQresultErrorMessage(res);
            log_error("could not load the API keys: %.*s", (int)strcspn(msg, "\n"), msg);
        }
        a->failing = true;
        return;
    }
    int n = PQntuples(res);
    struct auth_row *rows = calloc((size_t)n + 1, sizeof *rows);
    unsigned char(*hashes)[AUTH_HASH_LEN] = calloc((size_t)n + 1, sizeof *hashes);
    if (!rows || !hashes) {
        log_error("out of memory loading %d API keys", n);
        goto out;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0);
        const char *hex = PQgetvalue(res, i, 1);
        if (hex_decode(hex, strlen(hex), hashes[k], AUTH_HASH_LEN) != 0) {
            log_warn("API key %s has a malformed hash: ignored", id);
            continue;
        }
        rows[k] = (struct auth_row){id,
                                    hashes[k],
                                    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
                                    PQgetvalue(res, i, 3),
                                    PQgetvalue(res, i, 4),
                                    strtoll(PQgetvalue(res, i, 5), NULL, 10)};
        k++;
    }
    if (auth_replace(a, rows, k) == 0) {
        if (!a->loaded || a->failing)
            log_info("loaded %zu API keys", k);
        a->loaded = true;
        a->failing = false;
    }
out:
    if (hashes)
        OPENSSL_cleanse(hashes, ((size_t)n + 1) * sizeof *hashes);
    free(hashes);
    free(rows);
}

static int auth_on_tick(loop *l, void *arg)
{
    (void)l;
    auth *a = arg;
    int64_t now = time_mono_ms();
    /* Until the first load, retry every tick: readiness waits on it. */
    if (a->inflight || (a->loaded && now < a->next_due_ms))
        return 0;
    /* clang-format off */
    static const char sql[] = "SELECT id::text, encode(key_hash, 'hex'),"
                              " array_to_string(channels, ','),"
                              " array_to_string(scopes, ','), coalesce(agent_id, ''),"
                              " coalesce(" KEYSPEC_SQL_US("expires_at") ", 0)"
                              " FROM ingest.api_keys WHERE revoked_at IS NULL"
                              " AND (expires_at IS NULL OR expires_at > now())";
    /* clang-format on */
    if (dbq_query(a->q, sql, 0, NULL, auth_on_rows, a) == 0) {
        a->inflight = true;
        a->next_due_ms = now + AUTH_REFRESH_MS;
    }
    return 0;
}

int auth_start_refresh(auth *a, loop *l, dbq *q)
{
    a->loop = l;
    a->q = q;
    a->timer = loop_add_timer(l, AUTH_TICK_MS, auth_on_tick, a);
    return a->timer > 0 ? 0 : -1;
}

bool auth_loaded(const auth *a)
{
    return a->loaded;
}

/* --- requests ------------------------------------------------------------- */

const char *auth_bearer(const char *header, size_t *len)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *k = header + 7;
    while (*k == ' ')
        k++;
    size_t n = strlen(k);
    while (n && isspace((unsigned char)k[n - 1]))
        n--;
    if (!n)
        return NULL;
    *len = n;
    return k;
}

struct auth_key *auth_lookup(auth *a, const char *key, size_t len)
{
    unsigned char h[AUTH_HASH_LEN];
    if (!key || auth_hash(key, len, h) != 0)
        return NULL;
    return table_find(&a->t, h);
}

struct auth_key *auth_lookup_id(auth *a, const char *id)
{
    int i = id ? hmap_gets(&a->t.ids, id) : HMAP_ABSENT;
    return i == HMAP_ABSENT ? NULL : &a->t.keys[i];
}

void auth_tally(auth *a, const char *reason, unsigned scope)
{
    char series[AUTH_PREFIX_MAX + 96];
    snprintf(series, sizeof series, "%s_rejected_total{reason=\"%s\"}", a->prefix, reason);
    metrics_add(series, 1);
    if (strcmp(reason, "forbidden") != 0)
        return;
    const char *name = scope ? scope_name(scope) : NULL;
    snprintf(series, sizeof series, "%s_forbidden_total{scope=\"%s\"}", a->prefix,
             name ? name : "none");
    metrics_add(series, 1);
}

void auth_reject(auth *a, http_req *r, unsigned status, const char *reason, const char *field,
                 const char *fmt, ...)
{
    auth_tally(a, reason, 0);
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A client over its rate would flood the log at the rate it is refused:
     * those go to debug (the counter tells the operator). */
    log_write(status == 429 ? LOG_DEBUG : LOG_INFO, NULL, "%s %s: %u %s: %s", http_method(r),
              http_path(r), status, reason, msg);
    http_reply_error(r, status, reason, field, "%s", msg);
}

bool auth_take(auth *a, http_req *r, struct auth_key *k)
{
    long wait = k->unlimited ? 0 : ratelimit_take(&k->bucket, &a->rl, time_mono_ms() * 1000);
    if (wait <= 0)
        return true;
    char s[24];
    snprintf(s, sizeof s, "%ld", wait);
    http_add_header(r, "Retry-After", s);
    auth_reject(a, r, 429, "rate_limited", NULL,
                "this API key is over its rate of %g requests per second; retry after %ld "
                "second%s",
                a->rl.rate, wait, wait == 1 ? "" : "s");
    return false;
}

const char *auth_basic_password(const char *header, char *out, size_t size, size_t *len)
{
    if (!header || strncasecmp(header, "Basic ", 6) != 0)
        return NULL;
    const char *p = header + 6;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    /* base64 of "user:password": 4 characters for every 3 bytes, padded. */
    if (!n || n % 4 || n / 4 * 3 >= size)
        return NULL;
    int got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)p, (int)n);
    if (got < 0)
        return NULL;
    /* EVP_DecodeBlock counts the padding's zero bytes. */
    size_t dec = (size_t)got - (p[n - 1] == '=') - (p[n - 2] == '=');
    out[dec] = '\0';
    const char *colon = memchr(out, ':', dec);
    if (!colon || memchr(out, '\0', dec))
        return NULL;
    *len = dec - (size_t)(colon + 1 - out);
    return *len ? colon + 1 : NULL;
}

/* The key's entry after a token from its bucket; or NULL after answering
 * 401 with challenge, or 429. missing: the 401's message without a key. */
static const struct auth_key *auth_request_key(auth *a, http_req *r, const char *key, size_t len,
                                               const char *challenge, const char *missing)
{
    struct auth_key *k = auth_lookup(a, key, len);
    if (!k) {
        http_add_header(r, "WWW-Authenticate", challenge);
        auth_reject(a, r, 401, "unauthorized", NULL, "%s",
                    key ? "the API key is not valid" : missing);
        return NULL;
    }
    return auth_take(a, r, k) ? k : NULL;
}

const struct auth_key *auth_request(auth *a, http_req *r)
{
    size_t len = 0;
    const char *key = auth_bearer(http_header(r, "Authorization"), &len);
    return auth_request_key(a, r, key, len, "Bearer realm=\"carebus\"",
                            "missing \"Authorization: Bearer <key>\"");
}

const struct auth_key *auth_request_basic(auth *a, http_req *r)
{
    size_t len = 0;
    char buf[AUTH_BASIC_MAX];
    const char *header = http_header(r, "Authorization");
    const char *key = auth_bearer(header, &len);
    if (!key)
        key = auth_basic_password(header, buf, sizeof buf, &len);
    const struct auth_key *k =
        auth_request_key(a, r, key, len, "Basic realm=\"carebus\"",
                         "missing credentials: an API key as HTTP Basic's password, or Bearer");
    OPENSSL_cleanse(buf, sizeof buf);
    return k;
}

void auth_deny(auth *a, http_req *r, const struct access_denial *d)
{
    const char *scope = d->scope ? scope_name(d->scope) : NULL;
    auth_tally(a, "forbidden", d->scope);
    log_info("%s %s: 403 forbidden: %s", http_method(r), http_path(r), d->message);
    json_t *err = json_pack("{s:s, s:s, s:o, s:o}", "code", "forbidden", "message", d->message,
                            "field", d->field ? json_string(d->field) : json_null(), "scope",
                            scope ? json_string(scope) : json_null());
    if (!err) /* d->message is ours, valid UTF-8 but for a client's agent id */
        http_reply_error(r, 403, "forbidden", d->field, "%s", "this key may not do this");
    else
        http_reply_json(r, 403, json_pack("{s:o}", "error", err));
}

bool auth_allow(auth *a, http_req *r, const struct access_grant *g, unsigned need,
                const struct access_facts *f)
{
    struct access_denial d;
    if (access_decide(g, need, f, &d))
        return true;
    auth_deny(a, r, &d);
    return false;
}

bool auth_admit(auth *a, http_req *r, const struct access_grant *g, unsigned need)
{
    if (!auth_allow(a, r, g, need, NULL))
        return false;
    if (http_set_auth(r, g, sizeof *g) != 0) {
        log_error("out of memory for %s %s", http_method(r), http_path(r));
        http_add_header(r, "Retry-After", "1");
        http_reply_error(r, 503, "unavailable", NULL, "out of memory");
        return false;
    }
    return true;
}

bool auth_guard(auth *a, http_req *r, unsigned access)
{
    unsigned need = access & SCOPE_MASK;
    if (access & SCOPE_PUBLIC)
        return true;
    if (!scope_name(need)) {
        /* A route table's bug (tests check every route states one scope):
         * refuse rather than open the route. */
        log_error("route %s %s states no scope: refused", http_method(r), http_path(r));
        http_reply_error(r, 500, "internal", NULL, "this route is not configured");
        return false;
    }
    const struct auth_key *k = access & AUTH_BASIC ? auth_request_basic(a, r) : auth_request(a, r);
    return k && auth_admit(a, r, &k->grant, need);
}

const struct access_grant *auth_grant(const http_req *r)
{
    return http_auth(r);
}

bool auth_channel_ok(auth *a, http_req *r, const struct access_grant *g, Carebus__V1__Channel c)
{
    struct access_denial d;
    if (access_channel(g, c, &d))
        return true;
    auth_deny(a, r, &d);
    return false;
}

bool auth_unscoped_ok(auth *a, http_req *r, const struct access_grant *g)
{
    struct access_denial d;
    if (access_all_channels(g, &d))
        return true;
    auth_deny(a, r, &d);
    return false;
}
