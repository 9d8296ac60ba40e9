/* event.h — the event envelope: names, packing, enums as strings.
 *
 * Wraps the protoc-c generated code for proto/carebus/v1/events.proto. The
 * dotted type name of each body ("contact.received") and the enum spellings
 * of the JSON API ("zalo", "vip") are derived from the schema (vocab.h), so
 * that every service spells them alike and the proto is their one list; the
 * typed event_<enum>_name/_parse pairs below are shorthands for vocab.h.
 */
#ifndef CAREBUS_EVENT_H
#define CAREBUS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebus/v1/events.pb-c.h"
#include "vocab.h"

typedef Carebus__V1__Envelope event;

/* "contact.received" for CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED; NULL
 * for an unknown case. */
const char *event_type_name(Carebus__V1__Envelope__BodyCase c);

/* Packs into a malloc'd buffer (caller frees). NULL on allocation failure. */
uint8_t *event_pack(const event *ev, size_t *len);

/* Unpacks; NULL when the bytes are not a valid envelope or exceed
 * EVENT_MAX_SIZE. Free with event_destroy(). */
#define EVENT_MAX_SIZE (4u << 20)
event *event_unpack(const uint8_t *buf, size_t len);
void event_destroy(event **pev);

/* Replaces a string field of an unpacked (owned) message with a copy of
 * value. protobuf-c points absent proto3 strings at its shared empty string,
 * which must never be freed. 0, or -1 on allocation failure (field unset). */
static inline int event_set_str(char **field, const char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(value ? value : "");
    return *field ? 0 : -1;
}

/* Microseconds since the epoch <-> google.protobuf.Timestamp. */
int64_t event_ts_us(const Google__Protobuf__Timestamp *ts);
void event_ts_set(Google__Protobuf__Timestamp *ts, int64_t us);

/* Enum names as used in the JSON API ("zalo", "vip", "open", ...). The
 * *_name functions return a static string ("" for UNSPECIFIED and unknown
 * values); the *_parse functions return -1 for an unknown name (out
 * untouched). */
#define EVENT_ENUM(fn, Type, desc)                                                                 \
    static inline const char *event_##fn##_name(Carebus__V1__##Type v)                             \
    {                                                                                              \
        return vocab_name(&desc, (int)v);                                                          \
    }                                                                                              \
    static inline int event_##fn##_parse(const char *s, Carebus__V1__##Type *out)                  \
    {                                                                                              \
        int v;                                                                                     \
        if (vocab_parse(&desc, s, &v) != 0)                                                        \
            return -1;                                                                             \
        *out = (Carebus__V1__##Type)v;                                                             \
        return 0;                                                                                  \
    }
EVENT_ENUM(channel, Channel, carebus__v1__channel__descriptor)
EVENT_ENUM(segment, Segment, carebus__v1__segment__descriptor)
EVENT_ENUM(customer_status, CustomerStatus, carebus__v1__customer_status__descriptor)
EVENT_ENUM(ticket_status, TicketStatus, carebus__v1__ticket_status__descriptor)
EVENT_ENUM(category, Category, carebus__v1__category__descriptor)
EVENT_ENUM(priority, Priority, carebus__v1__priority__descriptor)
EVENT_ENUM(presence, Presence, carebus__v1__presence__descriptor)
EVENT_ENUM(sla_target, SlaTarget, carebus__v1__sla_target__descriptor)
EVENT_ENUM(call_outcome, CallOutcome, carebus__v1__call_outcome__descriptor)
#undef EVENT_ENUM

#endif
