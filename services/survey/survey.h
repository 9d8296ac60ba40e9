/* survey.h — the survey service's state and the contracts between its files.
 *
 *   main.c      the table of contents: configuration, wiring, the loop
 *   config.c    CAREBUS_SURVEY_* and CAREBUS_OUTBOUND_* settings
 *   apply.c     the consumer: router events schedule surveys; survey events
 *               rebuild surveys and answers from the log
 *   due.c       the timer that turns due surveys into survey.requested
 *               events and outbound deliveries
 *   outbound.c  webhook deliveries through libcurl multi, retried from PostgreSQL
 *   web.c       the page (GET/POST /s/{token}) and the answer API
 *   token.c     signed links and CSRF fields (pure)
 *   lang.c      languages: the contact heuristic, Accept-Language, texts (pure)
 *   page.c      the HTML (pure)
 *   answer.c    parsing and validating answers, form and JSON (pure)
 *
 * One thread. The consumer and the due pass block on the service's db
 * connection (they are the consumer side); HTTP handlers and the delivery
 * pump never block: they use the dbq queue `web`.
 */
#ifndef CAREBUS_SURVEY_H
#define CAREBUS_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbq.h"
#include "service.h"
#include "token.h"

struct survey_config {
    bool trigger_closed; /* CAREBUS_SURVEY_TRIGGER=closed; default solved */
    long delay_s;        /* CAREBUS_SURVEY_DELAY_S */
    long cooldown_days;  /* CAREBUS_SURVEY_COOLDOWN_DAYS */
    long ttl_s;          /* CAREBUS_SURVEY_TTL_S */
    char *base_url;      /* CAREBUS_SURVEY_URL, no trailing "/" */
    char *origin;        /* scheme://host[:port] of base_url */
    bool secure_cookie;  /* base_url is https */
    char *secret;        /* CAREBUS_SURVEY_SECRET; NULL: generated, in survey.settings */
    char **webhook_urls; /* CAREBUS_OUTBOUND_WEBHOOK_URLS, split on "," */
    size_t nwebhooks;
    char *webhook_secret; /* CAREBUS_OUTBOUND_WEBHOOK_SECRET; NULL: unsigned */
    long retry_s;         /* CAREBUS_OUTBOUND_RETRY_S: give up after */
    long backoff_ms;      /* CAREBUS_OUTBOUND_BACKOFF_MS: first retry */
    long backoff_max_s;   /* CAREBUS_OUTBOUND_BACKOFF_MAX_S */
    long timeout_s;       /* CAREBUS_OUTBOUND_TIMEOUT_S: one attempt */
};

/* Reads the configuration; logs what is wrong and returns -1. port: the
 * HTTP port (the default link base is http://127.0.0.1:<port>). */
int survey_config_load(struct survey_config *c, int port);
void survey_config_release(struct survey_config *c);

typedef struct outbound outbound;

typedef struct survey {
    service *svc;
    struct survey_config cfg;
    dbq *web; /* HTTP handlers and deliveries: never blocks */
    outbound *out;
    struct survey_keys keys;
    bool keys_ready;     /* the secret is known (configured or loaded) */
    bool due_hint;       /* a survey was scheduled: run the due pass soon */
    int64_t next_due_ms; /* monotonic: the next periodic due pass */
} survey;

/* apply.c: the consumer's handler table (streams "router" and "survey"). */
extern const struct consumer_handler survey_handlers[];
extern const size_t survey_nhandlers;

/* due.c: loads or creates the secret (once), then emits what is due.
 * Blocks on the service's db. 0, or -1 when the database failed (retried
 * by the next tick). */
int survey_due_tick(survey *sv);

/* apply.c: the identity kind that answers on channel ("zalo" -> "zalo",
 * "phone" and "sms" -> "phone"); static or channel itself. */
const char *survey_channel_kind(const char *channel);

/* outbound.c */
outbound *outbound_new(survey *sv);
/* Aborts transfers in flight and hands their deliveries back (a blocking
 * statement on d when it is up) so that the next start retries at once. */
void outbound_destroy(outbound **po, db *d);
/* New deliveries may be due now. */
void outbound_kick(outbound *o);
/* Exponential backoff with jitter before attempt n+1 after n failed
 * attempts (n >= 1): uniform in [d/2, d] with d = base * 2^(n-1), capped. */
long outbound_backoff_ms(long base_ms, long max_ms, int failed_attempts, uint32_t rnd);
/* "sha256=<hex>" of HMAC-SHA256(body, secret) into out (>= 72 bytes). */
void outbound_signature(const char *secret, const char *body, size_t len, char out[72]);

/* web.c: the route table. */
extern const struct http_route survey_routes[];
extern const size_t survey_routes_count;
bool survey_ready(void *arg);

#endif
