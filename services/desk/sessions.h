/* sessions.h — the desk's sessions: the session's API key, sealed, in a
 * cookie, so that every desk instance serves every session and a restart
 * ends none.
 *
 * A session IS the API key channel-ingest's POST /v1/sessions made for the
 * agent (bound to them, scoped by role, expiring after
 * CAREBUS_SESSION_TTL_S, revoked by DELETE /v1/sessions/current). The
 * cookie DESK_COOKIE — HttpOnly, SameSite=Strict, Secure over TLS, Path=/ —
 * carries that key sealed under the desk's secret: DESK_SEAL_PREFIX and the
 * base64url of a random 12-byte nonce, the AES-256-GCM ciphertext of the
 * key and its tag (additional data: a fixed label naming the format). The
 * agent, who can read their own cookie, holds no key of the API: the desk
 * alone opens it, and forwards the browser's calls with the key, so its
 * own rules (proxy.c: an agent opens only their tickets and their teams')
 * cannot be gone around by calling channel-ingest directly. A cookie that
 * does not open (another secret, a byte changed, a plain key of an older
 * desk) is no session: answered as signed out, the cookie cleared. Whether
 * the key inside still stands is channel-ingest's to say: a key it refuses
 * (expired, revoked: 401) is answered the same way.
 *
 * The secret: 32 bytes, CAREBUS_DESK_SECRET (64 hex digits) or the file
 * CAREBUS_DESK_SECRET_FILE names (keyfile.h); every desk instance given the
 * same one serves every session, and a restart ends none (`make run` makes
 * var/desk.key once). Without one the desk makes a random secret in its
 * memory (a warning is logged): its sessions end when it restarts and no
 * other instance can open its cookies. Signing out revokes the key through
 * the API, so every copy of the cookie is refused by every instance.
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
 * reads none). The price: the desks share one secret (rotating it signs
 * everyone out), and a stolen cookie is a session on the desk — with the
 * agent's rules — until it expires or is revoked.
 */
#ifndef DESK_SESSIONS_H
#define DESK_SESSIONS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "apikey.h"
#include "base64url.h"
#include "gcm.h"
#include "http.h"
#include "pool.h"

#define DESK_COOKIE "carebus_desk"
/* The sealed cookie's format, named by its prefix and its additional data. */
#define DESK_SEAL_PREFIX "v1."
#define DESK_SEAL_AAD "carebus-desk session 1"
#define DESK_SECRET_LEN 32
/* The prefix, base64url(nonce, the sealed key, tag), NUL. */
#define DESK_SEALED_MAX                                                                            \
    (sizeof DESK_SEAL_PREFIX - 1 + BASE64URL_LEN(GCM_NONCE_LEN + APIKEY_LEN - 1 + GCM_TAG_LEN) + 1)
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

/* ttl_s: the cookie's life when its key's expiry is unknown; secret: the
 * cookies' sealing key (copied; wiped by sessions_destroy); secure: the
 * cookie is Secure also when the desk serves plain HTTP (behind a proxy
 * that serves it over TLS; over the desk's own TLS it always is). */
sessions *sessions_new(long ttl_s, const uint8_t secret[DESK_SECRET_LEN], bool secure);
void sessions_destroy(sessions **ps);

/* key (a session key's shape) sealed into out, under a fresh nonce: 0, or
 * -1 when key has not that shape or OpenSSL failed. */
int sessions_seal(const sessions *s, const char *key, char out[DESK_SEALED_MAX]);
/* The key sealed in value into key: true when value opens under s's secret
 * (format, tag) and holds a session key's shape; else false, key wiped. */
bool sessions_open(const sessions *s, const char *value, char key[APIKEY_LEN]);
/* The key r's cookie carries, opened into key: sessions_open's answer
 * (false without a cookie). */
bool sessions_key(const sessions *s, http_req *r, char key[APIKEY_LEN]);

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

/* Set-Cookie for a new session's key, sealed, living until expires_us (its
 * key's expiry; 0: unknown, ttl_s from now): 0, or -1 when it could not be
 * sealed (no header added). sessions_clear_cookie: one that clears it. */
int sessions_set_cookie(const sessions *s, http_req *r, const char *key, int64_t expires_us);
void sessions_clear_cookie(http_req *r);

#endif
