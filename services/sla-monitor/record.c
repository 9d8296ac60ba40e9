/* record.c — a batch's records and their rows (see record.h).
 *
 * The tickets of a run are found with a map from ticket id to the record
 * that names its customer first (or the first record of the ticket when
 * none does), so a run of any size is one pass.
 */
#include "record.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "policy.h"

void sla_records_release(sla_records *r)
{
    free(r->v);
    free(r->parts);
    memset(r, 0, sizeof *r);
}

void sla_records_clear(sla_records *r)
{
    if (r->cap > SLA_RECORDS_KEEP || r->parts_cap > SLA_RECORDS_KEEP) {
        sla_records_release(r);
        return;
    }
    r->n = 0;
    r->nparts = 0;
}

struct sla_record *sla_records_add(sla_records *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct sla_record *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    struct sla_record *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    return x;
}

struct sla_record *sla_records_again(sla_records *r, const char *stream, uint64_t seq)
{
    struct sla_record *x = r->n ? &r->v[r->n - 1] : NULL;
    return x && x->seq == seq && x->stream && stream && strcmp(x->stream, stream) == 0 ? x : NULL;
}

int sla_records_part(sla_records *r, struct sla_record *x, int part)
{
    assert(r->n && x == &r->v[r->n - 1] && "only the last record gains partitions");
    if (x->nparts && r->parts[x->parts_at + x->nparts - 1] == part)
        return 0; /* staged by this partition already */
    if (r->nparts == r->parts_cap) {
        size_t cap = r->parts_cap ? r->parts_cap * 2 : 64;
        int *v = realloc(r->parts, cap * sizeof *v);
        if (!v)
            return -1;
        r->parts = v;
        r->parts_cap = cap;
    }
    if (!x->nparts)
        x->parts_at = r->nparts;
    assert(x->parts_at + x->nparts == r->nparts);
    r->parts[r->nparts++] = part;
    x->nparts++;
    return 0;
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void sla_records_parts_sql(const sla_records *r, size_t from, size_t to, buf *out)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++)
        n += r->v[i].nparts;
    int *all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        out->failed = 1;
        return;
    }
    n = 0;
    for (size_t i = from; i < to; i++)
        for (size_t k = 0; k < r->v[i].nparts; k++)
            all[n++] = r->parts[r->v[i].parts_at + k];
    qsort(all, n, sizeof *all, int_cmp);
    buf_putc(out, '{');
    for (size_t i = 0; i < n; i++)
        if (i == 0 || all[i] != all[i - 1])
            buf_printf(out, i ? ",%d" : "%d", all[i]);
    buf_putc(out, '}');
    free(all);
}

/* Moves tickets between customers: ordered against everything else. */
static bool alone(enum sla_record_kind k)
{
    return k == SLA_REC_MERGE || k == SLA_REC_UNMERGE;
}

size_t sla_records_run_end(const sla_records *r, size_t from)
{
    if (from < r->n && alone(r->v[from].kind))
        return from + 1;
    size_t i = from;
    while (i < r->n && !alone(r->v[i].kind))
        i++;
    return i;
}

int sla_records_tickets(const sla_records *r, size_t from, size_t to, rowset *w)
{
    hmap seen = HMAP_INIT;
    size_t *pick = malloc((to > from ? to - from : 1) * sizeof *pick);
    size_t npick = 0;
    int rc = -1;
    if (!pick)
        return -1;
    for (size_t i = from; i < to; i++) {
        const struct sla_record *x = &r->v[i];
        if (x->kind != SLA_REC_FACT)
            continue;
        int k = hmap_gets(&seen, x->ticket);
        if (k == HMAP_ABSENT) {
            if (hmap_puts(&seen, x->ticket, (int)npick) != 0)
                goto out;
            pick[npick++] = i;
        } else if (!r->v[pick[k]].customer[0] && x->customer[0]) {
            pick[k] = i; /* the first customer named wins */
        }
    }
    for (size_t k = 0; k < npick; k++)
        rowset_add(w, &r->v[pick[k]]);
    rc = 0;
out:
    hmap_release(&seen);
    free(pick);
    return rc;
}

/* --- the rows ------------------------------------------------------------------------ */

static void fact_kind_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, sla_fact_kind_name(((const struct sla_record *)row)->fact));
}

static void target_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, sla_target_name(((const struct sla_record *)row)->target));
}

static void cycle_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_i64(p, ((const struct sla_record *)row)->cycle);
}

#define R(f) ROWSET_AT(struct sla_record, f)
static const struct rowset_col fact_cols[] = {
    {"stream", "text", ROWSET_STR, R(stream)},
    {"seq", "bigint", ROWSET_U64, R(seq)},
    {"ticket_id", "uuid", ROWSET_ID, R(ticket)},
    {"at", "timestamptz", ROWSET_TIME, R(at), .none = INT64_MIN},
    {"kind", "text", ROWSET_FN, .get = fact_kind_get},
    {"priority", "text", ROWSET_STR, R(priority)},
    {"event_id", "uuid", ROWSET_STR, R(event_id)},
    {"team", "text", ROWSET_STR, R(team)},
};
static const struct rowset_col segment_cols[] = {
    {"stream", "text", ROWSET_STR, R(stream)},
    {"seq", "bigint", ROWSET_U64, R(seq)},
    {"customer_id", "uuid", ROWSET_ID, R(customer)},
    {"at", "timestamptz", ROWSET_TIME, R(at), .none = INT64_MIN},
    {"segment", "text", ROWSET_STR, R(segment)},
};
static const struct rowset_col team_cols[] = {
    {"stream", "text", ROWSET_STR, R(stream)},
    {"seq", "bigint", ROWSET_U64, R(seq)},
    {"team_id", "text", ROWSET_STR, R(team)},
    {"at", "timestamptz", ROWSET_TIME, R(at), .none = INT64_MIN},
    {"sets_calendar", "boolean", ROWSET_BOOL, R(sets_calendar)},
    {"calendar", "text", ROWSET_STR, R(calendar)},
    {"sets_policy", "boolean", ROWSET_BOOL, R(sets_policy)},
    {"sla_policy", "text", ROWSET_STR, R(policy)},
};
static const struct rowset_col claim_cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, R(ticket)},
    {"target", "text", ROWSET_FN, .get = target_get},
    {"cycle", "integer", ROWSET_FN, .get = cycle_get},
    {"kind", "text", ROWSET_STR, R(claim)},
    {"event_id", "uuid", ROWSET_STR, R(event_id)},
    {"at", "timestamptz", ROWSET_TIME, R(at), .none = INT64_MIN},
};
static const struct rowset_col ticket_cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, R(ticket)},
    {"customer_id", "uuid", ROWSET_ID, R(customer)},
};
#undef R

const rowset_table sla_record_facts = {"sla.ticket_facts", fact_cols, ROWSET_COUNT(fact_cols),
                                       NULL};
const rowset_table sla_record_segments = {"sla.customer_segments", segment_cols,
                                          ROWSET_COUNT(segment_cols), NULL};
const rowset_table sla_record_teams = {"sla.team_settings", team_cols, ROWSET_COUNT(team_cols),
                                       NULL};
const rowset_table sla_record_claims = {"sla.emitted", claim_cols, ROWSET_COUNT(claim_cols), NULL};
const rowset_table sla_record_tickets = {"sla.tickets", ticket_cols, ROWSET_COUNT(ticket_cols),
                                         NULL};
