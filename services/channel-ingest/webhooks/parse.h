/* parse.h — each channel's payload to contact.received messages.
 *
 * Pure functions (no I/O, no clock: now_us stands in for a time the payload
 * lacks), one per channel, in that channel's file. *_map reads what the
 * batch already holds (b->root, or b->form for Twilio) and appends one
 * message per customer message; *_parse loads the body first (for fuzz
 * targets and unit tests; the handlers load, verify the signature, then
 * map).
 *
 * Outcome: 0 — b holds the messages (maybe none: receipts, reads, echoes of
 * our own messages and other non-message events are counted in b->ignored,
 * customer messages without a sender or id in b->skipped); -1 — err says
 * why the body is refused (status 400: not JSON, wrong shape, too many
 * messages; 503: out of memory).
 */
#ifndef WEBHOOK_PARSE_H
#define WEBHOOK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

/* Facebook Messenger (and Instagram messaging, same shape with "object":
 * "instagram"): entry[].messaging[] with a "message". */
int webhook_facebook_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
int webhook_facebook_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                           struct webhook_error *err);

/* WhatsApp Cloud API: entry[].changes[].value.messages[]. */
int webhook_whatsapp_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
int webhook_whatsapp_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                           struct webhook_error *err);

/* Zalo Official Account: one event per request, user_send_* are messages. */
int webhook_zalo_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
int webhook_zalo_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                       struct webhook_error *err);
/* The payload's "timestamp" as the signature covers it (a string as is, an
 * integer in decimal) into buf; NULL when absent. */
const char *webhook_zalo_timestamp(const json_t *root, char *buf, size_t size);

/* Twilio Messaging (SMS, and WhatsApp through Twilio): one message per
 * request, from b->form. */
int webhook_twilio_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
int webhook_twilio_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                         struct webhook_error *err);

/* Postmark inbound email: one message per request. */
int webhook_email_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
int webhook_email_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                        struct webhook_error *err);
/* RFC 5322 date-time ("Thu, 5 Apr 2012 16:59:01 +0200", day name and
 * seconds optional, obsolete zone names accepted). 0 or -1. */
int webhook_rfc5322_date(const char *s, int64_t *us);

#endif
