/* webhook.h — carebus's own webhooks: signatures, requests, and what an
 * integrator's answer means. Pure functions; nothing here blocks.
 *
 * Signed the Standard Webhooks way (standardwebhooks.com, v1): headers
 * webhook-id (the delivery id, the same on every attempt: receivers
 * deduplicate on it), webhook-timestamp (unix seconds of this attempt) and
 * webhook-signature "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>",
 * the key being the base64 after "whsec_" of the subscription's secret. A
 * secret without that prefix (CAREBUS_OUTBOUND_WEBHOOK_SECRET as operators
 * set it) is used as its bytes. The static subscriptions of
 * CAREBUS_OUTBOUND_WEBHOOK_URLS also keep the headers survey sent before
 * courier existed: X-Carebus-Delivery, X-Carebus-Event and
 * X-Carebus-Signature "sha256=<hex HMAC-SHA256(secret, body)>".
 */
#ifndef CAREBUS_COURIER_WEBHOOK_H
#define CAREBUS_COURIER_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channels/outbound.h"

/* The longest signing key kept (a raw secret beyond it is refused). */
#define WEBHOOK_KEY_MAX 256
/* "v1," and the base64 of 32 bytes, NUL. */
#define WEBHOOK_SIG_LEN 48
/* "sha256=" and 64 hex digits, NUL. */
#define WEBHOOK_LEGACY_SIG_LEN 72

/* The signing key of a secret: the bytes base64-encoded after "whsec_", or
 * else the secret's own bytes. 0, or -1 (empty, too long, bad base64). */
int webhook_key(const char *secret, unsigned char key[WEBHOOK_KEY_MAX], size_t *len);

/* "v1,<base64>" into out. */
void webhook_signature(const unsigned char *key, size_t keylen, const char *id, int64_t ts_s,
                       const char *body, size_t len, char out[WEBHOOK_SIG_LEN]);

/* "sha256=<hex HMAC-SHA256(secret, body)>" into out. */
void webhook_legacy_signature(const char *secret, const char *body, size_t len,
                              char out[WEBHOOK_LEGACY_SIG_LEN]);

/* The body the static subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS get,
 * as survey POSTed survey.requested before courier: the event's fields
 * (ev is event_json's) and its body's at the top level, with
 * delivery_id, so that a receiver written for that shape keeps working. A
 * new string (free), or NULL when out of memory. */
char *webhook_legacy_body(const json_t *ev, const char *delivery_id);

/* Where and how one delivery goes. */
struct webhook_target {
    const char *url;
    const unsigned char *key; /* NULL: unsigned */
    size_t keylen;
    const char *legacy_secret; /* non-NULL: also the X-Carebus-* headers */
};

/* The request of one attempt: POST body to t->url with the headers above.
 * 0, or -1 when out of memory (req released). */
int webhook_request(const struct webhook_target *t, const char *delivery_id, const char *event_type,
                    const char *body, int64_t now_s, struct outbound_request *req);

/* What an answer means. An event notification is retried on anything but
 * a 2xx (the receiver may be down or misconfigured; the subscription is
 * paused if it keeps failing). A message handed to the integrator
 * (message.outbound in integrator mode) may be refused for good: a 4xx
 * other than 408, 425 and 429 is a permanent failure, with the code and
 * message of a JSON answer {"code","message"} (or {"error":{...}}) when
 * there is one, else "http_<status>" and the body's first line. A 2xx may
 * name the message's id at the integrator ({"provider_message_id"},
 * {"message_id"} or {"id"}). Transport errors, 408, 425, 429 and 5xx are
 * retried, after Retry-After when given. */
void webhook_classify(bool carries_message, const struct outbound_response *resp, int64_t now_us,
                      struct outbound_result *res);

#endif
