/* vocab.c — enum and event-type names derived from the descriptors.
 *
 * The only hand-written list here is the list of enums (one line each);
 * their values and the event types come from the generated descriptors.
 * Everything is derived at once on first use, under pthread_once, into
 * static storage sized with a wide margin (asserted): the strings are
 * never freed and no caller ever sees an allocation failure.
 */
#include "vocab.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static const ProtobufCEnumDescriptor *const vocab_enums[] = {
    &carebus__v1__channel__descriptor,         &carebus__v1__segment__descriptor,
    &carebus__v1__customer_status__descriptor, &carebus__v1__ticket_status__descriptor,
    &carebus__v1__category__descriptor,        &carebus__v1__priority__descriptor,
    &carebus__v1__presence__descriptor,        &carebus__v1__sla_target__descriptor,
    &carebus__v1__call_outcome__descriptor,    &carebus__v1__outbound_kind__descriptor,
    &carebus__v1__agent_role__descriptor,
};
#define VOCAB_NENUMS (sizeof vocab_enums / sizeof vocab_enums[0])

#define VOCAB_MAX_VALUES 64
#define VOCAB_MAX_TYPES 128
#define VOCAB_ARENA 16384

struct vocab_derived {
    const char *key;
    const char *names[VOCAB_MAX_VALUES]; /* by index into d->values */
    int values[VOCAB_MAX_VALUES];        /* the named values, in order */
    size_t count;
    const char *list;
};

static struct vocab_derived vocab_derived[VOCAB_NENUMS];
static struct {
    int cases[VOCAB_MAX_TYPES];
    const char *names[VOCAB_MAX_TYPES];
    size_t n;
} vocab_types;
static char vocab_arena[VOCAB_ARENA];
static size_t vocab_arena_used;
static pthread_once_t vocab_once = PTHREAD_ONCE_INIT;

/* A copy of n bytes of s in the arena, NUL-terminated. */
static char *vocab_keep(const char *s, size_t n)
{
    assert(vocab_arena_used + n + 1 <= sizeof vocab_arena);
    char *p = vocab_arena + vocab_arena_used;
    memcpy(p, s, n);
    p[n] = '\0';
    vocab_arena_used += n + 1;
    return p;
}

/* "TicketStatus" -> "ticket_status" (upper: "TICKET_STATUS"), the proto
 * style guide's prefix of the enum's values. */
static void vocab_snake(const char *camel, char *out, size_t size, bool upper)
{
    size_t o = 0;
    for (const char *c = camel; *c; c++) {
        assert(o + 3 < size);
        if (isupper((unsigned char)*c) && c != camel)
            out[o++] = '_';
        out[o++] = (char)(upper ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
    }
    out[o] = '\0';
}

static void vocab_derive_enum(const ProtobufCEnumDescriptor *d, struct vocab_derived *v)
{
    char key[64], prefix[64];
    vocab_snake(d->short_name, key, sizeof key, false);
    vocab_snake(d->short_name, prefix, sizeof prefix, true);
    v->key = vocab_keep(key, strlen(key));
    size_t plen = strlen(prefix);
    assert(d->n_values <= VOCAB_MAX_VALUES);
    char list[2048];
    size_t ll = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const ProtobufCEnumValue *ev = &d->values[i];
        /* Every value carries the enum's prefix (CHANNEL_ZALO), as the
         * style guide asks and the tests check. */
        assert(strncmp(ev->name, prefix, plen) == 0 && ev->name[plen] == '_');
        if (ev->value == 0) {
            v->names[i] = "";
            continue;
        }
        char name[128];
        size_t n = 0;
        for (const char *c = ev->name + plen + 1; *c; c++) {
            assert(n + 1 < sizeof name);
            name[n++] = (char)tolower((unsigned char)*c);
        }
        v->names[i] = vocab_keep(name, n);
        v->values[v->count++] = ev->value;
        assert(ll + n + 3 < sizeof list);
        if (ll) {
            memcpy(list + ll, ", ", 2);
            ll += 2;
        }
        memcpy(list + ll, name, n);
        ll += n;
    }
    v->list = vocab_keep(list, ll);
}

