/* zalo.h — Zalo Official Account: everything carebus knows of it, in
 * zalo.c.
 *
 *   X-ZEvent-Signature: "mac=" hex SHA-256(app_id body timestamp oa_secret)
 *   POST {CAREBUS_ZALO_API_BASE}/v3.0/oa/message/cs      access_token: <OA token>
 *   POST {CAREBUS_ZALO_OAUTH_BASE}/v4/oa/access_token    secret_key: <app secret>
 */
#ifndef CAREBUS_CHANNELS_ZALO_H
#define CAREBUS_CHANNELS_ZALO_H

#include <stdbool.h>

#include "inbound.h"
#include "outbound.h"

/* POST /v1/webhooks/zalo. */
extern const struct inbound_adapter zalo_inbound;

/* Sends customer-service messages (text, or one image or uploaded file)
 * with the OA's rotating tokens. Settings: CAREBUS_ZALO_ACCESS_TOKEN and
 * CAREBUS_ZALO_REFRESH_TOKEN (the seed of courier's stored pair),
 * CAREBUS_ZALO_APP_ID and CAREBUS_ZALO_SECRET_KEY (the app's secret key,
 * for the refresh), CAREBUS_ZALO_API_BASE (https://openapi.zalo.me) and
 * CAREBUS_ZALO_OAUTH_BASE (https://oauth.zaloapp.com). Not configured
 * without a token or the secret key. */
extern const struct outbound_adapter zalo_outbound;

/* One OA event to events: user_send_* is a contact, user_received_message
 * and user_seen_message are status reports. zalo_parse loads the body
 * first (fuzz targets, unit tests). */
int zalo_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int zalo_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
               struct inbound_error *err);

/* The payload's "timestamp" as the signature covers it (a string as is, an
 * integer in decimal, into buf); NULL when absent. */
const char *zalo_timestamp(const json_t *root, char *buf, size_t size);

/* X-ZEvent-Signature (header may be NULL: false); timestamp is the
 * payload's as written. */
bool zalo_signature_ok(const char *header, const char *app_id, const char *body, size_t len,
                       const char *timestamp, const char *oa_secret);

#endif
