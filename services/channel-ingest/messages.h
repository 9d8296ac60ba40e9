/* messages.h — POST /v1/messages: a customer contact on any channel.
 *
 * Two body formats make the same contact.received event:
 *   application/json        the JSON object documented in docs/openapi.yaml
 *   application/x-protobuf  a packed carebus.v1.Envelope whose body is
 *                           contact_received; its occurred_at and
 *                           idempotency_key are used, every other envelope
 *                           field (ids, stream, seq, recorded_at) is
 *                           assigned here and ignored if sent
 *
 * messages_parse and messages_parse_pb are pure (unit-tested, fuzzed): bytes
 * in, a contact.received envelope out, or the first error with the field
 * that caused it. Both apply the same rules: a channel, a customer known by
 * at least one phone, email or handle, each of which must normalise
 * (identity.h) — a contact the router could not place is refused here
 * rather than accepted and lost. The contact (libcarebus channels/contact.h,
 * shared with the channels' webhooks) points into the parsed document (the
 * JSON, or *owned), which must outlive it.
 */
#ifndef MESSAGES_H
#define MESSAGES_H

#include <jansson.h>
#include <stdint.h>

#include "channels/contact.h"
#include "event.h"
#include "field.h"

/* Fills m from root; now_us is used when occurred_at is absent. 0, or -1
 * with err set. */
int messages_parse(const json_t *root, int64_t now_us, struct contact *m,
                   struct message_error *err);

/* The same from a packed carebus.v1.Envelope. On success *owned receives
 * the unpacked envelope that m points into (free with event_destroy after m's
 * last use); on failure *owned is NULL. */
int messages_parse_pb(const uint8_t *buf, size_t len, int64_t now_us, struct contact *m,
                      event **owned, struct message_error *err);

#endif
