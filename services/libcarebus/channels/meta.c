/* meta.c — Meta's webhook handshake and signature, and the Graph API's
 * send side (Messenger, Instagram, WhatsApp).
 *
 * Followed: developers.facebook.com/docs/graph-api/webhooks/getting-started
 * — the verification request (GET with hub.mode=subscribe, hub.challenge,
 * hub.verify_token; answer the challenge when the token matches) and
 * "Validating Payloads" (X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
 * raw payload, keyed by the app secret>). The signature is checked on the
 * raw bytes before the body is parsed at all.
 *
 * Sending: .../graph-api/guides/error-handling and the Send API's and
 * WhatsApp's error codes. Handling follows the error's code, never the
 * HTTP status (Messenger answers a bad token with 400, WhatsApp with 401).
 * Graph gives no Retry-After on its rate limits (only usage headers), so
 * a rate limit is retried on courier's backoff.
 */
#include "meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

/* Meta's challenge is an integer; anything much longer is not Meta. */
#define META_MAX_CHALLENGE 256

bool meta_signature_ok(const char *header, const char *app_secret, const char *body, size_t len)
{
    size_t hl;
    const char *hex = inbound_header_value(header, "sha256=", &hl);
    if (!hex || !app_secret)
        return false;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {body, len};
    if (hmac_compute(HMAC_SHA256, app_secret, strlen(app_secret), &part, 1, mac) != 0)
        return false;
    return hmac_equal_hex(hex, hl, mac, HMAC_SHA256_LEN);
}

int meta_verify(const char *const *settings, const struct inbound_req *req, struct inbound_batch *b,
                struct inbound_error *err)
{
    (void)b;
    const char *sig = req->header(req->ctx, "X-Hub-Signature-256");
    if (!meta_signature_ok(sig, settings[0], req->body, req->len))
        return inbound_fail(err, 401, "X-Hub-Signature-256 does not sign this body");
    return 0;
}

const char *meta_handshake(const char *token, const struct inbound_req *req)
{
    const char *mode = req->query(req->ctx, "hub.mode");
    const char *given = req->query(req->ctx, "hub.verify_token");
    const char *challenge = req->query(req->ctx, "hub.challenge");
    if (!mode || strcmp(mode, "subscribe") != 0 || !inbound_token_equal(given, token) ||
        !challenge || strlen(challenge) > META_MAX_CHALLENGE)
        return NULL;
    return challenge;
}

/* --- the Graph API's send side ---------------------------------------------- */

/* Codes that say "not now": rate limits and temporary faults, requests Meta
 * did not carry out (Graph's error handling guide, the Send API's and the
 * WhatsApp Cloud API's error codes). */
static const json_int_t meta_retry_codes[] = {
    1,      /* unknown error, possibly temporary */
    2,      /* service temporarily unavailable */
    4,      /* application request limit */
    17,     /* user request limit */
    32,     /* page request limit */
    341,    /* application limit */
    613,    /* send rate limit */
    1200,   /* temporary send message failure */
    80007,  /* WhatsApp business account rate limit */
    130429, /* WhatsApp throughput */
    131000, /* WhatsApp: something went wrong */
    131016, /* WhatsApp: service unavailable */
    131056, /* WhatsApp: pair rate limit */
    133004, /* WhatsApp: server temporarily unavailable */
};

static bool meta_http_url(const char *v)
{
    return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
}

/* "v" digits "." digits. */
static bool meta_version_ok(const char *v)
{
    if (*v++ != 'v' || !(*v >= '0' && *v <= '9'))
        return false;
    while (*v >= '0' && *v <= '9')
        v++;
    if (*v++ != '.' || !(*v >= '0' && *v <= '9'))
        return false;
    while (*v >= '0' && *v <= '9')
        v++;
    return *v == '\0';
}

