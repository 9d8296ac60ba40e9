/* sessions.c — the session's key sealed in its cookie, its CSRF token, who
 * it is (asked of the API), and a short-lived copy of that.
 *
 * The seal: AES-256-GCM (gcm.h) under the desk's secret, a random nonce per
 * cookie (a key is sealed once a sign-in: 2^32 cookies under one secret is
 * far beyond a desk's life), DESK_SEAL_AAD as additional data. Opening
 * takes exactly the length a sealed key has, so nothing of another length
 * is decoded.
 *
 * The copies: DESK_CACHED_MAX slots, found by the key's SHA-256 (the key
 * itself is not kept), each used for DESK_CACHED_S seconds; a new one takes
 * a free or stale slot, else the oldest. A scan of a few hundred slots is
 * microseconds, and nothing grows.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "sessions.h"
#include "timeutil.h"
#include "upstream.h"

/* What the CSRF token is the HMAC of (a new label: every token changes). */
#define CSRF_LABEL "carebus-desk csrf 1"
#define FETCH_TIMEOUT_S 10
#define KEY_CHARS (APIKEY_LEN - 1)
#define PREFIX_LEN (sizeof DESK_SEAL_PREFIX - 1)
#define SEALED_BYTES (GCM_NONCE_LEN + KEY_CHARS + GCM_TAG_LEN)

struct cached {
    unsigned char hash[32]; /* the key's SHA-256 */
    int64_t at_ms;          /* when it was told (time_mono_ms); 0: a free slot */
    struct desk_agent a;
};

struct sessions {
    long ttl_s;
    bool secure;
    uint8_t secret[DESK_SECRET_LEN];
    struct cached slots[DESK_CACHED_MAX];
};

sessions *sessions_new(long ttl_s, const uint8_t secret[DESK_SECRET_LEN], bool secure)
{
    sessions *s = calloc(1, sizeof *s);
    if (s) {
        s->ttl_s = ttl_s;
        s->secure = secure;
        memcpy(s->secret, secret, DESK_SECRET_LEN);
    }
    return s;
}

void sessions_destroy(sessions **ps)
{
    if (!*ps)
        return;
    OPENSSL_cleanse(*ps, sizeof **ps);
    free(*ps);
    *ps = NULL;
}

/* "cb_" and 43 base64url characters (apikey.h): nothing else is sent on. */
static bool key_shaped(const char *k)
{
    if (!k || strlen(k) != APIKEY_LEN - 1 || strncmp(k, APIKEY_PREFIX, 3) != 0)
        return false;
    for (const char *c = k + 3; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return false;
    return true;
}

int sessions_seal(const sessions *s, const char *key, char out[DESK_SEALED_MAX])
{
    if (!key_shaped(key))
        return -1;
    uint8_t b[SEALED_BYTES];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int rc = -1;
    if (c && RAND_bytes(b, GCM_NONCE_LEN) == 1 &&
        gcm_seal(c, s->secret, b, (const uint8_t *)DESK_SEAL_AAD, sizeof DESK_SEAL_AAD - 1,
                 (const uint8_t *)key, KEY_CHARS, b + GCM_NONCE_LEN,
                 b + GCM_NONCE_LEN + KEY_CHARS) == 0) {
        memcpy(out, DESK_SEAL_PREFIX, PREFIX_LEN);
        base64url_encode(b, sizeof b, out + PREFIX_LEN);
        rc = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

bool sessions_open(const sessions *s, const char *value, char key[APIKEY_LEN])
{
    memset(key, 0, APIKEY_LEN);
    if (!value || strncmp(value, DESK_SEAL_PREFIX, PREFIX_LEN) != 0 ||
        strlen(value + PREFIX_LEN) != BASE64URL_LEN(SEALED_BYTES))
        return false;
    uint8_t b[SEALED_BYTES];
    if (base64url_decode(value + PREFIX_LEN, BASE64URL_LEN(SEALED_BYTES), b, sizeof b) !=
        (int)sizeof b)
        return false;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    bool ok = c && gcm_open(c, s->secret, b, (const uint8_t *)DESK_SEAL_AAD,
                            sizeof DESK_SEAL_AAD - 1, b + GCM_NONCE_LEN, KEY_CHARS,
                            b + GCM_NONCE_LEN + KEY_CHARS, (uint8_t *)key) == 0;
    EVP_CIPHER_CTX_free(c);
    key[KEY_CHARS] = '\0';
    ok = ok && key_shaped(key);
    if (!ok)
        OPENSSL_cleanse(key, APIKEY_LEN);
    return ok;
}

bool sessions_key(const sessions *s, http_req *r, char key[APIKEY_LEN])
{
    return sessions_open(s, http_cookie(r, DESK_COOKIE), key);
}

void sessions_csrf(const char *key, char out[DESK_CSRF_LEN])
{
    unsigned char mac[32];
    unsigned int maclen = sizeof mac;
    out[0] = '\0'; /* no token, should HMAC fail: no write passes */
    if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)CSRF_LABEL,
             sizeof CSRF_LABEL - 1, mac, &maclen) &&
        maclen == sizeof mac)
        hex_encode(mac, sizeof mac, out);
    OPENSSL_cleanse(mac, sizeof mac);
}

