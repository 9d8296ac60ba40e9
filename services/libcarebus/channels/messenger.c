/* messenger.c — Facebook Messenger and Instagram messaging.
 *
 * Sections: inbound (customer messages), status (delivery and read
 * receipts), the adapter. Signature and handshake: meta.c.
 *
 * Payload followed: developers.facebook.com/docs/messenger-platform/
 * webhook-reference (and .../webhooks/messages, .../message-deliveries,
 * .../message-reads): {"object":"page", "entry":[{"id","time","messaging":
 * [{"sender":{"id":PSID},"recipient":{"id":PAGE},"timestamp":ms,"message":
 * {"mid","text","attachments":[{"type","payload":{"url"}}],"reply_to":
 * {"mid"},"is_echo"}}]}]}. Instagram messaging arrives in the same shape
 * with "object":"instagram" and is mapped to the instagram channel.
 *
 * Messaging items with a "message" are customer messages, but echoes of
 * the page's own messages ("is_echo"); the customer is known by the
 * sender's page-scoped id (handle), Meta sends no name or phone. Items
 * with "delivery" ({"mids"?, "watermark"}) and "read" ({"watermark"}, or
 * Instagram's {"mid"}) are status reports on the page's messages to that
 * sender: a watermark covers every message sent before it. Postbacks,
 * reactions, referrals and the like are acknowledged and ignored.
 */
#include "messenger.h"

#include <string.h>

#include "meta.h"

/* --- inbound: customer messages -------------------------------------------- */

/* One attachment; a shared location (older payloads: coordinates, no url)
 * becomes a text placeholder when the message has no text. */
static void messenger_attachment(struct inbound_batch *b, struct contact *m, const json_t *a)
{
    const char *type = inbound_json_str(a, "type");
    const json_t *payload = json_object_get(a, "payload");
    const char *url = inbound_json_str(payload, "url");
    const char *title = inbound_json_str(payload, "title");
    if (!url && !title) {
        static const char *const lat[] = {"coordinates", "lat"};
        static const char *const lng[] = {"coordinates", "long"};
        const json_t *la = inbound_json_path(payload, lat, 2);
        const json_t *lo = inbound_json_path(payload, lng, 2);
        if (json_is_number(la) && json_is_number(lo) && !*m->contact.text)
            m->contact.text = inbound_printf(b, "[location] %.6f, %.6f", json_number_value(la),
                                             json_number_value(lo));
        if (!m->contact.text)
            m->contact.text = "";
        return;
    }
    contact_attach(m, title, type, 0, url);
}

static int messenger_message(struct inbound_batch *b, Carebus__V1__Channel ch, const json_t *item,
                             const json_t *msg, int64_t now_us, struct inbound_error *err)
{
    if (json_is_true(json_object_get(msg, "is_echo"))) {
        b->ignored++;
        return 0;
    }
    struct contact *m = inbound_add_contact(b, ch, err);
    if (!m)
        return -1;
    static const char *const sender_id[] = {"sender", "id"};
    const json_t *sid = inbound_json_path(item, sender_id, 2);
    if (json_is_string(sid))
        m->customer.handle = (char *)json_string_value(sid);
    const char *s;
    if ((s = inbound_json_str(msg, "mid")))
        m->contact.external_id = (char *)s;
    if ((s = inbound_json_str(msg, "text")))
        m->contact.text = (char *)s;
    static const char *const reply_mid[] = {"reply_to", "mid"};
    const json_t *rt = inbound_json_path(msg, reply_mid, 2);
    if (json_is_string(rt))
        m->contact.in_reply_to = (char *)json_string_value(rt);
    const json_t *atts = json_object_get(msg, "attachments");
    size_t i;
    const json_t *a;
    if (json_is_array(atts))
        json_array_foreach(atts, i, a)
        {
            if (json_is_object(a))
                messenger_attachment(b, m, a);
        }
    uint64_t ms;
    int64_t at =
        inbound_json_uint(item, "timestamp", &ms) == 0 ? inbound_time_from_ms(ms, now_us) : now_us;
    if (!inbound_contact_finish(m, at))
        inbound_drop_contact(b);
    return 0;
}

