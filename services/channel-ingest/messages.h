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
 * message_parse and message_parse_pb are pure (unit-tested, fuzzed): bytes
 * in, a contact.received envelope out, or the first error with the field
 * that caused it. Both apply the same rules: a channel, a customer known by
 * at least one phone, email or handle, each of which must normalise
 * (identity.h) — a contact the router could not place is refused here
 * rather than accepted and lost. The envelope's strings point into the
 * parsed document (the JSON, or *owned), which must outlive it.
 */
#ifndef MESSAGES_H
#define MESSAGES_H

#include <jansson.h>
#include <stdint.h>

#include "event.h"
#include "field.h"

#define MESSAGE_MAX_ATTACHMENTS 32
#define MESSAGE_MAX_REFERENCES 64
#define MESSAGE_MAX_ID 256

struct message {
    event ev;
    Carebus__V1__ContactReceived contact;
    Carebus__V1__CustomerRef customer;
    Google__Protobuf__Timestamp occurred;
    Carebus__V1__Attachment attachments[MESSAGE_MAX_ATTACHMENTS];
    Carebus__V1__Attachment *attachment_ptrs[MESSAGE_MAX_ATTACHMENTS];
    char *references[MESSAGE_MAX_REFERENCES];
    /* "msg:<channel>": the scope of external_id */
    char idem_scope[32];
    /* the envelope's idempotency_key (protobuf bodies), borrowed; or NULL */
    const char *idem_key;
};

/* Fills m from root; now_us is used when occurred_at is absent. 0, or -1
 * with err set. */
int message_parse(const json_t *root, int64_t now_us, struct message *m, struct message_error *err);

/* The same from a packed carebus.v1.Envelope. On success *owned receives
 * the unpacked envelope that m points into (free with event_destroy after m's
 * last use); on failure *owned is NULL. */
int message_parse_pb(const uint8_t *buf, size_t len, int64_t now_us, struct message *m,
                     event **owned, struct message_error *err);

#endif
