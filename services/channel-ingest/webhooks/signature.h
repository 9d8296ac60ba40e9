/* signature.h — the channels' webhook signatures, verified in one place.
 *
 * Every comparison of a secret-derived value is constant-time (hmac.h's
 * compares, CRYPTO_memcmp over equal lengths); what varies with the
 * attacker's input (a header's length, its hex decoding) is not secret.
 * HMACs are libcarebus's (hmac.h). Pure functions: no configuration, no I/O.
 *
 *   Meta (Facebook, WhatsApp)  X-Hub-Signature-256: "sha256=" hex HMAC-SHA256(app secret, body)
 *   Zalo OA                    X-ZEvent-Signature: "mac=" hex SHA-256(app_id body timestamp
 * oa_secret) Twilio                     X-Twilio-Signature: base64 HMAC-SHA1(auth token, url +
 * sorted name+value)
 */
#ifndef WEBHOOK_SIGNATURE_H
#define WEBHOOK_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "form.h"
#include "hmac.h"

/* SHA-256 of the concatenated parts. 0 or -1. */
int signature_sha256(const struct hmac_part *parts, size_t nparts, unsigned char out[32]);

/* True when a and b are the same string, in time independent of where they
 * differ (the GET handshake's verify token). NULL is never equal. */
bool signature_token_equal(const char *a, const char *b);

/* X-Hub-Signature-256 (header may be NULL: false). */
bool signature_meta_ok(const char *header, const char *app_secret, const char *body, size_t len);

/* X-ZEvent-Signature; timestamp is the payload's "timestamp" as written. */
bool signature_zalo_ok(const char *header, const char *app_id, const char *body, size_t len,
                       const char *timestamp, const char *oa_secret);

/* The Twilio signature of url and the form's parameters, base64 into out
 * (28 characters and a NUL). 0 or -1 (out of memory). */
#define SIGNATURE_TWILIO_LEN 29
int signature_twilio(const char *auth_token, const char *url, const struct form *f,
                     char out[SIGNATURE_TWILIO_LEN]);
bool signature_twilio_ok(const char *header, const char *auth_token, const char *url,
                         const struct form *f);

#endif
