/* meta.c — Meta's webhook handshake and signed POSTs (Messenger, WhatsApp).
 *
 * Followed: developers.facebook.com/docs/graph-api/webhooks/getting-started
 * — the verification request (GET with hub.mode=subscribe, hub.challenge,
 * hub.verify_token; answer the challenge when the token matches) and
 * "Validating Payloads" (X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
 * raw body, keyed by the app secret>). The signature is checked on the raw
 * bytes before the body is parsed at all.
 */
#include "meta.h"

#include <string.h>

#include "log.h"
#include "signature.h"
#include "timeutil.h"

/* Meta's challenge is an integer; anything much longer is not Meta. */
#define META_MAX_CHALLENGE 256

http_status webhook_meta_verify(http_req *r, const char *channel, const char *token_var)
{
    const char *want = webhook_secret(token_var);
    if (!want)
        return webhook_not_configured(r, channel);
    const char *mode = http_query(r, "hub.mode");
    const char *token = http_query(r, "hub.verify_token");
    const char *challenge = http_query(r, "hub.challenge");
    if (!mode || strcmp(mode, "subscribe") != 0 || !signature_token_equal(token, want) ||
        !challenge || strlen(challenge) > META_MAX_CHALLENGE) {
        ingest_reject(r, 403, "invalid_verify_token", "forbidden", NULL,
                      "%s webhook: hub.mode must be \"subscribe\" and hub.verify_token must match",
                      channel);
        return HTTP_DONE;
    }
    log_info("%s webhook verified by the platform", channel);
    http_reply(r, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
    return HTTP_DONE;
}

http_status webhook_meta_post(http_req *r, ingest *in, const char *channel, const char *secret_var,
                              webhook_map_fn map)
{
    const char *secret = webhook_secret(secret_var);
    if (!secret)
        return webhook_not_configured(r, channel);
    size_t len;
    const char *body = http_body(r, &len);
    const char *sig = http_header(r, "X-Hub-Signature-256");
    if (!sig)
        return webhook_bad_signature(r, channel, "missing X-Hub-Signature-256");
    if (!signature_meta_ok(sig, secret, body, len))
        return webhook_bad_signature(r, channel, "X-Hub-Signature-256 does not sign this body");
    struct webhook_req *w = webhook_req_new(r, channel);
    if (!w)
        return HTTP_DONE;
    struct webhook_error err;
    if (webhook_batch_load_json(&w->b, body, len, &err) != 0 ||
        map(&w->b, time_now_us(), &err) != 0)
        return webhook_refused(r, channel, &err);
    return webhook_submit(in, w);
}
