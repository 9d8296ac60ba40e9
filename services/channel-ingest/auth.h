/* auth.h — integrator authentication: "Authorization: Bearer <key>".
 *
 * Keys are compared as SHA-256 hashes, in constant time, so neither the
 * stored form nor the timing reveals a key. CAREBUS_BOOTSTRAP_API_KEY is
 * accepted so that compose files and tests start without a manual step.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define AUTH_HASH_LEN 32

typedef struct auth auth;

/* NULL on allocation failure. bootstrap_key may be NULL or "". */
auth *auth_new(const char *bootstrap_key);
void auth_destroy(auth **pa);

/* SHA-256 of key. 0 or -1. */
int auth_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN]);

/* Extracts the key from an Authorization header value; NULL if the header
 * is absent or not a Bearer credential. *len receives the key's length. */
const char *auth_bearer(const char *header, size_t *len);

/* True when the request carries an accepted key; otherwise answers 401
 * (with WWW-Authenticate) and returns false. */
bool auth_check(auth *a, http_req *r);

#endif
