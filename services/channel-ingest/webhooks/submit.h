/* submit.h — the I/O half of a webhook: answers, and the group commit.
 *
 * A handler checks its channel's configuration and signature, fills a
 * webhook_req's batch with the channel's parser, then webhook_submit hands
 * every message to the group commit at once and answers when the last one
 * is committed: the channel's success answer (JSON, or Twilio's TwiML) if
 * all were, else 503 with Retry-After — the channel then retries the whole
 * request, and idempotency on each message's external_id makes that safe.
 * Nothing is answered while a message is still queued: the messages borrow
 * the request's memory until their commit callback.
 */
#ifndef WEBHOOK_SUBMIT_H
#define WEBHOOK_SUBMIT_H

#include <stdbool.h>

#include "../ingest.h"
#include "batch.h"

struct webhook_req;

/* The channel's answer once every message is committed. */
typedef void (*webhook_reply_fn)(struct webhook_req *w);

struct webhook_req {
    http_req *r;
    const char *channel; /* static: "facebook", "twilio" ... (metrics, logs) */
    struct webhook_batch b;
    struct eventlog_entry *entries; /* one per message */
    size_t pending;                 /* submitted, not yet called back (+1 while submitting) */
    size_t duplicates;
    bool failed;
    webhook_reply_fn reply; /* NULL: webhook_reply_json */
};

/* A request's webhook state, freed with the request. NULL when out of
 * memory (then 503 is answered). */
struct webhook_req *webhook_req_new(http_req *r, const char *channel);

/* Submits every message of w->b; answers at once when there is none (or the
 * database is down). Returns what the handler returns. */
http_status webhook_submit(ingest *in, struct webhook_req *w);

/* The default success answer: 200 {"events":[{"event_id","seq",
 * "duplicate"}...],"ignored":n}. */
void webhook_reply_json(struct webhook_req *w);

/* Rejections, each counted in carebus_ingest_rejected_total and logged at
 * info. */
http_status webhook_not_configured(http_req *r, const char *channel);                 /* 404 */
http_status webhook_bad_signature(http_req *r, const char *channel, const char *why); /* 401 */
http_status webhook_refused(http_req *r, const char *channel, const struct webhook_error *err);

/* CAREBUS_<name>, or NULL when unset or empty (the channel is then not
 * configured). */
const char *webhook_secret(const char *name);

#endif
