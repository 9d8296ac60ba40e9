/* zalo.c — Zalo Official Account.
 *
 * Sections: inbound (user messages), status (received and seen receipts),
 * signature, the inbound adapter; outbound (the customer-service message,
 * Zalo's answers, the OA token's refresh), the outbound adapter.
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
 *
 * Outbound: OpenAPI v3's customer-service message (POST /v3.0/oa/message/cs,
 * header access_token, body {"recipient":{"user_id"},"message":{"text",
 * "attachment"}}) and the OAuth v4 refresh (POST /v4/oa/access_token, header
 * secret_key = the app's secret key, which is not the OA secret key above).
 * Subtle: Zalo answers every application error with HTTP 200 and a
 * negative "error" in the body, so the status says little; refresh tokens
 * are single use, so once Zalo has answered a refresh with new tokens they
 * must be kept whatever else is odd in the answer. Zalo itself decides its
 * 7-day window (-230): an interaction carebus never sees (a follow, a menu
 * tap) counts, so nothing is refused here on the time of the last message.
 */
#include "zalo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "url.h"
#include "utf8.h"

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
    contact_attach(m, name, ct ? ct : type, zalo_size(p), url, NULL);
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

/* --- the inbound adapter ---------------------------------------------------------------- */

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

/* --- outbound: settings ------------------------------------------------------------ */

#define ZALO_API_BASE_DEFAULT "https://openapi.zalo.me"
#define ZALO_OAUTH_BASE_DEFAULT "https://oauth.zaloapp.com"
#define ZALO_CS_PATH "/v3.0/oa/message/cs"
#define ZALO_OAUTH_PATH "/v4/oa/access_token"
/* A text's limit, in characters (Zalo counts code points). */
#define ZALO_TEXT_MAX 2000
/* An image sent by URL: JPG or PNG, 1 MB at most. */
#define ZALO_IMAGE_MAX (1024u * 1024u)
/* -32: the app's quota is per minute and Zalo gives no Retry-After, so the
 * next attempt waits for the next window. */
#define ZALO_RATE_WINDOW_MS 60000

struct zalo_cfg {
    char *api_base, *oauth_base;
    char *app_id, *secret_key;          /* the refresh's; NULL: no refresh */
    char *access_token, *refresh_token; /* the seed; NULL when unset */
};

static void zalo_destroy(void *p)
{
    struct zalo_cfg *c = p;
    if (!c)
        return;
    free(c->api_base);
    free(c->oauth_base);
    free(c->app_id);
    free(c->secret_key);
    free(c->access_token);
    free(c->refresh_token);
    free(c);
}

static bool zalo_has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* An http(s) base URL without its final slashes (NULL: not one). */
static char *zalo_base(const char *v)
{
    if ((strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0) ||
        zalo_has_control(v) || strchr(v, ' '))
        return NULL;
    size_t n = strlen(v);
    while (n > 8 && v[n - 1] == '/')
        n--;
    return strndup(v, n);
}

