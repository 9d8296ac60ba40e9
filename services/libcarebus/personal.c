/* personal.c — the list of personal fields of the event schema, and a walk
 * over them in an unpacked message.
 *
 * Agents' own names and emails (agent.saved) are staff data, not a
 * customer's, and stay outside the list: erasure is a customer's right here.
 * A field added to the proto that holds a customer's data belongs here, and
 * only here: the log's encryption, the export and the erasure derive from it.
 */
#include "personal.h"

#include <stdint.h>
#include <string.h>

#include "carebus/v1/events.pb-c.h"

#define P(msg, f)                                                                                  \
    {                                                                                              \
        &carebus__v1__##msg##__descriptor, f                                                       \
    }
const struct personal_field personal_fields[] = {
    P(customer_ref, "name"),
    P(customer_ref, "phone"),
    P(customer_ref, "email"),
    P(customer_ref, "handle"),
    P(attachment, "name"),
    P(attachment, "url"),
    P(attachment, "media_id"), /* fetches the customer's file, as the url does */
    P(contact_received, "text"),
    P(contact_received, "subject"),
    P(agent_replied, "text"),
    P(customer_profile_updated, "name"),
    P(customer_profile_updated__attributes_entry, "value"),
    P(call_ended, "caller"),
    P(call_ended, "recording_url"),
    P(call_ended, "note"),
    P(ticket_opened, "subject"),
    P(survey_requested, "handle"),
    P(survey_requested, "text"),
    P(survey_answered, "comment"),
    P(message_outbound, "text"),
    P(message_outbound, "subject"),
    P(message_delivered, "recipient"),
    P(message_read, "recipient"),
    P(customer_imported__attributes_entry, "value"),
};
#undef P
const size_t personal_fields_count = sizeof personal_fields / sizeof personal_fields[0];

bool personal_is(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    for (size_t i = 0; i < personal_fields_count; i++)
        if (personal_fields[i].message == d && strcmp(personal_fields[i].field, f->name) == 0)
            return true;
    return false;
}

/* Whether any entry names a field of d: most messages have none, and their
 * strings need no per-field look-up. */
static bool personal_any(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < personal_fields_count; i++)
        if (personal_fields[i].message == d)
            return true;
    return false;
}

int personal_walk(ProtobufCMessage *m, personal_fn fn, void *ctx)
{
    if (!m)
        return 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    bool any = personal_any(d);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE && !(f->type == PROTOBUF_C_TYPE_STRING && any))
            continue;
        char *at = (char *)m + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* A union: only the set case's member may be read. */
            if (*(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
                continue;
        }
        size_t n = 1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            at = *(char **)at;
        }
        for (size_t k = 0; k < n; k++) {
            int rc = 0;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                rc = personal_walk(((ProtobufCMessage **)at)[k], fn, ctx);
            else if (personal_is(d, f) && ((char **)at)[k])
                rc = fn(&((char **)at)[k], ctx);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
