/* messenger.h — Facebook Messenger and Instagram messaging (one Graph
 * webhook, two channels): everything carebus knows of them, in
 * messenger.c.
 */
#ifndef CAREBUS_CHANNELS_MESSENGER_H
#define CAREBUS_CHANNELS_MESSENGER_H

#include "inbound.h"
#include "outbound.h"

/* POST/GET /v1/webhooks/facebook. */
extern const struct inbound_adapter messenger_inbound;

/* The webhook's body to events: entry[].messaging[] items with a
 * "message" are contacts, with "delivery" or "read" status reports.
 * messenger_parse loads the body first (fuzz targets, unit tests). */
int messenger_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int messenger_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                    struct inbound_error *err);

/* The Send API (POST {graph}/{version}/me/messages): Messenger with
 * CAREBUS_FACEBOOK_PAGE_TOKEN, Instagram with CAREBUS_INSTAGRAM_PAGE_TOKEN
 * or else the Page's; the HUMAN_AGENT tag after 24 hours when
 * CAREBUS_FACEBOOK_HUMAN_AGENT (CAREBUS_INSTAGRAM_HUMAN_AGENT) is on. */
extern const struct outbound_adapter messenger_facebook_outbound;
extern const struct outbound_adapter messenger_instagram_outbound;

#endif
