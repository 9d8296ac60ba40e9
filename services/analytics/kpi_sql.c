/* kpi_sql.c — the KPIs' SQL, written from kpi.def (see kpi.h).
 *
 * Two texts, one per reader of analytics.daily: the API's period query and
 * the bi.kpi_daily view; and its live writer, analytics.apply_daily(), from
 * the measures alone (over the live path's staging table, stage.h). Each
 * KPI's expressions are kpi.def's, over bare measure names, placed where
 * one relation only has those names (the period sums `per`, the daily rows
 * `d`), so they read as the definition does. Levels (backlog, active
 * customers) are running sums of deltas: up to the period's end (LEVEL) or
 * its start (PER_START's denominator), or day by day. The P90s are left to
 * the API's second step (kpi.c) and, in the view, to percentile_cont over
 * the day's samples.
 *
 * Built once, on first use, and kept: the texts never change in a run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kpi.h"

/* "fcr_pct" -> the level's column name "lv_fcr_pct". */
#define LEVEL_PREFIX "lv_"

static bool has_level(const struct kpi_def *k)
{
    return k->how == KPI_LEVEL || k->how == KPI_PER_START;
}

/* The expression whose level a KPI needs. */
static const char *level_expr(const struct kpi_def *k)
{
    return k->how == KPI_LEVEL ? k->a : k->b;
}

/* "CASE WHEN <grouping> IN (...) THEN " for a KPI without a value on every
 * grouping (churn), "" otherwise; day_too: whether -1 (per day) is one. */
static void restrict_open(buf *b, const struct kpi_def *k, const char *grouping, bool day_too)
{
    unsigned every = (1u << DIM_COUNT) - 1;
    if ((k->dims & every) == every)
        return;
    buf_printf(b, "CASE WHEN %s IN (", grouping);
    bool first = true;
    if (day_too && (k->dims & (1u << DIM_ALL))) {
        buf_puts(b, "-1");
        first = false;
    }
    for (int d = 0; d < DIM_COUNT; d++)
        if (k->dims & (1u << d)) {
            buf_printf(b, "%s%d", first ? "" : ", ", d);
            first = false;
        }
    buf_puts(b, ") THEN ");
}

static void restrict_close(buf *b, const struct kpi_def *k)
{
    unsigned every = (1u << DIM_COUNT) - 1;
    if ((k->dims & every) != every)
        buf_puts(b, " END");
}

/* The measures (and histograms) of analytics.daily, for the period sums. */
static void each_sum(buf *b, const char *fmt_measure)
{
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, fmt_measure, contrib_measure_names[m], contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, fmt_measure, contrib_hist_names[h], contrib_hist_names[h]);
}

