/* courier.h — the courier service's state and the contracts between its
 * files. courier is the one delivery path for everything carebus sends.
 *
 *   main.c     the table of contents: configuration, wiring, the loop
 *   config.c   CAREBUS_COURIER_*, CAREBUS_WEBHOOK_*, the static subscriptions
 *   apply.c    the consumer: every event of every stream becomes the
 *              deliveries it calls for (handler table)
 *   intent.c   deliveries recorded in the consumer's transaction, already
 *              claimed for their first attempt, handed to the pump after
 *              the commit; messaging windows
 *   pump.c     attempts: deliveries become requests on the engine, answers
 *              become outcomes; claiming what is due (retries, lost leases)
 *   record.c   outcomes written in batches, with message.sent /
 *              message.failed and the pausing of failing subscriptions
 *   report.c   the events courier emits, built from a delivery
 *   creds.c    rotating credentials (adapters that have them)
 *   subs.c     the subscriptions in memory (subs.h)
 *   engine.c   libcurl multi driven by the loop (engine.h)
 *   webhook.c  signatures, webhook requests, integrators' answers (webhook.h)
 *   retry.c    backoff with full jitter, Retry-After, deadlines (retry.h)
 *
 * One thread, two connections. The consumer's transactions, credential
 * writes and pauses use the service's blocking connection; outcomes (in
 * batches), claims and sweeps are single statements on a second one (dbq),
 * sent without waiting, so the consumer and the record proceed side by
 * side; transfers run in the loop meanwhile. The consumer's catch-up is
 * paced by the room for attempts (pump_pace), so a backlog is sent
 * as it is read.
 *
 * A delivery's life: recorded (status sending, with a lease) in the
 * transaction that applies its cause; first attempt right after that
 * commit; each outcome recorded (sent, failed, or pending until next_at);
 * pending ones claimed again when due. A crash between an attempt and its
 * record leaves the row sending: the lease runs out, the claim makes the
 * attempt again with the same delivery id and counts it
 * (carebus_courier_redelivered_total).
 */
#ifndef CAREBUS_COURIER_H
#define CAREBUS_COURIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channels/outbound.h"
#include "dbq.h"
#include "engine.h"
#include "eventlog.h"
#include "id.h"
#include "rowset.h"
#include "service.h"
#include "subs.h"

struct courier_config {
    long retry_s;              /* CAREBUS_COURIER_RETRY_S: messages' retry window */
    long webhook_retry_s;      /* CAREBUS_WEBHOOK_RETRY_S: notifications' */
    long backoff_ms;           /* CAREBUS_COURIER_BACKOFF_MS: the first retry's window */
    long backoff_max_s;        /* CAREBUS_COURIER_BACKOFF_MAX_S: its cap */
    long timeout_s;            /* CAREBUS_COURIER_TIMEOUT_S: one attempt */
    long lease_s;              /* CAREBUS_COURIER_LEASE_S: an attempt's claim */
    long max_inflight;         /* CAREBUS_COURIER_MAX_INFLIGHT */
    long host_connections;     /* CAREBUS_COURIER_CONNECTIONS: per host */
    long pause_after_s;        /* CAREBUS_WEBHOOK_PAUSE_AFTER_S */
    long pause_after_failures; /* CAREBUS_WEBHOOK_PAUSE_AFTER_FAILURES (0: off) */
    char *ca_file;             /* CAREBUS_COURIER_CA_FILE */
    char **static_urls;        /* CAREBUS_OUTBOUND_WEBHOOK_URLS, split on "," */
    size_t nstatic;
    char *static_secret; /* CAREBUS_OUTBOUND_WEBHOOK_SECRET; NULL: unsigned */
};

/* config.c: reads the settings; logs what is wrong and returns -1. */
int courier_config_load(struct courier_config *c);
void courier_config_release(struct courier_config *c);

/* A delivery as courier works with it: a row of courier.deliveries, and
 * what the statements that write and claim it add. Strings marked owned
 * are freed by delivery_release. */
#define DELIVERY_KIND_MAX 20
#define DELIVERY_CHANNEL_MAX 24
#define DELIVERY_CODE_MAX 48

