/* token.h — signed survey links and CSRF fields (HMAC-SHA256).
 *
 * A link token is base64url (no padding) of 41 bytes:
 *
 *   version (1) | survey id (16) | expiry, Unix seconds, big-endian (8) | MAC (16)
 *
 * MAC = HMAC-SHA256(k_token, the first 25 bytes), truncated to 128 bits (RFC
 * 2104 allows truncation to half the hash length). It proves the link was
 * made here; the expiry in it lets a stale or forged link be refused without
 * asking PostgreSQL (which stays the truth for answered and expired).
 *
 * A CSRF field is base64url of HMAC-SHA256(k_csrf, "csrf" | token | nonce)
 * truncated to 128 bits, where nonce is the value of the form's cookie (16
 * random bytes, base64url): the signed double-submit cookie. Stateless, so
 * any instance checks any form.
 *
 * The two keys are derived from the service secret (HMAC of a label), so a
 * CSRF field can never pass as a link or the reverse. Pure functions except
 * survey_nonce_new (OpenSSL's RAND_bytes). Comparisons are constant-time.
 */
#ifndef CAREBUS_SURVEY_TOKEN_H
#define CAREBUS_SURVEY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"

#define SURVEY_KEY_LEN 32
struct survey_keys {
    unsigned char token[SURVEY_KEY_LEN];
    unsigned char csrf[SURVEY_KEY_LEN];
};

/* 55 base64url characters and the NUL. */
#define SURVEY_TOKEN_LEN 56
/* 22 base64url characters (16 bytes) and the NUL: nonces and CSRF fields. */
#define SURVEY_NONCE_LEN 23
#define SURVEY_CSRF_LEN 23

void survey_keys_derive(struct survey_keys *k, const char *secret, size_t len);

/* Writes the token of survey_id (a UUID text) expiring at exp_s. 0, or -1
 * when survey_id is not a UUID. */
int survey_token_make(const struct survey_keys *k, const char *survey_id, int64_t exp_s,
                      char out[SURVEY_TOKEN_LEN]);

typedef enum {
    TOKEN_OK = 0,
    TOKEN_FORGED,  /* malformed, unknown version or a MAC that does not match */
    TOKEN_EXPIRED, /* genuine, but exp_s <= now_s */
} survey_token_status;

/* Checks token; on TOKEN_OK and TOKEN_EXPIRED fills survey_id and *exp_s. */
survey_token_status survey_token_check(const struct survey_keys *k, const char *token,
                                       int64_t now_s, char survey_id[ID_LEN], int64_t *exp_s);

/* A fresh random nonce (base64url). 0 or -1. */
int survey_nonce_new(char out[SURVEY_NONCE_LEN]);
/* True when s is a well-formed nonce (22 base64url characters). */
bool survey_nonce_valid(const char *s);
void survey_csrf_make(const struct survey_keys *k, const char *token, const char *nonce,
                      char out[SURVEY_CSRF_LEN]);
/* True when field is the CSRF field of token and nonce (both non-NULL and
 * well-formed). */
bool survey_csrf_check(const struct survey_keys *k, const char *token, const char *nonce,
                       const char *field);

#endif
