/* webhook.c — signatures, webhook requests and the integrator's answers.
 *
 * The body is sent exactly as stored (the bytes signed); the timestamp is
 * the attempt's, so a retry carries a fresh one and a receiver's replay
 * window holds. base64 is OpenSSL's (EVP_EncodeBlock, EVP_DecodeBlock);
 * DecodeBlock pads its output to whole groups of three, so the padding
 * characters are counted off.
 */
#include "webhook.h"

#include <assert.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "hmac.h"

#define WEBHOOK_PREFIX "whsec_"

int webhook_key(const char *secret, unsigned char key[WEBHOOK_KEY_MAX], size_t *len)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n == 0)
        return -1;
    size_t plen = strlen(WEBHOOK_PREFIX);
    if (n <= plen || strncmp(secret, WEBHOOK_PREFIX, plen) != 0) {
        if (n > WEBHOOK_KEY_MAX)
            return -1;
        memcpy(key, secret, n);
        *len = n;
        return 0;
    }
    const char *b64 = secret + plen;
    size_t bn = n - plen;
    if (bn % 4 != 0 || bn / 4 * 3 > WEBHOOK_KEY_MAX)
        return -1;
    int got = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)bn);
    if (got < 0)
        return -1;
    size_t pad = (b64[bn - 1] == '=') + (bn > 1 && b64[bn - 2] == '=');
    *len = (size_t)got - pad;
    return *len ? 0 : -1;
}

void webhook_signature(const unsigned char *key, size_t keylen, const char *id, int64_t ts_s,
                       const char *body, size_t len, char out[WEBHOOK_SIG_LEN])
{
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%lld", (long long)ts_s);
    struct hmac_part parts[] = {
        {id, strlen(id)}, {".", 1}, {ts, (size_t)tn}, {".", 1}, {body, len},
    };
    unsigned char mac[HMAC_MAX_LEN];
    /* Fails only when libcrypto is broken or out of memory: better the
     * abort than a delivery signed with garbage. */
    int rc = hmac_compute(HMAC_SHA256, key, keylen, parts, sizeof parts / sizeof parts[0], mac);
    assert(rc == 0);
    (void)rc;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, HMAC_SHA256_LEN);
}

void webhook_legacy_signature(const char *secret, const char *body, size_t len,
                              char out[WEBHOOK_LEGACY_SIG_LEN])
{
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {body, len};
    int rc = hmac_compute(HMAC_SHA256, secret, strlen(secret), &part, 1, mac);
    assert(rc == 0);
    (void)rc;
    memcpy(out, "sha256=", 7);
    hex_encode(mac, HMAC_SHA256_LEN, out + 7);
}

char *webhook_legacy_body(const json_t *ev, const char *delivery_id)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *body = json_object_get(ev, "body");
    int rc = json_object_set_new(o, "delivery_id", json_string(delivery_id));
    if (json_is_object(body))
        rc |= json_object_update(o, body);
    const char *k;
    json_t *v;
    /* The envelope's fields win over a body field of the same name. */
    json_object_foreach((json_t *)ev, k, v)
    {
        if (strcmp(k, "body") != 0)
            rc |= json_object_set(o, k, v);
    }
    char *s = rc == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

