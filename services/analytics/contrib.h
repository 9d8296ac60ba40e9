/* contrib.h — what a ticket or a customer adds to the daily KPI sums.
 *
 * A ticket's contribution is computed from its whole state (model.h) and
 * the segment of its customer: a set of (day, measure, value) added to six
 * rows of analytics.daily at once — the day's total and one row per
 * dimension (channel, team, agent, segment, category), which is what makes
 * "90 days grouped by agent" a scan of a few thousand rows. The live path
 * subtracts an entity's contribution before an event and adds it after;
 * the rebuild adds every final one: both end with the same sums.
 *
 * Every measure is an integer (counts, milliseconds), so the sums are exact
 * whatever the order of additions. Percentiles need more than sums: each
 * row also carries, per duration metric, a histogram of log-spaced buckets
 * (8 per octave from 1 s to 2^22 s) packed into one numeric — each bucket a
 * 6-digit decimal field — so that SUM() adds histograms field by field.
 * The API uses the summed histogram to find the bucket that holds the 90th
 * percentile and reads the exact values of that bucket only
 * (analytics.samples); see kpi.h.
 */
#ifndef CAREBUS_ANALYTICS_CONTRIB_H
#define CAREBUS_ANALYTICS_CONTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "timebase.h"

/* The measures, in the column order of analytics.daily. */
#define CONTRIB_MEASURES(X)                                                                        \
    X(CONTACTS, "contacts")                                                                        \
    X(TICKETS_CREATED, "tickets_created")                                                          \
    X(TICKET_CONTACTS, "ticket_contacts")                                                          \
    X(TICKETS_SOLVED, "tickets_solved")                                                            \
    X(FCR_SOLVED, "fcr_solved")                                                                    \
    X(FR_COUNT, "fr_count")                                                                        \
    X(FR_SUM, "fr_sum_ms")                                                                         \
    X(FRB_SUM, "frb_sum_ms")                                                                       \
    X(RES_COUNT, "res_count")                                                                      \
    X(RES_SUM, "res_sum_ms")                                                                       \
    X(RESB_SUM, "resb_sum_ms")                                                                     \
    X(SURVEYS_REQUESTED, "surveys_requested")                                                      \
    X(SURVEYS_ANSWERED, "surveys_answered")                                                        \
    X(CSAT_ANSWERS, "csat_answers")                                                                \
    X(CSAT_POSITIVE, "csat_positive")                                                              \
    X(CES_ANSWERS, "ces_answers")                                                                  \
    X(CES_SUM, "ces_sum")                                                                          \
    X(SLA_FR_TOTAL, "sla_fr_total")                                                                \
    X(SLA_FR_MET, "sla_fr_met")                                                                    \
    X(SLA_NR_TOTAL, "sla_nr_total")                                                                \
    X(SLA_NR_MET, "sla_nr_met")                                                                    \
    X(SLA_RES_TOTAL, "sla_res_total")                                                              \
    X(SLA_RES_MET, "sla_res_met")                                                                  \
    X(SLA_BREACHES, "sla_breaches")                                                                \
    X(BL_OPEN_0, "bl_open_1d")                                                                     \
    X(BL_OPEN_1, "bl_open_3d")                                                                     \
    X(BL_OPEN_2, "bl_open_7d")                                                                     \
    X(BL_OPEN_3, "bl_open_older")                                                                  \
    X(BL_PENDING_0, "bl_pending_1d")                                                               \
    X(BL_PENDING_1, "bl_pending_3d")                                                               \
    X(BL_PENDING_2, "bl_pending_7d")                                                               \
    X(BL_PENDING_3, "bl_pending_older")                                                            \
    X(CUST_ACTIVE, "cust_active")                                                                  \
    X(CUST_CHURNED, "cust_churned")

#define CONTRIB_ENUM(name, col) M_##name,
enum contrib_measure { CONTRIB_MEASURES(CONTRIB_ENUM) M_COUNT };
#undef CONTRIB_ENUM
/* Column names, indexed by measure. */
extern const char *const contrib_measure_names[M_COUNT];

