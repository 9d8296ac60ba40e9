/* facebook.c — Facebook Messenger webhook: GET handshake, POST messages.
 *
 * Payload followed: developers.facebook.com/docs/messenger-platform/
 * webhook-reference (and .../webhooks/messages): {"object":"page",
 * "entry":[{"id","time","messaging":[{"sender":{"id":PSID},"recipient":
 * {"id":PAGE},"timestamp":ms,"message":{"mid","text","attachments":[{"type",
 * "payload":{"url"}}],"reply_to":{"mid"},"is_echo"}}]}]}. Instagram
 * messaging arrives in the same shape with "object":"instagram" and is
 * mapped to the instagram channel.
 *
 * Only messaging items with a "message" are customer messages; deliveries,
 * reads, postbacks, reactions and echoes of the page's own messages
 * ("is_echo") are acknowledged and ignored. The customer is known by the
 * sender's page-scoped id (handle); Meta sends no name or phone.
 */
#include <string.h>

#include "meta.h"
#include "webhooks.h"

/* One attachment; a shared location (older payloads: coordinates, no url)
 * becomes a text placeholder when the message has no text. */
static void fb_attachment(struct webhook_batch *b, struct message *m, const json_t *a)
{
    const char *type = webhook_json_str(a, "type");
    const json_t *payload = json_object_get(a, "payload");
    const char *url = webhook_json_str(payload, "url");
    const char *title = webhook_json_str(payload, "title");
    if (!url && !title) {
        static const char *const lat[] = {"coordinates", "lat"};
        static const char *const lng[] = {"coordinates", "long"};
        const json_t *la = webhook_json_path(payload, lat, 2);
        const json_t *lo = webhook_json_path(payload, lng, 2);
        if (json_is_number(la) && json_is_number(lo) && !*m->contact.text)
            m->contact.text = webhook_batch_printf(b, "[location] %.6f, %.6f",
                                                   json_number_value(la), json_number_value(lo));
        if (!m->contact.text)
            m->contact.text = "";
        return;
    }
    webhook_message_attach(m, title, type, 0, url);
}

static int fb_message(struct webhook_batch *b, Carebus__V1__Channel ch, const json_t *item,
                      int64_t now_us, struct webhook_error *err)
{
    const json_t *msg = json_object_get(item, "message");
    if (!json_is_object(msg) || json_is_true(json_object_get(msg, "is_echo"))) {
        b->ignored++;
        return 0;
    }
    struct message *m = webhook_batch_add(b, ch, err);
    if (!m)
        return -1;
    static const char *const sender_id[] = {"sender", "id"};
    const json_t *sid = webhook_json_path(item, sender_id, 2);
    if (json_is_string(sid))
        m->customer.handle = (char *)json_string_value(sid);
    const char *s;
    if ((s = webhook_json_str(msg, "mid")))
        m->contact.external_id = (char *)s;
    if ((s = webhook_json_str(msg, "text")))
        m->contact.text = (char *)s;
    static const char *const reply_mid[] = {"reply_to", "mid"};
    const json_t *rt = webhook_json_path(msg, reply_mid, 2);
    if (json_is_string(rt))
        m->contact.in_reply_to = (char *)json_string_value(rt);
    const json_t *atts = json_object_get(msg, "attachments");
    size_t i;
    const json_t *a;
    if (json_is_array(atts))
        json_array_foreach(atts, i, a)
        {
            if (json_is_object(a))
                fb_attachment(b, m, a);
        }
    uint64_t ms;
    int64_t at =
        webhook_json_uint(item, "timestamp", &ms) == 0 ? webhook_time_from_ms(ms, now_us) : now_us;
    if (!webhook_message_finish(m, at))
        webhook_batch_drop_last(b);
    return 0;
}

int webhook_facebook_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err)
{
    const char *object = webhook_json_str(b->root, "object");
    Carebus__V1__Channel ch = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK;
    if (object && strcmp(object, "instagram") == 0) {
        ch = CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM;
    } else if (object && strcmp(object, "page") != 0) {
        b->ignored++; /* another product's notification (user, permissions ...) */
        return 0;
    }
    const json_t *entries = json_object_get(b->root, "entry");
    if (!json_is_array(entries))
        return webhook_fail(err, 400, "\"entry\" must be an array");
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
            if (fb_message(b, ch, item, now_us, err) != 0)
                return -1;
        }
    }
    return 0;
}

int webhook_facebook_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                           struct webhook_error *err)
{
    if (webhook_batch_load_json(b, body, len, err) != 0)
        return -1;
    return webhook_facebook_map(b, now_us, err);
}

http_status webhook_facebook_verify(http_req *r, void *arg)
{
    (void)arg;
    return webhook_meta_verify(r, "facebook", "FACEBOOK_VERIFY_TOKEN");
}

http_status webhook_facebook_post(http_req *r, void *arg)
{
    return webhook_meta_post(r, arg, "facebook", "FACEBOOK_APP_SECRET", webhook_facebook_map);
}
