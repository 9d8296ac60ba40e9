/* zalo.c — Zalo Official Account.
 *
 * Sections: inbound (user messages), status (received and seen receipts),
 * signature, the adapter.
 *
 * Payload followed: developers.zalo.me/docs/official-account/webhook (event
 * list and samples, as collected in hoangnd25/monorepo wip/zalo-platform-
 * integration.md and consumed by chatwoot/chatwoot app/services/zalo/):
 * {"app_id","user_id_by_app","event_name":"user_send_text","timestamp":
 * "<ms>","sender":{"id"},"recipient":{"id":OA},"message":{"msg_id","text",
 * "quote_msg_id","attachments":[{"type":"image|file|sticker|gif|audio|
 * video|link|location","payload":{"url","thumbnail","name","size","type",
 * "coordinates":{"latitude","longitude"}}}]}}.
 *
 * One event per request. Every "user_send_*" event is a customer message
 * (text, image, file, sticker, gif, audio, video, link, location,
 * business card). user_received_message and user_seen_message are receipts
 * for the OA's messages: there the OA is the sender and the customer the
 * recipient (inverted from user_send_*); sources disagree on "msg_id"
 * against "msg_ids", so both are read on both events, each a string or an
 * array. Everything else (follow, unfollow, the OA's own sends, anonymous
 * senders without a stable id) is acknowledged and ignored.
 *
 * X-ZEvent-Signature covers the payload's own "timestamp", so the body is
 * parsed before the signature can be checked: a body that is not JSON is
 * refused with 400 before any signature is looked at, and stores nothing.
 * Sources followed for it: the webhook guide summarised at hainh.me/zalo-
 * api-php-webhook-callback-official-account.html (SHA-256 of app id, body,
 * the payload's timestamp and the OA secret key, in that order; the OA
 * secret, not the app secret) and the same check in chatwoot/chatwoot
 * app/jobs/webhooks/zalo_events_job.rb ("mac=" + hexdigest).
 */
#include "zalo.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ZALO_EVENT_PREFIX "user_send_"

/* --- inbound: user messages ------------------------------------------------- */

const char *zalo_timestamp(const json_t *root, char *buf, size_t size)
{
    const json_t *t = json_object_get(root, "timestamp");
    if (json_is_string(t))
        return json_string_value(t);
    if (json_is_integer(t)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(t));
        return buf;
    }
    return NULL;
}

static uint64_t zalo_size(const json_t *payload)
{
    uint64_t n = 0;
    return inbound_json_uint(payload, "size", &n) == 0 ? n : 0;
}

static void zalo_attachment(struct inbound_batch *b, struct contact *m, const json_t *a)
{
    const char *type = inbound_json_str(a, "type");
    const json_t *p = json_object_get(a, "payload");
    if (type && strcmp(type, "location") == 0) {
        const json_t *c = json_object_get(p, "coordinates");
        const char *la = inbound_json_str(c, "latitude");
        const char *lo = inbound_json_str(c, "longitude");
        const json_t *lan = json_object_get(c, "latitude");
        const json_t *lon = json_object_get(c, "longitude");
        char x[32] = "", y[32] = "";
        if (!la && json_is_number(lan))
            snprintf(x, sizeof x, "%.6f", json_number_value(lan));
        if (!lo && json_is_number(lon))
            snprintf(y, sizeof y, "%.6f", json_number_value(lon));
        if (!*m->contact.text) {
            char *t = inbound_printf(b, "[location] %s, %s", la ? la : x, lo ? lo : y);
            if (t)
                m->contact.text = t;
        }
        return;
    }
    const char *url = inbound_json_str(p, "url");
    if (!url)
        url = inbound_json_str(p, "thumbnail");
    const char *name = inbound_json_str(p, "name");
    if (!name)
        name = inbound_json_str(p, "title");
    const char *ct = inbound_json_str(p, "type"); /* a file's extension ("pdf") */
    contact_attach(m, name, ct ? ct : type, zalo_size(p), url);
}

static int zalo_message(struct inbound_batch *b, int64_t at, struct inbound_error *err)
{
    struct contact *m = inbound_add_contact(b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, err);
    if (!m)
        return -1;
    static const char *const sender_id[] = {"sender", "id"};
    const json_t *sid = inbound_json_path(b->root, sender_id, 2);
    if (json_is_string(sid))
        m->customer.handle = (char *)json_string_value(sid);
    const json_t *msg = json_object_get(b->root, "message");
    const char *s;
    if ((s = inbound_json_str(msg, "msg_id")))
        m->contact.external_id = (char *)s;
    if ((s = inbound_json_str(msg, "text")))
        m->contact.text = (char *)s;
    if ((s = inbound_json_str(msg, "quote_msg_id")))
        m->contact.in_reply_to = (char *)s;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(msg, "attachments"), i, a)
    {
        if (json_is_object(a))
            zalo_attachment(b, m, a);
    }
    if (!inbound_contact_finish(m, at))
        inbound_drop_contact(b);
    return 0;
}

