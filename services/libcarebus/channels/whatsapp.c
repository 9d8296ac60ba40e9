/* whatsapp.c — WhatsApp Cloud API.
 *
 * Sections: inbound (customer messages), status (sent, delivered, read,
 * failed), the adapter, send (the Cloud API's messages), the sender.
 * Signature, handshake and the Graph API's envelope: meta.c.
 *
 * Payload followed: developers.facebook.com/documentation/business-
 * messaging/whatsapp/webhooks/reference/messages (text, image, document,
 * location, contacts, unsupported) and .../messages/status:
 * {"object":"whatsapp_business_account", "entry":[{"id","changes":[{"field":
 * "messages","value":{"metadata","contacts":[{"profile":{"name"},"wa_id"}],
 * "messages":[{"from","id","timestamp":"<seconds>","type","text":{"body"},
 * "image":{"id","mime_type","caption"},...}],"statuses":[{"id":"wamid...",
 * "status","timestamp","recipient_id","errors":[{"code","title","message",
 * "error_data":{"details"}}]}]}}]}]}.
 *
 * The customer is the sender's number: "from" is E.164 without the "+",
 * so the phone is "+" and from, and the handle is from itself (the wa_id).
 * The name comes from the contacts[] entry with that wa_id. Media arrive
 * as ids (downloaded through the Graph API, not here): an attachment with
 * the media id, the MIME type, the file name (or the media id when there
 * is none) and a caption as text. Types without text or media (location,
 * contacts, interactive replies) become a short text; reactions are
 * acknowledged and ignored.
 *
 * Statuses concern our own messages: delivered and read become
 * message.delivered / .read (recipient: the wa_id), failed becomes a
 * permanent message.failed with Meta's code and its title and details;
 * "sent" (the handover to WhatsApp, which courier's message.sent already
 * tells) and other values are ignored. Meta retries for days and may skip
 * delivered when read implies it; each status's key is the wamid and its
 * status, so a retry is a duplicate.
 */
#include "whatsapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "meta.h"
#include "utf8.h"

/* --- inbound: customer messages -------------------------------------------- */

