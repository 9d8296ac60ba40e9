/* targets.c — the sla.targets description (see targets.h). */
#include "targets.h"

#include <stddef.h>
#include <string.h>

#include "policy.h"

static void target_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, sla_target_name(((const struct sla_target *)row)->r.target));
}

static int target_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    return v ? sla_target_parse(v, &((struct sla_target *)row)->r.target) : -1;
}

static void status_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, sla_status_name(((const struct sla_target *)row)->r.status));
}

static void secs_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_i64(p, ((const struct sla_target *)row)->r.target_us / 1000000);
}

/* Paused, a target has no deadline (nor warning) in the table. */
static void due_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct sla_row *r = &((const struct sla_target *)row)->r;
    if (r->status == SLA_PAUSED || !r->due_at)
        rowset_put_null(p);
    else
        rowset_put_time(p, r->due_at);
}

static void warn_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct sla_row *r = &((const struct sla_target *)row)->r;
    if (r->status == SLA_PAUSED || !r->warn_at)
        rowset_put_null(p);
    else
        rowset_put_time(p, r->warn_at);
}

/* Business seconds left, once the target no longer runs. */
static void remaining_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct sla_row *r = &((const struct sla_target *)row)->r;
    if (r->status == SLA_RUNNING)
        rowset_put_null(p);
    else
        rowset_put_i64(p, r->remaining_us / 1000000);
}

#define T(f) ROWSET_AT(struct sla_target, f)
static const struct rowset_col cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, T(ticket_id)},
    {"target", "text", ROWSET_FN, .get = target_get, .set = target_set},
    {"cycle", "integer", ROWSET_INT, T(r.cycle)},
    {"status", "text", ROWSET_FN, .get = status_get},
    {"policy_id", "text", ROWSET_STR, T(policy_id)},
    {"calendar_id", "text", ROWSET_STR, T(calendar_id)},
    {"priority", "text", ROWSET_STR, T(priority)},
    {"segment", "text", ROWSET_STR, T(segment)},
    {"target_secs", "integer", ROWSET_FN, .get = secs_get},
    /* never NULL: no sentinel */
    {"started_at", "timestamptz", ROWSET_TIME, T(r.started_at), .none = INT64_MIN},
    {"due_at", "timestamptz", ROWSET_FN, .get = due_get},
    {"warn_at", "timestamptz", ROWSET_FN, .get = warn_get},
    {"achieved_at", "timestamptz", ROWSET_TIME, T(r.achieved_at), .none = 0},
    {"cancelled_at", "timestamptz", ROWSET_TIME, T(r.cancelled_at), .none = 0},
    {"remaining_business_secs", "bigint", ROWSET_FN, .get = remaining_get},
    {"warned", "boolean", ROWSET_BOOL, T(r.warned)},
    {"breached", "boolean", ROWSET_BOOL, T(r.breached)},
    {"next_fire_at", "timestamptz", ROWSET_TIME, T(r.next_fire_at), .none = 0},
};
#undef T

const rowset_table sla_targets = {"sla.targets", cols, ROWSET_COUNT(cols), NULL};
