/* messenger.h — Facebook Messenger and Instagram messaging (one Graph
 * webhook, two channels): everything carebus knows of them, in
 * messenger.c.
 */
#ifndef CAREBUS_CHANNELS_MESSENGER_H
#define CAREBUS_CHANNELS_MESSENGER_H

#include "inbound.h"

/* POST/GET /v1/webhooks/facebook. */
extern const struct inbound_adapter messenger_inbound;

/* The webhook's body to events: entry[].messaging[] items with a
 * "message" are contacts, with "delivery" or "read" status reports.
 * messenger_parse loads the body first (fuzz targets, unit tests). */
int messenger_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int messenger_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                    struct inbound_error *err);

#endif
