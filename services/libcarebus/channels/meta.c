/* meta.c — Meta's webhook handshake and signature (Messenger, WhatsApp).
 *
 * Followed: developers.facebook.com/docs/graph-api/webhooks/getting-started
 * — the verification request (GET with hub.mode=subscribe, hub.challenge,
 * hub.verify_token; answer the challenge when the token matches) and
 * "Validating Payloads" (X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
 * raw payload, keyed by the app secret>). The signature is checked on the
 * raw bytes before the body is parsed at all.
 */
#include "meta.h"

#include <string.h>

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
