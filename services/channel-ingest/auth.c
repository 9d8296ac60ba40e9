/* auth.c — bearer keys checked against an in-memory table of SHA-256 hashes.
 *
 * The table is rebuilt whole on each reload (a few hundred keys at most, once
 * a second) and swapped in between two loop callbacks, so a handler never
 * sees it half-built. Buckets move with their key (matched by hash), so a
 * reload neither refills nor empties anyone's rate. The keys' SHA-256
 * hashes index the table through an hmap whose equality is hmac_equal
 * (CRYPTO_memcmp over the whole hash, in constant time).
 */
#include "auth.h"

#include <assert.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "hmac.h"
#include "hmap.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define AUTH_TICK_MS 100

struct auth_table {
    struct auth_key *keys; /* never reallocated: the index borrows their hashes */
    size_t n;
    hmap index; /* a key's hash -> index into keys */
};

struct auth {
    struct auth_table t;
    bool has_bootstrap;
    unsigned char bootstrap[AUTH_HASH_LEN];
    struct ratelimit_conf rl;
    loop *loop;
    dbq *q;
    int timer;
    bool inflight;       /* a reload query is queued */
    bool loaded;         /* one reload succeeded */
    bool failing;        /* the last reload failed (logged once) */
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

static void table_destroy(struct auth_table *t)
{
    if (t->keys)
        OPENSSL_cleanse(t->keys, t->n * sizeof *t->keys);
    free(t->keys);
    hmap_release(&t->index);
    *t = (struct auth_table){0};
}

/* "zalo,email" -> bits; unknown names are logged and ignored (a newer
 * carebusctl may know more channels than this build). */
static bool warned_unknown;

static uint32_t channels_mask(const char *id, const char *list)
{
    if (!list)
        return AUTH_ALL_CHANNELS;
    uint32_t mask = 0;
    while (*list) {
        size_t n = strcspn(list, ",");
        char name[32];
        Carebus__V1__Channel c;
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), list);
        if (event_channel_parse(name, &c) == 0)
            mask |= UINT32_C(1) << c;
        else if (n && !warned_unknown) {
            /* Once: the table is reloaded every second. */
            log_warn("API key %s names an unknown channel \"%s\": ignored", id, name);
            warned_unknown = true;
        }
        list += n;
        if (*list == ',')
            list++;
    }
    return mask;
}

/* Adds a key unless its hash is already there. keys has room. */
static void table_add(struct auth_table *t, const struct auth_table *old, const char *id,
                      const unsigned char *hash, uint32_t channels, bool unlimited)
{
    if (table_find(t, hash))
        return;
    struct auth_key *k = &t->keys[t->n];
    memset(k, 0, sizeof *k);
    memcpy(k->hash, hash, AUTH_HASH_LEN);
    snprintf(k->id, sizeof k->id, "%s", id);
    k->channels = channels;
    k->unlimited = unlimited;
    const struct auth_key *was = table_find(old, hash);
    if (was)
        k->bucket = was->bucket;
    int rc = hmap_put(&t->index, k->hash, AUTH_HASH_LEN, (int)t->n++);
    assert(rc == 0); /* room was reserved */
    (void)rc;
}

int auth_replace(auth *a, const struct auth_row *rows, size_t n)
{
    struct auth_table t = {.index = HMAP_INIT_TYPE(&key_hash_type)};
    t.keys = calloc(n + 1, sizeof *t.keys);
    if (!t.keys || hmap_reserve(&t.index, n + 1) != 0) {
        table_destroy(&t);
        log_error("out of memory loading %zu API keys", n);
        return -1;
    }
    if (a->has_bootstrap)
        table_add(&t, &a->t, "bootstrap", a->bootstrap, AUTH_ALL_CHANNELS, true);
    for (size_t i = 0; i < n; i++)
        table_add(&t, &a->t, rows[i].id, rows[i].hash, channels_mask(rows[i].id, rows[i].channels),
                  false);
    table_destroy(&a->t);
    a->t = t;
    metrics_set("carebus_ingest_api_keys", (double)t.n);
    return 0;
}

size_t auth_count(const auth *a)
{
    return a->t.n;
}

auth *auth_new(const char *bootstrap_key, const struct ratelimit_conf *rl)
{
    auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->rl = *rl;
    a->timer = -1;
    if (bootstrap_key && bootstrap_key[0]) {
        if (auth_hash(bootstrap_key, strlen(bootstrap_key), a->bootstrap) != 0)
            goto fail;
        a->has_bootstrap = true;
    } else {
        log_warn("CAREBUS_BOOTSTRAP_API_KEY is not set: only keys made with carebusctl are "
                 "accepted");
    }
    metrics_describe("carebus_ingest_api_keys", "gauge", "API keys accepted (bootstrap included)");
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
    table_destroy(&a->t);
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
        rows[k] =
            (struct auth_row){id, hashes[k], PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2)};
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
    static const char sql[] = "SELECT id::text, encode(key_hash, 'hex'),"
                              " array_to_string(channels, ',')"
                              " FROM ingest.api_keys WHERE revoked_at IS NULL";
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

const struct auth_key *auth_request(auth *a, http_req *r)
{
    size_t len = 0;
    const char *key = auth_bearer(http_header(r, "Authorization"), &len);
    struct auth_key *k = auth_lookup(a, key, len);
    if (!k) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"carebus\"");
        ingest_reject(r, 401, "unauthorized", "unauthorized", NULL, "%s",
                      key ? "the API key is not valid" : "missing \"Authorization: Bearer <key>\"");
        return NULL;
    }
    long wait = k->unlimited ? 0 : ratelimit_take(&k->bucket, &a->rl, time_mono_ms() * 1000);
    if (wait > 0) {
        char s[24];
        snprintf(s, sizeof s, "%ld", wait);
        http_add_header(r, "Retry-After", s);
        ingest_reject(r, 429, "rate_limited", "rate_limited", NULL,
                      "this API key is over its rate of %g requests per second; retry after %ld "
                      "second%s",
                      a->rl.rate, wait, wait == 1 ? "" : "s");
        return NULL;
    }
    return k;
}

bool auth_check(auth *a, http_req *r)
{
    return auth_request(a, r) != NULL;
}

bool auth_allows(const struct auth_key *k, Carebus__V1__Channel c)
{
    return (unsigned)c < 32 && (k->channels >> c & 1);
}

bool auth_channel_ok(http_req *r, const struct auth_key *k, Carebus__V1__Channel c)
{
    if (auth_allows(k, c))
        return true;
    ingest_reject(r, 403, "forbidden", "forbidden", "channel",
                  "this API key is not allowed to use the channel \"%s\"", event_channel_name(c));
    return false;
}

bool auth_unscoped_ok(http_req *r, const struct auth_key *k)
{
    if (k->channels == AUTH_ALL_CHANNELS)
        return true;
    ingest_reject(r, 403, "forbidden", "forbidden", NULL,
                  "this API key is limited to some channels; this operation needs a key for "
                  "every channel");
    return false;
}