static const char *whatsapp_name(const json_t *contacts, const char *from)
{
    size_t i;
    const json_t *c;
    const char *first = NULL;
    json_array_foreach(contacts, i, c)
    {
        static const char *const profile_name[] = {"profile", "name"};
        const json_t *n = inbound_json_path(c, profile_name, 2);
        if (!json_is_string(n))
            continue;
        const char *wa_id = inbound_json_str(c, "wa_id");
        if (from && wa_id && strcmp(wa_id, from) == 0)
            return json_string_value(n);
        if (!first)
            first = json_string_value(n);
    }
    return first;
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The text of a message that has no text body, from its typed object. */
static void whatsapp_other(struct inbound_batch *b, struct contact *m, const char *type,
                           const json_t *obj)
{
    const char *s;
    if (strcmp(type, "location") == 0) {
        const json_t *la = json_object_get(obj, "latitude");
        const json_t *lo = json_object_get(obj, "longitude");
        const char *name = inbound_json_str(obj, "name");
        const char *addr = inbound_json_str(obj, "address");
        m->contact.text = inbound_printf(b, "[location] %s%s%s%s%.6f, %.6f", name ? name : "",
                                         name ? " " : "", addr ? addr : "", addr ? " " : "",
                                         json_is_number(la) ? json_number_value(la) : 0.0,
                                         json_is_number(lo) ? json_number_value(lo) : 0.0);
    } else if (strcmp(type, "contacts") == 0) {
        static const char *const first_name[] = {"name", "formatted_name"};
        const json_t *c = json_array_get(obj, 0);
        const json_t *n = inbound_json_path(c, first_name, 2);
        m->contact.text =
            inbound_printf(b, "[contact] %s", json_is_string(n) ? json_string_value(n) : "");
    } else if (strcmp(type, "interactive") == 0) {
        static const char *const button[] = {"button_reply", "title"};
        static const char *const list[] = {"list_reply", "title"};
        const json_t *t = inbound_json_path(obj, button, 2);
        if (!json_is_string(t))
            t = inbound_json_path(obj, list, 2);
        if (json_is_string(t))
            m->contact.text = (char *)json_string_value(t);
    } else if (strcmp(type, "button") == 0) {
        if ((s = inbound_json_str(obj, "text")))
            m->contact.text = (char *)s;
    } else {
        m->contact.text = inbound_printf(b, "[%s]", type);
    }
    if (!m->contact.text)
        m->contact.text = "";
}

static const char *const whatsapp_media[] = {"image", "document", "audio", "video", "sticker"};

static int whatsapp_message(struct inbound_batch *b, const json_t *value, const json_t *wm,
                            int64_t now_us, struct inbound_error *err)
{
    const char *type = inbound_json_str(wm, "type");
    if (!type)
        type = "text";
    if (strcmp(type, "reaction") == 0 || strcmp(type, "system") == 0 ||
        strcmp(type, "request_welcome") == 0) {
        b->ignored++;
        return 0;
    }
    struct contact *m = inbound_add_contact(b, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, err);
    if (!m)
        return -1;
    const char *from = inbound_json_str(wm, "from");
    const char *s;
    if (from) {
        m->customer.handle = (char *)from;
        if (all_digits(from) && !(m->customer.phone = inbound_printf(b, "+%s", from)))
            return inbound_fail(err, 503, "out of memory");
    }
    const char *name = whatsapp_name(json_object_get(value, "contacts"), from);
    if (name)
        m->customer.name = (char *)name;
    if ((s = inbound_json_str(wm, "id")))
        m->contact.external_id = (char *)s;
    static const char *const context_id[] = {"context", "id"};
    const json_t *ctx = inbound_json_path(wm, context_id, 2);
    if (json_is_string(ctx))
        m->contact.in_reply_to = (char *)json_string_value(ctx);

    const json_t *obj = json_object_get(wm, type);
    bool media = false;
    for (size_t i = 0; i < sizeof whatsapp_media / sizeof whatsapp_media[0]; i++)
        media |= strcmp(type, whatsapp_media[i]) == 0;
    if (strcmp(type, "text") == 0) {
        static const char *const body[] = {"text", "body"};
        const json_t *t = inbound_json_path(wm, body, 2);
        if (json_is_string(t))
            m->contact.text = (char *)json_string_value(t);
    } else if (media) {
        const char *id = inbound_json_str(obj, "id");
        const char *file = inbound_json_str(obj, "filename");
        contact_attach(m, file ? file : id, inbound_json_str(obj, "mime_type"), 0, NULL, id);
        if ((s = inbound_json_str(obj, "caption")))
            m->contact.text = (char *)s;
    } else {
        whatsapp_other(b, m, type, obj);
    }
    uint64_t secs;
    int64_t at =
        inbound_json_uint(wm, "timestamp", &secs) == 0 ? inbound_time_from_s(secs, now_us) : now_us;
    if (!inbound_contact_finish(m, at))
        inbound_drop_contact(b);
    return 0;
}

/* --- status: sent, delivered, read, failed ----------------------------------- */

/* Meta's error: the code as text, and "title: details" (either alone when
 * the other is missing). */
static void whatsapp_error(struct inbound_batch *b, struct status *s, const json_t *e)
{
    const json_t *code = json_object_get(e, "code");
    if (json_is_integer(code))
        s->code = inbound_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(code));
    else if (json_is_string(code))
        s->code = json_string_value(code);
    const char *title = inbound_json_str(e, "title");
    if (!title)
        title = inbound_json_str(e, "message");
    static const char *const details_path[] = {"error_data", "details"};
    const json_t *d = inbound_json_path(e, details_path, 2);
    const char *details = json_is_string(d) ? json_string_value(d) : NULL;
    if (title && details)
        s->reason = inbound_printf(b, "%s: %s", title, details);
    else
        s->reason = title ? title : details;
}

static int whatsapp_status(struct inbound_batch *b, const json_t *ws, int64_t now_us,
                           struct inbound_error *err)
{
    const char *st = inbound_json_str(ws, "status");
    status_kind kind;
    if (st && strcmp(st, "delivered") == 0) {
        kind = STATUS_DELIVERED;
    } else if (st && strcmp(st, "read") == 0) {
        kind = STATUS_READ;
    } else if (st && strcmp(st, "failed") == 0) {
        kind = STATUS_FAILED;
    } else {
        b->ignored++; /* sent, played, deleted, warning ... */
        return 0;
    }
    struct status *s = inbound_add_status(b, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, kind, err);
    if (!s)
        return -1;
    status_add_id(s, inbound_json_str(ws, "id"));
    s->recipient = inbound_json_str(ws, "recipient_id");
    if (kind == STATUS_FAILED) {
        s->permanent = true;
        const json_t *e = json_array_get(json_object_get(ws, "errors"), 0);
        if (json_is_object(e))
            whatsapp_error(b, s, e);
    }
    uint64_t secs;
    int64_t at =
        inbound_json_uint(ws, "timestamp", &secs) == 0 ? inbound_time_from_s(secs, now_us) : now_us;
    if (!status_seal(s, at))
        inbound_drop_status(b);
    return 0;
}

/* --- the body ---------------------------------------------------------------- */