static void build_query(buf *b)
{
    buf_puts(b, "WITH keys AS (\n"
                "    SELECT d::date::text AS k FROM generate_series($1::date, $2::date,"
                " interval '1 day') d\n"
                "     WHERE $3::smallint = -1\n"
                "    UNION\n"
                "    SELECT '' WHERE $3::smallint = 0\n"
                "    UNION\n"
                "    SELECT a.key FROM analytics.daily a\n"
                "     WHERE $3::smallint > 0 AND a.dim = $3::smallint AND a.day <= $2::date\n"
                "     GROUP BY a.key\n"
                "    HAVING bool_or(a.day >= $1::date)");
    /* A key without data in the period is still a row while it has a
     * backlog at the period's end. */
    for (int c = 1; c < KPI_NCOLS; c++)
        if (kpi_defs[c].how == KPI_LEVEL)
            buf_printf(b, "\n        OR sum(%s) <> 0", kpi_defs[c].a);
    buf_puts(b, "\n), rows AS (\n"
                "    SELECT CASE WHEN $3::smallint = -1 THEN a.day::text ELSE a.key END AS k, a.*\n"
                "      FROM analytics.daily a\n"
                "     WHERE a.dim = greatest($3::smallint, 0) AND a.day <= $2::date\n"
                "), per AS (\n"
                "    SELECT k");
    each_sum(b, ",\n           sum(%s) FILTER (WHERE day >= $1::date) AS %s");
    buf_puts(b, "\n      FROM rows WHERE $3::smallint <> -1 GROUP BY k\n"
                "    UNION ALL\n"
                "    SELECT k");
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, ", %s", contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, ", %s", contrib_hist_names[h]);
    buf_puts(b, "\n      FROM rows WHERE $3::smallint = -1 AND day >= $1::date\n"
                "), pre AS (\n"
                "    -- levels: deltas summed up to the period's end (LEVEL) or start\n"
                "    SELECT k");
    for (int c = 1; c < KPI_NCOLS; c++) {
        const struct kpi_def *k = &kpi_defs[c];
        if (k->how == KPI_LEVEL)
            buf_printf(b, ",\n           sum(%s) AS " LEVEL_PREFIX "%s", k->a, k->name);
        else if (k->how == KPI_PER_START)
            buf_printf(b,
                       ",\n           sum(%s) FILTER (WHERE day <= $1::date) AS " LEVEL_PREFIX "%s",
                       k->b, k->name);
    }
    buf_puts(b, "\n      FROM rows WHERE $3::smallint <> -1 GROUP BY k\n"
                "    UNION ALL\n"
                "    -- per day: one running sum over every day from the first with data\n"
                "    -- (days without a row carry the previous day's values)\n"
                "    SELECT c.k");
    for (int c = 1; c < KPI_NCOLS; c++)
        if (has_level(&kpi_defs[c]))
            buf_printf(b, ", c." LEVEL_PREFIX "%s", kpi_defs[c].name);
    buf_puts(b, "\n      FROM (SELECT s.d::date::text AS k, s.d::date AS day");
    for (int c = 1; c < KPI_NCOLS; c++)
        if (has_level(&kpi_defs[c]))
            buf_printf(b,
                       ",\n                   sum(coalesce(x." LEVEL_PREFIX
                       "%s, 0)) OVER w AS " LEVEL_PREFIX "%s",
                       kpi_defs[c].name, kpi_defs[c].name);
    buf_puts(
        b, "\n              FROM generate_series(least($1::date, (SELECT min(r.day) FROM rows r)),"
           " $2::date,\n                                   interval '1 day') AS s (d)\n"
           "              LEFT JOIN (SELECT day");
    for (int c = 1; c < KPI_NCOLS; c++)
        if (has_level(&kpi_defs[c]))
            buf_printf(b, ",\n                                (%s) AS " LEVEL_PREFIX "%s",
                       level_expr(&kpi_defs[c]), kpi_defs[c].name);
    buf_puts(b, "\n                           FROM rows) x ON x.day = s.d::date\n"
                "             WHERE $3::smallint = -1\n"
                "            WINDOW w AS (ORDER BY s.d)) c\n"
                "     WHERE c.day >= $1::date\n"
                ")\n"
                "SELECT k.k");
    for (int c = 1; c < KPI_NCOLS; c++) {
        const struct kpi_def *k = &kpi_defs[c];
        buf_puts(b, ",\n       ");
        restrict_open(b, k, "$3::smallint", true);
        switch (k->how) {
        case KPI_SUM:
            buf_printf(b, "coalesce(%s, 0)::bigint", k->a);
            break;
        case KPI_RATIO:
            buf_printf(b, "analytics.ratio(%s, %s, %d)", k->a, k->b, k->scale);
            break;
        case KPI_P90:
            buf_puts(b, "NULL::float8");
            break;
        case KPI_LEVEL:
            buf_printf(b, "coalesce(" LEVEL_PREFIX "%s, 0)::bigint", k->name);
            break;
        case KPI_PER_START:
            buf_printf(b, "analytics.ratio(%s, " LEVEL_PREFIX "%s, %d)", k->a, k->name, k->scale);
            break;
        }
        restrict_close(b, k);
    }
    for (int c = 1; c < KPI_NCOLS; c++)
        if (kpi_defs[c].how == KPI_P90)
            buf_printf(b, ",\n       coalesce(%s, 0)::bigint, coalesce(%s, 0)::text", kpi_defs[c].b,
                       contrib_hist_names[kpi_defs[c].metric]);
    buf_puts(b, "\n  FROM keys k\n"
                "  LEFT JOIN per p ON p.k = k.k\n"
                "  LEFT JOIN pre q ON q.k = k.k\n"
                " ORDER BY k.k");
}

/* s as an SQL string literal. */
static void sql_literal(buf *b, const char *s)
{
    buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_putc(b, '\'');
        buf_putc(b, *s);
    }
    buf_putc(b, '\'');
}

