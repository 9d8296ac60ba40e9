/* password.c — scrypt password hashes in PHC format (see password.h). */
#include "password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_SALT_LEN 16
#define PASSWORD_KEY_LEN 32
/* Base64 of the longest salt or hash read back. */
#define PASSWORD_B64_MAX 96

static bool params_ok(int log_n, int r, int p)
{
    return log_n >= 1 && log_n <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

static int derive(const char *password, size_t len, const unsigned char *salt, size_t saltlen,
                  int log_n, int r, int p, unsigned char *out, size_t outlen)
{
    uint64_t n = UINT64_C(1) << log_n;
    /* scrypt needs 128 * r * (N + p) bytes; OpenSSL's default ceiling
     * (32 MiB) is below the default cost. */
    uint64_t maxmem = UINT64_C(128) * (uint64_t)r * (n + (uint64_t)p) + (UINT64_C(1) << 20);
    return EVP_PBE_scrypt(password, len, salt, saltlen, n, (uint64_t)r, (uint64_t)p, maxmem, out,
                          outlen) == 1
               ? 0
               : -1;
}

/* Standard base64 without padding (PHC). */
static void b64(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
}

/* The inverse; the length decoded, or -1. */
static int unb64(const char *in, size_t n, unsigned char *out, size_t cap)
{
    char padded[PASSWORD_B64_MAX + 4];
    if (n == 0 || n % 4 == 1 || n > PASSWORD_B64_MAX)
        return -1;
    memcpy(padded, in, n);
    size_t pad = (4 - n % 4) % 4;
    memset(padded + n, '=', pad);
    unsigned char tmp[PASSWORD_B64_MAX];
    int len = EVP_DecodeBlock(tmp, (const unsigned char *)padded, (int)(n + pad));
    if (len < 0 || (size_t)len < pad)
        return -1;
    len -= (int)pad; /* EVP_DecodeBlock counts the padding's zero bytes */
    if ((size_t)len > cap)
        return -1;
    memcpy(out, tmp, (size_t)len);
    return len;
}

int password_hash(const char *password, size_t len, int log_n, int r, int p,
                  char out[PASSWORD_HASH_MAX])
{
    unsigned char salt[PASSWORD_SALT_LEN], key[PASSWORD_KEY_LEN];
    char s64[PASSWORD_B64_MAX], k64[PASSWORD_B64_MAX];
    out[0] = '\0';
    if (!params_ok(log_n, r, p) || RAND_bytes(salt, sizeof salt) != 1 ||
        derive(password, len, salt, sizeof salt, log_n, r, p, key, sizeof key) != 0)
        return -1;
    b64(salt, sizeof salt, s64);
    b64(key, sizeof key, k64);
    OPENSSL_cleanse(key, sizeof key);
    int n = snprintf(out, PASSWORD_HASH_MAX, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", log_n, r, p, s64, k64);
    return n > 0 && n < PASSWORD_HASH_MAX ? 0 : -1;
}

bool password_verify(const char *password, size_t len, const char *phc)
{
    int log_n, r, p, used = 0;
    if (!phc || sscanf(phc, "$scrypt$ln=%d,r=%d,p=%d$%n", &log_n, &r, &p, &used) != 3 || !used ||
        !params_ok(log_n, r, p))
        return false;
    const char *salt = phc + used, *dollar = strchr(salt, '$');
    if (!dollar)
        return false;
    unsigned char s[PASSWORD_B64_MAX], want[PASSWORD_B64_MAX], got[PASSWORD_B64_MAX];
    int slen = unb64(salt, (size_t)(dollar - salt), s, sizeof s);
    int klen = unb64(dollar + 1, strlen(dollar + 1), want, sizeof want);
    if (slen <= 0 || klen < 16 ||
        derive(password, len, s, (size_t)slen, log_n, r, p, got, (size_t)klen) != 0)
        return false;
    bool ok = CRYPTO_memcmp(got, want, (size_t)klen) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}