static char *zalo_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Sending needs a token (or the app's secret key to get one); the app id
 * alone is the inbound webhook's. Error texts name settings, never their
 * values. */
static void *zalo_configure(char *err, size_t errlen)
{
    const char *access = config_str("ZALO_ACCESS_TOKEN", NULL);
    const char *refresh = config_str("ZALO_REFRESH_TOKEN", NULL);
    const char *secret = config_str("ZALO_SECRET_KEY", NULL);
    const char *app_id = config_str("ZALO_APP_ID", NULL);
    err[0] = '\0';
    if (!access && !refresh && !secret)
        return NULL;
    if ((refresh || secret) && (!app_id || !secret)) {
        snprintf(err, errlen,
                 "refreshing the OA token needs CAREBUS_ZALO_APP_ID and CAREBUS_ZALO_SECRET_KEY "
                 "(the app's secret key)");
        return NULL;
    }
    static const char *const tokens[] = {"ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN",
                                         "ZALO_SECRET_KEY", "ZALO_APP_ID"};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        if (zalo_has_control(config_str(tokens[i], NULL))) {
            snprintf(err, errlen, "CAREBUS_%s has a control character", tokens[i]);
            return NULL;
        }
    struct zalo_cfg *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->api_base = zalo_base(config_str("ZALO_API_BASE", ZALO_API_BASE_DEFAULT));
    c->oauth_base = zalo_base(config_str("ZALO_OAUTH_BASE", ZALO_OAUTH_BASE_DEFAULT));
    if (!c->api_base || !c->oauth_base) {
        snprintf(err, errlen, "CAREBUS_%s must be an http(s) URL",
                 !c->api_base ? "ZALO_API_BASE" : "ZALO_OAUTH_BASE");
        zalo_destroy(c);
        return NULL;
    }
    c->app_id = zalo_dup(app_id);
    c->secret_key = zalo_dup(secret);
    c->access_token = zalo_dup(access);
    c->refresh_token = zalo_dup(refresh);
    if ((app_id && !c->app_id) || (secret && !c->secret_key) || (access && !c->access_token) ||
        (refresh && !c->refresh_token)) {
        snprintf(err, errlen, "out of memory");
        zalo_destroy(c);
        return NULL;
    }
    return c;
}

/* --- outbound: the customer-service message -------------------------------------------- */

typedef enum { ZALO_IMAGE, ZALO_GIF, ZALO_FILE, ZALO_OTHER } zalo_media;

/* By content type, else by the name's (or the URL's) extension. */
static zalo_media zalo_media_of(const Carebus__V1__Attachment *a)
{
    static const struct {
        const char *type, *ext;
        zalo_media media;
    } kinds[] = {
        {"image/jpeg", ".jpg", ZALO_IMAGE},
        {"image/jpg", ".jpeg", ZALO_IMAGE},
        {"image/png", ".png", ZALO_IMAGE},
        {"image/gif", ".gif", ZALO_GIF},
        {"application/pdf", ".pdf", ZALO_FILE},
        {"application/msword", ".doc", ZALO_FILE},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx",
         ZALO_FILE},
    };
    const char *ct = a->content_type ? a->content_type : "";
    size_t ctn = strcspn(ct, "; ");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (ctn && strlen(kinds[i].type) == ctn && strncasecmp(ct, kinds[i].type, ctn) == 0)
            return kinds[i].media;
    if (ctn && strncasecmp(ct, "application/octet-stream", ctn) != 0)
        return ZALO_OTHER;
    const char *names[] = {a->name, a->url};
    for (size_t k = 0; k < 2; k++) {
        const char *n = names[k] ? names[k] : "";
        size_t len = strcspn(n, "?#");
        const char *dot = NULL;
        for (const char *p = n; p < n + len; p++)
            if (*p == '.')
                dot = p;
            else if (*p == '/')
                dot = NULL;
        if (!dot)
            continue;
        size_t en = (size_t)(n + len - dot);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strlen(kinds[i].ext) == en && strncasecmp(dot, kinds[i].ext, en) == 0)
                return kinds[i].media;
    }
    return ZALO_OTHER;
}

static const char *zalo_attachment_label(const Carebus__V1__Attachment *a)
{
    if (a->name && a->name[0])
        return a->name;
    if (a->url && a->url[0])
        return a->url;
    return "the attachment";
}

static bool zalo_http_url(const char *u)
{
    return u && (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0);
}

/* message.attachment for a (Zalo takes one a message): an image as the
 * media template (by URL or by an uploaded attachment_id), a file only by
 * the token of an upload (Zalo takes no file by URL, and carebus fetches
 * nothing). NULL with res set when Zalo cannot take it. */