int meta_sender_init(struct meta_sender *s, const char *object, const char *token, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *base = config_str("GRAPH_API_BASE", META_GRAPH_BASE);
    const char *version = config_str("GRAPH_API_VERSION", META_GRAPH_VERSION);
    if (!meta_http_url(base)) {
        snprintf(err, errlen, "CAREBUS_GRAPH_API_BASE: expected an http(s) URL, got \"%.64s\"",
                 base);
        return -1;
    }
    if (!meta_version_ok(version)) {
        snprintf(err, errlen, "CAREBUS_GRAPH_API_VERSION: expected v<major>.<minor>, got \"%.32s\"",
                 version);
        return -1;
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if (asprintf(&s->url, "%.*s/%s/%s/messages", (int)bl, base, version, object) < 0) {
        s->url = NULL;
        goto oom;
    }
    if (!(s->token = strdup(token)))
        goto oom;
    return 0;
oom:
    meta_sender_release(s);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void meta_sender_release(struct meta_sender *s)
{
    free(s->url);
    free(s->token);
    memset(s, 0, sizeof *s);
}

int meta_request(const struct meta_sender *s, const json_t *body, struct outbound_request *req,
                 struct outbound_result *res)
{
    req->proto = OUTBOUND_HTTP;
    req->method = "POST";
    req->url = strdup(s->url);
    req->body = json_dumps(body, JSON_COMPACT);
    if (!req->url || !req->body ||
        outbound_request_header(req, "Content-Type", "application/json") != 0 ||
        outbound_request_header(req, "Authorization", "Bearer %s", s->token) != 0) {
        outbound_request_release(req);
        return outbound_fail(res, "internal", "out of memory building the request");
    }
    req->body_len = strlen(req->body);
    return 0;
}

/* Graph's error object into res: code, reason "message: details (subcode
 * N, fbtrace_id X)", and whether it is worth another try. */
static bool meta_error(const struct meta_sender *s, const json_t *e, struct outbound_result *res)
{
    const json_t *code = json_object_get(e, "code");
    const json_t *sub = json_object_get(e, "error_subcode");
    const char *msg = inbound_json_str(e, "message");
    static const char *const details_path[] = {"error_data", "details"};
    const json_t *details = inbound_json_path(e, details_path, 2);
    const char *trace = inbound_json_str(e, "fbtrace_id");
    if (json_is_integer(code))
        snprintf(res->code, sizeof res->code, "%" JSON_INTEGER_FORMAT, json_integer_value(code));
    buf b = BUF_INIT;
    buf_puts(&b, msg ? msg : "the Graph API refused the message");
    if (json_is_string(details))
        buf_printf(&b, ": %s", json_string_value(details));
    if (json_is_integer(sub) || trace) {
        buf_puts(&b, " (");
        if (json_is_integer(sub))
            buf_printf(&b, "subcode %" JSON_INTEGER_FORMAT "%s", json_integer_value(sub),
                       trace ? ", " : "");
        if (trace)
            buf_printf(&b, "fbtrace_id %s", trace);
        buf_putc(&b, ')');
    }
    outbound_set_reason(res, b.failed ? msg : buf_str(&b), s->token);
    buf_release(&b);
    bool retry = json_is_true(json_object_get(e, "is_transient"));
    for (size_t i = 0;
         json_is_integer(code) && i < sizeof meta_retry_codes / sizeof *meta_retry_codes; i++)
        retry |= json_integer_value(code) == meta_retry_codes[i];
    return retry;
}

void meta_classify(const struct meta_sender *s, meta_id_fn id_of,
                   const struct outbound_response *resp, int64_t now_us,
                   struct outbound_result *res)
{
    res->provider_message_id[0] = '\0';
    bool known = outbound_classify_transport(resp, now_us, res);
    if (known && (resp->transport_error || resp->status == 0))
        return;
    json_t *root = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    if (resp->status >= 200 && resp->status < 300) {
        /* Accepted, whatever the body says: sending again would send twice. */
        res->outcome = OUTBOUND_SENT;
        res->code[0] = res->reason[0] = '\0';
        const char *id = id_of(root);
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", id ? id : "");
        json_decref(root);
        return;
    }
    const json_t *e = json_object_get(root, "error");
    char http[16];
    snprintf(http, sizeof http, "http_%ld", resp->status);
    if (json_is_object(e)) {
        snprintf(res->code, sizeof res->code, "%s", http); /* unless Meta gives its code */
        /* A 5xx or 429 stays a retry whatever Meta's code; the text is
         * Meta's either way. */
        bool retry = meta_error(s, e, res);
        if (!known)
            res->outcome = retry ? OUTBOUND_RETRY : OUTBOUND_FAILED;
    } else if (!known) {
        outbound_fail(res, http, "the Graph API answered %ld", resp->status);
    }
    json_decref(root);
}
