/* meta.h — what Facebook Messenger (and Instagram) and WhatsApp share as
 * Meta products: the webhook's subscription handshake and its
 * X-Hub-Signature-256 (messenger.c and whatsapp.c use these in their
 * adapters).
 *
 *   X-Hub-Signature-256: "sha256=" hex HMAC-SHA256(app secret, raw body)
 */
#ifndef CAREBUS_CHANNELS_META_H
#define CAREBUS_CHANNELS_META_H

#include <stdbool.h>
#include <stddef.h>

#include "inbound.h"

/* True when header (may be NULL: false) signs body with app_secret. */
bool meta_signature_ok(const char *header, const char *app_secret, const char *body, size_t len);

/* An adapter's verify: settings[0] is the app secret. */
int meta_verify(const char *const *settings, const struct inbound_req *req, struct inbound_batch *b,
                struct inbound_error *err);

/* An adapter's handshake: hub.mode=subscribe and hub.verify_token equal to
 * token give hub.challenge (at most 256 bytes); anything else NULL. */
const char *meta_handshake(const char *token, const struct inbound_req *req);

#endif