int whatsapp_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
{
    const char *object = inbound_json_str(b->root, "object");
    if (object && strcmp(object, "whatsapp_business_account") != 0) {
        b->ignored++;
        return 0;
    }
    const json_t *entries = json_object_get(b->root, "entry");
    if (!json_is_array(entries))
        return inbound_fail(err, 400, "\"entry\" must be an array");
    size_t i, j, k;
    const json_t *entry, *change, *item;
    json_array_foreach(entries, i, entry)
    {
        const json_t *changes = json_object_get(entry, "changes");
        if (!json_is_array(changes)) {
            b->ignored++;
            continue;
        }
        json_array_foreach(changes, j, change)
        {
            const char *field = inbound_json_str(change, "field");
            const json_t *value = json_object_get(change, "value");
            const json_t *msgs = json_object_get(value, "messages");
            const json_t *statuses = json_object_get(value, "statuses");
            if ((field && strcmp(field, "messages") != 0) ||
                (!json_is_array(msgs) && !json_is_array(statuses))) {
                b->ignored++; /* template updates, account alerts, errors ... */
                continue;
            }
            json_array_foreach(msgs, k, item)
            {
                if (!json_is_object(item)) {
                    b->ignored++;
                    continue;
                }
                if (whatsapp_message(b, value, item, now_us, err) != 0)
                    return -1;
            }
            json_array_foreach(statuses, k, item)
            {
                if (!json_is_object(item)) {
                    b->ignored++;
                    continue;
                }
                if (whatsapp_status(b, item, now_us, err) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

int whatsapp_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                   struct inbound_error *err)
{
    if (inbound_load_json(b, body, len, err) != 0)
        return -1;
    return whatsapp_map(b, now_us, err);
}

/* --- the adapter ---------------------------------------------------------------- */

const struct inbound_adapter whatsapp_inbound = {
    .name = "whatsapp",
    .path = "whatsapp",
    .auth = INBOUND_SIGNED,
    .settings = {"WHATSAPP_APP_SECRET"},
    .signature_header = "X-Hub-Signature-256",
    .verify = meta_verify,
    .load = inbound_load_json,
    .map = whatsapp_map,
    .handshake_setting = "WHATSAPP_VERIFY_TOKEN",
    .handshake = meta_handshake,
};

/* --- send: the Cloud API's messages ----------------------------------------------
 *
 * Followed: developers.facebook.com/documentation/business-messaging/
 * whatsapp/messages (text, media by link, templates) and .../reference:
 * POST /{version}/{phone-number-id}/messages, Bearer token,
 * {"messaging_product":"whatsapp","recipient_type":"individual","to",
 * "type","text":{"body"}} or "image|video|audio|document":{"link",
 * "caption","filename"} or "template":{"name","language":{"code"}}.
 * biz_opaque_callback_data carries the delivery id: Meta echoes it in the
 * message's status webhooks.
 *
 * The 24-hour customer service window is Meta's to enforce: outside it a
 * free-form message is accepted and then fails with 131047 (a status
 * webhook), which is the failure the timeline shows. When a template is
 * configured (CAREBUS_WHATSAPP_TEMPLATE and _LANGUAGE) it is sent instead
 * beyond 24 hours: a template without parameters, inviting the customer
 * back; the reply itself is not in it. The window is Meta's own measure:
 * exactly 24 hours is still inside; unknown is inside.
 */

#define WHATSAPP_CAPTION_MAX 1024 /* characters */

struct whatsapp_cfg {
    struct meta_sender send;
    char *template_name; /* NULL: none */
    char *template_language;
};

/* The media type for a MIME type: the image and video formats WhatsApp
 * shows as such, any audio; everything else is a document. */
static const char *whatsapp_media_type(const char *ct)
{
    static const struct {
        const char *prefix, *type;
    } media[] = {
        {"image/jpeg", "image"}, {"image/png", "image"}, {"video/mp4", "video"},
        {"video/3gpp", "video"}, {"audio/", "audio"},
    };
    for (size_t i = 0; ct && i < sizeof media / sizeof media[0]; i++)
        if (strncmp(ct, media[i].prefix, strlen(media[i].prefix)) == 0)
            return media[i].type;
    return "document";
}

/* The message's type and its object into body. */
static int whatsapp_content(json_t *body, const Carebus__V1__MessageOutbound *m)
{
    const char *text = m->text ? m->text : "";
    if (m->n_attachments == 1) {
        const Carebus__V1__Attachment *a = m->attachments[0];
        const char *type = whatsapp_media_type(a->content_type);
        bool captioned = strcmp(type, "audio") != 0;
        /* A lone attachment, with the text as its caption when it takes one. */
        if (!*text || (captioned && utf8_count(text, strlen(text)) <= WHATSAPP_CAPTION_MAX)) {
            json_t *o = json_pack("{s:s}", "link", a->url);
            if (!o || (*text && json_object_set_new(o, "caption", json_string(text)) != 0) ||
                (strcmp(type, "document") == 0 && a->name && *a->name &&
                 json_object_set_new(o, "filename", json_string(a->name)) != 0)) {
                json_decref(o);
                return -1;
            }
            if (json_object_set_new(body, "type", json_string(type)) != 0)
                return -1;
            return json_object_set_new(body, type, o);
        }
    }
    /* XXX: one attachment a message, and one request a delivery: any other
     * mix goes as the text followed by the attachments' links. */
    char *all = outbound_text_with_links(m, 0);
    json_t *o = all ? json_pack("{s:s}", "body", all) : NULL;
    free(all);
    if (!o || json_object_set_new(body, "type", json_string("text")) != 0) {
        json_decref(o);
        return -1;
    }
    return json_object_set_new(body, "text", o);
}

static int whatsapp_build(const void *cfg, const struct outbound_credentials *cred,
                          const struct outbound_msg *msg, struct outbound_request *req,
                          struct outbound_result *res)
{
    (void)cred;
    const struct whatsapp_cfg *c = cfg;
    const Carebus__V1__MessageOutbound *m = msg->m;
    const Carebus__V1__CustomerRef *r = m->recipient;
    const char *to = r && r->handle && *r->handle ? r->handle : r ? r->phone : NULL;
    if (outbound_check(msg, to, 0, res) != 0)
        return -1;
    int64_t last = outbound_last_inbound_us(msg);
    bool closed = last > 0 && msg->now_us - last > OUTBOUND_DAY_US;
    json_t *body = json_pack("{s:s,s:s,s:s}", "messaging_product", "whatsapp", "recipient_type",
                             "individual", "to", to);
    int ok = body != NULL;
    if (ok && closed && c->template_name)
        ok = json_object_set_new(body, "type", json_string("template")) == 0 &&
             json_object_set_new(body, "template",
                                 json_pack("{s:s,s:{s:s}}", "name", c->template_name, "language",
                                           "code", c->template_language)) == 0;
    else if (ok)
        ok = whatsapp_content(body, m) == 0;
    if (ok && msg->delivery_id && *msg->delivery_id)
        ok = json_object_set_new(body, "biz_opaque_callback_data", json_string(msg->delivery_id)) ==
             0;
    int rc = ok ? meta_request(&c->send, body, req, res)
                : outbound_fail(res, "internal", "out of memory building the request");
    json_decref(body);
    return rc;
}

/* messages[0].id: the wamid. */
static const char *whatsapp_message_id(const json_t *root)
{
    return inbound_json_str(json_array_get(json_object_get(root, "messages"), 0), "id");
}

static void whatsapp_classify(const void *cfg, const struct outbound_response *resp, int64_t now_us,
                              struct outbound_result *res)
{
    const struct whatsapp_cfg *c = cfg;
    meta_classify(&c->send, whatsapp_message_id, resp, now_us, res);
}

static void whatsapp_destroy(void *cfg)
{
    struct whatsapp_cfg *c = cfg;
    meta_sender_release(&c->send);
    free(c->template_name);
    free(c->template_language);
    free(c);
}

static void *whatsapp_configure(char *err, size_t errlen)
{
    const char *token = config_str("WHATSAPP_TOKEN", NULL);
    if (!token)
        return NULL; /* not configured */
    const char *number = config_str("WHATSAPP_PHONE_NUMBER_ID", NULL);
    const char *tpl = config_str("WHATSAPP_TEMPLATE", NULL);
    const char *lang = config_str("WHATSAPP_TEMPLATE_LANGUAGE", NULL);
    if (!number || !all_digits(number)) {
        snprintf(err, errlen,
                 "CAREBUS_WHATSAPP_PHONE_NUMBER_ID: expected the number's id (digits), "
                 "got \"%.32s\"",
                 number ? number : "");
        return NULL;
    }
    if (tpl && !lang) {
        snprintf(
            err, errlen,
            "CAREBUS_WHATSAPP_TEMPLATE is set without "
            "CAREBUS_WHATSAPP_TEMPLATE_LANGUAGE (its language code, e.g. \"vi\" or \"en_US\")");
        return NULL;
    }
    struct whatsapp_cfg *c = calloc(1, sizeof *c);
    if (!c ||
        (tpl && (!(c->template_name = strdup(tpl)) || !(c->template_language = strdup(lang))))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (meta_sender_init(&c->send, number, token, err, errlen) != 0)
        goto fail;
    return c;
fail:
    if (c)
        whatsapp_destroy(c);
    return NULL;
}

/* --- the sender ------------------------------------------------------------------- */

const struct outbound_adapter whatsapp_outbound = {
    .name = "whatsapp",
    .configure = whatsapp_configure,
    .destroy = whatsapp_destroy,
    .build = whatsapp_build,
    .classify = whatsapp_classify,
};
