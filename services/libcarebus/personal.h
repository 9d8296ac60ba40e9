/* personal.h — which fields of the event schema hold personal data.
 *
 * The one list (personal.c) of the proto's string fields that carry a
 * customer's name, phone, email, channel handle, message text, attachment or
 * recording URL or survey comment: the event log stores them encrypted
 * (datakey.h), an erasure makes them unreadable. Entries name a message by
 * its protoc-c descriptor (a typo does not compile) and a field by its name
 * (a unit test checks each exists and is a string). Subtle: members of a
 * oneof are visited only when they are the set case, and map values are
 * reached through the map's entry message.
 */
#ifndef CAREBUS_PERSONAL_H
#define CAREBUS_PERSONAL_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct personal_field {
    const ProtobufCMessageDescriptor *message;
    const char *field;
};

/* The list, and its length. */
extern const struct personal_field personal_fields[];
extern const size_t personal_fields_count;

/* Whether field `f` of message `d` is personal. */
bool personal_is(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f);

/* Calls fn on every personal string of m and its sub-messages, in the
 * schema's field order, repeated elements in order; fn may replace *s
 * (a malloc'd string; the old one freed unless it is protobuf-c's empty
 * string). Stops at fn's first non-zero return and returns it; 0 when every
 * call returned 0. */
typedef int (*personal_fn)(char **s, void *ctx);
int personal_walk(ProtobufCMessage *m, personal_fn fn, void *ctx);

#endif
