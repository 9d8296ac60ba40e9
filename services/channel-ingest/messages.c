/* messages.c — POST /v1/messages: validate, then hand to the group commit.
 *
 * Unknown fields are ignored (integrators may send more than we read);
 * a known field of the wrong type is an error naming it. The idempotency
 * scope of a message is its channel, and its key the channel's own message
 * id (external_id); without one, the Idempotency-Key header (or a protobuf
 * envelope's idempotency_key), scoped to the API key and the route.
 *
 * This is the hot path (tens of thousands of requests a second): one
 * allocation per request (the write_req), no syscall beyond MHD's.
 */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "body.h"
#include "identity.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

static int parse_attachments(const json_t *arr, struct contact *m, struct message_error *err)
{
    if (!json_is_array(arr))
        return field_fail(err, "invalid_field", "attachments", "\"attachments\" must be an array");
    if (json_array_size(arr) > CONTACT_MAX_ATTACHMENTS)
        return field_fail(err, "invalid_field", "attachments",
                          "\"attachments\" has more than %d items", CONTACT_MAX_ATTACHMENTS);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        char field[64];
        Carebus__V1__Attachment *at = &m->attachments[i];
        carebus__v1__attachment__init(at);
        snprintf(field, sizeof field, "attachments[%zu]", i);
        if (!json_is_object(a))
            return field_fail(err, "invalid_field", field, "\"%s\" must be an object", field);
        snprintf(field, sizeof field, "attachments[%zu].name", i);
        if (field_string(a, "name", field, FIELD_TEXT, 1024, &at->name, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].type", i);
        if (field_string(a, "type", field, FIELD_OPTIONAL, 256, &at->content_type, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].url", i);
        if (field_string(a, "url", field, FIELD_OPTIONAL, 4096, &at->url, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].media_id", i);
        if (field_string(a, "media_id", field, FIELD_OPTIONAL, 1024, &at->media_id, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].size", i);
        uint64_t size = 0;
        if (field_uint(a, "size", field, FIELD_OPTIONAL, INT64_MAX, &size, NULL, err) != 0)
            return -1;
        at->size = size;
        m->attachment_ptrs[i] = at;
    }
    m->contact.n_attachments = json_array_size(arr);
    m->contact.attachments = m->attachment_ptrs;
    return 0;
}

static int parse_references(const json_t *arr, struct contact *m, struct message_error *err)
{
    if (!json_is_array(arr))
        return field_fail(err, "invalid_field", "references", "\"references\" must be an array");
    if (json_array_size(arr) > CONTACT_MAX_REFERENCES)
        return field_fail(err, "invalid_field", "references",
                          "\"references\" has more than %d items", CONTACT_MAX_REFERENCES);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 1024)
            return field_fail(err, "invalid_field", "references",
                              "\"references\" must hold strings of at most 1024 bytes");
        m->references[i] = (char *)json_string_value(v);
    }
    m->contact.n_references = json_array_size(arr);
    m->contact.references = m->references;
    return 0;
}

/* The rules both formats share, once m is filled: a known channel, a
 * customer the router can place. Then the envelope is assembled. */
static int message_finish(struct contact *m, int64_t occurred_us, struct message_error *err)
{
    if (!event_channel_name(m->contact.channel)[0])
        return field_fail(err, "invalid_field", "channel", "\"channel\" must be one of %s",
                          vocab_list(&carebus__v1__channel__descriptor));
    struct identity_set ids;
    identity_set_from_ref(&ids, m->contact.channel, &m->customer, NULL);
    if (ids.rejected & IDENTITY_BAD_PHONE)
        return field_fail(err, "invalid_field", "customer.phone",
                          "could not read \"customer.phone\" as a phone number");
    if (ids.rejected & IDENTITY_BAD_EMAIL)
        return field_fail(err, "invalid_field", "customer.email",
                          "could not read \"customer.email\" as an email address");
    if (ids.rejected & IDENTITY_BAD_HANDLE)
        return field_fail(err, "invalid_field", "customer.handle",
                          "\"customer.handle\" is not a valid %s handle",
                          event_channel_name(m->contact.channel));
    if (ids.n == 0)
        return field_fail(err, "missing_field", "customer",
                          "\"customer\" needs at least one of phone, email or handle");
    contact_seal(m, occurred_us);
    return 0;
}

int messages_parse(const json_t *root, int64_t now_us, struct contact *m, struct message_error *err)
{
    contact_init(m, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    if (field_object(root, err))
        return -1;
    int ch = 0;
    if (field_enum(root, "channel", "channel", FIELD_REQUIRED, &carebus__v1__channel__descriptor,
                   &ch, NULL, err) != 0)
        return -1;
    m->contact.channel = (Carebus__V1__Channel)ch;

    json_t *cust = json_object_get(root, "customer");
    if (!cust || json_is_null(cust))
        return field_fail(err, "missing_field", "customer", "\"customer\" is required");
    if (!json_is_object(cust))
        return field_fail(err, "invalid_field", "customer", "\"customer\" must be an object");
    if (field_string(cust, "name", "customer.name", FIELD_TEXT, 512, &m->customer.name, err) ||
        field_string(cust, "phone", "customer.phone", 0, 64, &m->customer.phone, err) ||
        field_string(cust, "email", "customer.email", 0, 320, &m->customer.email, err) ||
        field_string(cust, "handle", "customer.handle", 0, 255, &m->customer.handle, err))
        return -1;

    if (field_string(root, "external_id", "external_id", 0, CONTACT_MAX_ID, &m->contact.external_id,
                     err) ||
        field_string(root, "text", "text", FIELD_TEXT, 0, &m->contact.text, err) ||
        field_string(root, "subject", "subject", FIELD_TEXT, 1024, &m->contact.subject, err) ||
        field_string(root, "in_reply_to", "in_reply_to", 0, 1024, &m->contact.in_reply_to, err))
        return -1;

    int64_t occurred = now_us;
    if (field_time(root, "occurred_at", "occurred_at", 0, &occurred, NULL, err) != 0)
        return -1;

    json_t *v = json_object_get(root, "attachments");
    if (v && !json_is_null(v) && parse_attachments(v, m, err) != 0)
        return -1;
    v = json_object_get(root, "references");
    if (v && !json_is_null(v) && parse_references(v, m, err) != 0)
        return -1;
    return message_finish(m, occurred, err);
}

/* --- protobuf bodies ----------------------------------------------------- */

/* Earliest and latest times RFC 3339 can write: 0001-01-01 and 9999-12-31. */
#define TIME_MIN_S INT64_C(-62135596800)
#define TIME_MAX_S INT64_C(253402300799)

static int pb_contact(const Carebus__V1__ContactReceived *c, struct contact *m,
                      struct message_error *err)
{
    const Carebus__V1__CustomerRef *cr = c->customer;
    if (!cr)
        return field_fail(err, "missing_field", "customer", "\"customer\" is required");
    if (field_check(cr->name, "customer.name", FIELD_TEXT, 512, err) ||
        field_check(cr->phone, "customer.phone", 0, 64, err) ||
        field_check(cr->email, "customer.email", 0, 320, err) ||
        field_check(cr->handle, "customer.handle", 0, 255, err) ||
        field_check(c->external_id, "external_id", 0, CONTACT_MAX_ID, err) ||
        field_check(c->text, "text", FIELD_TEXT, 0, err) ||
        field_check(c->subject, "subject", FIELD_TEXT, 1024, err) ||
        field_check(c->in_reply_to, "in_reply_to", 0, 1024, err))
        return -1;
    /* Copies, not the unpacked messages themselves: unknown fields a client
     * put in them must not reach the log. */
    m->customer.name = cr->name;
    m->customer.phone = cr->phone;
    m->customer.email = cr->email;
    m->customer.handle = cr->handle;
    m->contact.channel = c->channel;
    m->contact.external_id = c->external_id;
    m->contact.text = c->text;
    m->contact.subject = c->subject;
    m->contact.in_reply_to = c->in_reply_to;

    if (c->n_attachments > CONTACT_MAX_ATTACHMENTS)
        return field_fail(err, "invalid_field", "attachments",
                          "\"attachments\" has more than %d items", CONTACT_MAX_ATTACHMENTS);
    for (size_t i = 0; i < c->n_attachments; i++) {
        const Carebus__V1__Attachment *a = c->attachments[i];
        Carebus__V1__Attachment *at = &m->attachments[i];
        char field[64];
        carebus__v1__attachment__init(at);
        snprintf(field, sizeof field, "attachments[%zu].name", i);
        if (field_check(a->name, field, FIELD_TEXT, 1024, err))
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].type", i);
        if (field_check(a->content_type, field, 0, 256, err))
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].url", i);
        if (field_check(a->url, field, 0, 4096, err))
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].media_id", i);
        if (field_check(a->media_id, field, 0, 1024, err))
            return -1;
        at->name = a->name;
        at->content_type = a->content_type;
        at->url = a->url;
        at->media_id = a->media_id;
        at->size = a->size;
        m->attachment_ptrs[i] = at;
    }
    m->contact.n_attachments = c->n_attachments;
    m->contact.attachments = c->n_attachments ? m->attachment_ptrs : NULL;

    if (c->n_references > CONTACT_MAX_REFERENCES)
        return field_fail(err, "invalid_field", "references",
                          "\"references\" has more than %d items", CONTACT_MAX_REFERENCES);
    for (size_t i = 0; i < c->n_references; i++) {
        if (field_check(c->references[i], "references", 0, 1024, err))
            return -1;
        m->references[i] = c->references[i];
    }
    m->contact.n_references = c->n_references;
    m->contact.references = c->n_references ? m->references : NULL;
    return 0;
}

