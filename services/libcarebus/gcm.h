/* gcm.h — AES-256-GCM through OpenSSL's EVP: sealing and opening with
 * additional data, for everything carebus encrypts (the event log's
 * personal fields and data keys, datakey.h; the desk's session cookie).
 *
 * The caller owns the context (one per thread, reused) and chooses the
 * nonce: never twice under one key. Opening checks the tag: a ciphertext,
 * tag, nonce or additional data changed by one bit, or another key, fails.
 */
#ifndef CAREBUS_GCM_H
#define CAREBUS_GCM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define GCM_KEY_LEN 32
#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16

/* ct (n bytes) and tag (GCM_TAG_LEN) from pt (n bytes) under key and
 * nonce (GCM_NONCE_LEN), with aad (aad_len bytes, may be 0). 0 or -1. */
int gcm_seal(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
             size_t aad_len, const uint8_t *pt, size_t n, uint8_t *ct, uint8_t *tag);

/* pt (n bytes) from ct (n bytes) and tag; -1 when the tag does not verify
 * (pt's content is then undefined: the caller wipes it). */
int gcm_open(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
             size_t aad_len, const uint8_t *ct, size_t n, const uint8_t *tag, uint8_t *pt);

#endif
