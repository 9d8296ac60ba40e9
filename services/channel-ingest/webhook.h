/* webhook.h — the one driver of every channel's webhook: the I/O around the
 * channels' inbound adapters (libcarebus channels/inbound.h).
 *
 * POST /v1/webhooks/<path> finds the adapter of its path, reads the
 * adapter's settings (404 while one is unset), authenticates the request
 * (the provider's signature through the adapter, 401; or an integrator's
 * API key, 401/403/429), checks the content type (415), lets the adapter
 * map the body to events (400) and hands them all to the group commit at
 * once. It answers when the last one is committed: the channel's success
 * answer (JSON, or Twilio's TwiML) if all were, else 503 with Retry-After —
 * the channel then retries the whole request, and each event's
 * idempotency key makes that safe. Nothing is answered while an event is
 * still queued: the events borrow the request's memory until their commit
 * callback. GET /v1/webhooks/<path> is the adapter's subscription
 * handshake (Meta).
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include "http.h"

http_status webhook_post(http_req *r, void *arg);
http_status webhook_handshake(http_req *r, void *arg);

#endif
