/* messages.h — POST /v1/messages: a customer contact on any channel.
 *
 * message_parse is pure (unit-tested): JSON in, a contact.received envelope
 * out, or the first error with the field that caused it. The envelope's
 * strings point into the JSON document, which must outlive it.
 */
#ifndef MESSAGES_H
#define MESSAGES_H

#include <jansson.h>

#include "event.h"

#define MESSAGE_MAX_ATTACHMENTS 32
#define MESSAGE_MAX_REFERENCES 64

struct message {
    event ev;
    Carebus__V1__ContactReceived contact;
    Carebus__V1__CustomerRef customer;
    Google__Protobuf__Timestamp occurred;
    Carebus__V1__Attachment attachments[MESSAGE_MAX_ATTACHMENTS];
    Carebus__V1__Attachment *attachment_ptrs[MESSAGE_MAX_ATTACHMENTS];
    char *references[MESSAGE_MAX_REFERENCES];
    char idem_scope[32];
};

struct message_error {
    const char *code;  /* "missing_field", "invalid_field" */
    char field[64];
    char message[192];
};

/* Fills m from root; now_us is used when occurred_at is absent. 0, or -1
 * with err set. */
int message_parse(const json_t *root, int64_t now_us, struct message *m,
                  struct message_error *err);

#endif