static json_t *zalo_attachment_json(const Carebus__V1__Attachment *a, bool with_text,
                                    struct outbound_result *res)
{
    const char *label = zalo_attachment_label(a);
    const char *media_id = a->media_id && a->media_id[0] ? a->media_id : NULL;
    switch (zalo_media_of(a)) {
    case ZALO_IMAGE: {
        if (a->size > ZALO_IMAGE_MAX) {
            outbound_fail(res, "unsupported_attachment",
                          "\"%.200s\" is %" PRIu64 " bytes: Zalo takes images of 1 MB at most",
                          label, a->size);
            return NULL;
        }
        if (!media_id && !zalo_http_url(a->url)) {
            outbound_fail(res, "unsupported_attachment",
                          "\"%.200s\" has neither an http(s) URL nor a Zalo attachment id", label);
            return NULL;
        }
        json_t *el = media_id
                         ? json_pack("{s:s, s:s}", "media_type", "image", "attachment_id", media_id)
                         : json_pack("{s:s, s:s}", "media_type", "image", "url", a->url);
        return json_pack("{s:s, s:{s:s, s:[o]}}", "type", "template", "payload", "template_type",
                         "media", "elements", el);
    }
    case ZALO_GIF:
        outbound_fail(res, "unsupported_attachment",
                      "\"%.200s\" is a GIF: Zalo needs its width and height, which carebus does "
                      "not know",
                      label);
        return NULL;
    case ZALO_FILE:
        if (!media_id) {
            outbound_fail(res, "unsupported_attachment",
                          "\"%.200s\": Zalo takes a file only as an upload's token, not by URL",
                          label);
            return NULL;
        }
        if (with_text) {
            outbound_fail(res, "unsupported_attachment",
                          "\"%.200s\": Zalo sends a file without text; send the text and the "
                          "file as two replies",
                          label);
            return NULL;
        }
        return json_pack("{s:s, s:{s:s}}", "type", "file", "payload", "token", media_id);
    case ZALO_OTHER:
        break;
    }
    outbound_fail(res, "unsupported_attachment",
                  "\"%.200s\" (%.100s): Zalo takes JPG and PNG images and PDF, DOC and DOCX files",
                  label, a->content_type && a->content_type[0] ? a->content_type : "unknown type");
    return NULL;
}

static int zalo_build(const void *cfgv, const struct outbound_credentials *cred,
                      const struct outbound_msg *msg, struct outbound_request *req,
                      struct outbound_result *res)
{
    const struct zalo_cfg *cfg = cfgv;
    const Carebus__V1__MessageOutbound *m = msg->m;
    const char *user_id = m->recipient ? m->recipient->handle : NULL;
    if (outbound_check(msg, user_id, OUTBOUND_MEDIA_IDS, res) != 0)
        return -1;
    if (!cred || !cred->access_token[0])
        return outbound_fail(res, "no_credentials",
                             "zalo has no access token: set CAREBUS_ZALO_ACCESS_TOKEN, or "
                             "CAREBUS_ZALO_REFRESH_TOKEN to get one");
    if (zalo_has_control(cred->access_token))
        return outbound_fail(res, "no_credentials", "zalo's access token has a control character");
    const char *text = m->text ? m->text : "";
    size_t tl = strlen(text);
    if (!utf8_valid(text, tl))
        return outbound_fail(res, "invalid_text", "the text is not UTF-8");
    size_t chars = utf8_count(text, tl);
    if (chars > ZALO_TEXT_MAX)
        return outbound_fail(res, "text_too_long",
                             "the text has %zu characters: Zalo takes %d at most", chars,
                             ZALO_TEXT_MAX);
    if (m->n_attachments > 1)
        return outbound_fail(res, "unsupported_attachment",
                             "%zu attachments: Zalo takes one a message", m->n_attachments);

    json_t *message = json_object();
    if (message && chars)
        json_object_set_new(message, "text", json_string(text));
    if (message && m->n_attachments) {
        json_t *att = zalo_attachment_json(m->attachments[0], chars > 0, res);
        if (!att) {
            json_decref(message);
            return -1;
        }
        json_object_set_new(message, "attachment", att);
    }
    json_t *body =
        message ? json_pack("{s:{s:s}, s:o}", "recipient", "user_id", user_id, "message", message)
                : NULL;
    req->proto = OUTBOUND_HTTP;
    req->method = "POST";
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (req->body && asprintf(&req->url, "%s" ZALO_CS_PATH, cfg->api_base) < 0)
        req->url = NULL;
    if (!req->body || !req->url ||
        outbound_request_header(req, "Content-Type", "application/json") != 0 ||
        outbound_request_header(req, "access_token", "%s", cred->access_token) != 0)
        return outbound_fail(res, "internal", "out of memory building the request");
    req->body_len = strlen(req->body);
    return 0;
}

/* --- outbound: Zalo's answers ------------------------------------------------------------ */

