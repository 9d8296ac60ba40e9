/* whatsapp.h — WhatsApp Cloud API: everything carebus knows of it, in
 * whatsapp.c.
 */
#ifndef CAREBUS_CHANNELS_WHATSAPP_H
#define CAREBUS_CHANNELS_WHATSAPP_H

#include "inbound.h"
#include "outbound.h"

/* POST/GET /v1/webhooks/whatsapp. */
extern const struct inbound_adapter whatsapp_inbound;

/* The webhook's body to events: entry[].changes[].value.messages[] are
 * contacts, .statuses[] status reports. whatsapp_parse loads the body
 * first (fuzz targets, unit tests). */
int whatsapp_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int whatsapp_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                   struct inbound_error *err);

/* The Cloud API (POST {graph}/{version}/{phone-number-id}/messages):
 * CAREBUS_WHATSAPP_TOKEN, CAREBUS_WHATSAPP_PHONE_NUMBER_ID; beyond 24
 * hours CAREBUS_WHATSAPP_TEMPLATE (and _LANGUAGE) when set. */
extern const struct outbound_adapter whatsapp_outbound;

#endif
