/* targets.c — the sla.targets description (see targets.h). */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static int status_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    return v ? sla_status_parse(v, &((struct sla_target *)row)->r.status) : -1;
}

static void secs_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_i64(p, ((const struct sla_target *)row)->r.target_us / 1000000);
}

static int secs_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    if (!v)
        return -1;
    ((struct sla_target *)row)->r.target_us = strtoll(v, NULL, 10) * 1000000;
    return 0;
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

/* A deadline or warning read back: NULL is 0, as the fold leaves it. */
static int due_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    ((struct sla_target *)row)->r.due_at = v ? strtoll(v, NULL, 10) : 0;
    return 0;
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

static int warn_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    ((struct sla_target *)row)->r.warn_at = v ? strtoll(v, NULL, 10) : 0;
    return 0;
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

/* NULL (a running target's) reads as a value no fold makes, so that a row
 * read back never seems to hold what it does not. */
static int remaining_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    ((struct sla_target *)row)->r.remaining_us = v ? strtoll(v, NULL, 10) * 1000000 : INT64_MIN;
    return 0;
}

/* Read back, a row's strings point into the result it was read from. */
static char *borrow(void *ctx, const char *s)
{
    (void)ctx;
    return (char *)s;
}

#define T(f) ROWSET_AT(struct sla_target, f)
static const struct rowset_col cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, T(ticket_id)},
    {"target", "text", ROWSET_FN, .get = target_get, .set = target_set},
    {"cycle", "integer", ROWSET_INT, T(r.cycle)},
    {"status", "text", ROWSET_FN, .get = status_get, .set = status_set},
    {"policy_id", "text", ROWSET_STR, T(policy_id)},
    {"calendar_id", "text", ROWSET_STR, T(calendar_id)},
    {"priority", "text", ROWSET_STR, T(priority)},
    {"segment", "text", ROWSET_STR, T(segment)},
    {"target_secs", "integer", ROWSET_FN, .get = secs_get, .set = secs_set},
    /* never NULL: no sentinel */
    {"started_at", "timestamptz", ROWSET_TIME, T(r.started_at), .none = INT64_MIN},
    {"due_at", "timestamptz", ROWSET_FN, .get = due_get, .set = due_set},
    {"warn_at", "timestamptz", ROWSET_FN, .get = warn_get, .set = warn_set},
    {"achieved_at", "timestamptz", ROWSET_TIME, T(r.achieved_at), .none = 0},
    {"cancelled_at", "timestamptz", ROWSET_TIME, T(r.cancelled_at), .none = 0},
    {"remaining_business_secs", "bigint", ROWSET_FN, .get = remaining_get, .set = remaining_set},
    {"warned", "boolean", ROWSET_BOOL, T(r.warned)},
    {"breached", "boolean", ROWSET_BOOL, T(r.breached)},
    {"next_fire_at", "timestamptz", ROWSET_TIME, T(r.next_fire_at), .none = 0},
};
#undef T

const rowset_table sla_targets = {"sla.targets", cols, ROWSET_COUNT(cols), borrow};
