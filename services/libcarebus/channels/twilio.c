/* twilio.c — Twilio Messaging (SMS, and WhatsApp through Twilio).
 *
 * Sections: inbound (incoming messages), status (StatusCallback),
 * signature, the adapters, send (the Messages resource, SMS), the sender.
 *
 * Followed: twilio.com/docs/messaging/guides/webhook-request (From, To,
 * Body, MessageSid/SmsSid, NumMedia, MediaUrl{N}, MediaContentType{N},
 * SmsStatus "received"), .../outbound-message-status-in-status-callbacks
 * (MessageSid, MessageStatus, To, ErrorCode on failed and undelivered,
 * ErrorMessage for WhatsApp) and twilio.com/docs/usage/webhooks/webhooks-
 * security for X-Twilio-Signature: the URL Twilio called, query string
 * included, then every POST parameter sorted by name with its value
 * appended, no delimiters; HMAC-SHA1 keyed by the auth token; base64. The
 * driver hands the URL in (its public URL, the path and the query): it
 * must be the URL configured at Twilio, or set as StatusCallback.
 *
 * WhatsApp through Twilio posts the same forms with "whatsapp:+84..."
 * addresses: that message (or status) goes to the whatsapp channel, with
 * the same phone and handle as a Cloud API message from that number.
 * Incoming messages are answered with an empty TwiML document: no
 * automatic reply.
 *
 * A status callback is keyed by MessageSid and the status: Twilio's
 * retries (same I-Twilio-Idempotency-Token) and a duplicate report of the
 * same status both land on the first event.
 */
#include "twilio.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "hex.h"

#define TWILIO_MAX_MEDIA 10 /* Twilio's own limit per message */

/* An address: "whatsapp:+84..." is WhatsApp's, a bare number SMS's; any
 * other prefix ("messenger:") none of ours (UNSPECIFIED). *addr is moved
 * past the prefix. */
static Carebus__V1__Channel twilio_channel(const char **addr)
{
    if (!*addr || strncmp(*addr, "whatsapp:", 9) != 0)
        return *addr && strchr(*addr, ':') ? CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED
                                           : CAREBUS__V1__CHANNEL__CHANNEL_SMS;
    *addr += 9;
    return CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP;
}

/* The WhatsApp handle is the number without "+", as a Cloud API wa_id. */
static const char *twilio_wa_id(const char *phone)
{
    return phone[0] == '+' ? phone + 1 : phone;
}

/* --- inbound: incoming messages -------------------------------------------- */

int twilio_sms_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
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
    Carebus__V1__Channel ch = twilio_channel(&from);
    if (ch == CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED) {
        b->ignored++; /* another address kind (messenger:...) */
        return 0;
    }
    struct contact *m = inbound_add_contact(b, ch, err);
    if (!m)
        return -1;
    if (from && *from) {
        m->customer.phone = (char *)from;
        if (ch == CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP)
            m->customer.handle = (char *)twilio_wa_id(from);
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
            contact_attach(m, NULL, ct, 0, url, NULL);
    }
    if (!inbound_contact_finish(m, now_us))
        inbound_drop_contact(b);
    return 0;
}

int twilio_sms_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                     struct inbound_error *err)
{
    if (inbound_load_form(b, body, len, err) != 0)
        return -1;
    return twilio_sms_map(b, now_us, err);
}

/* --- status: StatusCallback ----------------------------------------------------- */

/* Twilio's titles for the delivery errors a status callback carries
 * (twilio.com/docs/api/errors/300xx), for when it sends no ErrorMessage. */
static const struct {
    const char *code, *title;
} twilio_errors[] = {
    {"30001", "Queue overflow"},
    {"30002", "Account suspended"},
    {"30003", "Unreachable destination handset"},
    {"30004", "Message blocked"},
    {"30005", "Unknown destination handset"},
    {"30006", "Landline or unreachable carrier"},
    {"30007", "Message filtered"},
    {"30008", "Unknown error"},
};

static const char *twilio_error_title(const char *code)
{
    for (size_t i = 0; code && i < sizeof twilio_errors / sizeof twilio_errors[0]; i++)
        if (strcmp(twilio_errors[i].code, code) == 0)
            return twilio_errors[i].title;
    return NULL;
}

