/* survey — CSAT and CES surveys after resolution.
 *
 *   1. apply.c     the consumer: a solved (or closed) ticket schedules its
 *                  survey; the survey stream rebuilds surveys and answers
 *                  (stage.c: a batch's runs of one kind, set-based)
 *   2. due.c       due surveys become survey.requested events, once, also
 *                  across restarts and replays (courier sends the
 *                  invitation on the customer's channel and to webhooks)
 *   3. web.c       the page /s/{token} and POST /v1/surveys/{token}/answer:
 *                  answers stored with their survey.answered event
 *
 * See survey.h for how the files share the work and services/libcarebus/
 * consumer.h for the consumer's guarantees.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "survey.h"

#define SURVEY_TICK_MS 200

/* The due pass; the consumer side, so it may block on PostgreSQL. */
static int survey_on_tick(loop *l, void *arg)
{
    (void)l;
    survey_due_tick(arg);
    return 0;
}

static int survey_open(survey *sv)
{
    service *s = sv->svc;
    if (survey_config_load(&sv->cfg, http_server_port(s->http)) != 0)
        return -1;
    if (sv->cfg.secret) {
        survey_keys_derive(&sv->keys, sv->cfg.secret, strlen(sv->cfg.secret));
        sv->keys_ready = true;
    }
    metrics_describe("carebus_survey_requested_total", "counter", "survey.requested emitted");
    metrics_describe("carebus_survey_answers_total", "counter", "answers stored, by way in");
    metrics_describe("carebus_survey_rejected_total", "counter", "answers and pages refused");
    metrics_describe("carebus_survey_skipped_total", "counter", "surveys not made, by reason");
    sv->web = dbq_new(s->loop, config_str("PG", CONFIG_DEFAULT_PG), "survey/web");
    long wait_ms;
    if (!sv->web || db_commit_wait_config(&wait_ms) != 0)
        return -1;
    /* An answer's commit held by a lost standby: 503, never a hang. */
    dbq_set_deadline(sv->web, wait_ms);
    if (loop_add_timer(s->loop, SURVEY_TICK_MS, survey_on_tick, sv) < 0)
        return -1;
    static const char *const streams[] = {"router", "survey", NULL};
    if (service_consume(s, streams, survey_handlers, survey_nhandlers, sv) != 0)
        return -1;
    survey_consumer_setup(s->consumer);
    return 0;
}

/* Requests waiting on the queue are answered 503 before the HTTP server
 * goes. */
static void survey_close(survey *sv)
{
    dbq_destroy(&sv->web);
    survey_stage_release(&sv->stage);
    survey_config_release(&sv->cfg);
}

int main(void)
{
    /* 1. configuration: CAREBUS_SURVEY_* is read once the HTTP port is
     * known (survey_open) */
    survey sv = {0};
    struct service_opts o = {
        .name = "survey",
        .port_var = "SURVEY_PORT",
        .default_port = 8083,
        .stream = "survey",
        .routes = survey_routes,
        .nroutes = survey_routes_count,
        .arg = &sv,
        .ready = survey_ready,
        .max_body = 64 * 1024,
    };
    /* 2. connect: database, bus and HTTP; the web queue, the due pass and
     * the consumer */
    int rc = 1;
    bool up = (sv.svc = service_new(&o)) && survey_open(&sv) == 0;
    if (sv.svc && !up)
        log_error("could not start survey");
    /* 3. the loop, until SIGTERM */
    if (up)
        rc = service_run(sv.svc);
    /* 4. shutdown: survey's part, then the service */
    survey_close(&sv);
    service_destroy(&sv.svc);
    return rc;
}
