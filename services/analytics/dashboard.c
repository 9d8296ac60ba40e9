/* dashboard.c — GET /: headline KPIs and charts for a period, as one page.
 *
 *   /?from=2026-11-01&to=2026-11-30&lang=en
 *
 * Three queries on the service's queue (the period's totals, the same per
 * day, contacts per day and channel), then the page is written at once:
 * inline CSS (dashboard_assets.c) and inline SVG charts drawn here, no
 * script, no font, no image, and a Content-Security-Policy that forbids
 * loading anything at all, so no request ever leaves for another host.
 * Vietnamese by default; English with ?lang=en or an Accept-Language that
 * prefers it. Whoever reaches it was let in by the route's guard (a read
 * key or a session); a person signed in by a session gets a sign-out
 * button carrying the session's CSRF token (signin.c).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "buf.h"
#include "civil.h"
#include "dashboard.h"
#include "html.h"
#include "kpi.h"
#include "label.h"
#include "log.h"
#include "timeutil.h"

#define W 640
#define H 240
#define ML 52
#define MR 14
#define MT 14
#define MB 30
#define PW (W - ML - MR)
#define PH (H - MT - MB)

static const char *const palette[] = {"#0b5cad", "#d9480f", "#2b8a3e", "#862e9c",
                                      "#c2255c", "#1098ad", "#5c940d", "#e67700",
                                      "#364fc7", "#a61e4d", "#087f5b", "#495057"};
#define NPALETTE (sizeof palette / sizeof palette[0])

/* The contacts chart stacks the channels in the schema's order (vocab.h),
 * each with its colour (a 13th channel reuses the first) and its label. */
#define CHANNELS (&carebus__v1__channel__descriptor)

static const char *channel_color(size_t c)
{
    return palette[c % NPALETTE];
}

struct dash {
    analytics *a;
    http_req *r;
    enum dash_lang lang;
    struct period p;
    int pending;
    bool failed;
    char csrf[SESSION_CSRF_LEN]; /* "" unless signed in by a session: no sign-out button */
    kpi_result *all, *days;
    int ndays;
    size_t nchannels;
    double *by_channel; /* ndays x nchannels contacts */
};

static const char *L(const struct dash *d, enum dash_label l)
{
    return dashboard_labels[d->lang][l];
}

/* --- formatting ------------------------------------------------------------- */

/* A number with the language's decimal separator. */
static void fmt_dec(char *out, size_t n, double v, int decimals, enum dash_lang lang)
{
    snprintf(out, n, "%.*f", decimals, v);
    if (lang == LANG_VI)
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}

