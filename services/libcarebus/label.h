/* label.h — what people read for the schema's enum values, in vi and en.
 *
 * The one place for the human labels of channels, segments, statuses and
 * every other enum of vocab.h ("zalo" -> "Zalo", "helpcenter" -> "Trung tâm
 * trợ giúp" / "Help centre"), keyed by enum and name. A value added to the
 * proto needs its two labels here: test_label.c fails until it has them.
 */
#ifndef CAREBUS_LABEL_H
#define CAREBUS_LABEL_H

#include "vocab.h"

enum label_lang { LABEL_VI = 0, LABEL_EN = 1, LABEL_NLANGS };

/* The label of a value in lang; NULL when it has none (UNSPECIFIED, an
 * unknown value, a value without labels). Static strings. */
const char *label_get(const ProtobufCEnumDescriptor *d, int value, enum label_lang lang);

/* The label, or the value's name when it has none ("" for UNSPECIFIED):
 * what a page shows. Never NULL. */
const char *label_or_name(const ProtobufCEnumDescriptor *d, int value, enum label_lang lang);

/* Exposed for tests: how many labelled values the table holds (so that a
 * test can tell a stale line, naming no value, from a complete table). */
size_t label_table_size(void);

#endif
