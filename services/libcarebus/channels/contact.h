/* contact.h — a contact.received event being built, whoever brings it:
 * an integrator's POST /v1/messages or a channel's webhook (inbound.h).
 *
 * A contact holds the envelope, its body and the storage their pointers
 * use (customer, time, attachments, references): it points into itself and
 * must not move once contact_init has run. Its strings are borrowed from
 * the parsed request, which must outlive it. The idempotency scope is
 * "msg:<channel>" and the key the channel's own message id (external_id),
 * so a channel's retry and an integrator posting the same message id land
 * on the one event.
 */
#ifndef CAREBUS_CHANNELS_CONTACT_H
#define CAREBUS_CHANNELS_CONTACT_H

#include <stdint.h>

#include "event.h"

#define CONTACT_MAX_ATTACHMENTS 32
#define CONTACT_MAX_REFERENCES 64
/* Longest external_id (and, from webhooks, handle) kept: a cut id could
 * collide with another message's. */
#define CONTACT_MAX_ID 256
#define CONTACT_SCOPE_LEN 32

struct contact {
    event ev;
    Carebus__V1__ContactReceived contact;
    Carebus__V1__CustomerRef customer;
    Google__Protobuf__Timestamp occurred;
    Carebus__V1__Attachment attachments[CONTACT_MAX_ATTACHMENTS];
    Carebus__V1__Attachment *attachment_ptrs[CONTACT_MAX_ATTACHMENTS];
    char *references[CONTACT_MAX_REFERENCES];
    /* "msg:<channel>": the scope of external_id (contact_seal) */
    char idem_scope[CONTACT_SCOPE_LEN];
    /* the envelope's idempotency_key (protobuf bodies), borrowed; or NULL */
    const char *idem_key;
};

/* Empties c and links its parts (the body's customer); channel ch. */
void contact_init(struct contact *c, Carebus__V1__Channel ch);

/* Appends an attachment (strings borrowed; NULL means ""): a file by its
 * url, or by media_id, the provider's own id of it (WhatsApp gives only
 * that). Beyond CONTACT_MAX_ATTACHMENTS the rest are dropped: a channel's
 * message is never refused for carrying many files. */
void contact_attach(struct contact *c, const char *name, const char *content_type, uint64_t size,
                    const char *url, const char *media_id);

/* Completes the envelope once the fields are set: its body, type and
 * occurred_at (occurred_us), and the idempotency scope of its channel. */
void contact_seal(struct contact *c, int64_t occurred_us);

#endif