bool sessions_csrf_ok(const char *key, const char *token)
{
    if (!key || !token || strlen(token) != DESK_CSRF_LEN - 1)
        return false;
    char want[DESK_CSRF_LEN];
    sessions_csrf(key, want);
    bool ok = want[0] && CRYPTO_memcmp(token, want, DESK_CSRF_LEN - 1) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return ok;
}

bool sessions_agent_read(const json_t *agent, struct desk_agent *a)
{
    const char *id = json_string_value(json_object_get(agent, "id"));
    const char *name = json_string_value(json_object_get(agent, "name"));
    const char *role = json_string_value(json_object_get(agent, "role"));
    json_t *teams = json_object_get(agent, "teams");
    if (!id || !*id || strlen(id) >= sizeof a->id)
        return false;
    char *tj = json_is_array(teams) ? json_dumps(teams, JSON_COMPACT) : NULL;
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->name, sizeof a->name, "%s", name && *name ? name : id);
    snprintf(a->role, sizeof a->role, "%s", role ? role : "agent");
    snprintf(a->teams, sizeof a->teams, "%s", tj && strlen(tj) < sizeof a->teams ? tj : "[]");
    free(tj);
    return true;
}

int sessions_fetch(CURL *c, const pool *p, const char *api_url, const char *key,
                   struct desk_agent *a)
{
    struct upstream_answer ans = {.body = BUF_INIT};
    int rc = upstream_call(c, p, api_url, key, "GET", "/v1/sessions/current", NULL, 0,
                           FETCH_TIMEOUT_S, &ans);
    int out = -1;
    if (rc == 0 && (ans.status == 401 || ans.status == 404)) {
        out = 1;
    } else if (rc == 0 && ans.status == 200) {
        json_t *j = json_loadb(buf_str(&ans.body), ans.body.len, 0, NULL);
        out = j && sessions_agent_read(json_object_get(j, "agent"), a) ? 0 : -1;
        json_decref(j);
    }
    buf_release(&ans.body);
    return out;
}

static void key_hash(const char *key, unsigned char h[32])
{
    SHA256((const unsigned char *)key, strlen(key), h);
}

static struct cached *slot_of(sessions *s, const unsigned char h[32])
{
    for (size_t i = 0; i < DESK_CACHED_MAX; i++)
        if (s->slots[i].at_ms && memcmp(s->slots[i].hash, h, 32) == 0)
            return &s->slots[i];
    return NULL;
}

bool sessions_cached(sessions *s, const char *key, struct desk_agent *a)
{
    unsigned char h[32];
    key_hash(key, h);
    struct cached *c = slot_of(s, h);
    if (!c || time_mono_ms() - c->at_ms >= DESK_CACHED_S * 1000)
        return false;
    *a = c->a;
    return true;
}

void sessions_remember(sessions *s, const char *key, const struct desk_agent *a)
{
    unsigned char h[32];
    key_hash(key, h);
    struct cached *c = slot_of(s, h);
    for (size_t i = 0; i < DESK_CACHED_MAX && !c; i++)
        if (!s->slots[i].at_ms)
            c = &s->slots[i];
    if (!c) {
        c = &s->slots[0];
        for (size_t i = 1; i < DESK_CACHED_MAX; i++)
            if (s->slots[i].at_ms < c->at_ms)
                c = &s->slots[i];
    }
    /* c: the key's own slot, a free one, or the oldest. */
    memcpy(c->hash, h, sizeof h);
    c->at_ms = time_mono_ms();
    if (c->at_ms == 0)
        c->at_ms = 1;
    c->a = *a;
}

void sessions_forget(sessions *s, const char *key)
{
    unsigned char h[32];
    key_hash(key, h);
    struct cached *c = slot_of(s, h);
    if (c)
        memset(c, 0, sizeof *c);
}

static void cookie(http_req *r, const char *value, long max_age, bool secure)
{
    char h[256];
    snprintf(h, sizeof h, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", DESK_COOKIE,
             value, max_age, secure || http_tls(r) ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", h);
}

int sessions_set_cookie(const sessions *s, http_req *r, const char *key, int64_t expires_us)
{
    char sealed[DESK_SEALED_MAX];
    if (sessions_seal(s, key, sealed) != 0)
        return -1;
    int64_t left = (expires_us - time_now_us()) / 1000000;
    cookie(r, sealed, expires_us && left > 0 && left <= 30L * 86400 ? (long)left : s->ttl_s,
           s->secure);
    return 0;
}

void sessions_clear_cookie(http_req *r)
{
    cookie(r, "", 0, false); /* a deletion: nothing to keep from a plain channel */
}
