/* auth.h — API keys in an HTTP service: the key table, who a request is,
 * rate limits and the refusals (401, 403, 429).
 *
 * Requests carry "Authorization: Bearer <key>" (or, on a route flagged
 * AUTH_BASIC, the key as HTTP Basic's password). Keys are known by their
 * SHA-256 only (apikey.h): the keys in ingest.api_keys neither revoked nor
 * expired (a session's key expires: POST /v1/sessions), plus
 * CAREBUS_BOOTSTRAP_API_KEY (every scope, every channel, no rate
 * limit: the operator's own, for compose files, tests, the demo and the
 * bench). Handlers never wait on PostgreSQL, so the table lives in memory —
 * an open-addressing hash on the key's hash, looked up in O(1) on the loop's
 * one thread, no lock — and is reloaded from PostgreSQL through a read
 * queue every AUTH_REFRESH_MS: a key created or revoked with carebusctl
 * takes effect within about a second (while PostgreSQL is unreachable the
 * last table stays in force). Each key made with carebusctl has a token
 * bucket (CAREBUS_RATE_LIMIT_RPS, _BURST) that survives reloads.
 *
 * What a key may do is its grant (access.h): scopes, channels, agent. The
 * service's guard (auth_guard, or its own built on auth_request) checks the
 * route's scope before the handler runs and leaves the grant's copy on the
 * request (auth_grant); the handlers check the rest with the facts they
 * read. Refusals are counted under the service's metrics prefix:
 * <prefix>_rejected_total{reason=...} and, per scope named by a 403,
 * <prefix>_forbidden_total{scope=...} ("none" when no scope would do).
 */
#ifndef CAREBUS_AUTH_H
#define CAREBUS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "apikey.h"
#include "dbq.h"
#include "http.h"
#include "loop.h"
#include "ratelimit.h"

#define AUTH_HASH_LEN APIKEY_HASH_LEN
#define AUTH_REFRESH_MS 1000

typedef struct auth auth;

struct auth_key {
    unsigned char hash[AUTH_HASH_LEN];
    struct access_grant grant;
    bool unlimited; /* the bootstrap key: no rate limit */
    struct ratelimit bucket;
};

/* NULL on allocation failure. bootstrap_key may be NULL or "". rl is
 * copied. prefix names the metrics ("carebus_ingest"). Loads nothing from
 * PostgreSQL until auth_start_refresh. */
auth *auth_new(const char *bootstrap_key, const struct ratelimit_conf *rl, const char *prefix);
/* Stops the refresh timer. Destroy the read queue first (it answers an
 * in-flight reload). */
void auth_destroy(auth **pa);

/* CAREBUS_RATE_LIMIT_RPS (default 1000, 0: none) and
 * CAREBUS_RATE_LIMIT_BURST (default twice the rate). 0, or -1 after logging
 * a bad value. */
int auth_config(struct ratelimit_conf *rl);

/* Reloads the table from ingest.api_keys through q, at once and then every
 * AUTH_REFRESH_MS. 0 or -1. */
int auth_start_refresh(auth *a, loop *l, dbq *q);
/* True once the table was loaded from PostgreSQL (readiness). */
bool auth_loaded(const auth *a);

/* One row of ingest.api_keys: replaces the table with the bootstrap key and
 * these. channels and scopes: comma-separated names (channels NULL for
 * every channel); agent_id NULL or "" when the key is not bound. 0, or -1
 * on allocation failure (the old table stays). Pure but for the log. */
struct auth_row {
    const char *id;
    const unsigned char *hash; /* AUTH_HASH_LEN bytes */
    const char *channels;
    const char *scopes;
    const char *agent_id;
    int64_t expires_us; /* 0: never */
};
int auth_replace(auth *a, const struct auth_row *rows, size_t n);
size_t auth_count(const auth *a);

/* SHA-256 of key. 0 or -1. */
int auth_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN]);

/* Extracts the key from an Authorization header value; NULL if the header
 * is absent or not a Bearer credential. *len receives the key's length. */
const char *auth_bearer(const char *header, size_t *len);

/* The password of a Basic credential ("Basic " base64 of "user:password")
 * decoded into out (size bytes, NUL-terminated); NULL if the header is
 * absent, not Basic, not base64, too long for out, without ":" or with an
 * empty password. *len receives the password's length. */
#define AUTH_BASIC_MAX 1024
const char *auth_basic_password(const char *header, char *out, size_t size, size_t *len);

/* The entry of a key (auth_lookup) or of a key id (auth_lookup_id: a
 * session's key), or NULL when it is not accepted (unknown, revoked).
 * Borrowed until the table's next reload: use it before returning to the
 * loop, or copy its grant. */
struct auth_key *auth_lookup(auth *a, const char *key, size_t len);
struct auth_key *auth_lookup_id(auth *a, const char *id);

/* Takes a token from k's bucket: true, or false after answering 429 (with
 * Retry-After). */
bool auth_take(auth *a, http_req *r, struct auth_key *k);

/* The request's key from its Bearer header, after taking a token from its
 * bucket; or NULL after answering 401 (with WWW-Authenticate) or 429.
 * Borrowed as auth_lookup's. */
const struct auth_key *auth_request(auth *a, http_req *r);
/* The same, the key given as Bearer or as Basic's password (the user is
 * ignored); a 401 challenges Basic (WWW-Authenticate: Basic
 * realm="carebus"), which is what makes HTTP clients that hold credentials
 * in a URL send them. */
const struct auth_key *auth_request_basic(auth *a, http_req *r);

/* A route flag beside the scope (scope.h's room above SCOPE_MASK): the key
 * may come as HTTP Basic's password (auth_request_basic), for a provider
 * that can send nothing else (Postmark's inbound webhook). */
#define AUTH_BASIC (1u << 18)

/* Checks g against the route's need and the facts (access_decide); false
 * after answering 403. */
bool auth_allow(auth *a, http_req *r, const struct access_grant *g, unsigned need,
                const struct access_facts *f);
/* Lets a key in: checks its scope for `need`, then leaves a copy of its
 * grant on the request. False after answering (403, or 503 out of memory). */
bool auth_admit(auth *a, http_req *r, const struct access_grant *g, unsigned need);

/* A guard for services whose every route takes a Bearer key (http.h):
 * public routes pass; others need a key (401, 429; Bearer or Basic's
 * password with AUTH_BASIC) with the route's scope (403). a: the auth. */
bool auth_guard(auth *a, http_req *r, unsigned access);

/* The grant the guard left on the request, or NULL (a public route). */
const struct access_grant *auth_grant(const http_req *r);

/* The channel checks of access.h, answering 403 when refused. */
bool auth_channel_ok(auth *a, http_req *r, const struct access_grant *g, Carebus__V1__Channel c);
bool auth_unscoped_ok(auth *a, http_req *r, const struct access_grant *g);

/* Answers 403 for d: {"error":{"code":"forbidden","message","field",
 * "scope"}} (scope: the one that would allow it, or null), counted. */
void auth_deny(auth *a, http_req *r, const struct access_denial *d);

/* Counts a refusal answered otherwise (a page): <prefix>_rejected_total
 * {reason="<reason>"}, and for "forbidden" <prefix>_forbidden_total
 * {scope=...} (scope 0: "none"). */
void auth_tally(auth *a, const char *reason, unsigned scope);

/* Answers a refusal other than 403 ({"error":{...}}), counted in
 * <prefix>_rejected_total{reason="<reason>"} and logged at info. */
void auth_reject(auth *a, http_req *r, unsigned status, const char *reason, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