int twilio_status_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
{
    const struct form *f = &b->form;
    const char *st = form_get(f, "MessageStatus");
    if (!st)
        st = form_get(f, "SmsStatus");
    status_kind kind;
    if (st && strcmp(st, "delivered") == 0) {
        kind = STATUS_DELIVERED;
    } else if (st && strcmp(st, "read") == 0) {
        kind = STATUS_READ;
    } else if (st && (strcmp(st, "undelivered") == 0 || strcmp(st, "failed") == 0)) {
        kind = STATUS_FAILED;
    } else {
        b->ignored++; /* queued, sending, sent, accepted, scheduled, canceled ... */
        return 0;
    }
    const char *to = form_get(f, "To");
    Carebus__V1__Channel ch = twilio_channel(&to);
    if (ch == CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED) {
        b->ignored++;
        return 0;
    }
    struct status *s = inbound_add_status(b, ch, kind, err);
    if (!s)
        return -1;
    const char *sid = form_get(f, "MessageSid");
    status_add_id(s, sid ? sid : form_get(f, "SmsSid"));
    if (to && *to)
        s->recipient = ch == CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP ? twilio_wa_id(to) : to;
    if (kind == STATUS_FAILED) {
        s->permanent = true;
        s->code = form_get(f, "ErrorCode");
        const char *msg = form_get(f, "ErrorMessage");
        s->reason = msg && *msg ? msg : twilio_error_title(s->code);
        if (!s->reason)
            s->reason = st;
    }
    if (!status_seal(s, now_us))
        inbound_drop_status(b);
    return 0;
}

int twilio_status_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                        struct inbound_error *err)
{
    if (inbound_load_form(b, body, len, err) != 0)
        return -1;
    return twilio_status_map(b, now_us, err);
}

/* --- signature ------------------------------------------------------------------ */

/* Unix-style case-sensitive order of names; equal names by value, so that
 * the order is total whatever order the body had. */
