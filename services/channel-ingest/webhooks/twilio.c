/* twilio.c — Twilio Messaging webhook: POST an incoming SMS (form body).
 *
 * Followed: twilio.com/docs/messaging/guides/webhook-request (From, To,
 * Body, MessageSid/SmsSid, NumMedia, MediaUrl{N}, MediaContentType{N},
 * SmsStatus "received") and twilio.com/docs/usage/webhooks/webhooks-
 * security for X-Twilio-Signature (signature.c). The signed URL is
 * CAREBUS_PUBLIC_URL followed by the request's path and query string, as
 * sent: it must be the URL configured at Twilio.
 *
 * WhatsApp through Twilio posts the same form with From "whatsapp:+84...":
 * that message goes to the whatsapp channel, with the same phone and handle
 * as a Cloud API message from that number. Status callbacks for our own
 * messages (MessageStatus other than "received") are acknowledged and
 * ignored. The answer is an empty TwiML document: no automatic reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../body.h"
#include "config.h"
#include "log.h"
#include "parse.h"
#include "signature.h"
#include "submit.h"
#include "timeutil.h"
#include "webhooks.h"

#define TWILIO_FORM "application/x-www-form-urlencoded"
#define TWILIO_MAX_MEDIA 10 /* Twilio's own limit per message */
#define TWILIO_TWIML_EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

int webhook_twilio_map(struct webhook_batch *b, int64_t now_us, struct webhook_error *err)
{
    const struct form *f = &b->form;
    const char *status = form_get(f, "SmsStatus");
    if (!status)
        status = form_get(f, "MessageStatus");
    if (status && strcmp(status, "received") != 0) {
        b->ignored++; /* queued, sent, delivered, read ... of our own messages */
        return 0;
    }
    const char *from = form_get(f, "From");
    Carebus__V1__Channel ch = CAREBUS__V1__CHANNEL__CHANNEL_SMS;
    if (from && strncmp(from, "whatsapp:", 9) == 0) {
        ch = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP;
        from += 9;
    } else if (from && strchr(from, ':')) {
        b->ignored++; /* another address kind (messenger:...) */
        return 0;
    }
    struct message *m = webhook_batch_add(b, ch, err);
    if (!m)
        return -1;
    if (from && *from) {
        m->customer.phone = (char *)from;
        /* The WhatsApp handle is the number without "+", as wa_id. */
        if (ch == CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP)
            m->customer.handle = (char *)(from[0] == '+' ? from + 1 : from);
    }
    const char *sid = form_get(f, "MessageSid");
    if (!sid)
        sid = form_get(f, "SmsSid");
    if (sid)
        m->contact.external_id = (char *)sid;
    const char *body = form_get(f, "Body");
    if (body)
        m->contact.text = (char *)body;
    const char *nm = form_get(f, "NumMedia");
    long media = nm ? strtol(nm, NULL, 10) : 0;
    if (media > TWILIO_MAX_MEDIA)
        media = TWILIO_MAX_MEDIA;
    for (long i = 0; i < media; i++) {
        char k[48];
        snprintf(k, sizeof k, "MediaUrl%ld", i);
        const char *url = form_get(f, k);
        snprintf(k, sizeof k, "MediaContentType%ld", i);
        const char *ct = form_get(f, k);
        if (url)
            webhook_message_attach(m, NULL, ct, 0, url);
    }
    if (!webhook_message_finish(m, now_us))
        webhook_batch_drop_last(b);
    return 0;
}

static int twilio_load(struct webhook_batch *b, const char *body, size_t len,
                       struct webhook_error *err)
{
    if (form_parse(body, len, &b->form) == 0)
        return 0;
    webhook_fail(err, 400, "the body is not a valid form (UTF-8, at most %d fields)",
                 FORM_MAX_PAIRS);
    err->code = "invalid_form";
    return -1;
}

int webhook_twilio_parse(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                         struct webhook_error *err)
{
    if (twilio_load(b, body, len, err) != 0)
        return -1;
    return webhook_twilio_map(b, now_us, err);
}

static void twilio_reply(struct webhook_req *w)
{
    http_reply(w->r, 200, "text/xml", TWILIO_TWIML_EMPTY, strlen(TWILIO_TWIML_EMPTY));
}

/* CAREBUS_PUBLIC_URL (without a final "/"), the request's path and query. */
static int twilio_url(http_req *r, char *out, size_t size)
{
    const char *base = config_str("PUBLIC_URL", NULL);
    char local[64];
    if (!base || !*base) {
        long port = 8080;
        const char *e;
        if (config_long("INGEST_PORT", 8080, 1, 65535, &port, &e) != 0)
            port = 8080;
        snprintf(local, sizeof local, "http://127.0.0.1:%ld", port);
        base = local;
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    const char *q = http_raw_query(r);
    int n = snprintf(out, size, "%.*s%s%s%s", (int)bl, base, http_path(r), *q ? "?" : "", q);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

http_status webhook_twilio_sms_post(http_req *r, void *arg)
{
    const char *token = webhook_secret("TWILIO_AUTH_TOKEN");
    if (!token)
        return webhook_not_configured(r, "twilio");
    const char *sig = http_header(r, "X-Twilio-Signature");
    if (!sig)
        return webhook_bad_signature(r, "twilio", "missing X-Twilio-Signature");
    const char *ct = http_header(r, "Content-Type");
    if (!body_type_is(ct, TWILIO_FORM)) {
        ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                      "expected Content-Type \"" TWILIO_FORM "\", got \"%.100s\"", ct ? ct : "");
        return HTTP_DONE;
    }
    struct webhook_req *w = webhook_req_new(r, "twilio");
    if (!w)
        return HTTP_DONE;
    w->reply = twilio_reply;
    size_t len;
    const char *body = http_body(r, &len);
    struct webhook_error err;
    char url[2048];
    if (twilio_load(&w->b, body, len, &err) != 0)
        return webhook_refused(r, "twilio", &err);
    if (twilio_url(r, url, sizeof url) != 0 || !signature_twilio_ok(sig, token, url, &w->b.form))
        return webhook_bad_signature(r, "twilio", "X-Twilio-Signature does not sign this request");
    if (webhook_twilio_map(&w->b, time_now_us(), &err) != 0)
        return webhook_refused(r, "twilio", &err);
    return webhook_submit(arg, w);
}
