/* meta.h — what Facebook Messenger and WhatsApp share: Meta's webhook
 * verification handshake and its X-Hub-Signature-256 check.
 */
#ifndef WEBHOOK_META_H
#define WEBHOOK_META_H

#include "parse.h"
#include "submit.h"

/* GET: hub.mode=subscribe and hub.verify_token equal to CAREBUS_<token_var>
 * answer 200 with hub.challenge as text/plain; otherwise 403; 404 when the
 * token is not configured. */
http_status webhook_meta_verify(http_req *r, const char *channel, const char *token_var);

/* POST: 404 without CAREBUS_<secret_var>; 401 unless X-Hub-Signature-256
 * signs the raw body; 400 for a body map refuses; then the messages are
 * committed and 200 answered. */
typedef int (*webhook_map_fn)(struct webhook_batch *b, int64_t now_us, struct webhook_error *err);
http_status webhook_meta_post(http_req *r, ingest *in, const char *channel, const char *secret_var,
                              webhook_map_fn map);

#endif
