/* whatsapp.c — WhatsApp Cloud API webhook: GET handshake, POST messages.
 *
 * Payload followed: developers.facebook.com/documentation/business-
 * messaging/whatsapp/webhooks/reference/messages (text, image, document,
 * location, contacts, unsupported): {"object":"whatsapp_business_account",
 * "entry":[{"id","changes":[{"field":"messages","value":{"metadata",
 * "contacts":[{"profile":{"name"},"wa_id"}],"messages":[{"from","id",
 * "timestamp":"<seconds>","type","text":{"body"},"image":{"id","mime_type",
 * "caption"},...}],"statuses":[...]}}]}]}. Signature and handshake: meta.c.
 *
 * The customer is the sender's number: "from" is E.164 without the "+",
 * so the phone is "+" and from, and the handle is from itself (the wa_id).
 * The name comes from the contacts[] entry with that wa_id. Media arrive
 * as ids (downloaded through the Graph API, not here): an attachment with
 * the MIME type, the file name (or the media id when there is none) and a
 * caption as text. Types without text or media (location, contacts,
 * interactive replies) become a short text; statuses (sent, delivered,
 * read) and reactions are acknowledged and ignored.
 */
#include <string.h>

#include "meta.h"
#include "webhooks.h"

static const char *wa_name(const json_t *contacts, const char *from)
{
    size_t i;
    const json_t *c;
    const char *first = NULL;
    json_array_foreach(contacts, i, c)
    {
        static const char *const profile_name[] = {"profile", "name"};
        const json_t *n = webhook_json_path(c, profile_name, 2);
        if (!json_is_string(n))
            continue;
        const char *wa_id = webhook_json_str(c, "wa_id");
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
static void wa_other(struct webhook_batch *b, struct message *m, const char *type,
                     const json_t *obj)
{
    const char *s;
    if (strcmp(type, "location") == 0) {
        const json_t *la = json_object_get(obj, "latitude");
        const json_t *lo = json_object_get(obj, "longitude");
        const char *name = webhook_json_str(obj, "name");
        const char *addr = webhook_json_str(obj, "address");
        m->contact.text = webhook_batch_printf(b, "[location] %s%s%s%s%.6f, %.6f", name ? name : "",
                                               name ? " " : "", addr ? addr : "", addr ? " " : "",
                                               json_is_number(la) ? json_number_value(la) : 0.0,
                                               json_is_number(lo) ? json_number_value(lo) : 0.0);
    } else if (strcmp(type, "contacts") == 0) {
        static const char *const first_name[] = {"name", "formatted_name"};
        const json_t *c = json_array_get(obj, 0);
        const json_t *n = webhook_json_path(c, first_name, 2);
        m->contact.text =
            webhook_batch_printf(b, "[contact] %s", json_is_string(n) ? json_string_value(n) : "");
    } else if (strcmp(type, "interactive") == 0) {
        static const char *const button[] = {"button_reply", "title"};
        static const char *const list[] = {"list_reply", "title"};
        const json_t *t = webhook_json_path(obj, button, 2);
        if (!json_is_string(t))
            t = webhook_json_path(obj, list, 2);
        if (json_is_string(t))
            m->contact.text = (char *)json_string_value(t);
    } else if (strcmp(type, "button") == 0) {
        if ((s = webhook_json_str(obj, "text")))
            m->contact.text = (char *)s;
    } else {
        m->contact.text = webhook_batch_printf(b, "[%s]", type);
    }
    if (!m->contact.text)
        m->contact.text = "";
}

static const char *const wa_media[] = {"image", "document", "audio", "video", "sticker"};

static int wa_message(struct webhook_batch *b, const json_t *value, const json_t *wm,
                      int64_t now_us, struct webhook_error *err)
{
    const char *type = webhook_json_str(wm, "type");
    if (!type)
        type = "text";
    if (strcmp(type, "reaction") == 0 || strcmp(type, "system") == 0 ||
        strcmp(type, "request_welcome") == 0) {
        b->ignored++;
        return 0;
    }
    struct message *m = webhook_batch_add(b, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, err);
    if (!m)
        return -1;
    const char *from = webhook_json_str(wm, "from");
    const char *s;
    if (from) {
        m->customer.handle = (char *)from;
        if (all_digits(from) && !(m->customer.phone = webhook_batch_printf(b, "+%s", from)))
            return webhook_fail(err, 503, "out of memory");
    }
    const char *name = wa_name(json_object_get(value, "contacts"), from);
    if (name)
        m->customer.name = (char *)name;
    if ((s = webhook_json_str(wm, "id")))
        m->contact.external_id = (char *)s;
    static const char *const context_id[] = {"context", "id"};
    const json_t *ctx = webhook_json_path(wm, context_id, 2);
    if (json_is_string(ctx))
        m->contact.in_reply_to = (char *)json_string_value(ctx);

    const json_t *obj = json_object_get(wm, type);
    bool media = false;
    for (size_t i = 0; i < sizeof wa_media / sizeof wa_media[0]; i++)
        media |= strcmp(type, wa_media[i]) == 0;
    if (strcmp(type, "text") == 0) {
        static const char *const body[] = {"text", "body"};
        const json_t *t = webhook_json_path(wm, body, 2);
        if (json_is_string(t))
            m->contact.text = (char *)json_string_value(t);
    } else if (media) {
        const char *file = webhook_json_str(obj, "filename");
        if (!file)
            file = webhook_json_str(obj, "id");
        webhook_message_attach(m, file, webhook_json_str(obj, "mime_type"), 0, NULL);
        if ((s = webhook_json_str(obj, "caption")))
            m->contact.text = (char *)s;
    } else {
        wa_other(b, m, type, obj);
    }
    uint64_t secs;
    int64_t at =
        webhook_json_uint(wm, "timestamp", &secs) == 0 ? webhook_time_from_s(secs, now_us) : now_us;
    if (!webhook_message_finish(m, at))
        webhook_batch_drop_last(b);
    return 0;
}

int webhook_whatsapp_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err)
{
    const char *object = webhook_json_str(b->root, "object");
    if (object && strcmp(object, "whatsapp_business_account") != 0) {
        b->ignored++;
        return 0;
    }
    const json_t *entries = json_object_get(b->root, "entry");
    if (!json_is_array(entries))
        return webhook_fail(err, 400, "\"entry\" must be an array");
    size_t i, j, k;
    const json_t *entry, *change, *wm;
    json_array_foreach(entries, i, entry)
    {
        const json_t *changes = json_object_get(entry, "changes");
        if (!json_is_array(changes)) {
            b->ignored++;
            continue;
        }
        json_array_foreach(changes, j, change)
        {
            const char *field = webhook_json_str(change, "field");
            const json_t *value = json_object_get(change, "value");
            const json_t *msgs = json_object_get(value, "messages");
            if ((field && strcmp(field, "messages") != 0) || !json_is_array(msgs)) {
                b->ignored++; /* statuses, template updates, account alerts ... */
                continue;
            }
            json_array_foreach(msgs, k, wm)
            {
                if (!json_is_object(wm)) {
                    b->ignored++;
                    continue;
                }
                if (wa_message(b, value, wm, now_us, err) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

int webhook_whatsapp_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                           struct webhook_error *err)
{
    if (webhook_batch_load_json(b, body, len, err) != 0)
        return -1;
    return webhook_whatsapp_map(b, now_us, err);
}

http_status webhook_whatsapp_verify(http_req *r, void *arg)
{
    (void)arg;
    return webhook_meta_verify(r, "whatsapp", "WHATSAPP_VERIFY_TOKEN");
}

http_status webhook_whatsapp_post(http_req *r, void *arg)
{
    return webhook_meta_post(r, arg, "whatsapp", "WHATSAPP_APP_SECRET", webhook_whatsapp_map);
}
