/* zalo.c — Zalo Official Account webhook: POST user messages.
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
 * business card); everything else (follow, unfollow, the OA's own sends,
 * user_received_message, user_seen_message, anonymous senders without a
 * stable id) is acknowledged and ignored.
 *
 * X-ZEvent-Signature covers the payload's own "timestamp", so the body is
 * parsed before the signature can be checked: a body that is not JSON is
 * refused with 400 before any signature is looked at, and stores nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "signature.h"
#include "submit.h"
#include "timeutil.h"
#include "webhooks.h"

#define ZALO_EVENT_PREFIX "user_send_"

const char *webhook_zalo_timestamp(const json_t *root, char *buf, size_t size)
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
    return webhook_json_uint(payload, "size", &n) == 0 ? n : 0;
}

static void zalo_attachment(struct webhook_batch *b, struct message *m, const json_t *a)
{
    const char *type = webhook_json_str(a, "type");
    const json_t *p = json_object_get(a, "payload");
    if (type && strcmp(type, "location") == 0) {
        const json_t *c = json_object_get(p, "coordinates");
        const char *la = webhook_json_str(c, "latitude");
        const char *lo = webhook_json_str(c, "longitude");
        const json_t *lan = json_object_get(c, "latitude");
        const json_t *lon = json_object_get(c, "longitude");
        char x[32] = "", y[32] = "";
        if (!la && json_is_number(lan))
            snprintf(x, sizeof x, "%.6f", json_number_value(lan));
        if (!lo && json_is_number(lon))
            snprintf(y, sizeof y, "%.6f", json_number_value(lon));
        if (!*m->contact.text) {
            char *t = webhook_batch_printf(b, "[location] %s, %s", la ? la : x, lo ? lo : y);
            if (t)
                m->contact.text = t;
        }
        return;
    }
    const char *url = webhook_json_str(p, "url");
    if (!url)
        url = webhook_json_str(p, "thumbnail");
    const char *name = webhook_json_str(p, "name");
    if (!name)
        name = webhook_json_str(p, "title");
    const char *ct = webhook_json_str(p, "type"); /* a file's extension ("pdf") */
    webhook_message_attach(m, name, ct ? ct : type, zalo_size(p), url);
}

int webhook_zalo_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err)
{
    const char *ev_name = webhook_json_str(b->root, "event_name");
    if (!ev_name)
        return webhook_fail(err, 400, "\"event_name\" must be a string");
    if (strncmp(ev_name, ZALO_EVENT_PREFIX, strlen(ZALO_EVENT_PREFIX)) != 0) {
        b->ignored++;
        return 0;
    }
    struct message *m = webhook_batch_add(b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, err);
    if (!m)
        return -1;
    static const char *const sender_id[] = {"sender", "id"};
    const json_t *sid = webhook_json_path(b->root, sender_id, 2);
    if (json_is_string(sid))
        m->customer.handle = (char *)json_string_value(sid);
    const json_t *msg = json_object_get(b->root, "message");
    const char *s;
    if ((s = webhook_json_str(msg, "msg_id")))
        m->contact.external_id = (char *)s;
    if ((s = webhook_json_str(msg, "text")))
        m->contact.text = (char *)s;
    if ((s = webhook_json_str(msg, "quote_msg_id")))
        m->contact.in_reply_to = (char *)s;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(msg, "attachments"), i, a)
    {
        if (json_is_object(a))
            zalo_attachment(b, m, a);
    }
    uint64_t ms;
    int64_t at = webhook_json_uint(b->root, "timestamp", &ms) == 0
                     ? webhook_time_from_ms(ms, now_us)
                     : now_us;
    if (!webhook_message_finish(m, at))
        webhook_batch_drop_last(b);
    return 0;
}

int webhook_zalo_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                       struct webhook_error *err)
{
    if (webhook_batch_load_json(b, body, len, err) != 0)
        return -1;
    return webhook_zalo_map(b, now_us, err);
}

http_status webhook_zalo_post(http_req *r, void *arg)
{
    const char *app_id = webhook_secret("ZALO_APP_ID");
    const char *secret = webhook_secret("ZALO_OA_SECRET");
    if (!app_id || !secret)
        return webhook_not_configured(r, "zalo");
    const char *sig = http_header(r, "X-ZEvent-Signature");
    if (!sig)
        return webhook_bad_signature(r, "zalo", "missing X-ZEvent-Signature");
    struct webhook_req *w = webhook_req_new(r, "zalo");
    if (!w)
        return HTTP_DONE;
    size_t len;
    const char *body = http_body(r, &len);
    struct webhook_error err;
    if (webhook_batch_load_json(&w->b, body, len, &err) != 0)
        return webhook_refused(r, "zalo", &err);
    char tsbuf[32];
    const char *ts = webhook_zalo_timestamp(w->b.root, tsbuf, sizeof tsbuf);
    if (!signature_zalo_ok(sig, app_id, body, len, ts, secret))
        return webhook_bad_signature(r, "zalo", "X-ZEvent-Signature does not sign this body");
    if (webhook_zalo_map(&w->b, time_now_us(), &err) != 0)
        return webhook_refused(r, "zalo", &err);
    return webhook_submit(arg, w);
}