/* An integer with the language's thousands separator. */
static void fmt_int(char *out, size_t n, long long v, enum dash_lang lang)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t len = strlen(digits), o = 0;
    if (v < 0 && o + 1 < n)
        out[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = lang == LANG_VI ? '.' : ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* The unit a duration axis or card uses: 0 s, 1 min, 2 h, 3 d. */
static int dur_unit(double secs)
{
    return secs < 90 ? 0 : secs < 5400 ? 1 : secs < 172800 ? 2 : 3;
}

static const double unit_secs[] = {1, 60, 3600, 86400};
static const enum dash_label unit_label[] = {L_UNIT_S, L_UNIT_MIN, L_UNIT_H, L_UNIT_D};

static void fmt_dur(char *out, size_t n, double secs, const struct dash *d)
{
    int u = dur_unit(secs);
    char num[32];
    fmt_dec(num, sizeof num, secs / unit_secs[u], u == 0 ? 0 : 1, d->lang);
    snprintf(out, n, "%s %s", num, L(d, unit_label[u]));
}

static double val(const kpi_row *row, int col)
{
    const char *v = row ? row->vals[col] : NULL;
    return v ? strtod(v, NULL) : NAN;
}

/* --- the form and the cards -------------------------------------------------------- */

static void card(buf *b, const char *label, const char *value)
{
    buf_puts(b, "<div class=\"card\"><dt>");
    html_escape(b, label);
    buf_puts(b, "</dt><dd>");
    html_escape(b, value);
    buf_puts(b, "</dd></div>");
}

/* A KPI's label in the page's language (kpi.def). */
static const char *K(const struct dash *d, int col)
{
    return kpi_defs[col].label[d->lang];
}

/* A headline card: the KPI's value for the period, as its format says. */
static void card_kpi(buf *b, const struct dash *d, int col)
{
    const kpi_row *row = d->all && d->all->nrows ? &d->all->rows[0] : NULL;
    enum kpi_format kind = kpi_defs[col].format;
    double v = val(row, col);
    char text[64];
    if (isnan(v) && kind == KPI_FMT_COUNT)
        v = 0;
    if (isnan(v))
        snprintf(text, sizeof text, "—");
    else if (kind == KPI_FMT_COUNT)
        fmt_int(text, sizeof text, (long long)v, d->lang);
    else if (kind == KPI_FMT_PCT) {
        char num[32];
        fmt_dec(num, sizeof num, v, 1, d->lang);
        snprintf(text, sizeof text, "%s %%", num);
    } else if (kind == KPI_FMT_DEC)
        fmt_dec(text, sizeof text, v, 2, d->lang);
    else
        fmt_dur(text, sizeof text, v, d);
    card(b, K(d, col), text);
}

/* --- charts ------------------------------------------------------------------------ */

/* A round axis maximum above v (4 ticks). */
static double nice_max(double v)
{
    if (!(v > 0))
        return 1;
    double raw = v / 4, mag = pow(10, floor(log10(raw)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    double step = 10 * mag;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * mag >= raw) {
            step = steps[i] * mag;
            break;
        }
    return step * 4;
}

/* The centre of day i's slot: bars and points share it. */
static double x_of(int i, int n)
{
    return ML + (i + 0.5) * PW / (n > 0 ? n : 1);
}

static double y_of(double v, double ymin, double ymax)
{
    return MT + PH * (1 - (v - ymin) / (ymax - ymin));
}

static void svg_open(buf *b, const char *title)
{
    buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
    html_escape(b, title);
    buf_puts(b, "\"><title>");
    html_escape(b, title);
    buf_puts(b, "</title>");
}

static void day_label(const struct dash *d, int i, char *out)
{
    char iso[11];
    civil_date_format(d->p.from_day + i, iso);
    if (d->lang == LANG_VI)
        snprintf(out, 8, "%.2s/%.2s", iso + 8, iso + 5);
    else
        snprintf(out, 8, "%.5s", iso + 5);
}

/* Grid, y labels (formatted by fmt), x labels (days). */
static void svg_axes(buf *b, const struct dash *d, int n, double ymin, double ymax,
                     void (*fmt)(char *, size_t, double, const struct dash *, double), double scale)
{
    for (int k = 0; k <= 4; k++) {
        double v = ymin + (ymax - ymin) * k / 4;
        double y = y_of(v, ymin, ymax);
        char t[48];
        fmt(t, sizeof t, v, d, scale);
        buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7ec\"/>", ML,
                   W - MR, y, y);
        buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6, y + 4);
        html_escape(b, t);
        buf_puts(b, "</text>");
    }
    int every = n > 8 ? (n + 7) / 8 : 1;
    for (int i = 0; i < n; i += every) {
        char t[8];
        day_label(d, i, t);
        buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x_of(i, n),
                   H - 10, t);
    }
}

static void fmt_plain(char *out, size_t n, double v, const struct dash *d, double scale)
{
    (void)scale;
    fmt_dec(out, n, v, v == floor(v) ? 0 : 1, d->lang);
}

static void fmt_scaled(char *out, size_t n, double v, const struct dash *d, double scale)
{
    fmt_dec(out, n, v / scale, v / scale == floor(v / scale) ? 0 : 1, d->lang);
}

static void no_data(buf *b, const struct dash *d)
{
    buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", W / 2, H / 2);
    html_escape(b, L(d, L_NO_DATA));
    buf_puts(b, "</text>");
}

struct series {
    const char *name;
    int col;
    const char *color;
    bool dashed;
};

static void legend(buf *b, const char *const *names, const char *const *colors, int n)
{
    buf_puts(b, "<ul class=\"legend\">");
    for (int i = 0; i < n; i++) {
        buf_printf(b, "<li><span style=\"background:%s\"></span>", colors[i]);
        html_escape(b, names[i]);
        buf_puts(b, "</li>");
    }
    buf_puts(b, "</ul>");
}

/* Lines of day values (KPI columns of the per-day rows). duration: seconds
 * shown in the unit of the largest value; else [ymin, ymax] fixed when
 * ymax > 0, or from 0 to a round maximum. */
