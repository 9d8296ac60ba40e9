/* sessions.h — the desk's sessions: the session's API key in a cookie, so
 * that every desk instance serves every session and a restart ends none.
 *
 * A session IS the API key channel-ingest's POST /v1/sessions made for the
 * agent (bound to them, scoped by role, expiring after
 * CAREBUS_SESSION_TTL_S, revoked by DELETE /v1/sessions/current). The
 * cookie DESK_COOKIE — HttpOnly, SameSite=Strict, Secure over TLS, Path=/ —
 * carries that key, and the desk forwards the browser's calls with it:
 * channel-ingest decides whether it still stands. A key it refuses
 * (expired, revoked: 401) is answered as signed out and the cookie cleared.
 * The desk keeps no session and holds no secret of its own: any instance,
 * restarted or not, behind any load balancer, serves any session, and
 * signing out (the key revoked through the API) makes every copy of the
 * cookie refused by every instance.
 *
 * The CSRF token is derived from the key: HMAC-SHA256 under the key of a
 * fixed label, in hex. Every instance computes the same one; the page gets
 * it (the key never reaches a script) and sends it back on every write
 * (header X-CSRF-Token, or the form field "csrf" for sign-out), compared
 * in constant time. Knowing it tells nothing of the key.
 *
 * Who the session is (agent id, name, role, teams) comes from the API's
 * GET /v1/sessions/current with the key (sessions_fetch, on a worker). The
 * page asks it every time it is served; the ticket scope check may use a
 * copy kept a few seconds (sessions_cached: bounded, keyed by the key's
 * SHA-256, on the loop only) — never as proof that the key stands, since
 * the call it guards is made with the key and refused if it does not.
 *
 * Why this way: the session already is that key, with its owner, scopes,
 * expiry and revocation kept by channel-ingest for every instance; a
 * session table shared by the desks would be a table the desk reads (it
 * reads none), and a cookie sealed under a key of the desk's would be a
 * secret every instance must share and rotate. The price: the cookie is a
 * bearer key of the public API, so a stolen cookie can be used on
 * channel-ingest directly (with the session's scopes, until it expires or
 * is revoked), not only through the desk, whose ticket check it then skips.
 */
#ifndef DESK_SESSIONS_H
#define DESK_SESSIONS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "apikey.h"
#include "http.h"
#include "pool.h"

#define DESK_COOKIE "carebus_desk"
#define DESK_CSRF_LEN 65 /* 64 hex digits, NUL */
#define DESK_AGENT_MAX 129
#define DESK_NAME_MAX 256
#define DESK_TEAMS_MAX 1024
/* The copies of who a key is, and for how long one is used. */
#define DESK_CACHED_MAX 256
#define DESK_CACHED_S 10

/* Who a session is, as the API tells. */
struct desk_agent {
    char id[DESK_AGENT_MAX];
    char name[DESK_NAME_MAX];
    char role[16];              /* agent, lead, supervisor */
    char teams[DESK_TEAMS_MAX]; /* the agent's teams: a JSON array */
};

typedef struct sessions sessions;

/* ttl_s: the cookie's life when its key's expiry is unknown. */
sessions *sessions_new(long ttl_s);
void sessions_destroy(sessions **ps);

/* The key r's cookie carries, when it has a session key's shape, else NULL
 * (borrowed from r). */
const char *sessions_key(http_req *r);

/* key's CSRF token; true when token is it (constant time). */
void sessions_csrf(const char *key, char out[DESK_CSRF_LEN]);
bool sessions_csrf_ok(const char *key, const char *token);

/* An agent object of the API (POST /v1/sessions' or GET
 * /v1/sessions/current's "agent") into a. False when it has no id. */
bool sessions_agent_read(const json_t *agent, struct desk_agent *a);

/* GET /v1/sessions/current with key, on a worker (blocking): 0 with *a
 * filled, 1 when the key is refused (expired, revoked, not a session's),
 * -1 when the API did not answer. */
int sessions_fetch(CURL *c, const pool *p, const char *api_url, const char *key,
                   struct desk_agent *a);

/* The copy of who key is, kept less than DESK_CACHED_S: true with *a
 * filled. On the loop only. */
bool sessions_cached(sessions *s, const char *key, struct desk_agent *a);
void sessions_remember(sessions *s, const char *key, const struct desk_agent *a);
void sessions_forget(sessions *s, const char *key);

/* Set-Cookie for a new session's key, living until expires_us (its key's
 * expiry; 0: unknown, ttl_s from now), or one that clears it. */
void sessions_set_cookie(const sessions *s, http_req *r, const char *key, int64_t expires_us);
void sessions_clear_cookie(http_req *r);

#endif
