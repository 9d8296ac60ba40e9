/* token.c — signed survey links and CSRF fields; see token.h.
 *
 * Decoding is strict (no padding, no stray bits in the last character), so
 * that one token has exactly one spelling: a token that differs from one we
 * made is refused, not accepted under another spelling.
 */
#include "token.h"

#include <assert.h>
#include <openssl/rand.h>
#include <string.h>
#include <uuid/uuid.h>

#include "base64url.h"
#include "hmac.h"

#define TOKEN_VERSION 1
#define TOKEN_BODY 25 /* version, id, expiry */
#define TOKEN_MAC 16
#define TOKEN_BYTES (TOKEN_BODY + TOKEN_MAC)
#define NONCE_BYTES 16

/* HMAC-SHA256 of data under key. It fails only when libcrypto is broken or
 * out of memory, and a link or key made from a half-made MAC would be worse
 * than the abort. */
static void mac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[HMAC_MAX_LEN])
{
    struct hmac_part part = {data, len};
    int rc = hmac_compute(HMAC_SHA256, key, keylen, &part, 1, out);
    assert(rc == 0);
    (void)rc;
}

void survey_keys_derive(struct survey_keys *k, const char *secret, size_t len)
{
    static const char tl[] = "carebus survey link v1";
    static const char cl[] = "carebus survey csrf v1";
    static_assert(SURVEY_KEY_LEN == HMAC_SHA256_LEN, "a key is one HMAC-SHA256");
    mac_sha256(secret, len, tl, sizeof tl - 1, k->token);
    mac_sha256(secret, len, cl, sizeof cl - 1, k->csrf);
}

int survey_token_make(const struct survey_keys *k, const char *survey_id, int64_t exp_s,
                      char out[SURVEY_TOKEN_LEN])
{
    unsigned char t[TOKEN_BYTES];
    uuid_t u;
    if (!survey_id || uuid_parse(survey_id, u) != 0)
        return -1;
    t[0] = TOKEN_VERSION;
    memcpy(t + 1, u, 16);
    uint64_t e = (uint64_t)exp_s;
    for (int i = 0; i < 8; i++)
        t[17 + i] = (unsigned char)(e >> (56 - 8 * i));
    unsigned char mac[HMAC_MAX_LEN];
    mac_sha256(k->token, SURVEY_KEY_LEN, t, TOKEN_BODY, mac);
    memcpy(t + TOKEN_BODY, mac, TOKEN_MAC);
    size_t n = base64url_encode(t, TOKEN_BYTES, out);
    assert(n == SURVEY_TOKEN_LEN - 1);
    (void)n;
    return 0;
}

survey_token_status survey_token_check(const struct survey_keys *k, const char *token,
                                       int64_t now_s, char survey_id[ID_LEN], int64_t *exp_s)
{
    unsigned char t[TOKEN_BYTES];
    if (!token || strlen(token) != SURVEY_TOKEN_LEN - 1 ||
        base64url_decode(token, SURVEY_TOKEN_LEN - 1, t, sizeof t) != TOKEN_BYTES)
        return TOKEN_FORGED;
    unsigned char mac[HMAC_MAX_LEN];
    mac_sha256(k->token, SURVEY_KEY_LEN, t, TOKEN_BODY, mac);
    /* The MAC first, in constant time: nothing else is read from a forgery. */
    if (!hmac_equal(mac, t + TOKEN_BODY, TOKEN_MAC) || t[0] != TOKEN_VERSION)
        return TOKEN_FORGED;
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e = e << 8 | t[17 + i];
    uuid_unparse_lower(t + 1, survey_id);
    *exp_s = (int64_t)e;
    return (int64_t)e <= now_s ? TOKEN_EXPIRED : TOKEN_OK;
}

int survey_nonce_new(char out[SURVEY_NONCE_LEN])
{
    unsigned char r[NONCE_BYTES];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    base64url_encode(r, sizeof r, out);
    return 0;
}

bool survey_nonce_valid(const char *s)
{
    unsigned char r[NONCE_BYTES];
    return s && strlen(s) == SURVEY_NONCE_LEN - 1 &&
           base64url_decode(s, SURVEY_NONCE_LEN - 1, r, sizeof r) == NONCE_BYTES;
}

static void csrf_mac(const struct survey_keys *k, const char *token, const char *nonce,
                     unsigned char mac[HMAC_MAX_LEN])
{
    /* Fixed-length parts (a token and a nonce): the concatenation is
     * unambiguous; lengths are checked by the callers. */
    char msg[4 + SURVEY_TOKEN_LEN + SURVEY_NONCE_LEN];
    size_t tl = strlen(token), nl = strlen(nonce);
    assert(tl < SURVEY_TOKEN_LEN && nl < SURVEY_NONCE_LEN);
    memcpy(msg, "csrf", 4);
    memcpy(msg + 4, token, tl);
    memcpy(msg + 4 + tl, nonce, nl);
    mac_sha256(k->csrf, SURVEY_KEY_LEN, msg, 4 + tl + nl, mac);
}

void survey_csrf_make(const struct survey_keys *k, const char *token, const char *nonce,
                      char out[SURVEY_CSRF_LEN])
{
    unsigned char mac[HMAC_MAX_LEN];
    csrf_mac(k, token, nonce, mac);
    base64url_encode(mac, 16, out);
}

bool survey_csrf_check(const struct survey_keys *k, const char *token, const char *nonce,
                       const char *field)
{
    if (!token || strlen(token) != SURVEY_TOKEN_LEN - 1 || !survey_nonce_valid(nonce) || !field ||
        strlen(field) != SURVEY_CSRF_LEN - 1)
        return false;
    char want[SURVEY_CSRF_LEN];
    survey_csrf_make(k, token, nonce, want);
    return hmac_equal(want, field, SURVEY_CSRF_LEN - 1);
}
