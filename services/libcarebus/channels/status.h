/* status.h — message.delivered, message.read and message.failed as a
 * provider's status webhook reports them (built by each channel's status
 * parser, inbound.h), for the ingest stream.
 *
 * Like a contact, a status points into itself (envelope, body, times, ids)
 * and must not move once status_init has run; its strings are borrowed from
 * the parsed request. Providers redeliver webhooks, so each status has a
 * stable idempotency key: scope "status:<channel>", key "<kind>:" and the
 * provider's message ids (comma-separated), or, for a watermark receipt
 * (Messenger: "everything before this time"), the recipient and the
 * watermark ("read:<psid>@<ms>"). A key that would be longer than
 * STATUS_KEY_MAX is "<kind>:sha256:<hex of the same text>".
 */
#ifndef CAREBUS_CHANNELS_STATUS_H
#define CAREBUS_CHANNELS_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/* Ids kept per status; a receipt naming more keeps the first ones (its
 * watermark, when it has one, covers the rest). */
#define STATUS_MAX_IDS 64
#define STATUS_MAX_ID 256
#define STATUS_KEY_MAX 255
#define STATUS_SCOPE_LEN 32

typedef enum status_kind { STATUS_DELIVERED, STATUS_READ, STATUS_FAILED } status_kind;

struct status {
    event ev;
    status_kind kind;
    Carebus__V1__Channel channel;
    /* Set by the parser before status_seal (borrowed strings): */
    const char *recipient; /* the customer's handle on the channel */
    int64_t watermark_us;  /* 0: none */
    char *ids[STATUS_MAX_IDS];
    size_t nids;
    /* message.failed: the provider's code and message (status_add_id's
     * first id is its provider_message_id), permanent or not. */
    const char *code, *reason;
    bool permanent;
    /* The envelope's parts, filled by status_seal: */
    Carebus__V1__MessageDelivered delivered;
    Carebus__V1__MessageRead read;
    Carebus__V1__MessageFailed failed;
    Google__Protobuf__Timestamp occurred, watermark;
    char idem_scope[STATUS_SCOPE_LEN];
    char idem_key[STATUS_KEY_MAX + 1];
};

/* Empties s for a status of kind on channel ch. */
void status_init(struct status *s, Carebus__V1__Channel ch, status_kind kind);

/* Adds a provider message id (borrowed). False, and nothing added, when id
 * is NULL, empty or longer than STATUS_MAX_ID, or s already holds
 * STATUS_MAX_IDS. */
bool status_add_id(struct status *s, const char *id);

/* Completes the envelope (body, type, occurred_at) and the idempotency key.
 * False when s is unusable: no id and no watermark, a failure without an
 * id, or out of memory for a long key's hash. */
bool status_seal(struct status *s, int64_t occurred_us);

/* "delivered", "read", "failed". */
const char *status_kind_name(status_kind k);

#endif
