/* apikey.c — API key generation and hashing (OpenSSL libcrypto). */
#include "apikey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

int apikey_hash(const char *key, size_t len, unsigned char out[APIKEY_HASH_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) == 1 && n == APIKEY_HASH_LEN ? 0 : -1;
}

int apikey_generate(char out[APIKEY_LEN])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[APIKEY_RANDOM_BYTES + 1] = {0}; /* +1: the last group reads one past */
    if (RAND_bytes(r, APIKEY_RANDOM_BYTES) != 1)
        return -1;
    char *o = out;
    memcpy(o, APIKEY_PREFIX, strlen(APIKEY_PREFIX));
    o += strlen(APIKEY_PREFIX);
    /* 32 bytes = 10 groups of 3 and 2 left: 40 + 3 characters, no padding. */
    for (size_t i = 0; i < APIKEY_RANDOM_BYTES; i += 3) {
        unsigned v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
        size_t left = APIKEY_RANDOM_BYTES - i;
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        if (left > 1)
            *o++ = b64[v >> 6 & 63];
        if (left > 2)
            *o++ = b64[v & 63];
    }
    *o = '\0';
    OPENSSL_cleanse(r, sizeof r);
    return (size_t)(o - out) == APIKEY_LEN - 1 ? 0 : -1;
}
