/* auth.h — integrator authentication, channel scopes and rate limits.
 *
 * Requests carry "Authorization: Bearer <key>". Keys are known by their
 * SHA-256 only (apikey.h): the keys in ingest.api_keys that are not revoked,
 * plus CAREBUS_BOOTSTRAP_API_KEY. Handlers never wait on PostgreSQL, so the
 * table lives in memory — an open-addressing hash on the key's hash, looked
 * up in O(1) on the loop's one thread, no lock — and is reloaded from
 * PostgreSQL through the read queue every AUTH_REFRESH_MS: a key created or
 * revoked with carebusctl takes effect within about a second (while
 * PostgreSQL is unreachable the last table stays in force).
 *
 * Each key made with carebusctl has a token bucket (CAREBUS_RATE_LIMIT_RPS,
 * _BURST) that survives reloads, and optionally a set of channels: such a
 * key is answered 403 for other channels and for operations that name no
 * channel. The bootstrap key is the operator's own (compose files, tests,
 * the demo, the bench), set by whoever runs the service: it is not rate
 * limited, so that a load test or a catch-up replay is never refused.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apikey.h"
#include "dbq.h"
#include "event.h"
#include "http.h"
#include "id.h"
#include "loop.h"
#include "ratelimit.h"

#define AUTH_HASH_LEN APIKEY_HASH_LEN
#define AUTH_REFRESH_MS 1000
/* Bit c is set when channel c is allowed. */
#define AUTH_ALL_CHANNELS UINT32_MAX

typedef struct auth auth;

struct auth_key {
    unsigned char hash[AUTH_HASH_LEN];
    char id[ID_LEN]; /* the key's uuid, or "bootstrap" */
    uint32_t channels;
    bool unlimited; /* the bootstrap key: no rate limit */
    struct ratelimit bucket;
};

/* NULL on allocation failure. bootstrap_key may be NULL or "". rl is
 * copied. Loads nothing from PostgreSQL until auth_start_refresh. */
auth *auth_new(const char *bootstrap_key, const struct ratelimit_conf *rl);
/* Stops the refresh timer. Destroy the read queue first (it answers an
 * in-flight reload). */
void auth_destroy(auth **pa);

/* Reloads the table from ingest.api_keys through q, at once and then every
 * AUTH_REFRESH_MS. 0 or -1. */
int auth_start_refresh(auth *a, loop *l, dbq *q);
/* True once the table was loaded from PostgreSQL (readiness). */
bool auth_loaded(const auth *a);

/* One row of ingest.api_keys: replaces the table with the bootstrap key and
 * these. channels: comma-separated names, NULL for every channel. 0, or -1
 * on allocation failure (the old table stays). Pure but for the log. */
struct auth_row {
    const char *id;
    const unsigned char *hash; /* AUTH_HASH_LEN bytes */
    const char *channels;
};
int auth_replace(auth *a, const struct auth_row *rows, size_t n);
size_t auth_count(const auth *a);

/* SHA-256 of key. 0 or -1. */
int auth_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN]);

/* Extracts the key from an Authorization header value; NULL if the header
 * is absent or not a Bearer credential. *len receives the key's length. */
const char *auth_bearer(const char *header, size_t *len);

/* The entry of a key, or NULL when it is not accepted. Borrowed until the
 * table's next reload: use it before returning to the loop, or copy what
 * you need. */
struct auth_key *auth_lookup(auth *a, const char *key, size_t len);

/* The request's key, after taking a token from its bucket; or NULL after
 * answering 401 (with WWW-Authenticate) or 429 (with Retry-After). Borrowed
 * as auth_lookup's. */
const struct auth_key *auth_request(auth *a, http_req *r);

/* True when the request carries an accepted key within its rate; otherwise
 * answers 401 or 429 and returns false. */
bool auth_check(auth *a, http_req *r);

/* Channel scopes: true when k may use channel c (auth_channel_ok) or
 * operations without a channel (auth_unscoped_ok); otherwise answer 403. */
bool auth_allows(const struct auth_key *k, Carebus__V1__Channel c);
bool auth_channel_ok(http_req *r, const struct auth_key *k, Carebus__V1__Channel c);
bool auth_unscoped_ok(http_req *r, const struct auth_key *k);

#endif
