/* apikey.h — integrator API keys: their format and their stored hash.
 *
 * Shared by channel-ingest (which checks keys) and carebusctl (which makes
 * them), so that both agree on one definition. A key is "cb_" followed by
 * 43 base64url characters: 32 random bytes from OpenSSL's RAND_bytes (256
 * bits, so a plain SHA-256 suffices as the stored form: no key can be
 * guessed from its hash, and no salt or slow hash is needed as it would be
 * for a password), stored and shown as hex (hex.h). The prefix lets secret
 * scanners recognise leaked keys.
 * Keys set by hand (CAREBUS_BOOTSTRAP_API_KEY) may have any form.
 */
#ifndef CAREBUS_APIKEY_H
#define CAREBUS_APIKEY_H

#include <stddef.h>

#define APIKEY_HASH_LEN 32
#define APIKEY_PREFIX "cb_"
#define APIKEY_RANDOM_BYTES 32
/* "cb_", 43 base64url characters, NUL. */
#define APIKEY_LEN (3 + 43 + 1)

/* SHA-256 of the key's bytes. 0 or -1. Does not block. */
int apikey_hash(const char *key, size_t len, unsigned char out[APIKEY_HASH_LEN]);

/* A new random key into out. 0, or -1 when the random generator failed. */
int apikey_generate(char out[APIKEY_LEN]);

#endif