/* What an "error" other than 0 means; every other code is a refusal of
 * this message for good: -230 and -232 (the 7-day window), -227 (banned or
 * inactive), -244 (restricted), -213 (not a follower), -201 (invalid
 * parameter), -233 (unsupported type), -100 (attachment expired), -211 and
 * -218 (quota) ... */
static const struct {
    long long code;
    outbound_outcome outcome;
} zalo_errors[] = {
    {-216, OUTBOUND_REAUTH}, /* Access token is invalid */
    {-220, OUTBOUND_REAUTH}, /* access_token is expired or removed */
    {-32, OUTBOUND_RETRY},   /* the app's or the OA's rate limit (a minute's window) */
    {-200, OUTBOUND_RETRY},  /* Send message failed: Zalo's own trouble */
};

static void zalo_classify(const void *cfgv, const struct outbound_response *resp, int64_t now_us,
                          struct outbound_result *res)
{
    const struct zalo_cfg *cfg = cfgv;
    if (outbound_classify_transport(resp, now_us, res))
        return;
    char code[48];
    if (resp->status < 200 || resp->status > 299) {
        /* Outside Zalo's documented answers: a wrong base URL, a proxy. */
        snprintf(code, sizeof code, "http_%ld", resp->status);
        outbound_fail(res, code, "zalo answered HTTP %ld", resp->status);
        return;
    }
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const json_t *e = json_object_get(root, "error");
    if (!json_is_integer(e)) {
        res->outcome = OUTBOUND_RETRY;
        snprintf(res->code, sizeof res->code, "bad_answer");
        snprintf(res->reason, sizeof res->reason,
                 "zalo answered HTTP %ld without an error code: the outcome is unknown",
                 resp->status);
        json_decref(root);
        return;
    }
    long long err = json_integer_value(e);
    if (err == 0) {
        res->outcome = OUTBOUND_SENT;
        const json_t *id = json_object_get(json_object_get(root, "data"), "message_id");
        if (json_is_string(id))
            snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s",
                     json_string_value(id));
        else if (json_is_integer(id))
            snprintf(res->provider_message_id, sizeof res->provider_message_id,
                     "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        json_decref(root);
        return;
    }
    res->outcome = OUTBOUND_FAILED;
    for (size_t i = 0; i < sizeof zalo_errors / sizeof zalo_errors[0]; i++)
        if (zalo_errors[i].code == err)
            res->outcome = zalo_errors[i].outcome;
    if (err == -32)
        res->retry_after_ms = ZALO_RATE_WINDOW_MS;
    snprintf(res->code, sizeof res->code, "%lld", err);
    const char *text = inbound_json_str(root, "message");
    outbound_set_reason(res, text && text[0] ? text : "zalo refused it",
                        cfg ? cfg->secret_key : NULL);
    json_decref(root);
}

/* --- outbound: the OA token ----------------------------------------------------------------- */

/* The environment's tokens: without an access token, one expired long ago
 * (expires_us 1), so that courier refreshes before the first send. */
static int zalo_credentials_seed(const void *cfgv, struct outbound_credentials *out)
{
    const struct zalo_cfg *cfg = cfgv;
    memset(out, 0, sizeof *out);
    if (!cfg->access_token && !cfg->refresh_token)
        return -1;
    if ((cfg->access_token && strlen(cfg->access_token) >= sizeof out->access_token) ||
        (cfg->refresh_token && strlen(cfg->refresh_token) >= sizeof out->refresh_token))
        return -1;
    snprintf(out->access_token, sizeof out->access_token, "%s",
             cfg->access_token ? cfg->access_token : "");
    snprintf(out->refresh_token, sizeof out->refresh_token, "%s",
             cfg->refresh_token ? cfg->refresh_token : "");
    out->expires_us = cfg->access_token ? 0 : 1;
    return 0;
}

/* refresh_token=..&app_id=..&grant_type=refresh_token, in the order of
 * Zalo's example. */