static void chart_lines(buf *b, const struct dash *d, enum dash_label title, const struct series *s,
                        int ns, bool duration, double ymin, double ymax)
{
    int n = d->ndays;
    double max = 0;
    bool any = false;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++) {
            double v = val(&d->days->rows[i], s[k].col);
            if (!isnan(v)) {
                any = true;
                max = v > max ? v : max;
            }
        }
    double scale = 1;
    char unit[48] = "";
    if (duration) {
        int u = dur_unit(max);
        scale = unit_secs[u];
        snprintf(unit, sizeof unit, " (%s)", L(d, unit_label[u]));
    }
    if (!(ymax > 0))
        ymax = nice_max(max / scale) * scale;
    char full[160];
    snprintf(full, sizeof full, "%s%s", L(d, title), unit);
    buf_puts(b, "<figure><figcaption>");
    html_escape(b, full);
    buf_puts(b, "</figcaption>");
    svg_open(b, full);
    svg_axes(b, d, n, ymin, ymax, duration ? fmt_scaled : fmt_plain, scale);
    if (!any)
        no_data(b, d);
    for (int k = 0; k < ns && any; k++) {
        buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", s[k].color,
                   s[k].dashed ? " stroke-dasharray=\"5 4\"" : "");
        bool pen = false;
        for (int i = 0; i < n; i++) {
            double v = val(&d->days->rows[i], s[k].col);
            if (isnan(v)) {
                pen = false;
                continue;
            }
            buf_printf(b, "%c%.1f %.1f ", pen ? 'L' : 'M', x_of(i, n), y_of(v, ymin, ymax));
            pen = true;
        }
        buf_puts(b, "\"/>");
        for (int i = 0; i < n; i++) {
            double v = val(&d->days->rows[i], s[k].col);
            if (isnan(v))
                continue;
            char day[11], t[48];
            civil_date_format(d->p.from_day + i, day);
            if (duration)
                fmt_dur(t, sizeof t, v, d);
            else
                fmt_dec(t, sizeof t, v, 2, d->lang);
            buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s ",
                       x_of(i, n), y_of(v, ymin, ymax), s[k].color, day);
            html_escape(b, s[k].name);
            buf_puts(b, ": ");
            html_escape(b, t);
            buf_puts(b, "</title></circle>");
        }
    }
    buf_puts(b, "</svg>");
    const char *names[8], *colors[8];
    for (int k = 0; k < ns && k < 8; k++) {
        names[k] = s[k].name;
        colors[k] = s[k].color;
    }
    legend(b, names, colors, ns);
    buf_puts(b, "</figure>");
}

static const char *channel_label(const struct dash *d, size_t c)
{
    return label_or_name(CHANNELS, vocab_value(CHANNELS, c), (enum label_lang)d->lang);
}

static void chart_contacts(buf *b, const struct dash *d)
{
    int n = d->ndays;
    size_t nc = d->nchannels;
    double max = 0;
    bool used[DASH_MAX_CHANNELS] = {false};
    for (int i = 0; i < n; i++) {
        double total = 0;
        for (size_t c = 0; c < nc; c++) {
            total += d->by_channel[i * nc + c];
            used[c] |= d->by_channel[i * nc + c] > 0;
        }
        max = total > max ? total : max;
    }
    double ymax = nice_max(max);
    const char *title = L(d, L_CHART_CONTACTS);
    buf_puts(b, "<figure><figcaption>");
    html_escape(b, title);
    buf_puts(b, "</figcaption>");
    svg_open(b, title);
    svg_axes(b, d, n, 0, ymax, fmt_plain, 1);
    if (max == 0)
        no_data(b, d);
    double slot = (double)PW / (n > 0 ? n : 1), bw = slot * 0.7 > 28 ? 28 : slot * 0.7;
    for (int i = 0; i < n && max > 0; i++) {
        double base = 0;
        double x = x_of(i, n) - bw / 2;
        char day[11];
        civil_date_format(d->p.from_day + i, day);
        for (size_t c = 0; c < nc; c++) {
            double v = d->by_channel[i * nc + c];
            if (v <= 0)
                continue;
            double y1 = y_of(base + v, 0, ymax), y0 = y_of(base, 0, ymax);
            buf_printf(b,
                       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"%s\"><title>%s ",
                       x, y1, bw, y0 - y1, channel_color(c), day);
            html_escape(b, channel_label(d, c));
            buf_printf(b, ": %.0f</title></rect>", v);
            base += v;
        }
    }
    buf_puts(b, "</svg>");
    const char *names[DASH_MAX_CHANNELS], *colors[DASH_MAX_CHANNELS];
    int k = 0;
    for (size_t c = 0; c < nc; c++)
        if (used[c]) {
            names[k] = channel_label(d, c);
            colors[k++] = channel_color(c);
        }
    legend(b, names, colors, k);
    buf_puts(b, "</figure>");
}