/* --- status: delivery and read receipts ------------------------------------- */

/* delivery {"mids"?, "watermark"} or read {"watermark"} / {"mid"}
 * (Instagram). The receipt's time: the item's timestamp, else the entry's
 * time (deliveries carry none), else now. */
static int messenger_receipt(struct inbound_batch *b, Carebus__V1__Channel ch, const json_t *entry,
                             const json_t *item, const json_t *receipt, status_kind kind,
                             int64_t now_us, struct inbound_error *err)
{
    struct status *s = inbound_add_status(b, ch, kind, err);
    if (!s)
        return -1;
    static const char *const sender_id[] = {"sender", "id"};
    const json_t *sid = inbound_json_path(item, sender_id, 2);
    if (json_is_string(sid))
        s->recipient = json_string_value(sid);
    uint64_t ms;
    if (inbound_json_uint(receipt, "watermark", &ms) == 0)
        s->watermark_us = inbound_time_from_ms(ms, 0);
    size_t i;
    const json_t *mid;
    json_array_foreach(json_object_get(receipt, "mids"), i, mid)
    {
        if (json_is_string(mid))
            status_add_id(s, json_string_value(mid));
    }
    status_add_id(s, inbound_json_str(receipt, "mid"));
    int64_t at = now_us;
    if (inbound_json_uint(item, "timestamp", &ms) == 0 ||
        inbound_json_uint(entry, "time", &ms) == 0)
        at = inbound_time_from_ms(ms, now_us);
    if (!status_seal(s, at))
        inbound_drop_status(b);
    return 0;
}

/* --- the body ---------------------------------------------------------------- */

static int messenger_item(struct inbound_batch *b, Carebus__V1__Channel ch, const json_t *entry,
                          const json_t *item, int64_t now_us, struct inbound_error *err)
{
    const json_t *v;
    if (json_is_object(v = json_object_get(item, "message")))
        return messenger_message(b, ch, item, v, now_us, err);
    if (json_is_object(v = json_object_get(item, "delivery")))
        return messenger_receipt(b, ch, entry, item, v, STATUS_DELIVERED, now_us, err);
    if (json_is_object(v = json_object_get(item, "read")))
        return messenger_receipt(b, ch, entry, item, v, STATUS_READ, now_us, err);
    b->ignored++; /* postbacks, reactions, referrals, optins ... */
    return 0;
}

int messenger_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
{
    const char *object = inbound_json_str(b->root, "object");
    Carebus__V1__Channel ch = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK;
    if (object && strcmp(object, "instagram") == 0) {
        ch = CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM;
    } else if (object && strcmp(object, "page") != 0) {
        b->ignored++; /* another product's notification (user, permissions ...) */
        return 0;
    }
    const json_t *entries = json_object_get(b->root, "entry");
    if (!json_is_array(entries))
        return inbound_fail(err, 400, "\"entry\" must be an array");
    size_t i, k;
    const json_t *entry, *item;
    json_array_foreach(entries, i, entry)
    {
        const json_t *messaging = json_object_get(entry, "messaging");
        if (!json_is_array(messaging)) {
            b->ignored++; /* "changes" (feed), "standby" (handover) ... */
            continue;
        }
        json_array_foreach(messaging, k, item)
        {
            if (!json_is_object(item)) {
                b->ignored++;
                continue;
            }
            if (messenger_item(b, ch, entry, item, now_us, err) != 0)
                return -1;
        }
    }
    return 0;
}

int messenger_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                    struct inbound_error *err)
{
    if (inbound_load_json(b, body, len, err) != 0)
        return -1;
    return messenger_map(b, now_us, err);
}

/* --- the adapter ---------------------------------------------------------------- */

const struct inbound_adapter messenger_inbound = {
    .name = "facebook",
    .path = "facebook",
    .auth = INBOUND_SIGNED,
    .settings = {"FACEBOOK_APP_SECRET"},
    .signature_header = "X-Hub-Signature-256",
    .verify = meta_verify,
    .load = inbound_load_json,
    .map = messenger_map,
    .handshake_setting = "FACEBOOK_VERIFY_TOKEN",
    .handshake = meta_handshake,
};