static int zalo_refresh_build(const void *cfgv, const struct outbound_credentials *cred,
                              struct outbound_request *req)
{
    const struct zalo_cfg *cfg = cfgv;
    if (!cfg->secret_key || !cfg->app_id || !cred || !cred->refresh_token[0] ||
        zalo_has_control(cred->refresh_token))
        return -1;
    char *rt = malloc(3 * strlen(cred->refresh_token) + 1);
    char *app = malloc(3 * strlen(cfg->app_id) + 1);
    int rc = -1;
    if (!rt || !app)
        goto out;
    url_encode(rt, cred->refresh_token);
    url_encode(app, cfg->app_id);
    req->proto = OUTBOUND_HTTP;
    req->method = "POST";
    if (asprintf(&req->url, "%s" ZALO_OAUTH_PATH, cfg->oauth_base) < 0) {
        req->url = NULL;
        goto out;
    }
    if (asprintf(&req->body, "refresh_token=%s&app_id=%s&grant_type=refresh_token", rt, app) < 0) {
        req->body = NULL;
        goto out;
    }
    req->body_len = strlen(req->body);
    if (outbound_request_header(req, "Content-Type", "application/x-www-form-urlencoded") != 0 ||
        outbound_request_header(req, "secret_key", "%s", cfg->secret_key) != 0)
        goto out;
    rc = 0;
out:
    free(rt);
    free(app);
    return rc;
}

/* A token as Zalo gave it into dst: 0, or -1 when it cannot be used. */
static int zalo_token(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap || zalo_has_control(v))
        return -1;
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int zalo_refresh_parse(const struct outbound_response *resp, int64_t now_us,
                              struct outbound_credentials *out, char *err, size_t errlen)
{
    if (resp->transport_error || resp->status == 0) {
        snprintf(err, errlen, "no answer from zalo's oauth server (curl error %d)",
                 resp->transport_error);
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        snprintf(err, errlen, "zalo's oauth server answered HTTP %ld", resp->status);
        return -1;
    }
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    int rc = -1;
    const char *access = inbound_json_str(root, "access_token");
    const char *refresh = inbound_json_str(root, "refresh_token");
    const json_t *e = json_object_get(root, "error");
    if (!json_is_object(root)) {
        snprintf(err, errlen, "zalo's oauth server answered no JSON object");
    } else if ((json_is_integer(e) && json_integer_value(e) != 0) || !access || !access[0]) {
        /* -14014 and its kind: the refresh token is used, expired or not
         * the app's; an OA admin must grant access again. */
        const char *name = inbound_json_str(root, "error_name");
        const char *why = inbound_json_str(root, "error_reason");
        if (!why || !why[0])
            why = inbound_json_str(root, "message");
        if (json_is_integer(e) && json_integer_value(e) != 0)
            snprintf(err, errlen,
                     "zalo refused the refresh: %" JSON_INTEGER_FORMAT "%s%.100s%s%.200s",
                     json_integer_value(e), name && name[0] ? " " : "", name ? name : "",
                     why && why[0] ? ": " : "", why ? why : "");
        else
            snprintf(err, errlen, "zalo's answer to the refresh has no access_token");
    } else if (zalo_token(out->access_token, sizeof out->access_token, access) != 0 ||
               (refresh && refresh[0] &&
                zalo_token(out->refresh_token, sizeof out->refresh_token, refresh) != 0)) {
        snprintf(err, errlen,
                 "zalo's new token is longer than %zu bytes or has a control character",
                 sizeof out->access_token - 1);
    } else {
        /* "expires_in": a string of seconds in Zalo's documentation, a
         * number elsewhere; unreadable means unknown (0), never a failure:
         * the old refresh token is already spent. */
        const json_t *ex = json_object_get(root, "expires_in");
        long long secs = -1;
        if (json_is_integer(ex))
            secs = json_integer_value(ex);
        else if (json_is_string(ex)) {
            char *end;
            const char *v = json_string_value(ex);
            secs = strtoll(v, &end, 10);
            if (end == v || *end)
                secs = -1;
        }
        out->expires_us =
            secs > 0 && secs < 10LL * 365 * 86400 ? now_us + (int64_t)secs * 1000000 : 0;
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* --- the outbound adapter ------------------------------------------------------------------- */

const struct outbound_adapter zalo_outbound = {
    .name = "zalo",
    .configure = zalo_configure,
    .destroy = zalo_destroy,
    .build = zalo_build,
    .classify = zalo_classify,
    .credentials_seed = zalo_credentials_seed,
    .refresh_build = zalo_refresh_build,
    .refresh_parse = zalo_refresh_parse,
};
