/* field.h — typed members of a JSON request body, each error naming its field.
 *
 * Pure helpers shared by every write endpoint's parser: a known member of
 * the wrong type, out of range or too long is an error that names the field
 * ("customer.phone", "attachments[2].size") and says why, in PostgreSQL's
 * message style; unknown members are never looked at (integrators may send
 * more than we read). Strings returned are borrowed from the JSON document,
 * which must outlive their use. A member that is absent or JSON null counts
 * as absent.
 */
#ifndef FIELD_H
#define FIELD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vocab.h"

/* What a 400 answer says: {"error":{"code","field","message"}}. */
struct message_error {
    const char *code; /* "missing_field", "invalid_field", "invalid_json", "unknown_field" */
    char field[64];
    char message[192];
};

/* Sets err (message printf-style); returns -1 so that callers can
 * `return field_fail(...)`. */
int field_fail(struct message_error *err, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 0 when the body is a JSON object, else -1 with err ("invalid_json"). */
int field_object(const json_t *root, struct message_error *err);

/* 0 when every member of the object root is one of the n names known, else
 * -1 with err ("unknown_field", naming the first other one): for the few
 * bodies where a misspelt member must not silently mean its default (a key
 * that would never expire). */
int field_only(const json_t *root, const char *const *known, size_t n, struct message_error *err);

/* A string member: *out is set when present (borrowed), else left as is.
 * required: absent is "missing_field"; blank ("" or only spaces) is then
 * "invalid_field" too. max: longest accepted length in bytes (0: any).
 * Control characters other than tab, CR and LF are refused unless
 * allow_control (free text may carry them; identifiers may not). */
#define FIELD_OPTIONAL 0u
#define FIELD_REQUIRED 1u
#define FIELD_TEXT 2u /* free text: control characters allowed */
int field_string(const json_t *obj, const char *key, const char *field, unsigned flags, size_t max,
                 char **out, struct message_error *err);

/* field_string's checks on a string taken from elsewhere (a protobuf body,
 * whose strings protobuf-c does not check for UTF-8): required (absent is
 * "" there), length, blank, control characters, UTF-8. NULL counts as "". */
int field_check(const char *s, const char *field, unsigned flags, size_t max,
                struct message_error *err);

/* A member of one of the schema's enums (vocab.h), spelled as the API
 * spells it ("zalo"); the error lists every name the schema has. */
int field_enum(const json_t *obj, const char *key, const char *field, unsigned flags,
               const ProtobufCEnumDescriptor *d, int *out, bool *present,
               struct message_error *err);

/* An RFC 3339 time ("2026-11-23T09:00:00+07:00"); *present tells whether
 * it was given. */
int field_time(const json_t *obj, const char *key, const char *field, unsigned flags,
               int64_t *out_us, bool *present, struct message_error *err);

/* A JSON integer in [0, max]. */
int field_uint(const json_t *obj, const char *key, const char *field, unsigned flags, uint64_t max,
               uint64_t *out, bool *present, struct message_error *err);

/* A JSON true/false. */
int field_bool(const json_t *obj, const char *key, const char *field, unsigned flags, bool *out,
               struct message_error *err);

/* An array of at most max_items non-blank strings of at most max_len bytes,
 * borrowed into out[]; *n receives the count. */
int field_strings(const json_t *obj, const char *key, const char *field, unsigned flags,
                  size_t max_items, size_t max_len, char **out, size_t *n,
                  struct message_error *err);

/* True when s is 1..max bytes of UTF-8 without control characters: the
 * rule for identifiers taken from a path or a header. */
bool field_token_valid(const char *s, size_t max);

#endif