static int twilio_pair_cmp(const void *a, const void *b)
{
    const struct form_pair *x = *(const struct form_pair *const *)a;
    const struct form_pair *y = *(const struct form_pair *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int twilio_signature(const char *auth_token, const char *url, const struct form *f,
                     char out[TWILIO_SIGNATURE_LEN])
{
    int rc = -1;
    buf b = BUF_INIT;
    const struct form_pair **sorted = malloc((f->n ? f->n : 1) * sizeof *sorted);
    if (!sorted)
        goto out;
    for (size_t i = 0; i < f->n; i++)
        sorted[i] = &f->pairs[i];
    qsort(sorted, f->n, sizeof *sorted, twilio_pair_cmp);
    buf_puts(&b, url);
    for (size_t i = 0; i < f->n; i++) {
        buf_puts(&b, sorted[i]->name);
        buf_puts(&b, sorted[i]->value);
    }
    if (b.failed)
        goto out;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {buf_str(&b), b.len};
    if (hmac_compute(HMAC_SHA1, auth_token, strlen(auth_token), &part, 1, mac) != 0)
        goto out;
    /* 20 bytes are 28 base64 characters (one "=" of padding), NUL added. */
    if (EVP_EncodeBlock((unsigned char *)out, mac, HMAC_SHA1_LEN) != TWILIO_SIGNATURE_LEN - 1)
        goto out;
    rc = 0;
out:
    free(sorted);
    buf_release(&b);
    return rc;
}

bool twilio_signature_ok(const char *header, const char *auth_token, const char *url,
                         const struct form *f)
{
    size_t hl;
    const char *got = inbound_header_value(header, "", &hl);
    char want[TWILIO_SIGNATURE_LEN];
    if (!got || !auth_token || !url || hl != TWILIO_SIGNATURE_LEN - 1 ||
        twilio_signature(auth_token, url, f, want) != 0)
        return false;
    return hmac_equal(got, want, TWILIO_SIGNATURE_LEN - 1);
}

/* settings: the auth token. The form is loaded first: it is signed. */
static int twilio_verify(const char *const *settings, const struct inbound_req *req,
                         struct inbound_batch *b, struct inbound_error *err)
{
    if (inbound_load_form(b, req->body, req->len, err) != 0)
        return -1;
    if (!twilio_signature_ok(req->header(req->ctx, "X-Twilio-Signature"), settings[0], req->url,
                             &b->form))
        return inbound_fail(err, 401, "X-Twilio-Signature does not sign this request");
    return 0;
}

/* --- the adapters --------------------------------------------------------------- */

#define TWILIO_FORM "application/x-www-form-urlencoded"

const struct inbound_adapter twilio_sms_inbound = {
    .name = "twilio",
    .path = "twilio/sms",
    .auth = INBOUND_SIGNED,
    .settings = {"TWILIO_AUTH_TOKEN"},
    .signature_header = "X-Twilio-Signature",
    .content_type = TWILIO_FORM,
    .verify = twilio_verify,
    .load = inbound_load_form,
    .map = twilio_sms_map,
    .answer_type = "text/xml",
    .answer_body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
};

const struct inbound_adapter twilio_status_inbound = {
    .name = "twilio",
    .path = "twilio/status",
    .auth = INBOUND_SIGNED,
    .settings = {"TWILIO_AUTH_TOKEN"},
    .signature_header = "X-Twilio-Signature",
    .content_type = TWILIO_FORM,
    .verify = twilio_verify,
    .load = inbound_load_form,
    .map = twilio_status_map,
};

/* --- send: the Messages resource ----------------------------------------------
 *
 * Followed: twilio.com/docs/messaging/api/message-resource (create): POST
 * /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic with the
 * account SID and auth token or an API key's SID and secret, a form with
 * To, From and/or MessagingServiceSid, Body, MediaUrl (repeatable, at most
 * 10) and StatusCallback; 201 with the Message resource, whose sid is the
 * provider's id. Errors are {"code","message","more_info","status"}
 * (twilio.com/docs/api/errors): 429 (20429) was never processed and is
 * retried, after Retry-After when given; 5xx too; other codes (21610
 * unsubscribed, 21211 invalid number, 20003 credentials ...) are final.
 * SMS has no messaging window. The StatusCallback is carebus's own status
 * webhook under its public URL, the URL its signature is checked over.
 */

/* Codes that are "not now" at a 4xx: the sender's queue is full. */
static const json_int_t twilio_retry_codes[] = {20429, 21611};

struct twilio_cfg {
    char *url;
    char *user, *secret;  /* HTTP Basic */
    char *from, *service; /* either may be NULL, never both */
    char *status_callback;
};

/* prefix and 32 hex digits: Twilio's SIDs (AC account, SK API key, MG
 * messaging service). */
static bool twilio_sid_ok(const char *s, const char *prefix)
{
    if (!s || strncmp(s, prefix, 2) != 0 || strlen(s) != 34)
        return false;
    for (s += 2; *s; s++)
        if (hex_digit((unsigned char)*s) < 0)
            return false;
    return true;
}

static void twilio_destroy(void *cfg)
{
    struct twilio_cfg *c = cfg;
    free(c->url);
    free(c->user);
    free(c->secret);
    free(c->from);
    free(c->service);
    free(c->status_callback);
    free(c);
}

static char *twilio_dup(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

static void *twilio_configure(char *err, size_t errlen)
{
    const char *sid = config_str("TWILIO_ACCOUNT_SID", NULL);
    if (!sid)
        return NULL; /* not configured */
    const char *token = config_str("TWILIO_AUTH_TOKEN", NULL);
    const char *key = config_str("TWILIO_API_KEY_SID", NULL);
    const char *key_secret = config_str("TWILIO_API_KEY_SECRET", NULL);
    const char *from = config_str("TWILIO_FROM", NULL);
    const char *service = config_str("TWILIO_MESSAGING_SERVICE_SID", NULL);
    const char *base = config_str("TWILIO_API_BASE", "https://api.twilio.com");
    if (!twilio_sid_ok(sid, "AC")) {
        snprintf(err, errlen,
                 "CAREBUS_TWILIO_ACCOUNT_SID: expected AC and 32 hex digits, got "
                 "\"%.40s\"",
                 sid);
        return NULL;
    }
    if (key && !twilio_sid_ok(key, "SK")) {
        snprintf(err, errlen,
                 "CAREBUS_TWILIO_API_KEY_SID: expected SK and 32 hex digits, got "
                 "\"%.40s\"",
                 key);
        return NULL;
    }
    if (key ? !key_secret : !token) {
        snprintf(err, errlen,
                 key ? "CAREBUS_TWILIO_API_KEY_SID is set without "
                       "CAREBUS_TWILIO_API_KEY_SECRET"
                     : "CAREBUS_TWILIO_ACCOUNT_SID is set without "
                       "CAREBUS_TWILIO_AUTH_TOKEN (or an API key)");
        return NULL;
    }
    if (service && !twilio_sid_ok(service, "MG")) {
        snprintf(err, errlen,
                 "CAREBUS_TWILIO_MESSAGING_SERVICE_SID: expected MG and 32 hex "
                 "digits, got \"%.40s\"",
                 service);
        return NULL;
    }
    if (!from && !service) {
        snprintf(err, errlen,
                 "CAREBUS_TWILIO_ACCOUNT_SID is set without a sender: "
                 "CAREBUS_TWILIO_FROM or CAREBUS_TWILIO_MESSAGING_SERVICE_SID");
        return NULL;
    }
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        snprintf(err, errlen, "CAREBUS_TWILIO_API_BASE: expected an http(s) URL, got \"%.64s\"",
                 base);
        return NULL;
    }
    char public_url[1024];
    if (config_public_url(public_url, sizeof public_url) != 0) {
        snprintf(err, errlen, "CAREBUS_PUBLIC_URL is longer than %zu bytes", sizeof public_url);
        return NULL;
    }
    struct twilio_cfg *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    bool ok =
        asprintf(&c->url, "%.*s/2010-04-01/Accounts/%s/Messages.json", (int)bl, base, sid) >= 0;
    if (!ok)
        c->url = NULL;
    if (ok && asprintf(&c->status_callback, "%s" INBOUND_PATH_PREFIX "%s", public_url,
                       twilio_status_inbound.path) < 0) {
        c->status_callback = NULL;
        ok = false;
    }
    c->user = twilio_dup(key ? key : sid, &ok);
    c->secret = twilio_dup(key ? key_secret : token, &ok);
    c->from = twilio_dup(from, &ok);
    c->service = twilio_dup(service, &ok);
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        twilio_destroy(c);
        return NULL;
    }
    return c;
}

static int twilio_build(const void *cfg, const struct outbound_credentials *cred,
                        const struct outbound_msg *msg, struct outbound_request *req,
                        struct outbound_result *res)
{
    (void)cred;
    const struct twilio_cfg *c = cfg;
    const Carebus__V1__MessageOutbound *m = msg->m;
    const Carebus__V1__CustomerRef *r = m->recipient;
    const char *to = r && r->phone && *r->phone ? r->phone : r ? r->handle : NULL;
    if (outbound_check(msg, to, 0, res) != 0)
        return -1;
    if (m->n_attachments > TWILIO_MAX_MEDIA)
        return outbound_fail(res, "too_many_attachments",
                             "Twilio takes at most %d attachments a message, not %zu",
                             TWILIO_MAX_MEDIA, m->n_attachments);
    buf b = BUF_INIT;
    form_append(&b, "To", to);
    if (c->from)
        form_append(&b, "From", c->from);
    if (c->service)
        form_append(&b, "MessagingServiceSid", c->service);
    if (m->text && *m->text)
        form_append(&b, "Body", m->text);
    for (size_t i = 0; i < m->n_attachments; i++)
        form_append(&b, "MediaUrl", m->attachments[i]->url);
    form_append(&b, "StatusCallback", c->status_callback);
    req->proto = OUTBOUND_HTTP;
    req->method = "POST";
    req->url = strdup(c->url);
    req->username = strdup(c->user);
    req->password = strdup(c->secret);
    req->body = b.failed ? NULL : buf_detach(&b, &req->body_len);
    buf_release(&b);
    if (!req->url || !req->username || !req->password || !req->body ||
        outbound_request_header(req, "Content-Type", TWILIO_FORM) != 0) {
        outbound_request_release(req);
        return outbound_fail(res, "internal", "out of memory building the request");
    }
    return 0;
}

static void twilio_classify(const void *cfg, const struct outbound_response *resp, int64_t now_us,
                            struct outbound_result *res)
{
    const struct twilio_cfg *c = cfg;
    res->provider_message_id[0] = '\0';
    bool known = outbound_classify_transport(resp, now_us, res);
    if (known && (resp->transport_error || resp->status == 0))
        return;
    json_t *root = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    if (resp->status >= 200 && resp->status < 300) {
        /* Created, whatever the body says: sending again would send twice. */
        res->outcome = OUTBOUND_SENT;
        res->code[0] = res->reason[0] = '\0';
        const char *sid = inbound_json_str(root, "sid");
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", sid ? sid : "");
        json_decref(root);
        return;
    }
    const json_t *code = json_object_get(root, "code");
    const char *message = inbound_json_str(root, "message");
    const char *detail = inbound_json_str(root, "detail");
    const char *more = inbound_json_str(root, "more_info");
    bool retry = false;
    if (json_is_integer(code)) {
        snprintf(res->code, sizeof res->code, "%" JSON_INTEGER_FORMAT, json_integer_value(code));
        for (size_t i = 0; i < sizeof twilio_retry_codes / sizeof *twilio_retry_codes; i++)
            retry |= json_integer_value(code) == twilio_retry_codes[i];
    } else {
        snprintf(res->code, sizeof res->code, "http_%ld", resp->status);
    }
    buf b = BUF_INIT;
    if (message)
        buf_puts(&b, message);
    else
        buf_printf(&b, "Twilio answered %ld", resp->status);
    if (detail)
        buf_printf(&b, ": %s", detail);
    if (more)
        buf_printf(&b, " (%s)", more);
    outbound_set_reason(res, b.failed ? message : buf_str(&b), c->secret);
    buf_release(&b);
    if (!known)
        res->outcome = retry ? OUTBOUND_RETRY : OUTBOUND_FAILED;
    json_decref(root);
}

/* --- the sender ------------------------------------------------------------------- */

const struct outbound_adapter twilio_sms_outbound = {
    .name = "twilio",
    .configure = twilio_configure,
    .destroy = twilio_destroy,
    .build = twilio_build,
    .classify = twilio_classify,
};
