/* api.c — GET /v1/kpis: the KPIs of a period, grouped, as JSON or CSV.
 *
 *   /v1/kpis?from=2026-11-01&to=2026-11-30&group_by=channel[&format=csv]
 *
 * group_by: day (the default), channel, team, agent, segment, category, or
 * all (one row for the whole period). CSV with ?format=csv or an Accept
 * header naming text/csv. A bad parameter is a 400 naming it. The numbers
 * are PostgreSQL's float8 text, printed as they are (see kpi.h); a KPI
 * without data is null (an empty CSV field), counts are 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "buf.h"
#include "civil.h"
#include "contrib.h"
#include "kpi.h"
#include "log.h"
#include "timeutil.h"

static const char *const group_names[] = {"day",   "all",     "channel", "team",
                                          "agent", "segment", "category"};
static const int group_codes[] = {KPI_GROUP_DAY, KPI_GROUP_ALL, DIM_CHANNEL, DIM_TEAM,
                                  DIM_AGENT,     DIM_SEGMENT,   DIM_CATEGORY};

int period_parse(analytics *a, http_req *r, bool defaults, struct period *p, const char **field,
                 const char **why)
{
    const char *from = http_query(r, "from"), *to = http_query(r, "to");
    if (from && !from[0])
        from = NULL;
    if (to && !to[0])
        to = NULL;
    if (!defaults && !from) {
        *field = "from";
        *why = "is required (YYYY-MM-DD)";
        return -1;
    }
    if (!defaults && !to) {
        *field = "to";
        *why = "is required (YYYY-MM-DD)";
        return -1;
    }
    if (from && civil_date_parse(from, &p->from_day) != 0) {
        *field = "from";
        *why = "must be a date YYYY-MM-DD";
        return -1;
    }
    if (to && civil_date_parse(to, &p->to_day) != 0) {
        *field = "to";
        *why = "must be a date YYYY-MM-DD";
        return -1;
    }
    /* Defaults (the dashboard): the 30 days up to today, or around the
     * one date given. Today is the viewer's, not derived state. */
    if (!to)
        p->to_day = from ? p->from_day + 29 : timebase_day(a->cal, time_now_us() / 1000);
    if (!from)
        p->from_day = p->to_day - 29;
    if (p->from_day > p->to_day) {
        *field = "to";
        *why = "must not be before from";
        return -1;
    }
    if (p->to_day - p->from_day >= ANALYTICS_MAX_DAYS) {
        *field = "to";
        *why = "is too far from from (at most 3700 days)";
        return -1;
    }
    civil_date_format(p->from_day, p->from);
    civil_date_format(p->to_day, p->to);
    return 0;
}

struct kpis_req {
    http_req *r;
    struct period p;
    const char *group;
    bool csv;
};

static void json_str(buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_printf(b, "\\%c", *c);
        else if (*c < 0x20)
            buf_printf(b, "\\u%04x", *c);
        else
            buf_putc(b, (char)*c);
    }
    buf_putc(b, '"');
}

/* A number as PostgreSQL printed it, if it is a finite one. */
static bool number_ok(const char *s)
{
    if (!s || !s[0])
        return false;
    char *end;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v);
}

static void csv_field(buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void render_json(buf *b, const struct kpis_req *k, const kpi_result *res)
{
    buf_puts(b, "{\"from\":");
    json_str(b, k->p.from);
    buf_puts(b, ",\"to\":");
    json_str(b, k->p.to);
    buf_puts(b, ",\"group_by\":");
    json_str(b, k->group);
    buf_puts(b, ",\"rows\":[");
    for (size_t i = 0; i < res->nrows; i++) {
        buf_puts(b, i ? ",{" : "{");
        for (int c = 0; c < KPI_NCOLS; c++) {
            const char *v = res->rows[i].vals[c];
            if (c)
                buf_putc(b, ',');
            json_str(b, kpi_col_names[c]);
            buf_putc(b, ':');
            if (c == KPI_KEY && v)
                json_str(b, v);
            else if (c != KPI_KEY && number_ok(v))
                buf_puts(b, v);
            else
                buf_puts(b, "null");
        }
        buf_putc(b, '}');
    }
    buf_puts(b, "]}");
}

static void render_csv(buf *b, const kpi_result *res)
{
    for (int c = 0; c < KPI_NCOLS; c++) {
        if (c)
            buf_putc(b, ',');
        buf_puts(b, kpi_col_names[c]);
    }
    buf_puts(b, "\r\n");
    for (size_t i = 0; i < res->nrows; i++) {
        for (int c = 0; c < KPI_NCOLS; c++) {
            const char *v = res->rows[i].vals[c];
            if (c)
                buf_putc(b, ',');
            if (c == KPI_KEY && v)
                csv_field(b, v);
            else if (c != KPI_KEY && number_ok(v))
                buf_puts(b, v);
        }
        buf_puts(b, "\r\n");
    }
}

static void on_kpis(kpi_result *res, void *arg)
{
    struct kpis_req *k = arg;
    if (!res) {
        http_add_header(k->r, "Retry-After", "1");
        http_reply_error(k->r, 503, "unavailable", NULL,
                         "the KPI store is unavailable; retry after 1 second");
        free(k);
        return;
    }
    buf b = BUF_INIT;
    if (k->csv)
        render_csv(&b, res);
    else
        render_json(&b, k, res);
    if (b.failed) {
        http_reply_error(k->r, 500, "internal", NULL, "could not build the answer");
    } else if (k->csv) {
        char disp[96];
        snprintf(disp, sizeof disp, "inline; filename=\"kpis-%s-%s-%s.csv\"", k->p.from, k->p.to,
                 k->group);
        http_add_header(k->r, "Content-Disposition", disp);
        http_reply(k->r, 200, "text/csv; charset=utf-8", buf_str(&b), b.len);
    } else {
        http_reply(k->r, 200, "application/json", buf_str(&b), b.len);
    }
    buf_release(&b);
    kpi_result_destroy(&res);
    free(k);
}

http_status api_kpis(http_req *r, void *arg)
{
    analytics *a = arg;
    struct kpis_req *k = calloc(1, sizeof *k);
    if (!k) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    k->r = r;
    const char *field, *why;
    if (period_parse(a, r, false, &k->p, &field, &why) != 0) {
        http_reply_error(r, 400, "invalid", field, "\"%s\" %s", field, why);
        free(k);
        return HTTP_DONE;
    }
    const char *g = http_query(r, "group_by");
    int group = KPI_GROUP_DAY;
    k->group = "day";
    if (g) {
        size_t i = 0;
        while (i < sizeof group_names / sizeof group_names[0] && strcmp(g, group_names[i]) != 0)
            i++;
        if (i == sizeof group_names / sizeof group_names[0]) {
            http_reply_error(r, 400, "invalid", "group_by",
                             "\"group_by\" must be one of day, channel, team, agent, segment, "
                             "category, all");
            free(k);
            return HTTP_DONE;
        }
        group = group_codes[i];
        k->group = group_names[i];
    }
    const char *fmt = http_query(r, "format");
    const char *accept = http_header(r, "Accept");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        http_reply_error(r, 400, "invalid", "format", "\"format\" must be json or csv");
        free(k);
        return HTTP_DONE;
    }
    k->csv = fmt ? strcmp(fmt, "csv") == 0 : (accept && strstr(accept, "text/csv"));
    if (kpi_query(a->q, k->p.from, k->p.to, group, on_kpis, k) != 0) {
        http_add_header(r, "Retry-After", "1");
        http_reply_error(r, 503, "unavailable", NULL,
                         "the KPI store is unavailable; retry after 1 second");
        free(k);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
