/* event_json.c — events and their messages as JSON, from the descriptors.
 *
 * protobuf-c lays a message out as a C struct whose fields the descriptor
 * locates (offset, quantifier_offset for repeated counts and oneof cases),
 * so one walk over the descriptor reads any message. Well-known types are
 * recognised by their descriptor: Timestamp becomes RFC 3339, the wrappers
 * their value. Map fields are repeated entry messages (key, value) and
 * become objects.
 */
#include "event_json.h"

#include <assert.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "timeutil.h"
#include "vocab.h"

/* Never leaves carebus as JSON, whatever message holds it. */
static const char *const event_json_secret_fields[] = {"secret", "password_hash"};

static bool event_json_is_secret(const char *name)
{
    for (size_t i = 0; i < sizeof event_json_secret_fields / sizeof event_json_secret_fields[0];
         i++)
        if (strcmp(name, event_json_secret_fields[i]) == 0)
            return true;
    return false;
}

static json_t *event_json_timestamp(const Google__Protobuf__Timestamp *ts)
{
    if (!ts)
        return json_null();
    char buf[TIME_RFC3339_LEN];
    time_format_rfc3339(event_ts_us(ts), buf);
    return json_string(buf);
}

static json_t *event_json_bytes(const ProtobufCBinaryData *b)
{
    size_t cap = 4 * ((b->len + 2) / 3) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int n = b->len ? EVP_EncodeBlock((unsigned char *)out, b->data, (int)b->len) : 0;
    out[n < 0 ? 0 : n] = '\0';
    json_t *j = json_string(out);
    free(out);
    return j;
}

static json_t *event_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

/* The wrappers' single "value" field, or NULL when d is not a wrapper. */
static bool event_json_is_wrapper(const ProtobufCMessageDescriptor *d)
{
    return d == &google__protobuf__int32_value__descriptor ||
           d == &google__protobuf__int64_value__descriptor ||
           d == &google__protobuf__uint32_value__descriptor ||
           d == &google__protobuf__uint64_value__descriptor ||
           d == &google__protobuf__bool_value__descriptor ||
           d == &google__protobuf__string_value__descriptor ||
           d == &google__protobuf__double_value__descriptor ||
           d == &google__protobuf__float_value__descriptor ||
           d == &google__protobuf__bytes_value__descriptor;
}

static json_t *event_json_value(const ProtobufCFieldDescriptor *f, const void *p);

/* A message-typed value: well-known types by their descriptor. */
static json_t *event_json_submessage(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m)
{
    if (d == &google__protobuf__timestamp__descriptor)
        return event_json_timestamp((const Google__Protobuf__Timestamp *)m);
    if (!m)
        return json_null();
    if (event_json_is_wrapper(d)) {
        assert(d->n_fields == 1);
        return event_json_value(&d->fields[0], (const char *)m + d->fields[0].offset);
    }
    return event_json_message(m);
}

/* One value of field f stored at p. */
static json_t *event_json_value(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer((json_int_t) * (const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return event_json_u64(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        int v = *(const int *)p;
        if (vocab_is_listed(ed))
            return json_string(vocab_name(ed, v));
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return json_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return event_json_bytes(p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return event_json_submessage(f->descriptor, *(ProtobufCMessage *const *)p);
    }
    return json_null();
}

static size_t event_json_type_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    }
    return 0;
}

/* A map field: repeated entries with a "key" (field 1) and a "value" (2). */
static bool event_json_is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static json_t *event_json_repeated(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
    const char *arr = *(char *const *)((const char *)m + f->offset);
    size_t size = event_json_type_size(f);
    if (event_json_is_map(f)) {
        json_t *o = json_object();
        const ProtobufCMessageDescriptor *d = f->descriptor;
        for (size_t i = 0; o && i < n; i++) {
            const ProtobufCMessage *entry = ((ProtobufCMessage *const *)arr)[i];
            const char *key = *(char *const *)((const char *)entry + d->fields[0].offset);
            json_t *v = event_json_value(&d->fields[1], (const char *)entry + d->fields[1].offset);
            if (!v || json_object_set_new(o, key ? key : "", v) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *v = event_json_value(f, arr + i * size);
        if (!v || json_array_append_new(a, v) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *event_json_message(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; o && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (event_json_is_secret(f->name))
            continue;
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            v = event_json_repeated(f, m);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* Only the member set is written (the envelope's body is
             * handled by event_json). */
            uint32_t which = *(const uint32_t *)((const char *)m + f->quantifier_offset);
            if (which != f->id)
                continue;
            v = event_json_value(f, (const char *)m + f->offset);
        } else {
            v = event_json_value(f, (const char *)m + f->offset);
        }
        if (!v || json_object_set_new(o, f->name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *event_json(const event *ev)
{
    const ProtobufCMessageDescriptor *d = ev->base.descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; o && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            continue;
        json_t *v = event_json_value(f, (const char *)ev + f->offset);
        if (!v || json_object_set_new(o, f->name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (!o)
        return NULL;
    /* The body: the oneof member set (its case is its field number). */
    const ProtobufCFieldDescriptor *bf =
        ev->body_case ? protobuf_c_message_descriptor_get_field(d, (unsigned)ev->body_case) : NULL;
    json_t *body = bf ? event_json_value(bf, (const char *)ev + bf->offset) : json_null();
    if (!body || json_object_set_new(o, "body", body) != 0) {
        json_decref(o);
        return NULL;
    }
    if (!ev->type || !ev->type[0]) {
        const char *t = event_type_name(ev->body_case);
        json_object_set_new(o, "type", json_string(t ? t : ""));
    }
    return o;
}
