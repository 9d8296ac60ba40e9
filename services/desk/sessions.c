/* sessions.c — the desk's session table: a fixed array scanned by hash.
 *
 * DESK_SESSIONS_MAX slots, looked up by the token's SHA-256 (comparing
 * hashes leaks nothing about the token). A scan of a few thousand slots is
 * microseconds, and the table never grows: past it, sign-in answers 503.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "hex.h"
#include "sessions.h"
#include "timeutil.h"

struct sessions {
    long ttl_s;
    unsigned char secret[32]; /* the CSRF tokens' */
    struct desk_session slots[DESK_SESSIONS_MAX];
};

static int64_t now_s(void)
{
    return time_now_us() / 1000000;
}

static bool slot_free(const struct desk_session *d)
{
    static const unsigned char zero[32];
    return memcmp(d->hash, zero, sizeof zero) == 0;
}

sessions *sessions_new(long ttl_s)
{
    sessions *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ttl_s = ttl_s;
    if (RAND_bytes(s->secret, sizeof s->secret) != 1) {
        free(s);
        return NULL;
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

const struct desk_session *sessions_add(sessions *s, const struct desk_session *proto,
                                        char token[DESK_TOKEN_LEN])
{
    struct desk_session *d = NULL;
    int64_t now = now_s();
    for (size_t i = 0; i < DESK_SESSIONS_MAX && !d; i++)
        if (slot_free(&s->slots[i]) || s->slots[i].expires <= now)
            d = &s->slots[i];
    if (!d)
        return NULL;
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    base64url_encode(raw, sizeof raw, token);
    *d = *proto;
    SHA256((const unsigned char *)token, strlen(token), d->hash);
    d->expires = now + s->ttl_s;
    unsigned char mac[32];
    unsigned int maclen = sizeof mac;
    HMAC(EVP_sha256(), s->secret, sizeof s->secret, (const unsigned char *)token, strlen(token),
         mac, &maclen);
    hex_encode(mac, sizeof mac, d->csrf);
    OPENSSL_cleanse(raw, sizeof raw);
    return d;
}

const struct desk_session *sessions_of(sessions *s, http_req *r)
{
    return sessions_find(s, http_cookie(r, DESK_COOKIE));
}

const struct desk_session *sessions_find(sessions *s, const char *token)
{
    if (!token || strlen(token) != DESK_TOKEN_LEN - 1)
        return NULL;
    unsigned char h[32];
    SHA256((const unsigned char *)token, strlen(token), h);
    int64_t now = now_s();
    for (size_t i = 0; i < DESK_SESSIONS_MAX; i++)
        if (memcmp(s->slots[i].hash, h, sizeof h) == 0)
            return s->slots[i].expires > now ? &s->slots[i] : NULL;
    return NULL;
}

void sessions_remove(sessions *s, const struct desk_session *d, char key[APIKEY_LEN])
{
    ptrdiff_t i = d - s->slots;
    if (i < 0 || i >= DESK_SESSIONS_MAX)
        return;
    snprintf(key, APIKEY_LEN, "%s", d->key);
    OPENSSL_cleanse(&s->slots[i], sizeof s->slots[i]);
    memset(&s->slots[i], 0, sizeof s->slots[i]);
}

void sessions_sweep(sessions *s, void (*fn)(const char *key, void *arg), void *arg)
{
    int64_t now = now_s();
    for (size_t i = 0; i < DESK_SESSIONS_MAX; i++) {
        struct desk_session *d = &s->slots[i];
        if (slot_free(d) || d->expires > now)
            continue;
        char key[APIKEY_LEN];
        sessions_remove(s, d, key);
        fn(key, arg);
        OPENSSL_cleanse(key, sizeof key);
    }
}

bool sessions_csrf_ok(const struct desk_session *d, const char *token)
{
    return token && strlen(token) == DESK_CSRF_LEN - 1 &&
           CRYPTO_memcmp(token, d->csrf, DESK_CSRF_LEN - 1) == 0;
}

static void cookie(http_req *r, const char *value, long max_age)
{
    char h[256];
    snprintf(h, sizeof h, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", DESK_COOKIE,
             value, max_age, http_tls(r) ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", h);
}

void sessions_set_cookie(const sessions *s, http_req *r, const char *token)
{
    cookie(r, token, s->ttl_s);
}

void sessions_clear_cookie(http_req *r)
{
    cookie(r, "", 0);
}
