/* hmac.c — HMAC through OpenSSL 3's EVP_MAC (see hmac.h).
 *
 * EVP_MAC rather than the one-shot HMAC(): it takes input in parts. The
 * MAC implementation is fetched on each call; OpenSSL caches fetches, and
 * the callers MAC a request or a link, not a stream.
 */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hex.h"

static const char *hmac_digest_name(hmac_digest d)
{
    switch (d) {
    case HMAC_SHA1:
        return "SHA1";
    case HMAC_SHA256:
        return "SHA256";
    }
    return NULL;
}

size_t hmac_len(hmac_digest d)
{
    switch (d) {
    case HMAC_SHA1:
        return HMAC_SHA1_LEN;
    case HMAC_SHA256:
        return HMAC_SHA256_LEN;
    }
    return 0;
}

int hmac_compute(hmac_digest d, const void *key, size_t keylen, const struct hmac_part *parts,
                 size_t nparts, unsigned char out[HMAC_MAX_LEN])
{
    const char *name = hmac_digest_name(d);
    if (!name)
        return -1;
    int rc = -1;
    size_t outlen = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0),
        OSSL_PARAM_construct_end(),
    };
    /* An empty key is legal HMAC; OpenSSL wants a non-NULL pointer. */
    static const unsigned char nokey[1];
    if (!ctx || EVP_MAC_init(ctx, keylen ? key : nokey, keylen, params) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1)
            goto out;
    if (EVP_MAC_final(ctx, out, &outlen, HMAC_MAX_LEN) != 1 || outlen != hmac_len(d))
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

bool hmac_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool hmac_equal_hex(const char *hex, size_t hexlen, const unsigned char *mac, size_t maclen)
{
    /* The decoding's time varies with the attacker's text, not the MAC. */
    unsigned char got[HMAC_MAX_LEN];
    if (maclen > sizeof got || hex_decode(hex, hexlen, got, maclen) != 0)
        return false;
    return hmac_equal(got, mac, maclen);
}
