/* survey.h — the survey service's state and the contracts between its files.
 *
 *   main.c      the table of contents: configuration, wiring, the loop
 *   config.c    CAREBUS_SURVEY_* settings
 *   apply.c     the consumer: router events schedule surveys; survey events
 *               rebuild surveys and answers from the log
 *   stage.c     the consumer's batch: runs of one kind of event, each
 *               written set-based
 *   due.c       the timer that turns due surveys into survey.requested
 *               events (courier delivers the invitation and the webhooks)
 *   web.c       the page (GET/POST /s/{token}) and the answer API
 *   token.c     signed links and CSRF fields (pure)
 *   lang.c      languages: the contact heuristic, Accept-Language, texts (pure)
 *   page.c      the HTML (pure)
 *   answer.c    parsing and validating answers, form and JSON (pure)
 *
 * One thread. The consumer and the due pass block on the service's db
 * connection (they are the consumer side); HTTP handlers never block: they
 * use the dbq queue `web`.
 */
#ifndef CAREBUS_SURVEY_H
#define CAREBUS_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consumer.h"
#include "dbq.h"
#include "event.h"
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
};

/* Reads the configuration; logs what is wrong and returns -1. port: the
 * HTTP port (the default link base is http://127.0.0.1:<port>). */
int survey_config_load(struct survey_config *c, int port);
void survey_config_release(struct survey_config *c);

/* stage.c: the run of events of one kind staged in the open transaction. */
enum survey_stage_kind {
    SURVEY_STAGE_NONE,
    SURVEY_STAGE_TRIGGER,   /* ticket.solved or .closed: schedule the survey */
    SURVEY_STAGE_REOPEN,    /* ticket.reopened: cancel one still waiting */
    SURVEY_STAGE_REQUESTED, /* survey.requested */
    SURVEY_STAGE_ANSWERED,  /* survey.answered */
};
struct survey_stage {
    enum survey_stage_kind kind;
    const event **evs; /* the consumer's, borrowed until commit or rollback */
    size_t n, cap;
};

typedef struct survey {
    service *svc;
    struct survey_config cfg;
    dbq *web; /* HTTP handlers: never blocks */
    struct survey_keys keys;
    bool keys_ready;     /* the secret is known (configured or loaded) */
    bool due_hint;       /* a survey was scheduled: run the due pass soon */
    int64_t next_due_ms; /* monotonic: the next periodic due pass */
    struct survey_stage stage;
} survey;

/* apply.c: the consumer's handler table (streams "router" and "survey"). */
extern const struct consumer_handler survey_handlers[];
extern const size_t survey_nhandlers;
/* apply.c: the consumer's batches (stage.c's flush and done functions,
 * SURVEY_BATCH events at most): after consumer_new. */
#define SURVEY_BATCH 1000
void survey_consumer_setup(consumer *c);

/* stage.c: stages ev (checked by its handler) in the run of its kind,
 * writing the run of another kind first. CONSUMER_OK or CONSUMER_RETRY. */
consumer_result survey_stage_add(survey *sv, consumer_txn *tx, enum survey_stage_kind kind,
                                 const event *ev);
/* Writes the staged run (a consumer_flush_fn; also before an event that is
 * applied alone). */
consumer_result survey_stage_flush(consumer_txn *tx, void *arg);
/* Drops the staged run (a consumer_done_fn). */
void survey_stage_done(bool committed, void *arg);
void survey_stage_release(struct survey_stage *st);
/* The time the log recorded ev, else its occurred_at; 0 if neither. */
int64_t survey_event_time_us(const event *ev);
/* The time an event of the survey stream says it happened: its
 * occurred_at, else survey_event_time_us. */
int64_t survey_event_at(const event *ev);

/* due.c: loads or creates the secret (once), then emits what is due.
 * Blocks on the service's db. 0, or -1 when the database failed (retried
 * by the next tick). */
int survey_due_tick(survey *sv);

/* apply.c: the identity kind that answers on channel ("zalo" -> "zalo",
 * "phone" and "sms" -> "phone"); static or channel itself. */
const char *survey_channel_kind(const char *channel);

/* web.c: the route table. */
extern const struct http_route survey_routes[];
extern const size_t survey_routes_count;
bool survey_ready(void *arg);

#endif
