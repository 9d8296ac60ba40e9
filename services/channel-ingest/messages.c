/* messages.c — POST /v1/messages: validate, then hand to the group commit.
 *
 * Unknown fields are ignored (integrators may send more than we read);
 * a known field of the wrong type is an error naming it. The idempotency
 * scope of a message is its channel, and its key the channel's own message
 * id (external_id) or else the Idempotency-Key header.
 */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define MESSAGE_MAX_ID 256

static int fail(struct message_error *err, const char *code, const char *field, const char *fmt,
                const char *detail)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, fmt, field, detail ? detail : "");
    return -1;
}

/* Reads an optional string member into *out (borrowed from obj). */
static int opt_string(const json_t *obj, const char *key, const char *field, char **out,
                      size_t max, struct message_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, "invalid_field", field, "\"%s\" must be a string%s", NULL);
    if (max && json_string_length(v) > max)
        return fail(err, "invalid_field", field, "\"%s\" is too long%s", NULL);
    *out = (char *)json_string_value(v);
    return 0;
}

static int parse_attachments(const json_t *arr, struct message *m, struct message_error *err)
{
    if (!json_is_array(arr))
        return fail(err, "invalid_field", "attachments", "\"%s\" must be an array%s", NULL);
    if (json_array_size(arr) > MESSAGE_MAX_ATTACHMENTS)
        return fail(err, "invalid_field", "attachments", "\"%s\" has more than 32 items%s", NULL);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a) {
        char field[64];
        Carebus__V1__Attachment *at = &m->attachments[i];
        carebus__v1__attachment__init(at);
        snprintf(field, sizeof field, "attachments[%zu]", i);
        if (!json_is_object(a))
            return fail(err, "invalid_field", field, "\"%s\" must be an object%s", NULL);
        snprintf(field, sizeof field, "attachments[%zu].name", i);
        if (opt_string(a, "name", field, &at->name, 1024, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].type", i);
        if (opt_string(a, "type", field, &at->content_type, 256, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].url", i);
        if (opt_string(a, "url", field, &at->url, 4096, err) != 0)
            return -1;
        json_t *size = json_object_get(a, "size");
        if (size && !json_is_null(size)) {
            snprintf(field, sizeof field, "attachments[%zu].size", i);
            if (!json_is_integer(size) || json_integer_value(size) < 0)
                return fail(err, "invalid_field", field,
                            "\"%s\" must be a non-negative integer%s", NULL);
            at->size = (uint64_t)json_integer_value(size);
        }
        m->attachment_ptrs[i] = at;
    }
    m->contact.n_attachments = json_array_size(arr);
    m->contact.attachments = m->attachment_ptrs;
    return 0;
}

static int parse_references(const json_t *arr, struct message *m, struct message_error *err)
{
    if (!json_is_array(arr))
        return fail(err, "invalid_field", "references", "\"%s\" must be an array%s", NULL);
    if (json_array_size(arr) > MESSAGE_MAX_REFERENCES)
        return fail(err, "invalid_field", "references", "\"%s\" has too many items%s", NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return fail(err, "invalid_field", "references", "\"%s\" must hold strings%s", NULL);
        m->references[i] = (char *)json_string_value(v);
    }
    m->contact.n_references = json_array_size(arr);
    m->contact.references = m->references;
    return 0;
}

int message_parse(const json_t *root, int64_t now_us, struct message *m,
                  struct message_error *err)
{
    memset(m, 0, sizeof *m);
    carebus__v1__envelope__init(&m->ev);
    carebus__v1__contact_received__init(&m->contact);
    carebus__v1__customer_ref__init(&m->customer);
    google__protobuf__timestamp__init(&m->occurred);
    if (!json_is_object(root))
        return fail(err, "invalid_json", "", "the body must be a JSON object%s%s", NULL);

    json_t *ch = json_object_get(root, "channel");
    if (!ch || json_is_null(ch))
        return fail(err, "missing_field", "channel", "\"%s\" is required%s", NULL);
    if (!json_is_string(ch) || event_channel_parse(json_string_value(ch), &m->contact.channel))
        return fail(err, "invalid_field", "channel",
                    "\"%s\" must be one of phone, email, chat, facebook, zalo, instagram, "
                    "tiktok, twitter, sms, whatsapp, helpcenter, store%s",
                    NULL);

    json_t *cust = json_object_get(root, "customer");
    if (!cust || json_is_null(cust))
        return fail(err, "missing_field", "customer", "\"%s\" is required%s", NULL);
    if (!json_is_object(cust))
        return fail(err, "invalid_field", "customer", "\"%s\" must be an object%s", NULL);
    if (opt_string(cust, "name", "customer.name", &m->customer.name, 512, err) ||
        opt_string(cust, "phone", "customer.phone", &m->customer.phone, 64, err) ||
        opt_string(cust, "email", "customer.email", &m->customer.email, 320, err) ||
        opt_string(cust, "handle", "customer.handle", &m->customer.handle, 256, err))
        return -1;
    if (!*m->customer.phone && !*m->customer.email && !*m->customer.handle)
        return fail(err, "missing_field", "customer",
                    "\"%s\" needs at least one of phone, email or handle%s", NULL);
    m->contact.customer = &m->customer;

    if (opt_string(root, "external_id", "external_id", &m->contact.external_id, MESSAGE_MAX_ID,
                   err) ||
        opt_string(root, "text", "text", &m->contact.text, 0, err) ||
        opt_string(root, "subject", "subject", &m->contact.subject, 1024, err) ||
        opt_string(root, "in_reply_to", "in_reply_to", &m->contact.in_reply_to, 1024, err))
        return -1;

    int64_t occurred = now_us;
    char *occ = NULL;
    if (opt_string(root, "occurred_at", "occurred_at", &occ, 64, err) != 0)
        return -1;
    if (occ && time_parse_rfc3339(occ, &occurred) != 0)
        return fail(err, "invalid_field", "occurred_at",
                    "could not parse \"%s\": expected RFC 3339, got \"%s\"", occ);
    event_ts_set(&m->occurred, occurred);

    json_t *v = json_object_get(root, "attachments");
    if (v && !json_is_null(v) && parse_attachments(v, m, err) != 0)
        return -1;
    v = json_object_get(root, "references");
    if (v && !json_is_null(v) && parse_references(v, m, err) != 0)
        return -1;

    m->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    m->ev.contact_received = &m->contact;
    m->ev.occurred_at = &m->occurred;
    m->ev.type = (char *)event_type_name(m->ev.body_case);
    snprintf(m->idem_scope, sizeof m->idem_scope, "msg:%s",
             event_channel_name(m->contact.channel));
    return 0;
}

/* One POST in flight: the parsed document, the message and its log entry. */
struct message_req {
    http_req *r;
    json_t *root;
    struct message m;
    struct eventlog_entry entry;
};

static void message_req_free(void *p)
{
    struct message_req *mr = p;
    json_decref(mr->root);
    free(mr);
}

static void message_on_commit(struct eventlog_entry *e, int ok, void *arg)
{
    struct message_req *mr = arg;
    if (ok != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(mr->r);
        return;
    }
    metrics_add(e->duplicate ? "carebus_ingest_messages_total{result=\"duplicate\"}"
                             : "carebus_ingest_messages_total{result=\"accepted\"}",
                1);
    http_reply_json(mr->r, e->duplicate ? 200 : 202,
                    json_pack("{s:s, s:I}", "event_id", e->event_id, "seq", (json_int_t)e->seq));
}

/* True when the request's Content-Type is JSON; otherwise answers 415. */
static bool message_content_type_ok(http_req *r)
{
    const char *ct = http_header(r, "Content-Type");
    size_t n = ct ? strcspn(ct, ";") : 0;
    while (n && ct[n - 1] == ' ')
        n--;
    if (ct && n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
        return true;
    metrics_add("carebus_ingest_rejected_total{reason=\"unsupported_media_type\"}", 1);
    http_reply_error(r, 415, "unsupported_media_type", NULL,
                     "expected Content-Type \"application/json\", got \"%s\"", ct ? ct : "");
    return false;
}

http_status messages_post(http_req *r, void *arg)
{
    ingest *in = arg;
    if (!auth_check(in->auth, r) || !message_content_type_ok(r))
        return HTTP_DONE;
    struct message_req *mr = calloc(1, sizeof *mr);
    if (!mr) {
        http_reply_error(r, 503, "unavailable", NULL, "out of memory");
        return HTTP_DONE;
    }
    mr->r = r;
    http_set_data(r, mr, message_req_free);

    size_t len;
    const char *body = http_body(r, &len);
    json_error_t jerr;
    mr->root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!mr->root) {
        metrics_add("carebus_ingest_rejected_total{reason=\"invalid_json\"}", 1);
        http_reply_error(r, 400, "invalid_json", NULL, "could not parse the body: %s (at %d:%d)",
                         jerr.text, jerr.line, jerr.column);
        return HTTP_DONE;
    }
    struct message_error err;
    if (message_parse(mr->root, time_now_us(), &mr->m, &err) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"invalid_field\"}", 1);
        http_reply_error(r, 400, err.code, err.field[0] ? err.field : NULL, "%s", err.message);
        return HTTP_DONE;
    }
    mr->entry.ev = &mr->m.ev;
    const char *key = mr->m.contact.external_id;
    if (key && *key) {
        mr->entry.idem_scope = mr->m.idem_scope;
        mr->entry.idem_key = key;
    } else if ((key = http_header(r, "Idempotency-Key")) && *key) {
        mr->entry.idem_scope = "api:/v1/messages";
        mr->entry.idem_key = key;
    }
    if (group_commit_submit(in->gc, &mr->entry, message_on_commit, mr) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
