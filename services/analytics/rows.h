/* rows.h — the rows analytics writes, built once for both paths.
 *
 * A row is its table's columns as text (NULL for SQL NULL), exactly as
 * PostgreSQL reads them: the live path sends rows as JSON objects to
 * analytics.apply() (jsonb_populate_recordset parses each string with the
 * column's input function), the rebuild sends them by COPY. One builder per
 * table, so both paths write the very same values.
 */
#ifndef CAREBUS_ANALYTICS_ROWS_H
#define CAREBUS_ANALYTICS_ROWS_H

#include <jansson.h>

#include "buf.h"
#include "contrib.h"
#include "model.h"

#define ROW_MAX_COLS 48

struct row_table {
    const char *name; /* "analytics.tickets" */
    const char *const *cols;
    int ncols;
};

extern const struct row_table rows_tickets, rows_customers, rows_samples, rows_surveys,
    rows_sla_events, rows_daily;

typedef struct row {
    const struct row_table *table;
    char *vals[ROW_MAX_COLS]; /* owned; NULL: SQL NULL */
    int failed;
} row;

void row_init(row *r, const struct row_table *t);
void row_clear(row *r);

/* Builders: fill r (row_init'd) from the entities. The sample, survey and
 * SLA builders make row i of the ticket's (up to rows_*_count). */
void rows_ticket(row *r, const model_ticket *t, const struct ticket_facts *f);
void rows_customer(row *r, const model_customer *c);
int rows_sample_count(const struct ticket_facts *f, int64_t *ms, int32_t *day, int *metric);
void rows_sample(row *r, const model_ticket *t, const struct ticket_facts *f, int metric,
                 int64_t ms, int32_t day);
void rows_survey(row *r, const model_ticket *t, size_t i);
/* -1 when the ticket's i-th SLA point has no event id (not written). */
int rows_sla_event(row *r, const model_ticket *t, size_t i);
/* A daily row with the entry's sums and histograms (the rebuild's). */
void rows_daily_entry(row *r, const agg_entry *e);

/* Writers. */
json_t *row_json(const row *r);
/* One COPY text line (tab-separated, escaped, \N, newline). */
void row_copy(const row *r, buf *out);

#endif
