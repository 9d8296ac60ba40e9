/* apikey.c — API key generation and hashing (OpenSSL libcrypto). */
#include "apikey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "base64url.h"

int apikey_hash(const char *key, size_t len, unsigned char out[APIKEY_HASH_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) == 1 && n == APIKEY_HASH_LEN ? 0 : -1;
}

int apikey_generate(char out[APIKEY_LEN])
{
    unsigned char r[APIKEY_RANDOM_BYTES];
    if (RAND_bytes(r, APIKEY_RANDOM_BYTES) != 1)
        return -1;
    memcpy(out, APIKEY_PREFIX, strlen(APIKEY_PREFIX));
    size_t n = base64url_encode(r, sizeof r, out + strlen(APIKEY_PREFIX));
    OPENSSL_cleanse(r, sizeof r);
    return strlen(APIKEY_PREFIX) + n == APIKEY_LEN - 1 ? 0 : -1;
}