static void chart_backlog(buf *b, const struct dash *d)
{
    static const enum dash_label labels[] = {L_AGE_1D, L_AGE_3D, L_AGE_7D, L_AGE_OLDER};
    static const int cols[] = {KPI_BACKLOG_1D, KPI_BACKLOG_3D, KPI_BACKLOG_7D, KPI_BACKLOG_OLDER};
    const kpi_row *row = d->all && d->all->nrows ? &d->all->rows[0] : NULL;
    double v[4], max = 0;
    for (int k = 0; k < 4; k++) {
        v[k] = val(row, cols[k]);
        if (isnan(v[k]))
            v[k] = 0;
        max = v[k] > max ? v[k] : max;
    }
    const char *title = L(d, L_CHART_BACKLOG);
    buf_puts(b, "<figure><figcaption>");
    html_escape(b, title);
    buf_puts(b, "</figcaption>");
    svg_open(b, title);
    double ymax = nice_max(max);
    for (int k = 0; k < 4; k++) {
        double y = MT + k * (PH / 4.0) + 6, h = PH / 4.0 - 14;
        double w = max > 0 ? (W - 120 - MR - 40) * v[k] / ymax : 0;
        buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", 110, y + h / 2 + 4);
        html_escape(b, L(d, labels[k]));
        buf_printf(b,
                   "</text><rect x=\"118\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">%.0f</text>",
                   y, w, h, palette[k], 124 + w, y + h / 2 + 4, v[k]);
    }
    buf_puts(b, "</svg><p class=\"note\">");
    html_escape(b, L(d, L_OPEN_PENDING));
    buf_puts(b, "</p></figure>");
}

/* --- the page ------------------------------------------------------------------------ */

static void page_head(buf *b, const struct dash *d)
{
    buf_printf(b,
               "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<link rel=\"icon\" href=\"data:,\"><title>",
               d->lang == LANG_EN ? "en" : "vi");
    html_escape(b, L(d, L_TITLE));
    buf_printf(b, "</title><style>%s</style></head><body><header><div><h1>", dashboard_css);
    html_escape(b, L(d, L_TITLE));
    buf_puts(b, "</h1><p>");
    html_escape(b, L(d, L_SUBTITLE));
    buf_printf(b,
               "</p></div><nav><a href=\"?from=%s&amp;to=%s&amp;lang=vi\" hreflang=\"vi\">"
               "Tiếng Việt</a><a href=\"?from=%s&amp;to=%s&amp;lang=en\" hreflang=\"en\">"
               "English</a>",
               d->p.from, d->p.to, d->p.from, d->p.to);
    if (d->csrf[0]) {
        buf_printf(b,
                   "<form method=\"post\" action=\"/signout\"><input type=\"hidden\" "
                   "name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"lang\" "
                   "value=\"%s\"><button type=\"submit\">",
                   d->csrf, d->lang == LANG_EN ? "en" : "vi");
        html_escape(b, L(d, L_SIGNOUT));
        buf_puts(b, "</button></form>");
    }
    buf_puts(b, "</nav></header><main>");
    buf_puts(b, "<form method=\"get\" action=\"/\"><label>");
    html_escape(b, L(d, L_FROM));
    buf_printf(b, "<input type=\"date\" name=\"from\" value=\"%s\" required></label><label>",
               d->p.from);
    html_escape(b, L(d, L_TO));
    buf_printf(b,
               "<input type=\"date\" name=\"to\" value=\"%s\" required></label>"
               "<input type=\"hidden\" name=\"lang\" value=\"%s\"><button type=\"submit\">",
               d->p.to, d->lang == LANG_EN ? "en" : "vi");
    html_escape(b, L(d, L_SHOW));
    buf_puts(b, "</button></form>");
}

static void page_foot(buf *b, const struct dash *d)
{
    buf_puts(b, "</main><footer>");
    html_escape(b, L(d, L_PERIOD));
    buf_printf(b, ": %s – %s · ", d->p.from, d->p.to);
    html_escape(b, L(d, L_TZ));
    buf_puts(b, ": ");
    html_escape(b, timebase_tz(d->a->cal));
    buf_puts(b, " · carebus</footer></body></html>");
}

