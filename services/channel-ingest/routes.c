/* routes.c — channel-ingest's route table: the API at a glance, and who may
 * call each route: the scope a key needs (scope.h; README's Access table),
 * or SCOPE_PUBLIC for the channels' webhooks, which their providers sign
 * instead (docs/openapi.yaml describes each route and its x-scope;
 * tests/integration/test_ingest_openapi.py keeps the three in step).
 * AUDIT_READ marks the reads of customers' data that an admin key may make
 * with a reason, recorded (audit.h). */
#include "audit.h"
#include "ingest.h"
#include "webhook.h"

const struct http_route ingest_routes[] = {
    {"GET", "/", front_get, SCOPE_PUBLIC},
    {"GET", "/openapi.yaml", front_openapi, SCOPE_PUBLIC},
    {"POST", "/v1/messages", messages_post, SCOPE_INGEST},
    {"GET", "/v1/events", feed_get, SCOPE_READ},
    {"GET", "/v1/events/:id", readback_event_get, SCOPE_READ},
    {"GET", "/v1/tickets", tickets_list, SCOPE_READ},
    {"GET", "/v1/tickets/:id", readback_ticket_get, SCOPE_READ | AUDIT_READ},
    {"GET", "/v1/tickets/:id/timeline", tickets_timeline, SCOPE_READ | AUDIT_READ},
    {"POST", "/v1/tickets/:id/replies", tickets_reply_post, SCOPE_AGENT},
    {"POST", "/v1/tickets/:id/status", tickets_status_post, SCOPE_AGENT},
    {"POST", "/v1/tickets/:id/transfer", tickets_transfer_post, SCOPE_AGENT},
    {"POST", "/v1/tickets/:id/assign", tickets_assign_post, SCOPE_AGENT},
    {"PATCH", "/v1/tickets/:id", tickets_patch, SCOPE_AGENT},
    {"POST", "/v1/tickets/:id/merge", merges_ticket_post, SCOPE_SUPERVISOR},
    {"PUT", "/v1/agents/:id/presence", agents_presence_put, SCOPE_AGENT},
    {"POST", "/v1/agents", agents_post, SCOPE_ADMIN},
    {"GET", "/v1/agents", agents_list, SCOPE_READ},
    {"GET", "/v1/agents/:id", agents_get, SCOPE_READ},
    {"PATCH", "/v1/agents/:id", agents_patch, SCOPE_ADMIN},
    {"POST", "/v1/teams", teams_post, SCOPE_ADMIN},
    {"GET", "/v1/teams", teams_list, SCOPE_READ},
    {"GET", "/v1/teams/:id", teams_get, SCOPE_READ},
    {"PATCH", "/v1/teams/:id", teams_patch, SCOPE_ADMIN},
    {"POST", "/v1/canned-replies", canned_post, SCOPE_ADMIN},
    {"GET", "/v1/canned-replies", canned_list, SCOPE_READ},
    {"GET", "/v1/canned-replies/:id", canned_get, SCOPE_READ},
    {"PATCH", "/v1/canned-replies/:id", canned_patch, SCOPE_ADMIN},
    {"DELETE", "/v1/canned-replies/:id", canned_delete, SCOPE_ADMIN},
    {"GET", "/v1/canned-replies/:id/render", canned_render, SCOPE_READ},
    {"GET", "/v1/queues", queues_get, SCOPE_READ},
    {"GET", "/v1/customers", customers_find, SCOPE_READ | AUDIT_READ},
    {"GET", "/v1/customers/:id", customers_get, SCOPE_READ | AUDIT_READ},
    {"POST", "/v1/customers", imports_customer_post, SCOPE_INGEST},
    {"GET", "/v1/customers/:id/tickets", customers_tickets, SCOPE_READ | AUDIT_READ},
    {"PUT", "/v1/customers/:id", customers_put, SCOPE_INGEST},
    {"POST", "/v1/customers/:id/merge", merges_customer_post, SCOPE_SUPERVISOR},
    {"POST", "/v1/customers/:id/unmerge", merges_unmerge_post, SCOPE_SUPERVISOR},
    /* Personal data erased for good (erasure.h): admin. */
    {"POST", "/v1/customers/:id/erasure", erasure_post, SCOPE_ADMIN},
    {"GET", "/v1/customers/:id/export", export_get, SCOPE_ADMIN},
    /* A CRM's bulk load is set-up work, like agents and teams: admin. */
    {"POST", "/v1/customer-imports", imports_bulk_post, SCOPE_ADMIN | HTTP_LARGE_BODY},
    {"POST", "/v1/calls", calls_post, SCOPE_INGEST},
    /* An agent signs in with their password (the key is what they get),
     * reads who the session's key is, and signs out with it (sessions.c). */
    {"POST", "/v1/sessions", sessions_post, SCOPE_PUBLIC},
    {"GET", "/v1/sessions/current", sessions_get, SCOPE_READ},
    {"DELETE", "/v1/sessions/current", sessions_delete, SCOPE_READ},
    /* API keys (keys.c): a key manages only keys within its own grant. */
    {"POST", "/v1/keys", keys_post, SCOPE_ADMIN},
    {"GET", "/v1/keys", keys_list, SCOPE_ADMIN},
    {"GET", "/v1/keys/:id", keys_get, SCOPE_ADMIN},
    {"DELETE", "/v1/keys/:id", keys_delete, SCOPE_ADMIN},
    {"POST", "/v1/webhook-subscriptions", subscriptions_post, SCOPE_ADMIN},
    {"GET", "/v1/webhook-subscriptions", subscriptions_list, SCOPE_ADMIN},
    {"GET", "/v1/webhook-subscriptions/:id", subscriptions_get, SCOPE_ADMIN},
    {"PATCH", "/v1/webhook-subscriptions/:id", subscriptions_patch, SCOPE_ADMIN},
    {"DELETE", "/v1/webhook-subscriptions/:id", subscriptions_delete, SCOPE_ADMIN},

    /* Channel webhooks: one driver (webhook.c), each path's knowledge in
     * its channel's inbound adapter (libcarebus channels/inbound.h).
     * Signed by their provider, but for e-mail, which a relay posts with
     * an API key, as Bearer or (Postmark) as HTTP Basic's password. */
    {"GET", "/v1/webhooks/facebook", webhook_handshake, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/facebook", webhook_post, SCOPE_PUBLIC},
    {"GET", "/v1/webhooks/whatsapp", webhook_handshake, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/whatsapp", webhook_post, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/zalo", webhook_post, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/twilio/sms", webhook_post, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/twilio/status", webhook_post, SCOPE_PUBLIC},
    {"POST", "/v1/webhooks/email", webhook_post, SCOPE_INGEST | AUTH_BASIC},
};

const size_t ingest_routes_count = sizeof ingest_routes / sizeof ingest_routes[0];
