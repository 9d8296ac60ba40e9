/* messenger.c — Facebook Messenger and Instagram messaging.
 *
 * Sections: inbound (customer messages), status (delivery and read
 * receipts), the adapter, send (the Send API), the senders. Signature,
 * handshake and the Graph API's envelope: meta.c.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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
    contact_attach(m, title, type, 0, url, NULL);
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

/* --- send: the Send API --------------------------------------------------------
 *
 * Followed: developers.facebook.com/docs/messenger-platform/reference/
 * send-api, .../send-messages/message-tags and .../instagram/features/
 * send-message: POST /{version}/me/messages with the Page's token,
 * {"recipient":{"id":PSID or IGSID},"messaging_type":...,"message":{"text"}
 * or {"attachment":{"type":"image|video|audio|file","payload":{"url"}}}}.
 * Instagram through a Page takes the same request.
 *
 * The window is the customer's last message on the channel: within 24
 * hours RESPONSE; from 24 hours to 7 days only a human agent's reply, with
 * the HUMAN_AGENT tag, and only when the Page has the permission
 * (CAREBUS_FACEBOOK_HUMAN_AGENT=1); beyond, nothing. The boundaries are
 * Meta's: exactly 24 hours is still inside. An unknown last message
 * (courier never saw one) is left to Meta to judge: RESPONSE, which Meta
 * refuses with its own code when the window is closed.
 */

struct messenger_cfg {
    struct meta_sender send;
    bool human_agent;
    char human_agent_setting[48]; /* named in the window's failure */
};

/* XXX: the Send API takes one attachment a message and no caption, and a
 * delivery is one request: a lone attachment goes as an attachment, any
 * other mix as the text followed by the attachments' links. */
static json_t *messenger_message_json(const Carebus__V1__MessageOutbound *m)
{
    if ((!m->text || !*m->text) && m->n_attachments == 1) {
        const Carebus__V1__Attachment *a = m->attachments[0];
        const char *ct = a->content_type ? a->content_type : "";
        const char *type = strncmp(ct, "image/", 6) == 0   ? "image"
                           : strncmp(ct, "video/", 6) == 0 ? "video"
                           : strncmp(ct, "audio/", 6) == 0 ? "audio"
                                                           : "file";
        return json_pack("{s:{s:s,s:{s:s}}}", "attachment", "type", type, "payload", "url", a->url);
    }
    char *text = outbound_text_with_links(m, 0);
    json_t *j = text ? json_pack("{s:s}", "text", text) : NULL;
    free(text);
    return j;
}

static int messenger_build(const void *cfg, const struct outbound_credentials *cred,
                           const struct outbound_msg *msg, struct outbound_request *req,
                           struct outbound_result *res)
{
    (void)cred;
    const struct messenger_cfg *c = cfg;
    const Carebus__V1__MessageOutbound *m = msg->m;
    const char *psid = m->recipient ? m->recipient->handle : NULL;
    if (outbound_check(msg, psid, 0, res) != 0)
        return -1;
    const char *type = "RESPONSE", *tag = NULL;
    int64_t last = outbound_last_inbound_us(msg);
    int64_t age = last > 0 ? msg->now_us - last : 0;
    if (age > OUTBOUND_DAY_US) {
        long long hours = (long long)(age / OUTBOUND_HOUR_US);
        if (!c->human_agent)
            return outbound_fail(res, "outside_window",
                                 "outside the 24-hour window: the customer last wrote %lld hours "
                                 "ago, and the HUMAN_AGENT tag is off (CAREBUS_%s)",
                                 hours, c->human_agent_setting);
        if (m->kind != CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY)
            return outbound_fail(res, "outside_window",
                                 "outside the 24-hour window: the customer last wrote %lld hours "
                                 "ago, and the HUMAN_AGENT tag is for an agent's replies only",
                                 hours);
        if (age > 7 * OUTBOUND_DAY_US)
            return outbound_fail(res, "outside_window",
                                 "outside the 7-day window of the HUMAN_AGENT tag: the customer "
                                 "last wrote %lld days ago",
                                 hours / 24);
        type = "MESSAGE_TAG";
        tag = "HUMAN_AGENT";
    }
    json_t *message = messenger_message_json(m);
    json_t *body = message
                       ? json_pack("{s:{s:s},s:s}", "recipient", "id", psid, "messaging_type", type)
                       : NULL;
    int rc = -1;
    if (!body || (tag && json_object_set_new(body, "tag", json_string(tag)) != 0) ||
        json_object_set(body, "message", message) != 0)
        outbound_fail(res, "internal", "out of memory building the request");
    else
        rc = meta_request(&c->send, body, req, res);
    json_decref(message);
    json_decref(body);
    return rc;
}

static const char *messenger_message_id(const json_t *root)
{
    return inbound_json_str(root, "message_id");
}

static void messenger_classify(const void *cfg, const struct outbound_response *resp,
                               int64_t now_us, struct outbound_result *res)
{
    const struct messenger_cfg *c = cfg;
    meta_classify(&c->send, messenger_message_id, resp, now_us, res);
}

/* prefix's settings (CAREBUS_<prefix>_PAGE_TOKEN, _HUMAN_AGENT), each
 * defaulting to fallback's when fallback is not NULL. */
static void *messenger_configure_as(const char *prefix, const char *fallback, char *err,
                                    size_t errlen)
{
    char name[48], fb_name[48];
    snprintf(name, sizeof name, "%s_PAGE_TOKEN", prefix);
    const char *token = config_str(name, NULL);
    if (!token && fallback) {
        snprintf(fb_name, sizeof fb_name, "%s_PAGE_TOKEN", fallback);
        token = config_str(fb_name, NULL);
    }
    if (!token)
        return NULL; /* not configured */
    struct messenger_cfg *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *why = NULL;
    bool human = false;
    if (fallback) {
        snprintf(fb_name, sizeof fb_name, "%s_HUMAN_AGENT", fallback);
        if (config_bool(fb_name, false, &human, &why) != 0)
            goto bad;
    }
    snprintf(c->human_agent_setting, sizeof c->human_agent_setting, "%s_HUMAN_AGENT", prefix);
    if (config_bool(c->human_agent_setting, human, &c->human_agent, &why) != 0)
        goto bad;
    if (meta_sender_init(&c->send, "me", token, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    return c;
bad:
    snprintf(err, errlen, "%s", why);
    free(c);
    return NULL;
}

static void *messenger_facebook_configure(char *err, size_t errlen)
{
    return messenger_configure_as("FACEBOOK", NULL, err, errlen);
}

/* Instagram through its linked Page: the Page's token unless its own. */
static void *messenger_instagram_configure(char *err, size_t errlen)
{
    return messenger_configure_as("INSTAGRAM", "FACEBOOK", err, errlen);
}

static void messenger_destroy(void *cfg)
{
    struct messenger_cfg *c = cfg;
    meta_sender_release(&c->send);
    free(c);
}

/* --- the senders ------------------------------------------------------------------ */

const struct outbound_adapter messenger_facebook_outbound = {
    .name = "facebook",
    .configure = messenger_facebook_configure,
    .destroy = messenger_destroy,
    .build = messenger_build,
    .classify = messenger_classify,
};

const struct outbound_adapter messenger_instagram_outbound = {
    .name = "instagram",
    .configure = messenger_instagram_configure,
    .destroy = messenger_destroy,
    .build = messenger_build,
    .classify = messenger_classify,
};
