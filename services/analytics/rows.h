/* rows.h — the rows analytics writes, built once for both paths.
 *
 * Each table is described once (rowset.h) over a row struct that a
 * builder fills from the model: the rebuild COPYs them into analytics'
 * tables, the live path into its staging tables, merged from there
 * (stage.h), both from the same description, so both paths write the very
 * same values. Times in the rows are
 * microseconds (the model's milliseconds x 1000), days "YYYY-MM-DD" ("":
 * NULL), ids "" or NULL for NULL.
 */
#ifndef CAREBUS_ANALYTICS_ROWS_H
#define CAREBUS_ANALYTICS_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "contrib.h"
#include "model.h"
#include "rowset.h"
#include "timebase.h"

#define ROWS_DAY_LEN 11

struct ticket_row {
    const char *ticket_id, *customer_id, *merged_into; /* borrowed from the model */
    char *state;                                       /* owned JSON (rows_ticket_clear) */
    bool opened;
    int64_t created_at;
    char created_day[ROWS_DAY_LEN];
    const char *channel, *team, *agent, *segment, *category, *priority, *status;
    int64_t contacts, public_replies, transfers, reopens, escalations;
    int64_t first_response_at, first_response_ms, first_response_business_ms;
    char first_response_day[ROWS_DAY_LEN];
    int64_t solved_at, resolution_ms, resolution_business_ms;
    char solved_day[ROWS_DAY_LEN];
    int fcr; /* -1: NULL (not solved) */
    bool fr_breached, res_breached;
    int64_t nr_total, nr_met, breaches;
};

struct customer_row {
    const char *customer_id, *root, *merged_into; /* borrowed */
    char *state;                                  /* owned JSON (rows_customer_clear) */
    int64_t first_seen;
    const char *segment, *status;
    int64_t churned_at;
};

struct sample_row {
    const char *ticket_id;
    int metric, bucket;
    char day[ROWS_DAY_LEN];
    int64_t ms;
    const char *channel, *team, *agent, *segment, *category;
};

struct survey_row {
    const char *survey_id, *ticket_id, *customer_id, *channel, *comment;
    int64_t requested_at, answered_at;
    int64_t csat, ces; /* ROWS_NONE: no answer */
};

struct sla_event_row {
    const char *event_id, *ticket_id, *kind, *target;
    int64_t at, due_at;
    int64_t remaining_business_s; /* ROWS_NONE: NULL */
};

/* A daily row (the rebuild's sums), or a delta of the live path: the
 * measures, and each histogram packed (a delta: signed, contrib_hist_pack). */
struct daily_row {
    int dim;
    char day[ROWS_DAY_LEN];
    const char *key;
    int64_t m[M_COUNT];
    char hist[H_COUNT][HIST_TEXT_MAX];
};

#define ROWS_NONE INT64_MIN

extern const rowset_table rows_tickets, rows_customers, rows_samples, rows_surveys, rows_sla_events;
/* analytics.daily, from contrib.h's lists of measures and histograms; the
 * live path's differences of it have the same columns (a staging table's
 * rows). */
const rowset_table *rows_daily(void);

/* A state (model_ticket_json, model_customer_json: its reference is taken)
 * as analytics stores it: compact JSON, keys sorted. NULL when state is
 * NULL or out of memory; free() it. */
char *rows_state_text(json_t *state);

/* Builders: fill r from the entities. The sample, survey and SLA builders
 * make row i of the ticket's (up to rows_*_count). */
int rows_ticket(struct ticket_row *r, const model_ticket *t, const struct ticket_facts *f);
void rows_ticket_clear(struct ticket_row *r);
int rows_customer(struct customer_row *r, const model_customer *c);
void rows_customer_clear(struct customer_row *r);
/* A ticket's samples (at most ROWS_SAMPLES_MAX): their count, and each
 * one's metric, milliseconds and day in the arrays. */
#define ROWS_SAMPLES_MAX 4
int rows_sample_count(const struct ticket_facts *f, int64_t *ms, int32_t *day, int *metric);
void rows_sample(struct sample_row *r, const model_ticket *t, const struct ticket_facts *f,
                 int metric, int64_t ms, int32_t day);
/* A ticket's sample rows as values, kept from before a batch so that the
 * live path writes only the samples the batch changed (footprint.h). Team
 * and agent are copied: the facts borrow them from the ticket, which the
 * batch changes. */
struct rows_samples {
    int n;
    int metric[ROWS_SAMPLES_MAX];
    int64_t ms[ROWS_SAMPLES_MAX];
    int32_t day[ROWS_SAMPLES_MAX];
    const char *channel, *segment, *category; /* static names */
    char team[MODEL_TEXT_MAX], agent[MODEL_TEXT_MAX];
};
void rows_samples_of(struct rows_samples *s, const struct ticket_facts *f);
/* The metrics (bit 1 << metric) whose sample row after holds and before
 * lacks or holds with other values (*put), and those before holds and after
 * lacks (*gone). */
void rows_samples_diff(const struct rows_samples *before, const struct rows_samples *after,
                       unsigned *put, unsigned *gone);
void rows_survey(struct survey_row *r, const model_ticket *t, size_t i);
/* -1 when the ticket's i-th SLA point has no event id (not written). */
int rows_sla_event(struct sla_event_row *r, const model_ticket *t, size_t i);
/* The tables rows_copy_tickets writes, in this order. */
enum { ROWS_TICKETS, ROWS_SAMPLES, ROWS_SURVEYS, ROWS_SLA_EVENTS, ROWS_TICKET_TABLES };

/* COPYs the rows of tickets ts[0..n) (the ticket's, its samples', surveys'
 * and SLA events') into into[ROWS_*], NULL for analytics' own table of
 * that kind. Each ticket's facts are computed once, here (business time is
 * the costly part), for its row and its samples'. The samples go in the
 * order that leads most of their indexes (metric, bucket, day). With a non-NULL
 * a, also adds each ticket's contribution to the sums (the rebuild's).
 * facts: each ticket's, computed already (NULL: computed here).
 * changed_only (the live path's stored tickets): of each ticket's samples
 * only those of its samples_put, its SLA events only when sla_new
 * (model.h's, set by footprint_contribute). 0, or -1 with the COPY in
 * progress failed. Blocks. */
int rows_copy_tickets(PGconn *c, timebase *cal, model *m, model_ticket *const *ts,
                      const struct ticket_facts *const *facts, size_t n,
                      const char *const into[ROWS_TICKET_TABLES], agg *a, bool changed_only);

/* A daily row with the entry's sums and histograms (the rebuild's). */
void rows_daily_entry(struct daily_row *r, const agg_entry *e);
/* A delta row of the live path; *prune is set when anything went down. */
void rows_daily_delta_entry(struct daily_row *r, const agg_entry *e, bool *prune);

#endif