int messages_parse_pb(const uint8_t *buf, size_t len, int64_t now_us, struct contact *m,
                      event **owned, struct message_error *err)
{
    contact_init(m, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    *owned = NULL;
    event *ev = event_unpack(buf, len);
    if (!ev)
        return field_fail(err, "invalid_protobuf", "",
                          "the body is not a packed carebus.v1.Envelope");
    if (ev->body_case != CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED || !ev->contact_received) {
        event_destroy(&ev);
        return field_fail(err, "invalid_field", "contact_received",
                          "the envelope's body must be \"contact_received\"");
    }
    int64_t occurred = now_us;
    if (ev->occurred_at) {
        const Google__Protobuf__Timestamp *t = ev->occurred_at;
        if (t->seconds < TIME_MIN_S || t->seconds > TIME_MAX_S || t->nanos < 0 ||
            t->nanos > 999999999) {
            event_destroy(&ev);
            return field_fail(err, "invalid_field", "occurred_at",
                              "\"occurred_at\" is not a valid time");
        }
        occurred = event_ts_us(t);
    }
    if (pb_contact(ev->contact_received, m, err) != 0 ||
        field_check(ev->idempotency_key, "idempotency_key", 0, 255, err) != 0 ||
        message_finish(m, occurred, err) != 0) {
        event_destroy(&ev);
        return -1;
    }
    m->idem_key = ev->idempotency_key[0] ? ev->idempotency_key : NULL;
    *owned = ev;
    return 0;
}

/* --- the handler -------------------------------------------------------- */

http_status messages_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    const char *ct = http_header(r, "Content-Type");
    bool pb = body_type_is(ct, BODY_PROTOBUF);
    if (!pb && !body_type_is(ct, BODY_JSON)) {
        ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                      "expected Content-Type \"" BODY_JSON "\" or \"" BODY_PROTOBUF
                      "\", got \"%.100s\"",
                      ct ? ct : "");
        return HTTP_DONE;
    }
    /* u.msg is started by messages_parse or messages_parse_pb. */
    struct write_req *w = write_req_new_contact(r, in);
    if (!w)
        return HTTP_DONE;
    struct contact *m = &w->u.msg;
    struct message_error err;
    int rc;
    if (pb) {
        size_t len;
        const char *body = http_body(r, &len);
        rc = messages_parse_pb((const uint8_t *)body, len, time_now_us(), m, &w->pb, &err);
    } else {
        if (!(w->root = body_load_json(r, in->json_max_depth)))
            return HTTP_DONE;
        rc = messages_parse(w->root, time_now_us(), m, &err);
    }
    if (rc != 0)
        return write_reject_invalid(w, &err);
    if (!auth_channel_ok(in->auth, r, g, m->contact.channel))
        return HTTP_DONE;
    const char *ext = m->contact.external_id;
    if (ext && *ext) {
        w->entry.idem_scope = m->idem_scope;
        w->entry.idem_key = ext;
    } else if (!write_idempotency(w, g, m->idem_key)) {
        return HTTP_DONE;
    }
    return write_submit(w, &m->ev);
}
