/* batch.c — the messages of one webhook request (see batch.h).
 *
 * A message is built the way message_parse (messages.c) builds one for
 * POST /v1/messages: the same envelope, the same idempotency scope
 * ("msg:<channel>", key external_id), so a channel's retry and an
 * integrator posting the same message id both land on the first event.
 */
#include "batch.h"

#include "../body.h"
#include "identity.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's own depth limit is 2048; no channel payload nests beyond a
 * dozen levels. */
#define WEBHOOK_JSON_MAX_DEPTH 64

/* 2000-01-01 and 9999-12-31 in seconds since the epoch. */
#define WEBHOOK_TIME_MIN_S UINT64_C(946684800)
#define WEBHOOK_TIME_MAX_S UINT64_C(253402300799)

void webhook_batch_release(struct webhook_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->msg[i]);
    free(b->msg);
    for (size_t i = 0; i < b->nstrs; i++)
        free(b->strs[i]);
    free(b->strs);
    json_decref(b->root);
    form_release(&b->form);
    *b = (struct webhook_batch)WEBHOOK_BATCH_INIT;
}

int webhook_batch_load_json(struct webhook_batch *b, const char *body, size_t len,
                            struct webhook_error *err)
{
    /* Depth first, on the raw bytes: jansson would build up to 2048 levels. */
    if (!body_depth_ok(body, len, WEBHOOK_JSON_MAX_DEPTH))
        return webhook_fail(err, 400, "the body nests deeper than %d levels",
                            WEBHOOK_JSON_MAX_DEPTH);
    json_error_t jerr;
    /* JSON_ALLOW_NUL is off: a "\u0000" in a string is refused, so every
     * string is a whole C string. */
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return webhook_fail(err, 400, "could not parse the body: %s (at %d:%d)", jerr.text,
                            jerr.line, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return webhook_fail(err, 400, "the body must be a JSON object");
    }
    b->root = root;
    return 0;
}

int webhook_fail(struct webhook_error *err, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    err->code = NULL;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

struct message *webhook_batch_add(struct webhook_batch *b, Carebus__V1__Channel ch,
                                  struct webhook_error *err)
{
    if (b->n == WEBHOOK_MAX_MESSAGES) {
        webhook_fail(err, 400, "the body holds more than %d messages", WEBHOOK_MAX_MESSAGES);
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        struct message **p = realloc(b->msg, cap * sizeof *p);
        if (!p) {
            webhook_fail(err, 503, "out of memory");
            return NULL;
        }
        b->msg = p;
        b->cap = cap;
    }
    struct message *m = calloc(1, sizeof *m);
    if (!m) {
        webhook_fail(err, 503, "out of memory");
        return NULL;
    }
    carebus__v1__envelope__init(&m->ev);
    carebus__v1__contact_received__init(&m->contact);
    carebus__v1__customer_ref__init(&m->customer);
    google__protobuf__timestamp__init(&m->occurred);
    m->contact.channel = ch;
    m->contact.customer = &m->customer;
    snprintf(m->idem_scope, sizeof m->idem_scope, "msg:%s", event_channel_name(ch));
    b->msg[b->n++] = m;
    return m;
}

void webhook_batch_drop_last(struct webhook_batch *b)
{
    if (!b->n)
        return;
    free(b->msg[--b->n]);
    b->skipped++;
}

static char *batch_keep(struct webhook_batch *b, char *s)
{
    if (!s)
        return NULL;
    if (b->nstrs == b->strs_cap) {
        size_t cap = b->strs_cap ? b->strs_cap * 2 : 8;
        char **p = realloc(b->strs, cap * sizeof *p);
        if (!p) {
            free(s);
            return NULL;
        }
        b->strs = p;
        b->strs_cap = cap;
    }
    b->strs[b->nstrs++] = s;
    return s;
}

char *webhook_batch_strdup(struct webhook_batch *b, const char *s)
{
    return batch_keep(b, strdup(s ? s : ""));
}

char *webhook_batch_strndup(struct webhook_batch *b, const char *s, size_t n)
{
    return batch_keep(b, strndup(s, n));
}

char *webhook_batch_printf(struct webhook_batch *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return batch_keep(b, s);
}

void webhook_message_attach(struct message *m, const char *name, const char *content_type,
                            uint64_t size, const char *url)
{
    size_t i = m->contact.n_attachments;
    if (i == MESSAGE_MAX_ATTACHMENTS)
        return;
    Carebus__V1__Attachment *a = &m->attachments[i];
    carebus__v1__attachment__init(a);
    /* protobuf-c's defaults for absent strings are "", never NULL. */
    if (name)
        a->name = (char *)name;
    if (content_type)
        a->content_type = (char *)content_type;
    if (url)
        a->url = (char *)url;
    a->size = size;
    m->attachment_ptrs[i] = a;
    m->contact.attachments = m->attachment_ptrs;
    m->contact.n_attachments = i + 1;
}

static bool blank(const char *s)
{
    return !s || !*s;
}

bool webhook_message_finish(struct message *m, int64_t occurred_us)
{
    Carebus__V1__CustomerRef *c = &m->customer;
    if (blank(m->contact.external_id) || strlen(m->contact.external_id) > WEBHOOK_MAX_ID)
        return false;
    /* The router places a contact by its normalised identities: a field the
     * channel filled with something that does not normalise is left out, and
     * a message with none left cannot be placed. */
    struct identity_set ids;
    identity_set_from_ref(&ids, m->contact.channel, c, NULL);
    if (ids.rejected & IDENTITY_BAD_PHONE)
        c->phone = (char *)protobuf_c_empty_string;
    if (ids.rejected & IDENTITY_BAD_EMAIL)
        c->email = (char *)protobuf_c_empty_string;
    if (ids.rejected & IDENTITY_BAD_HANDLE)
        c->handle = (char *)protobuf_c_empty_string;
    if (ids.n == 0)
        return false;
    event_ts_set(&m->occurred, occurred_us);
    m->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    m->ev.contact_received = &m->contact;
    m->ev.occurred_at = &m->occurred;
    m->ev.type = (char *)event_type_name(m->ev.body_case);
    return true;
}

const char *webhook_json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const json_t *webhook_json_path(const json_t *obj, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n && obj; i++)
        obj = json_is_object(obj) ? json_object_get(obj, keys[i]) : NULL;
    return obj;
}

int webhook_json_uint(const json_t *obj, const char *key, uint64_t *out)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return -1;
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    uint64_t x = 0;
    if (!*s || strlen(s) > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *out = x;
    return 0;
}

int64_t webhook_time_from_s(uint64_t s, int64_t fallback_us)
{
    if (s < WEBHOOK_TIME_MIN_S || s > WEBHOOK_TIME_MAX_S)
        return fallback_us;
    return (int64_t)s * 1000000;
}

int64_t webhook_time_from_ms(uint64_t ms, int64_t fallback_us)
{
    if (ms < WEBHOOK_TIME_MIN_S * 1000 || ms > WEBHOOK_TIME_MAX_S * 1000)
        return fallback_us;
    return (int64_t)ms * 1000;
}