struct delivery {
    char id[ID_LEN];
    char kind[DELIVERY_KIND_MAX];       /* reply, acknowledgement, survey, webhook */
    char channel[DELIVERY_CHANNEL_MAX]; /* messages: the customer's; "" for webhook */
    char subscription_id[ID_LEN];       /* "" when sent through an adapter */
    char message_delivery_id[ID_LEN];
    char message_cause_id[ID_LEN];
    char cause_event_id[ID_LEN];
    char event_type[EVENTLOG_TYPE_MAX];
    char ticket_id[ID_LEN], customer_id[ID_LEN];
    char order_key[ID_LEN];
    char *body;       /* owned: webhooks */
    uint8_t *message; /* owned: adapters, the packed MessageOutbound */
    size_t message_len;
    char *recipient; /* owned: adapters */
    int attempts;    /* made before the next one */
    int64_t deadline_us;
    char last_error_code[DELIVERY_CODE_MAX]; /* the last attempt's */
    char *last_error;                        /* owned: its message (claims) */
    /* written by intent.c: "send" (start now), "queue" (no room: pending),
     * "expired" (recorded failed); after: an earlier delivery of the same
     * transaction has its subscription and order_key */
    const char *plan;
    bool after;
    /* read back */
    char status[12];
    int64_t last_inbound_us; /* courier.windows, 0: unknown */
    bool redelivered;        /* claimed after its lease ran out */
};

void delivery_release(struct delivery *d);
/* A message to a customer (reported by message.sent / .failed). */
bool delivery_is_message(const struct delivery *d);

/* courier.deliveries and what its statements add (plan, after, status,
 * last_inbound_at, redelivered): intent.c writes and reads it, pump.c
 * reads it, record.c's give-ups read it. */
extern const rowset_table delivery_table;

typedef struct pump pump;
typedef struct creds creds;
typedef struct intent intent;
struct record;

typedef struct courier {
    service *svc;
    struct courier_config cfg;
    dbq *dbq; /* outcomes and claims: single statements, never waited on */
    subs *subs;
    engine *engine;
    pump *pump;
    creds *creds;
    intent *intent;
    struct record *record; /* record.c's queue of outcomes */
} courier;

/* apply.c: the handler table for every event type (courier_handlers_init
 * fills it once). */
void courier_handlers_init(void);
extern const struct consumer_handler *const courier_handlers;
extern const size_t courier_nhandlers;

/* intent.c: what the consumer's transaction stages. */
intent *intent_new(courier *c);
void intent_destroy(intent **pi);
/* Stages d (taken: *d is emptied) to be written by intent_flush. 0 or -1. */
int intent_add(intent *in, struct delivery *d);
/* A contact: the customer's window on channel. 0 or -1. */
int intent_window(intent *in, const char *channel, const char *handle, int64_t at_us);
/* Notes that the transaction changed a subscription (reloaded if it rolls back). */
void intent_touched_subs(intent *in);
/* consumer_flush_fn: writes the staged windows and deliveries. */
consumer_result intent_flush(consumer_txn *tx, void *arg);
/* consumer_done_fn: starts the first attempts of a committed transaction,
 * or forgets what a rolled-back one staged. */
void intent_done(bool committed, void *arg);
/* Gives up the open deliveries of a subscription (deleted, deactivated or
 * paused) in the caller's transaction: code and reason say why. For each
 * message among them, report(d, code, reason, arg) is called (to emit
 * message.failed; 0 or -1). 0 or -1. Blocks. */
typedef int (*intent_report_fn)(const struct delivery *d, const char *code, const char *reason,
                                void *arg);
int intent_give_up(db *d, const char *subscription_id, const char *code, const char *reason,
                   intent_report_fn report, void *arg);
/* Gives up the open deliveries to the customers ids (n of them, valid ids;
 * customer.erased), those staged in this transaction (dropped: never
 * written) and those in the table (failed, their recipient, body and
 * message redacted), but the webhooks of customer.erased itself; reported
 * as intent_give_up's. 0 or -1. Blocks. */
int intent_give_up_customers(intent *in, db *d, const char *const *ids, size_t n, const char *code,
                             const char *reason, intent_report_fn report, void *arg);

/* pump.c */
pump *pump_new(courier *c);
/* Aborts attempts in flight and hands their deliveries back (on d when it
 * is up) so that the next start makes them at once; records what is
 * recorded. */
