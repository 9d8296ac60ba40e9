/* vocab.h — the shared vocabulary, derived from the event schema.
 *
 * proto/carebus/v1/events.proto is the one list of every enum (channels,
 * segments, statuses, ...) and of every event type. Everything else spells
 * them as derived here from protobuf-c's descriptors: an enum value is its
 * proto name in lower case without the enum's prefix (CHANNEL_ZALO "zalo",
 * CATEGORY_RETURNS_WARRANTY "returns_warranty"), UNSPECIFIED (0) is "" and
 * never parses; an event type is its Envelope body field with the first
 * underscore made a dot (ticket_status_changed "ticket.status_changed").
 * These spellings are API and stored data: tests pin every one of them.
 *
 * The names are built once, on first use (thread-safe), in static storage:
 * every string returned is static.
 */
#ifndef CAREBUS_VOCAB_H
#define CAREBUS_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

#include "carebus/v1/events.pb-c.h"

/* The schema's enums, in a fixed order (for listings such as carebusctl's
 * and the tests'). An enum added to the proto is listed in vocab.c's
 * table; its values need nothing anywhere. */
size_t vocab_enum_count(void);
const ProtobufCEnumDescriptor *vocab_enum_at(size_t i);
/* True when d is one of the listed enums (the functions below assert it). */
bool vocab_is_listed(const ProtobufCEnumDescriptor *d);
/* "channel", "ticket_status": the enum's name in snake case. d must be one
 * of the listed enums (asserted), as for every function below. */
const char *vocab_enum_key(const ProtobufCEnumDescriptor *d);

/* The name of a value: "" for UNSPECIFIED and for a value this build does
 * not know (a newer producer's), never NULL. */
const char *vocab_name(const ProtobufCEnumDescriptor *d, int value);
/* The value of an exact name (case-sensitive; "" and NULL never parse).
 * 0, or -1 with *value untouched. */
int vocab_parse(const ProtobufCEnumDescriptor *d, const char *s, int *value);
/* The named values (UNSPECIFIED excluded), in schema order: i < count. */
size_t vocab_count(const ProtobufCEnumDescriptor *d);
int vocab_value(const ProtobufCEnumDescriptor *d, size_t i);
/* "phone, email, chat, ...": the names for error messages. */
const char *vocab_list(const ProtobufCEnumDescriptor *d);

/* Event types: the Envelope's body cases (the case value is the field
 * number). NULL for NOT_SET and for an unknown case. */
const char *vocab_event_type(int body_case);
/* The body case of a type name, or 0 (NOT_SET) for an unknown one. */
int vocab_event_type_parse(const char *s);
/* Every body case in schema (field number) order: i < count. */
size_t vocab_event_type_count(void);
int vocab_event_type_at(size_t i);

#endif
