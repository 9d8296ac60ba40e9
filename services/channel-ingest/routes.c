/* routes.c — channel-ingest's route table: the API at a glance
 * (docs/openapi.yaml describes each; tests/integration/test_ingest_openapi.py
 * keeps the two in step). */
#include "ingest.h"
#include "webhooks/webhooks.h"

const struct http_route ingest_routes[] = {
    {"POST", "/v1/messages", messages_post},
    {"GET", "/v1/events/:id", events_get},
    {"GET", "/v1/tickets/:id", tickets_get},
    {"POST", "/v1/tickets/:id/replies", tickets_reply_post},
    {"POST", "/v1/tickets/:id/status", tickets_status_post},
    {"POST", "/v1/tickets/:id/transfer", tickets_transfer_post},
    {"PUT", "/v1/agents/:id/presence", agents_presence_put},
    {"GET", "/v1/customers", customers_find},
    {"GET", "/v1/customers/:id", customers_get},
    {"PUT", "/v1/customers/:id", customers_put},
    {"POST", "/v1/calls", calls_post},

    /* Channel webhooks (webhooks/<channel>.c). */
    {"GET", "/v1/webhooks/facebook", webhook_facebook_verify},
    {"POST", "/v1/webhooks/facebook", webhook_facebook_post},
    {"GET", "/v1/webhooks/whatsapp", webhook_whatsapp_verify},
    {"POST", "/v1/webhooks/whatsapp", webhook_whatsapp_post},
    {"POST", "/v1/webhooks/zalo", webhook_zalo_post},
    {"POST", "/v1/webhooks/twilio/sms", webhook_twilio_sms_post},
    {"POST", "/v1/webhooks/email", webhook_email_post},
};

const size_t ingest_routes_count = sizeof ingest_routes / sizeof ingest_routes[0];