void pump_destroy(pump **pp, db *d);
/* How many first attempts may start now. */
size_t pump_room(const pump *p);
/* Attempts in flight. */
size_t pump_inflight(const pump *p);
/* Makes d's attempt (takes d: *d is emptied). */
void pump_send(pump *p, struct delivery *d);
/* consumer_pace_fn (arg: the courier): the log's catch-up reads no more
 * events than there is room for first attempts (about one each), and waits
 * while there is little, so that a backlog is sent as it is read rather
 * than recorded pending and claimed again; it goes on from the pump's tick
 * once there is room. */
size_t pump_pace(void *arg);
/* Deliveries may be due now (queued ones, released successors). */
void pump_kick(pump *p);
/* Looks for due deliveries at or before mono_ms. */
void pump_due(pump *p, int64_t mono_ms);

/* record.c: the outcome of one attempt (or of a decision made without one). */
struct outcome {
    struct delivery d;   /* body and message released */
    int n;               /* the attempt's number; 0: none was made */
    const char *outcome; /* sent, retry, failed, reauth */
    int http_status;
    char code[DELIVERY_CODE_MAX];
    char error[512];
    char provider_message_id[256];
    int64_t started_us, finished_us;
    const char *status; /* the delivery's: sent, failed, pending */
    int64_t next_at_us; /* pending */
};
/* Queues an outcome (taken: *o is emptied). */
void record_add(courier *c, struct outcome *o);
/* Sends the oldest queued outcomes (a batch) on c->dbq unless a batch is
 * in flight; a batch that cannot be written returns to the queue. Never
 * blocks. */
void record_send(courier *c);
/* Outcomes queued, not yet sent. */
size_t record_pending(const courier *c);
/* Writes everything queued on the blocking connection (at exit, once the
 * dbq is gone). 0, or -1 when some could not be written. Blocks. */
int record_flush_sync(courier *c);
/* Frees what is still queued. */
void record_destroy(courier *c);

/* report.c: message.sent, message.failed and subscription.paused as
 * courier emits them. Every pointer in r borrows from the arguments, which
 * must outlive the packing of r->ev. Event ids are derived (the message's
 * delivery id; the subscription and its failing_since), so a repeat is a
 * duplicate the log ignores. */
struct report {
    event ev;
    Carebus__V1__MessageSent sent;
    Carebus__V1__MessageFailed failed;
    Carebus__V1__SubscriptionPaused paused;
    Google__Protobuf__Timestamp at, since;
    char event_id[ID_LEN];
};
void report_sent(struct report *r, const struct delivery *d, const char *provider_message_id,
                 int attempts, int64_t at_us);
void report_failed(struct report *r, const struct delivery *d, const char *code, const char *reason,
                   int attempts, int64_t at_us);
void report_paused(struct report *r, const char *subscription_id, const char *reason,
                   int64_t failing_since_us, int64_t at_us);
/* Counts a delivery's end in carebus_courier_deliveries_total
 * {channel, kind, outcome} (channel "webhook" for notifications). */
void report_count(const char *channel, const char *kind, const char *outcome);

/* creds.c: rotating credentials of the adapters that have them. */
creds *creds_new(courier *c);
void creds_destroy(creds **pc);
/* The adapter's configuration (read once; NULL when the channel is not
 * configured). */
const void *creds_adapter_config(creds *cs, const struct outbound_adapter *a);
typedef enum { CREDS_NONE, CREDS_READY, CREDS_WAIT } creds_state;
/* CREDS_NONE: the adapter has no rotating credentials (*out NULL);
 * CREDS_READY: *out is current; CREDS_WAIT: a refresh is under way (or
 * needed and just started), try again soon. Blocks on a first load. */
creds_state creds_get(creds *cs, const struct outbound_adapter *a,
                      const struct outbound_credentials **out);
/* The provider refused the credential (REAUTH): refresh it. */
void creds_refresh(creds *cs, const struct outbound_adapter *a);
/* The provider refused the credential of a request started at started_us:
 * true when that is final (the credential came from a refresh and was
 * never accepted since, or the provider refused the refresh itself);
 * false when the request may be made again, a refresh started if needed. */
bool creds_refused(creds *cs, const struct outbound_adapter *a, int64_t started_us);
/* The provider took the credential of a request started at started_us
 * (it answered, other than refusing it). */
void creds_accepted(creds *cs, const struct outbound_adapter *a, int64_t started_us);
/* Retries writes that failed (a rotation not yet committed). */
void creds_tick(creds *cs);

#endif
