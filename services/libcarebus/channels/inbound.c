/* inbound.c — the inbound adapters' table and what every adapter shares:
 * the batch of one request's events, and the helpers their parsers and
 * signature checks use (see inbound.h).
 *
 * A contact from a webhook is built the way POST /v1/messages builds one
 * (contact.h): the same envelope, the same idempotency scope. Unlike the
 * API, a webhook is never refused for one customer message it cannot use
 * (the provider would retry the whole delivery forever): such a message is
 * skipped and counted.
 */
#include "inbound.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email.h"
#include "identity.h"
#include "jsondepth.h"
#include "messenger.h"
#include "twilio.h"
#include "whatsapp.h"
#include "zalo.h"

/* --- the table ------------------------------------------------------------ */

/* One line per webhook; channel-ingest's route table names each path. */
const struct inbound_adapter *const inbound_adapters[] = {
    &messenger_inbound,     /* facebook (and instagram) */
    &whatsapp_inbound,      /* whatsapp */
    &zalo_inbound,          /* zalo */
    &twilio_sms_inbound,    /* twilio/sms */
    &twilio_status_inbound, /* twilio/status */
    &email_inbound,         /* email */
};
const size_t inbound_adapters_count = sizeof inbound_adapters / sizeof inbound_adapters[0];

const struct inbound_adapter *inbound_adapter_find(const char *path)
{
    for (size_t i = 0; path && i < inbound_adapters_count; i++)
        if (strcmp(inbound_adapters[i]->path, path) == 0)
            return inbound_adapters[i];
    return NULL;
}

/* --- the batch ------------------------------------------------------------ */

/* 2000-01-01 and 9999-12-31 in seconds since the epoch. */
#define INBOUND_TIME_MIN_S UINT64_C(946684800)
#define INBOUND_TIME_MAX_S UINT64_C(253402300799)

void inbound_batch_release(struct inbound_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->msg[i]);
    free(b->msg);
    for (size_t i = 0; i < b->nstatus; i++)
        free(b->status[i]);
    free(b->status);
    for (size_t i = 0; i < b->nstrs; i++)
        free(b->strs[i]);
    free(b->strs);
    json_decref(b->root);
    form_release(&b->form);
    *b = (struct inbound_batch)INBOUND_BATCH_INIT;
}