static void build_view(buf *b)
{
    buf_puts(b, "-- Written by carebus-analytics from services/analytics/kpi.def: edit that.\n"
                "-- New columns go last: CREATE OR REPLACE VIEW keeps the others and their\n"
                "-- grants and comments.\n"
                "CREATE OR REPLACE VIEW bi.kpi_daily AS\n"
                "WITH d AS (\n"
                "    SELECT a.*");
    for (int c = 1; c < KPI_NCOLS; c++)
        if (has_level(&kpi_defs[c]))
            buf_printf(b, ",\n           sum(%s) OVER w AS " LEVEL_PREFIX "%s",
                       level_expr(&kpi_defs[c]), kpi_defs[c].name);
    buf_puts(b, "\n      FROM analytics.daily a\n"
                "    WINDOW w AS (PARTITION BY a.dim, a.key ORDER BY a.day)\n"
                ")\n"
                "SELECT d.day,\n"
                "       (ARRAY[");
    for (int d = 0; d < DIM_COUNT; d++)
        buf_printf(b, "%s'%s'", d ? ", " : "", contrib_dim_names[d]);
    buf_puts(b, "])[d.dim + 1] AS dimension");
    for (int d = 1; d < DIM_COUNT; d++)
        buf_printf(b, ",\n       CASE WHEN d.dim = %d THEN nullif(d.key, '') END AS %s", d,
                   contrib_dim_names[d]);
    for (int c = 1; c < KPI_NCOLS; c++) {
        const struct kpi_def *k = &kpi_defs[c];
        buf_puts(b, ",\n       ");
        restrict_open(b, k, "d.dim", false);
        switch (k->how) {
        case KPI_SUM:
            buf_puts(b, k->a);
            break;
        case KPI_RATIO:
            buf_printf(b, "analytics.ratio(%s, %s, %d)", k->a, k->b, k->scale);
            break;
        case KPI_P90:
            buf_printf(b,
                       "(SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ms)"
                       " FROM analytics.samples s\n"
                       "         WHERE s.metric = %d AND s.day = d.day\n"
                       "           AND CASE d.dim WHEN 0 THEN true",
                       k->metric);
            for (int d = 1; d < DIM_COUNT; d++)
                buf_printf(b, " WHEN %d THEN s.%s = d.key", d, contrib_dim_names[d]);
            buf_puts(b, " END)\n           / 1000::float8");
            break;
        case KPI_LEVEL:
            buf_printf(b, LEVEL_PREFIX "%s", k->name);
            break;
        case KPI_PER_START:
            buf_printf(b, "analytics.ratio(%s, " LEVEL_PREFIX "%s, %d)", k->a, k->name, k->scale);
            break;
        }
        restrict_close(b, k);
        buf_printf(b, " AS %s", k->name);
    }
    buf_puts(b, "\n  FROM d;\n");
    for (int c = 1; c < KPI_NCOLS; c++) {
        buf_printf(b, "COMMENT ON COLUMN bi.kpi_daily.%s IS ", kpi_defs[c].name);
        sql_literal(b, kpi_defs[c].doc);
        buf_puts(b, ";\n");
    }
}

/* analytics.apply_daily(p_prune): the live path's additions to the daily
 * sums, from the session's staging table live_daily (stage.h: the
 * measures' deltas, each histogram's as one signed packed number), and,
 * when p_prune (a sum went down), the removal of the rows that end all
 * zero, so that the table equals a rebuild's. Columns are named, never
 * positional: a measure added by a migration is the table's last column. */
static void build_apply_daily(buf *b)
{
    buf_puts(b, "-- Written by carebus-analytics from services/analytics/contrib.h's measures.\n"
                "CREATE OR REPLACE FUNCTION analytics.apply_daily(p_prune boolean) RETURNS void\n"
                "LANGUAGE plpgsql AS $fn$\n"
                "BEGIN\n"
                "    INSERT INTO analytics.daily AS a (dim, day, key");
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, ", %s", contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, ", %s", contrib_hist_names[h]);
    buf_puts(b, ")\n"
                "    SELECT dim, day, key");
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, ", %s", contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, ", %s", contrib_hist_names[h]);
    buf_puts(b, "\n"
                "      FROM pg_temp.live_daily\n"
                "    ON CONFLICT (dim, day, key) DO UPDATE SET\n        ");
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, "%s = a.%s + excluded.%s,\n        ", contrib_measure_names[m],
                   contrib_measure_names[m], contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, "%s = a.%s + excluded.%s%s", contrib_hist_names[h], contrib_hist_names[h],
                   contrib_hist_names[h], h + 1 < H_COUNT ? ",\n        " : ";\n");
    buf_puts(b, "    IF p_prune THEN\n"
                "        DELETE FROM analytics.daily a USING pg_temp.live_daily x\n"
                "         WHERE a.dim = x.dim AND a.day = x.day AND a.key = x.key");
    for (int m = 0; m < M_COUNT; m++)
        buf_printf(b, "\n           AND a.%s = 0", contrib_measure_names[m]);
    for (int h = 0; h < H_COUNT; h++)
        buf_printf(b, "\n           AND a.%s = 0", contrib_hist_names[h]);
    buf_puts(b, ";\n"
                "    END IF;\n"
                "END;\n"
                "$fn$;\n");
}

static const char *sql_query, *sql_view, *sql_apply_daily;
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static const char *sql_keep(void (*build)(buf *))
{
    buf b = BUF_INIT;
    build(&b);
    if (b.failed) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL); /* kept for the process's life */
}

static void sql_build(void)
{
    sql_query = sql_keep(build_query);
    sql_view = sql_keep(build_view);
    sql_apply_daily = sql_keep(build_apply_daily);
}

const char *kpi_sql_query(void)
{
    pthread_once(&sql_once, sql_build);
    return sql_query;
}

const char *kpi_sql_view(void)
{
    pthread_once(&sql_once, sql_build);
    return sql_view;
}

const char *kpi_sql_apply_daily(void)
{
    pthread_once(&sql_once, sql_build);
    return sql_apply_daily;
}
