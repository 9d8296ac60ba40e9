/* meta.h — what Facebook Messenger (and Instagram) and WhatsApp share as
 * Meta products: the webhook's subscription handshake and its
 * X-Hub-Signature-256, and the Graph API's send side — where it is, how a
 * request is authenticated, and its error envelope (messenger.c and
 * whatsapp.c use these in their adapters).
 *
 *   X-Hub-Signature-256: "sha256=" hex HMAC-SHA256(app secret, raw body)
 *   POST {CAREBUS_GRAPH_API_BASE}/{CAREBUS_GRAPH_API_VERSION}/{object}/messages
 */
#ifndef CAREBUS_CHANNELS_META_H
#define CAREBUS_CHANNELS_META_H

#include <stdbool.h>
#include <stddef.h>

#include "inbound.h"
#include "outbound.h"

/* True when header (may be NULL: false) signs body with app_secret. */
bool meta_signature_ok(const char *header, const char *app_secret, const char *body, size_t len);

/* An adapter's verify: settings[0] is the app secret. */
int meta_verify(const char *const *settings, const struct inbound_req *req, struct inbound_batch *b,
                struct inbound_error *err);

/* An adapter's handshake: hub.mode=subscribe and hub.verify_token equal to
 * token give hub.challenge (at most 256 bytes); anything else NULL. */
const char *meta_handshake(const char *token, const struct inbound_req *req);

/* --- the Graph API's send side ---------------------------------------------- */

#define META_GRAPH_BASE "https://graph.facebook.com"
#define META_GRAPH_VERSION "v25.0"

struct meta_sender {
    char *url;   /* {base}/{version}/{object}/messages */
    char *token; /* sent as a Bearer token: never in the URL, which is logged */
};

/* Reads CAREBUS_GRAPH_API_BASE and CAREBUS_GRAPH_API_VERSION and sets s up
 * to send as object ("me": the Page; a WhatsApp phone number id) with
 * token. 0, or -1 with err set (an invalid setting, out of memory) and s
 * released. */
int meta_sender_init(struct meta_sender *s, const char *object, const char *token, char *err,
                     size_t errlen);
void meta_sender_release(struct meta_sender *s);

/* The request: POST s->url, body as compact JSON, the Bearer token. 0, or
 * -1 with res a failure (out of memory) and req released. */
int meta_request(const struct meta_sender *s, const json_t *body, struct outbound_request *req,
                 struct outbound_result *res);

/* The provider's message id in a success body, or NULL. */
typedef const char *(*meta_id_fn)(const json_t *root);

/* Classifies a Graph answer: 2xx is SENT (id_of's id); Graph's error
 * envelope {"error":{message, code, error_subcode, error_data.details,
 * is_transient, fbtrace_id}} gives the code (Meta's, as text) and the
 * reason, and RETRY for rate limits and transient faults, else FAILED
 * (tokens included: a page or system user token is not refreshed). */
void meta_classify(const struct meta_sender *s, meta_id_fn id_of,
                   const struct outbound_response *resp, int64_t now_us,
                   struct outbound_result *res);

#endif