static void page_body(buf *b, const struct dash *d)
{
    buf_puts(b, "<dl class=\"cards\">");
    for (int col = 1; col < KPI_NCOLS; col++)
        if (kpi_defs[col].tile)
            card_kpi(b, d, col);
    buf_puts(b, "</dl><p class=\"note\">");
    html_escape(b, L(d, L_BUSINESS_NOTE));
    buf_puts(b, "</p><section class=\"charts\">");
    chart_contacts(b, d);
    const struct series fr[] = {{L(d, L_AVG), KPI_FR_AVG, palette[0], false},
                                {L(d, L_P90), KPI_FR_P90, palette[1], true}};
    chart_lines(b, d, L_CHART_FR, fr, 2, true, 0, 0);
    const struct series res[] = {{L(d, L_AVG), KPI_RES_AVG, palette[0], false},
                                 {L(d, L_P90), KPI_RES_P90, palette[1], true}};
    chart_lines(b, d, L_CHART_RES, res, 2, true, 0, 0);
    const struct series csat[] = {{K(d, KPI_CSAT_PCT), KPI_CSAT_PCT, palette[2], false}};
    chart_lines(b, d, L_CHART_CSAT, csat, 1, false, 0, 100);
    const struct series ces[] = {{K(d, KPI_CES_AVG), KPI_CES_AVG, palette[3], false}};
    chart_lines(b, d, L_CHART_CES, ces, 1, false, 1, 7);
    const struct series sla[] = {{L(d, L_SLA_ALL), KPI_SLA_PCT, palette[0], false},
                                 {L(d, L_SLA_FR), KPI_SLA_FR_PCT, palette[2], true},
                                 {L(d, L_SLA_RES), KPI_SLA_RES_PCT, palette[1], true}};
    chart_lines(b, d, L_CHART_SLA, sla, 3, false, 0, 100);
    chart_backlog(b, d);
    buf_puts(b, "</section>");
}

static void dash_reply(struct dash *d, unsigned status, const char *error)
{
    buf b = BUF_INIT;
    page_head(&b, d);
    if (error) {
        buf_puts(&b, "<p class=\"error\" role=\"alert\">");
        html_escape(&b, error);
        buf_puts(&b, "</p>");
    } else {
        page_body(&b, d);
    }
    page_foot(&b, d);
    dashboard_headers(d->r, d->lang);
    if (b.failed)
        http_reply_error(d->r, 500, "internal", NULL, "could not build the page");
    else
        http_reply(d->r, status, "text/html; charset=utf-8", buf_str(&b), b.len);
    buf_release(&b);
}

void dashboard_headers(http_req *r, enum dash_lang lang)
{
    http_add_header(r, "Content-Language", lang == LANG_EN ? "en" : "vi");
    http_add_header(r, "Cache-Control", "no-store");
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
}

static void dash_destroy(struct dash *d)
{
    kpi_result_destroy(&d->all);
    kpi_result_destroy(&d->days);
    free(d->by_channel);
    free(d);
}

static void dash_step(struct dash *d)
{
    if (--d->pending > 0)
        return;
    if (d->failed || !d->all || !d->days) {
        http_add_header(d->r, "Retry-After", "1");
        dash_reply(d, 503, L(d, L_UNAVAILABLE));
    } else {
        dash_reply(d, 200, NULL);
    }
    dash_destroy(d);
}

static void on_all(kpi_result *res, void *arg)
{
    struct dash *d = arg;
    d->all = res;
    d->failed |= !res;
    dash_step(d);
}

static void on_days(kpi_result *res, void *arg)
{
    struct dash *d = arg;
    d->days = res;
    d->failed |= !res || (int)res->nrows != d->ndays;
    dash_step(d);
}

static void on_channels(PGresult *res, void *arg)
{
    struct dash *d = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("analytics: dashboard contacts failed: %s", PQresultErrorMessage(res));
        d->failed = true;
        dash_step(d);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int32_t day;
        if (civil_date_parse(PQgetvalue(res, i, 0), &day) != 0)
            continue;
        int k = day - d->p.from_day;
        int ch;
        if (k < 0 || k >= d->ndays || vocab_parse(CHANNELS, PQgetvalue(res, i, 1), &ch) != 0)
            continue; /* a channel this build does not know is not drawn */
        for (size_t c = 0; c < d->nchannels; c++)
            if (vocab_value(CHANNELS, c) == ch)
                d->by_channel[k * d->nchannels + c] += strtod(PQgetvalue(res, i, 2), NULL);
    }
    dash_step(d);
}