/* Duration metrics: histograms in analytics.daily, rows in samples. */
enum contrib_metric { H_FR = 0, H_FRB, H_RES, H_RESB, H_COUNT };
extern const char *const contrib_hist_names[H_COUNT]; /* "fr_hist", ... */
#define HIST_BUCKETS 178
#define HIST_FIELD_DIGITS 6
/* The bucket of a duration in ms: 0 below 1 s, then 8 per octave. */
int contrib_bucket(int64_t ms);
/* Smallest duration (ms) of a bucket (0 for bucket 0). */
int64_t contrib_bucket_floor(int bucket);
/* Writes counts (HIST_BUCKETS values, each of magnitude below
 * 10^HIST_FIELD_DIGITS) as the decimal sum of count x 10^(6 x bucket) into
 * out (>= HIST_TEXT_MAX bytes: a sign, the digits, the NUL). Non-negative
 * counts make a histogram; a difference of two (the live path's delta,
 * some counts negative) makes the number whose addition turns one into
 * the other. */
#define HIST_TEXT_MAX (HIST_BUCKETS * HIST_FIELD_DIGITS + 2)
void contrib_hist_pack(const int32_t *counts, char *out);
/* Reads a packed decimal (as PostgreSQL prints a SUM of them). 0, or -1
 * when it is not one (a negative or fractional number, too many digits). */
int contrib_hist_unpack(const char *text, int64_t *counts);

enum contrib_dim {
    DIM_ALL = 0,
    DIM_CHANNEL,
    DIM_TEAM,
    DIM_AGENT,
    DIM_SEGMENT,
    DIM_CATEGORY,
    DIM_COUNT
};
extern const char *const contrib_dim_names[DIM_COUNT]; /* "all", "channel", ... */

/* "contacts,tickets_created,...,resb_hist": the sums' columns, which the
 * daily state was computed with (setup.c rebuilds when they change).
 * Static. */
const char *contrib_measures_text(void);

/* --- the sums ---------------------------------------------------------------- */

typedef struct agg_entry {
    int16_t dim;
    int32_t day;
    char *key;
    int64_t m[M_COUNT];
    /* H_COUNT * HIST_BUCKETS, NULL while all zero; 32 bits, half the
     * memory an entry's histograms take to make and to clear: a count
     * must stay below 10^HIST_FIELD_DIGITS to be packed at all, which
     * contrib_hist_pack asserts (one cell is one day's bucket). */
    int32_t *hist;
} agg_entry;

typedef struct agg agg;
agg *agg_new(void);
void agg_destroy(agg **pa);
/* Borrowed entries (some may be all zero after subtractions). */
agg_entry **agg_entries(agg *a, size_t *n);
bool agg_entry_zero(const agg_entry *e);
/* True when the sums had to be allocated and could not be. */
bool agg_failed(const agg *a);

/* --- ticket facts -------------------------------------------------------------- */

/* A ticket's derived figures: analytics.tickets' columns and the samples. */
struct ticket_facts {
    bool opened;
    int64_t created;
    int32_t created_day;
    const char *dims[DIM_COUNT];  /* borrowed: the ticket's strings, static names */
    int status;                   /* TS_* */
    int64_t fr_at, fr_ms, frb_ms; /* MODEL_NONE when no reply */
    int32_t fr_day;
    int64_t solved_at, res_ms, resb_ms; /* MODEL_NONE when never solved */
    int32_t solved_day;
    bool fcr;
    bool merged; /* closed into another ticket: counted there */
    bool fr_breached, res_breached;
    int nr_total, nr_met, breaches;
};

void contrib_facts(timebase *c, const model_ticket *t, int32_t segment, struct ticket_facts *f);

/* Adds sign * (the ticket's contribution) to a. 0, or -1 out of memory. */
int contrib_ticket(agg *a, timebase *c, const model_ticket *t, const struct ticket_facts *f,
                   int sign);

/* Adds sign * (the contribution of a customer tree: members of one root,
 * root included) to a: active customers at each day's start and churn
 * marks, on the total and the segment rows. */
int contrib_customer(agg *a, timebase *c, model_customer *const *members, size_t n, int32_t segment,
                     int sign);

#endif