/* --- status: received and seen -------------------------------------------------- */

/* Ids from a member that is a string or an array of strings. */
static void zalo_ids(struct status *s, const json_t *v)
{
    if (json_is_string(v)) {
        status_add_id(s, json_string_value(v));
        return;
    }
    size_t i;
    const json_t *id;
    json_array_foreach(v, i, id)
    {
        if (json_is_string(id))
            status_add_id(s, json_string_value(id));
    }
}

static int zalo_receipt(struct inbound_batch *b, status_kind kind, int64_t at,
                        struct inbound_error *err)
{
    struct status *s = inbound_add_status(b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, kind, err);
    if (!s)
        return -1;
    static const char *const recipient_id[] = {"recipient", "id"};
    const json_t *rid = inbound_json_path(b->root, recipient_id, 2);
    if (json_is_string(rid))
        s->recipient = json_string_value(rid);
    const json_t *msg = json_object_get(b->root, "message");
    zalo_ids(s, json_object_get(msg, "msg_id"));
    zalo_ids(s, json_object_get(msg, "msg_ids"));
    if (!status_seal(s, at))
        inbound_drop_status(b);
    return 0;
}

/* --- the body ---------------------------------------------------------------- */

int zalo_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
{
    const char *ev_name = inbound_json_str(b->root, "event_name");
    if (!ev_name)
        return inbound_fail(err, 400, "\"event_name\" must be a string");
    uint64_t ms;
    int64_t at = inbound_json_uint(b->root, "timestamp", &ms) == 0
                     ? inbound_time_from_ms(ms, now_us)
                     : now_us;
    if (strncmp(ev_name, ZALO_EVENT_PREFIX, strlen(ZALO_EVENT_PREFIX)) == 0)
        return zalo_message(b, at, err);
    if (strcmp(ev_name, "user_received_message") == 0)
        return zalo_receipt(b, STATUS_DELIVERED, at, err);
    if (strcmp(ev_name, "user_seen_message") == 0)
        return zalo_receipt(b, STATUS_READ, at, err);
    b->ignored++;
    return 0;
}

int zalo_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
               struct inbound_error *err)
{
    if (inbound_load_json(b, body, len, err) != 0)
        return -1;
    return zalo_map(b, now_us, err);
}

/* --- signature ------------------------------------------------------------------ */

bool zalo_signature_ok(const char *header, const char *app_id, const char *body, size_t len,
                       const char *timestamp, const char *oa_secret)
{
    size_t hl;
    const char *hex = inbound_header_value(header, "mac=", &hl);
    if (!hex || !app_id || !oa_secret || !timestamp)
        return false;
    unsigned char mac[32];
    struct hmac_part parts[] = {
        {app_id, strlen(app_id)},
        {body, len},
        {timestamp, strlen(timestamp)},
        {oa_secret, strlen(oa_secret)},
    };
    if (inbound_sha256(parts, sizeof parts / sizeof parts[0], mac) != 0)
        return false;
    return hmac_equal_hex(hex, hl, mac, sizeof mac);
}

/* settings: the app id, the OA secret key. */
static int zalo_verify(const char *const *settings, const struct inbound_req *req,
                       struct inbound_batch *b, struct inbound_error *err)
{
    if (inbound_load_json(b, req->body, req->len, err) != 0)
        return -1;
    char buf[32];
    const char *ts = zalo_timestamp(b->root, buf, sizeof buf);
    if (!zalo_signature_ok(req->header(req->ctx, "X-ZEvent-Signature"), settings[0], req->body,
                           req->len, ts, settings[1]))
        return inbound_fail(err, 401, "X-ZEvent-Signature does not sign this body");
    return 0;
}

/* --- the adapter ---------------------------------------------------------------- */

const struct inbound_adapter zalo_inbound = {
    .name = "zalo",
    .path = "zalo",
    .auth = INBOUND_SIGNED,
    .settings = {"ZALO_APP_ID", "ZALO_OA_SECRET"},
    .signature_header = "X-ZEvent-Signature",
    .verify = zalo_verify,
    .load = inbound_load_json,
    .map = zalo_map,
};