int inbound_fail(struct inbound_error *err, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    err->code = NULL;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int inbound_load_json(struct inbound_batch *b, const char *body, size_t len,
                      struct inbound_error *err)
{
    /* Depth first, on the raw bytes: jansson would build up to 2048 levels. */
    if (!jsondepth_ok(body, len, INBOUND_JSON_MAX_DEPTH))
        return inbound_fail(err, 400, "the body nests deeper than %d levels",
                            INBOUND_JSON_MAX_DEPTH);
    json_error_t jerr;
    /* JSON_ALLOW_NUL is off: a "\u0000" in a string is refused, so every
     * string is a whole C string. */
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return inbound_fail(err, 400, "could not parse the body: %s (at %d:%d)", jerr.text,
                            jerr.line, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return inbound_fail(err, 400, "the body must be a JSON object");
    }
    b->root = root;
    return 0;
}

int inbound_load_form(struct inbound_batch *b, const char *body, size_t len,
                      struct inbound_error *err)
{
    if (form_parse(body, len, &b->form) == 0)
        return 0;
    inbound_fail(err, 400, "the body is not a valid form (UTF-8, at most %d fields)",
                 FORM_MAX_PAIRS);
    err->code = "invalid_form";
    return -1;
}

bool inbound_loaded(const struct inbound_batch *b)
{
    return b->root || b->form.buf;
}

/* Room for one more element in arr (n used of cap), or ok set to false
 * when out of memory (arr unchanged). A macro: the arrays differ in type. */
#define INBOUND_ROOM(arr, n, cap, ok)                                                              \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t c_ = (cap) ? (cap)*2 : 4;                                                       \
            void *p_ = realloc((arr), c_ * sizeof *(arr));                                         \
            if (p_) {                                                                              \
                (arr) = p_;                                                                        \
                (cap) = c_;                                                                        \
            } else {                                                                               \
                (ok) = false;                                                                      \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static bool inbound_full(const struct inbound_batch *b, struct inbound_error *err)
{
    if (b->n + b->nstatus < INBOUND_MAX_EVENTS)
        return false;
    inbound_fail(err, 400, "the body holds more than %d messages and statuses", INBOUND_MAX_EVENTS);
    return true;
}

struct contact *inbound_add_contact(struct inbound_batch *b, Carebus__V1__Channel ch,
                                    struct inbound_error *err)
{
    if (inbound_full(b, err))
        return NULL;
    bool ok = true;
    INBOUND_ROOM(b->msg, b->n, b->cap, ok);
    struct contact *m = ok ? malloc(sizeof *m) : NULL;
    if (!m) {
        inbound_fail(err, 503, "out of memory");
        return NULL;
    }
    contact_init(m, ch);
    b->msg[b->n++] = m;
    return m;
}

void inbound_drop_contact(struct inbound_batch *b)
{
    if (!b->n)
        return;
    free(b->msg[--b->n]);
    b->skipped++;
}

struct status *inbound_add_status(struct inbound_batch *b, Carebus__V1__Channel ch,
                                  status_kind kind, struct inbound_error *err)
{
    if (inbound_full(b, err))
        return NULL;
    bool ok = true;
    INBOUND_ROOM(b->status, b->nstatus, b->status_cap, ok);
    struct status *s = ok ? malloc(sizeof *s) : NULL;
    if (!s) {
        inbound_fail(err, 503, "out of memory");
        return NULL;
    }
    status_init(s, ch, kind);
    b->status[b->nstatus++] = s;
    return s;
}

void inbound_drop_status(struct inbound_batch *b)
{
    if (!b->nstatus)
        return;
    free(b->status[--b->nstatus]);
    b->skipped++;
}

static char *inbound_keep(struct inbound_batch *b, char *s)
{
    if (!s)
        return NULL;
    bool ok = true;
    INBOUND_ROOM(b->strs, b->nstrs, b->strs_cap, ok);
    if (!ok) {
        free(s);
        return NULL;
    }
    b->strs[b->nstrs++] = s;
    return s;
}

char *inbound_strdup(struct inbound_batch *b, const char *s)
{
    return inbound_keep(b, strdup(s ? s : ""));
}

char *inbound_strndup(struct inbound_batch *b, const char *s, size_t n)
{
    return inbound_keep(b, strndup(s, n));
}

char *inbound_printf(struct inbound_batch *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return inbound_keep(b, s);
}

static bool blank(const char *s)
{
    return !s || !*s;
}

bool inbound_contact_finish(struct contact *m, int64_t occurred_us)
{
    Carebus__V1__CustomerRef *c = &m->customer;
    if (blank(m->contact.external_id) || strlen(m->contact.external_id) > CONTACT_MAX_ID)
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
    contact_seal(m, occurred_us);
    return true;
}

/* --- parser helpers ------------------------------------------------------- */

const char *inbound_json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const json_t *inbound_json_path(const json_t *obj, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n && obj; i++)
        obj = json_is_object(obj) ? json_object_get(obj, keys[i]) : NULL;
    return obj;
}

int inbound_json_uint(const json_t *obj, const char *key, uint64_t *out)
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

int64_t inbound_time_from_s(uint64_t s, int64_t fallback_us)
{
    if (s < INBOUND_TIME_MIN_S || s > INBOUND_TIME_MAX_S)
        return fallback_us;
    return (int64_t)s * 1000000;
}

int64_t inbound_time_from_ms(uint64_t ms, int64_t fallback_us)
{
    if (ms < INBOUND_TIME_MIN_S * 1000 || ms > INBOUND_TIME_MAX_S * 1000)
        return fallback_us;
    return (int64_t)ms * 1000;
}

/* --- signature helpers ---------------------------------------------------- */

const char *inbound_header_value(const char *header, const char *prefix, size_t *len)
{
    if (!header)
        return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t pl = strlen(prefix);
    if (strncasecmp(header, prefix, pl) != 0)
        return NULL;
    const char *v = header + pl;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return v;
}

int inbound_sha256(const struct hmac_part *parts, size_t nparts, unsigned char out[32])
{
    int rc = -1;
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) != 1)
            goto out;
    if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32)
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

bool inbound_token_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    /* Hashing first makes the comparison independent of both lengths. */
    unsigned char ha[32], hb[32];
    struct hmac_part pa = {a, strlen(a)}, pb = {b, strlen(b)};
    if (inbound_sha256(&pa, 1, ha) != 0 || inbound_sha256(&pb, 1, hb) != 0)
        return false;
    return hmac_equal(ha, hb, sizeof ha);
}
