/* webhooks.h — the channels' own webhooks, one file per channel.
 *
 * Each verifies the channel's documented signature over the raw body, maps
 * each message in the request to a contact.received event (several messages
 * become several events, submitted together), and answers only after they
 * are committed. A channel whose secret is not configured answers 404 for its
 * webhook; a missing or wrong signature answers 401 and stores nothing.
 */
#ifndef WEBHOOKS_H
#define WEBHOOKS_H

#include "http.h"

http_status webhook_facebook_verify(http_req *r, void *arg); /* GET: hub.challenge */
http_status webhook_facebook_post(http_req *r, void *arg);   /* X-Hub-Signature-256 */
http_status webhook_whatsapp_verify(http_req *r, void *arg);
http_status webhook_whatsapp_post(http_req *r, void *arg);
http_status webhook_zalo_post(http_req *r, void *arg);       /* X-ZEvent-Signature */
http_status webhook_twilio_sms_post(http_req *r, void *arg); /* X-Twilio-Signature */
http_status webhook_email_post(http_req *r, void *arg);      /* Postmark inbound, API key */

#endif