enum dash_lang dashboard_lang(http_req *r)
{
    const char *q = http_query(r, "lang");
    if (q)
        return strncmp(q, "en", 2) == 0 ? LANG_EN : LANG_VI;
    const char *al = http_header(r, "Accept-Language");
    double best_vi = -1, best_en = -1;
    int pos_vi = 1000, pos_en = 1000, pos = 0;
    for (const char *p = al; p && *p; pos++) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        double qv = 1;
        const char *semi = memchr(p, ';', n);
        if (semi && strncmp(semi, ";q=", 3) == 0)
            qv = strtod(semi + 3, NULL);
        if (strncmp(p, "en", 2) == 0 &&
            (p[2] == '-' || p[2] == ';' || p[2] == ',' || !p[2] || (size_t)2 == n) &&
            qv > best_en) {
            best_en = qv;
            pos_en = pos;
        }
        if (strncmp(p, "vi", 2) == 0 &&
            (p[2] == '-' || p[2] == ';' || p[2] == ',' || !p[2] || (size_t)2 == n) &&
            qv > best_vi) {
            best_vi = qv;
            pos_vi = pos;
        }
        p += n;
    }
    if (best_en > best_vi || (best_en == best_vi && best_en >= 0 && pos_en < pos_vi))
        return LANG_EN;
    return LANG_VI;
}

http_status dashboard_get(http_req *r, void *arg)
{
    analytics *a = arg;
    struct dash *d = calloc(1, sizeof *d);
    if (!d) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    d->a = a;
    d->r = r;
    d->lang = dashboard_lang(r);
    if (!signin_csrf(a, r, d->csrf))
        d->csrf[0] = '\0';
    const char *field, *why;
    if (period_parse(a, r, true, &d->p, &field, &why) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: \"%s\" %s", L(d, L_BAD_PERIOD), field, why);
        /* the form shows the default period */
        d->p.to_day = timebase_day(a->cal, time_now_us() / 1000);
        d->p.from_day = d->p.to_day - 29;
        civil_date_format(d->p.from_day, d->p.from);
        civil_date_format(d->p.to_day, d->p.to);
        dash_reply(d, 400, msg);
        dash_destroy(d);
        return HTTP_DONE;
    }
    d->ndays = d->p.to_day - d->p.from_day + 1;
    if (d->ndays > 400) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: \"to\" %s", L(d, L_BAD_PERIOD),
                 d->lang == LANG_EN ? "is more than 400 days after from"
                                    : "cách \"from\" quá 400 ngày");
        dash_reply(d, 400, msg);
        dash_destroy(d);
        return HTTP_DONE;
    }
    d->nchannels = vocab_count(CHANNELS);
    assert(d->nchannels <= DASH_MAX_CHANNELS);
    d->by_channel = calloc((size_t)d->ndays * d->nchannels, sizeof *d->by_channel);
    const char *params[] = {d->p.from, d->p.to};
    if (!d->by_channel || !dbq_up(a->q)) {
        http_add_header(r, "Retry-After", "1");
        dash_reply(d, 503, L(d, L_UNAVAILABLE));
        dash_destroy(d);
        return HTTP_DONE;
    }
    d->pending = 1; /* held until everything is queued */
    if (kpi_query(a->q, d->p.from, d->p.to, KPI_GROUP_ALL, on_all, d) == 0)
        d->pending++;
    else
        d->failed = true;
    if (kpi_query(a->q, d->p.from, d->p.to, KPI_GROUP_DAY, on_days, d) == 0)
        d->pending++;
    else
        d->failed = true;
    if (dbq_query(a->q,
                  "SELECT day, channel, contacts FROM analytics.contacts_by_channel($1::date,"
                  " $2::date)",
                  2, params, on_channels, d) == 0)
        d->pending++;
    else
        d->failed = true;
    if (d->pending == 1) { /* nothing queued: answer now */
        http_add_header(r, "Retry-After", "1");
        dash_reply(d, 503, L(d, L_UNAVAILABLE));
        dash_destroy(d);
        return HTTP_DONE;
    }
    d->pending--; /* the callbacks finish it */
    return HTTP_SUSPENDED;
}
