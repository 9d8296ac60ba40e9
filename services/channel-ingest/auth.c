/* auth.c — bearer keys checked against SHA-256 hashes. */
#include "auth.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

struct auth {
    bool has_bootstrap;
    unsigned char bootstrap[AUTH_HASH_LEN];
};

int auth_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) == 1 && n == AUTH_HASH_LEN ? 0 : -1;
}

auth *auth_new(const char *bootstrap_key)
{
    auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (bootstrap_key && bootstrap_key[0]) {
        if (auth_hash(bootstrap_key, strlen(bootstrap_key), a->bootstrap) != 0) {
            free(a);
            return NULL;
        }
        a->has_bootstrap = true;
    } else {
        log_warn("CAREBUS_BOOTSTRAP_API_KEY is not set: no integrator key is accepted");
    }
    return a;
}

void auth_destroy(auth **pa)
{
    if (*pa)
        OPENSSL_cleanse((*pa)->bootstrap, sizeof (*pa)->bootstrap);
    free(*pa);
    *pa = NULL;
}

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

bool auth_check(auth *a, http_req *r)
{
    size_t len = 0;
    const char *key = auth_bearer(http_header(r, "Authorization"), &len);
    unsigned char h[AUTH_HASH_LEN];
    if (key && a->has_bootstrap && auth_hash(key, len, h) == 0 &&
        CRYPTO_memcmp(h, a->bootstrap, AUTH_HASH_LEN) == 0)
        return true;
    metrics_add("carebus_ingest_rejected_total{reason=\"unauthorized\"}", 1);
    http_add_header(r, "WWW-Authenticate", "Bearer realm=\"carebus\"");
    http_reply_error(r, 401, "unauthorized", NULL,
                     key ? "the API key is not valid" : "missing \"Authorization: Bearer <key>\"");
    return false;
}
