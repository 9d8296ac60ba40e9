/* twilio.h — Twilio Messaging (SMS, and WhatsApp through Twilio):
 * everything carebus knows of it, in twilio.c.
 *
 *   X-Twilio-Signature: base64 HMAC-SHA1(auth token, url + sorted name+value)
 */
#ifndef CAREBUS_CHANNELS_TWILIO_H
#define CAREBUS_CHANNELS_TWILIO_H

#include <stdbool.h>

#include "inbound.h"
#include "outbound.h"

/* POST /v1/webhooks/twilio/sms (incoming messages) and
 * POST /v1/webhooks/twilio/status (StatusCallback of our own messages). */
extern const struct inbound_adapter twilio_sms_inbound;
extern const struct inbound_adapter twilio_status_inbound;

/* An incoming message's form (b->form) to a contact; a status callback
 * posted there is ignored. */
int twilio_sms_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int twilio_sms_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                     struct inbound_error *err);

/* A StatusCallback's form to a status report: delivered, read, or
 * undelivered/failed with its ErrorCode; other statuses are ignored. */
int twilio_status_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int twilio_status_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                        struct inbound_error *err);

/* The signature of url and the form's parameters, base64 into out (28
 * characters and a NUL). 0 or -1 (out of memory). */
#define TWILIO_SIGNATURE_LEN 29
int twilio_signature(const char *auth_token, const char *url, const struct form *f,
                     char out[TWILIO_SIGNATURE_LEN]);
bool twilio_signature_ok(const char *header, const char *auth_token, const char *url,
                         const struct form *f);

/* SMS through the Messages resource (POST {base}/2010-04-01/Accounts/
 * {AccountSid}/Messages.json): CAREBUS_TWILIO_ACCOUNT_SID with
 * CAREBUS_TWILIO_AUTH_TOKEN (or CAREBUS_TWILIO_API_KEY_SID and _SECRET),
 * CAREBUS_TWILIO_FROM and/or CAREBUS_TWILIO_MESSAGING_SERVICE_SID,
 * CAREBUS_TWILIO_API_BASE; StatusCallback: the public URL (config.h) and
 * the status webhook's path. */
extern const struct outbound_adapter twilio_sms_outbound;

#endif