int webhook_request(const struct webhook_target *t, const char *delivery_id, const char *event_type,
                    const char *body, int64_t now_s, struct outbound_request *req)
{
    memset(req, 0, sizeof *req);
    size_t len = strlen(body);
    req->proto = OUTBOUND_HTTP;
    req->method = "POST";
    req->url = strdup(t->url);
    req->body = strdup(body);
    req->body_len = len;
    int rc = req->url && req->body ? 0 : -1;
    rc |= outbound_request_header(req, "Content-Type", "application/json");
    rc |= outbound_request_header(req, "webhook-id", "%s", delivery_id);
    rc |= outbound_request_header(req, "webhook-timestamp", "%lld", (long long)now_s);
    if (t->key) {
        char sig[WEBHOOK_SIG_LEN];
        webhook_signature(t->key, t->keylen, delivery_id, now_s, body, len, sig);
        rc |= outbound_request_header(req, "webhook-signature", "%s", sig);
    }
    if (t->legacy_secret) {
        char sig[WEBHOOK_LEGACY_SIG_LEN];
        webhook_legacy_signature(t->legacy_secret, body, len, sig);
        rc |= outbound_request_header(req, "X-Carebus-Signature", "%s", sig);
    }
    if (t->legacy_secret || !t->key) {
        rc |= outbound_request_header(req, "X-Carebus-Delivery", "%s", delivery_id);
        rc |= outbound_request_header(req, "X-Carebus-Event", "%s", event_type);
    }
    if (rc != 0) {
        outbound_request_release(req);
        return -1;
    }
    return 0;
}

/* A string member of o (or of o.error), or NULL. */
static const char *answer_field(json_t *o, const char *const *names)
{
    for (int pass = 0; pass < 2 && json_is_object(o); pass++) {
        for (const char *const *n = names; *n; n++) {
            json_t *v = json_object_get(o, *n);
            if (json_is_string(v) && json_string_length(v))
                return json_string_value(v);
        }
        o = json_object_get(o, "error");
    }
    return NULL;
}

/* The answer's code, as text whether it was a string or a number. */
static void answer_code(json_t *o, char *out, size_t cap)
{
    for (int pass = 0; pass < 2 && json_is_object(o); pass++) {
        json_t *v = json_object_get(o, "code");
        if (json_is_string(v) && json_string_length(v)) {
            snprintf(out, cap, "%s", json_string_value(v));
            return;
        }
        if (json_is_integer(v)) {
            snprintf(out, cap, "%lld", (long long)json_integer_value(v));
            return;
        }
        o = json_object_get(o, "error");
    }
}

void webhook_classify(bool carries_message, const struct outbound_response *resp, int64_t now_us,
                      struct outbound_result *res)
{
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    json_t *doc = resp->body && resp->body_len
                      ? json_loadb(resp->body, resp->body_len, JSON_DISABLE_EOF_CHECK, NULL)
                      : NULL;
    if (resp->status >= 200 && resp->status <= 299 && !resp->transport_error) {
        static const char *const ids[] = {"provider_message_id", "message_id", "id", NULL};
        const char *id = carries_message ? answer_field(doc, ids) : NULL;
        res->outcome = OUTBOUND_SENT;
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", id ? id : "");
        json_decref(doc);
        return;
    }
    if (outbound_classify_transport(resp, now_us, res) || !carries_message || resp->status == 408 ||
        resp->status == 425 || resp->status < 400) {
        res->outcome = OUTBOUND_RETRY;
        if (resp->status && !resp->transport_error) {
            snprintf(res->code, sizeof res->code, "http_%ld", resp->status);
            snprintf(res->reason, sizeof res->reason, "the receiver answered %ld", resp->status);
        }
        json_decref(doc);
        return;
    }
    /* A message the integrator refuses: its own words. */
    static const char *const msgs[] = {"message", "reason", "error_description", NULL};
    char code[sizeof res->code] = "";
    answer_code(doc, code, sizeof code);
    const char *why = answer_field(doc, msgs);
    if (!code[0])
        snprintf(code, sizeof code, "http_%ld", resp->status);
    if (why) {
        outbound_fail(res, code, "%s", why);
    } else {
        size_t n = 0; /* the body's first line (it is not NUL-terminated) */
        while (resp->body && n < resp->body_len && resp->body[n] != '\r' && resp->body[n] != '\n')
            n++;
        if (n && !doc)
            outbound_fail(res, code, "%.*s", (int)(n > 300 ? 300 : n), resp->body);
        else
            outbound_fail(res, code, "the integrator refused the message (%ld)", resp->status);
    }
    json_decref(doc);
}
