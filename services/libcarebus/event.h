/* event.h — the event envelope: names, packing, enums as strings.
 *
 * Wraps the protoc-c generated code for proto/carebus/v1/events.proto. The
 * dotted type name of each body ("contact.received") is defined once here,
 * in the table in event.c; enum <-> string conversions for the JSON API live
 * here too so that every service spells them alike.
 */
#ifndef CAREBUS_EVENT_H
#define CAREBUS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebus/v1/events.pb-c.h"

typedef Carebus__V1__Envelope event;

/* "contact.received" for CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED; NULL
 * for an unknown case. */
const char *event_type_name(Carebus__V1__Envelope__BodyCase c);

/* Packs into a malloc'd buffer (caller frees). NULL on allocation failure. */
uint8_t *event_pack(const event *ev, size_t *len);

/* Unpacks; NULL when the bytes are not a valid envelope or exceed
 * EVENT_MAX_SIZE. Free with event_free(). */
#define EVENT_MAX_SIZE (4u << 20)
event *event_unpack(const uint8_t *buf, size_t len);
void event_free(event **pev);

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
 * *_name functions return a static string ("" for UNSPECIFIED); the *_parse
 * functions return -1 for an unknown name. */
const char *event_channel_name(Carebus__V1__Channel c);
int event_channel_parse(const char *s, Carebus__V1__Channel *out);
const char *event_segment_name(Carebus__V1__Segment s);
int event_segment_parse(const char *s, Carebus__V1__Segment *out);
const char *event_ticket_status_name(Carebus__V1__TicketStatus s);
int event_ticket_status_parse(const char *s, Carebus__V1__TicketStatus *out);
const char *event_category_name(Carebus__V1__Category c);
int event_category_parse(const char *s, Carebus__V1__Category *out);
const char *event_priority_name(Carebus__V1__Priority p);
int event_priority_parse(const char *s, Carebus__V1__Priority *out);
const char *event_presence_name(Carebus__V1__Presence p);
int event_presence_parse(const char *s, Carebus__V1__Presence *out);

#endif