static void vocab_derive_types(void)
{
    const ProtobufCMessageDescriptor *d = &carebus__v1__envelope__descriptor;
    /* The fields are sorted by number; the envelope's only oneof is its
     * body, so every oneof member is a body. */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        assert(vocab_types.n < VOCAB_MAX_TYPES);
        char *name = vocab_keep(f->name, strlen(f->name));
        char *us = strchr(name, '_');
        assert(us != NULL); /* "contact_received": a noun and what happened */
        *us = '.';
        vocab_types.cases[vocab_types.n] = (int)f->id;
        vocab_types.names[vocab_types.n++] = name;
    }
}

static void vocab_derive(void)
{
    for (size_t i = 0; i < VOCAB_NENUMS; i++)
        vocab_derive_enum(vocab_enums[i], &vocab_derived[i]);
    vocab_derive_types();
}

static const struct vocab_derived *vocab_get(const ProtobufCEnumDescriptor *d)
{
    pthread_once(&vocab_once, vocab_derive);
    for (size_t i = 0; i < VOCAB_NENUMS; i++)
        if (vocab_enums[i] == d)
            return &vocab_derived[i];
    assert(!"vocab: an enum missing from vocab_enums");
    return NULL;
}

size_t vocab_enum_count(void)
{
    return VOCAB_NENUMS;
}

bool vocab_is_listed(const ProtobufCEnumDescriptor *d)
{
    for (size_t i = 0; i < VOCAB_NENUMS; i++)
        if (vocab_enums[i] == d)
            return true;
    return false;
}

const ProtobufCEnumDescriptor *vocab_enum_at(size_t i)
{
    assert(i < VOCAB_NENUMS);
    return vocab_enums[i];
}

const char *vocab_enum_key(const ProtobufCEnumDescriptor *d)
{
    return vocab_get(d)->key;
}

const char *vocab_name(const ProtobufCEnumDescriptor *d, int value)
{
    const struct vocab_derived *v = vocab_get(d);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, value);
    return ev ? v->names[ev - d->values] : "";
}

int vocab_parse(const ProtobufCEnumDescriptor *d, const char *s, int *value)
{
    const struct vocab_derived *v = vocab_get(d);
    if (s == NULL || s[0] == '\0')
        return -1;
    for (unsigned i = 0; i < d->n_values; i++)
        if (d->values[i].value != 0 && strcmp(s, v->names[i]) == 0) {
            *value = d->values[i].value;
            return 0;
        }
    return -1;
}

size_t vocab_count(const ProtobufCEnumDescriptor *d)
{
    return vocab_get(d)->count;
}

int vocab_value(const ProtobufCEnumDescriptor *d, size_t i)
{
    const struct vocab_derived *v = vocab_get(d);
    assert(i < v->count);
    return v->values[i];
}

const char *vocab_list(const ProtobufCEnumDescriptor *d)
{
    return vocab_get(d)->list;
}

const char *vocab_event_type(int body_case)
{
    pthread_once(&vocab_once, vocab_derive);
    for (size_t i = 0; i < vocab_types.n; i++)
        if (vocab_types.cases[i] == body_case)
            return vocab_types.names[i];
    return NULL;
}

int vocab_event_type_parse(const char *s)
{
    pthread_once(&vocab_once, vocab_derive);
    for (size_t i = 0; s && i < vocab_types.n; i++)
        if (strcmp(s, vocab_types.names[i]) == 0)
            return vocab_types.cases[i];
    return 0;
}

size_t vocab_event_type_count(void)
{
    pthread_once(&vocab_once, vocab_derive);
    return vocab_types.n;
}

int vocab_event_type_at(size_t i)
{
    pthread_once(&vocab_once, vocab_derive);
    assert(i < vocab_types.n);
    return vocab_types.cases[i];
}
