/* session.h — people signed in to a service's pages with an API key.
 *
 * A person pastes a key into a sign-in page; the service answers with a
 * cookie, SESSION_COOKIE = "<key id>.<expiry, unix seconds>.<MAC>", MAC the
 * hex HMAC-SHA256 of the id and expiry under the sessions' secret. The
 * cookie holds no secret of the key's: it names the key by id, so every
 * request looks the key up again (auth_lookup_id) and revoking the key ends
 * its sessions within a second. HttpOnly, SameSite=Lax, Secure over TLS,
 * Max-Age its lifetime (CAREBUS_SESSION_TTL_S, default 12 hours). Forms that
 * change something (sign-out) carry a CSRF token, the HMAC of the cookie
 * under another label, and the POST must come from the page's own origin.
 *
 * The secret is shared by every HTTP service and instance, so a session
 * made by one is good at all: CAREBUS_SESSION_SECRET (at least 32
 * characters) when set, else a random one made once and kept in PostgreSQL
 * (public.carebus_settings, name 'session_secret', the library's own
 * settings beside public.carebus_migrations; no role but the services'
 * reads it). Until it is read the service is not ready.
 */
#ifndef CAREBUS_SESSION_H
#define CAREBUS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dbq.h"
#include "form.h"
#include "http.h"
#include "id.h"
#include "loop.h"

#define SESSION_COOKIE "carebus_session"
#define SESSION_SECRET_MIN 32
/* "<id>.<expiry>.<64 hex>" */
#define SESSION_VALUE_LEN (ID_LEN + 24 + 65)
#define SESSION_CSRF_LEN 65
/* A route flag beside the scope (scope.h's room above SCOPE_MASK): a page
 * for people. Without credentials it redirects to SESSION_SIGNIN; an API
 * route answers 401. */
#define SESSION_PAGE (1u << 17)
#define SESSION_SIGNIN "/signin"

typedef struct session session;

/* NULL out of memory. secret: CAREBUS_SESSION_SECRET or NULL (then read
 * or made in PostgreSQL by session_start); ttl_s: the cookies' life. */
session *session_new(const char *secret, long ttl_s);
void session_destroy(session **ps);

/* CAREBUS_SESSION_SECRET and CAREBUS_SESSION_TTL_S. 0, or -1 after logging
 * a bad value (a secret shorter than SESSION_SECRET_MIN). */
int session_config(const char **secret, long *ttl_s);

/* Without a secret of its own: reads it from PostgreSQL through q, made
 * there by the first service that asks, retried until done. 0 or -1. */
int session_start(session *s, loop *l, dbq *q);
/* True once the secret is known (readiness). */
bool session_ready(const session *s);
long session_ttl(const session *s);

/* --- the cookie (pure, once the secret is known) ------------------------- */

/* The cookie's value for key_id, valid until expires (unix seconds). 0, or
 * -1 when the secret is not known yet or out is too small. */
int session_sign(const session *s, const char *key_id, int64_t expires, char *out, size_t n);
/* 0 when value is a cookie of ours, unexpired at now (unix seconds); its
 * key id is copied into key_id. -1 otherwise. */
int session_verify(const session *s, const char *value, int64_t now, char key_id[ID_LEN]);
/* The CSRF token of a cookie's value. 0 or -1. */
int session_csrf(const session *s, const char *value, char out[SESSION_CSRF_LEN]);
/* True when token is value's CSRF token (constant time). */
bool session_csrf_ok(const session *s, const char *value, const char *token);

/* --- requests ------------------------------------------------------------ */

/* The key behind the request's session cookie, or NULL (no cookie, not
 * ours, expired, the key revoked). Borrowed as auth_lookup's. */
struct auth_key *session_key(session *s, auth *a, http_req *r);

/* Adds the Set-Cookie header that signs r's client in with key_id (0), or
 * out (session_clear). -1 when the secret is not known. */
int session_set_cookie(session *s, http_req *r, const char *key_id);
void session_clear_cookie(http_req *r);

/* True when a state-changing request (a form's POST) comes from the page's
 * own origin: its Origin header, when sent, names the Host it was sent to. */
bool session_same_origin(http_req *r);

/* Reads the form a page POSTed (its body) into f, which must be zeroed;
 * the caller form_release()s it. 0, or -1 after answering 400 (a body that
 * is not a form form_parse takes). */
int session_form(http_req *r, struct form *f);

/* A guard for services with pages (http.h): public routes pass; others
 * need a Bearer key or a session (rate limited like the key) with the
 * route's scope. Without either: a page (SESSION_PAGE) redirects to
 * SESSION_SIGNIN?next=<where it was>, anything else answers 401. */
bool session_guard(session *s, auth *a, http_req *r, unsigned access);

#endif
