/* sessions.h — agents signed in to the desk, kept in the desk's memory.
 *
 * A session is a random token (32 bytes, base64url) in the cookie
 * DESK_COOKIE — HttpOnly, SameSite=Strict, Secure over TLS, Path=/ — known
 * here by its SHA-256 only. It holds the agent (id, name, role, teams) and
 * the API key the sign-in made for them, the key every call to the API is
 * made with. Signing out forgets the session at once, so the cookie is
 * refused from then on even if someone kept a copy, and revokes its key.
 *
 * Each session has its CSRF token: the HMAC-SHA256 of the session's token
 * under a secret of this process, sent in the page and required on every
 * write (header X-CSRF-Token, or the form field "csrf" for sign-out).
 *
 * XXX: sessions live in one process's memory: a restart signs everyone
 * out (and revokes their keys: signin_revoke at start);
 * several desk instances would need a shared store.
 */
#ifndef DESK_SESSIONS_H
#define DESK_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "apikey.h"
#include "http.h"
#include "id.h"

#define DESK_COOKIE "carebus_desk"
#define DESK_TOKEN_LEN 44 /* 43 base64url characters, NUL */
#define DESK_CSRF_LEN 65  /* 64 hex digits, NUL */
#define DESK_SESSIONS_MAX 4096
#define DESK_AGENT_MAX 129
#define DESK_NAME_MAX 256
#define DESK_TEAMS_MAX 1024

struct desk_session {
    unsigned char hash[32]; /* SHA-256 of the token; all zero: a free slot */
    int64_t expires;        /* unix seconds */
    char agent_id[DESK_AGENT_MAX];
    char name[DESK_NAME_MAX];
    char role[16];              /* agent, lead, supervisor */
    char teams[DESK_TEAMS_MAX]; /* the agent's teams: a JSON array */
    char key[APIKEY_LEN];       /* the API key made for the session */
    char key_id[ID_LEN];
    char csrf[DESK_CSRF_LEN];
};

typedef struct sessions sessions;

sessions *sessions_new(long ttl_s);
void sessions_destroy(sessions **ps);

/* Stores a copy of proto (its hash, csrf and expiry are set here) and
 * writes the new token to token. The stored session, or NULL when full. */
const struct desk_session *sessions_add(sessions *s, const struct desk_session *proto,
                                        char token[DESK_TOKEN_LEN]);
/* The unexpired session of a token, or NULL. Borrowed until the next add
 * or remove. sessions_of: the same for r's cookie. */
const struct desk_session *sessions_find(sessions *s, const char *token);
const struct desk_session *sessions_of(sessions *s, http_req *r);
/* Forgets a session; its API key is copied to key (for revoking). */
void sessions_remove(sessions *s, const struct desk_session *d, char key[APIKEY_LEN]);
/* Forgets the expired sessions, calling fn with each one's API key. */
void sessions_sweep(sessions *s, void (*fn)(const char *key, void *arg), void *arg);

/* True when token is d's CSRF token (constant time). */
bool sessions_csrf_ok(const struct desk_session *d, const char *token);

/* Set-Cookie for a new session, or one that clears it. */
void sessions_set_cookie(const sessions *s, http_req *r, const char *token);
void sessions_clear_cookie(http_req *r);

#endif
