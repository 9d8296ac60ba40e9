/* hmac.h — HMAC (RFC 2104) over OpenSSL libcrypto, and constant-time
 * comparison of what it makes.
 *
 * SHA-256 for our own signatures (survey links and deliveries) and Meta's
 * and Zalo's webhooks; SHA-1 only because Twilio signs with it. Input comes
 * in parts, MAC'd as their concatenation, so that a caller need not copy a
 * URL and a body into one buffer. Every comparison of a secret-derived
 * value goes through hmac_equal or hmac_equal_hex (CRYPTO_memcmp): their
 * time depends on the lengths, never on where the bytes differ. Pure
 * functions; they do not block.
 */
#ifndef CAREBUS_HMAC_H
#define CAREBUS_HMAC_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { HMAC_SHA1, HMAC_SHA256 } hmac_digest;

#define HMAC_SHA1_LEN 20
#define HMAC_SHA256_LEN 32
#define HMAC_MAX_LEN HMAC_SHA256_LEN

struct hmac_part {
    const void *p;
    size_t n; /* 0: the part is skipped (p may be NULL) */
};

/* The MAC's length for d; 0 for an unknown digest. */
size_t hmac_len(hmac_digest d);

/* HMAC-d of the concatenated parts under key (keylen bytes; an empty key is
 * legal). out receives hmac_len(d) bytes. 0, or -1 for an unknown digest or
 * when libcrypto fails. */
int hmac_compute(hmac_digest d, const void *key, size_t keylen, const struct hmac_part *parts,
                 size_t nparts, unsigned char out[HMAC_MAX_LEN]);

/* True when a and b (n bytes each) are equal, in time independent of
 * where they differ. */
bool hmac_equal(const void *a, const void *b, size_t n);

/* True when hex (hexlen digits, either case) encodes exactly mac (maclen
 * bytes, at most HMAC_MAX_LEN); constant-time in the bytes' values. */
bool hmac_equal_hex(const char *hex, size_t hexlen, const unsigned char *mac, size_t maclen);

#endif
