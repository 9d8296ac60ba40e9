/* calendar_config.c — configuration text and JSON -> calendars.
 *
 * One span syntax serves both forms: "HH:MM-HH:MM", hours of one or two
 * digits, blanks allowed around the dash, "24:00" for the end of the day
 * (the pattern sla.load_config accepts). Calendars are finished before they
 * are handed out, so a configuration that never opens fails here, with the
 * calendar's name, rather than at the first deadline.
 */
#include "calendar_config.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "config.h"

/* Paths are built from a directory of up to PATH_MAX plus a name. */
#define CONFIG_PATH_MAX (PATH_MAX + 64)

static const char *const weekday_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* --- pieces: weekdays, spans, dates ------------------------------------------ */

/* ISO weekday (1-7) of a three-letter name of n bytes; -1 when none. */
static int weekday_parse(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, weekday_names[i], 3) == 0)
            return i + 1;
    return -1;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* "H:MM" or "HH:MM" at p into seconds after midnight; the end, or NULL. */
static const char *hhmm_parse(const char *p, int32_t *secs)
{
    int h = 0, n = 0;
    while (n < 2 && *p >= '0' && *p <= '9') {
        h = h * 10 + (*p++ - '0');
        n++;
    }
    if (n == 0 || *p++ != ':' || p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
        return NULL;
    int m = (p[0] - '0') * 10 + (p[1] - '0');
    if (h > 24 || (h == 24 && m != 0))
        return NULL;
    *secs = h * 3600 + m * 60;
    return p + 2;
}

/* One span of n bytes at s: "08:00-12:00" with optional blanks. */
static int span_parse(const char *s, size_t n, int32_t *open, int32_t *close)
{
    char text[32];
    if (n >= sizeof text)
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    const char *p = skip_blanks(text);
    if (!(p = hhmm_parse(p, open)))
        return -1;
    p = skip_blanks(p);
    if (*p++ != '-')
        return -1;
    if (!(p = hhmm_parse(skip_blanks(p), close)))
        return -1;
    return *skip_blanks(p) == '\0' && *open < *close ? 0 : -1;
}

/* --- the text forms ----------------------------------------------------------- */

#define HOURS_SPANS_ERR                                                                            \
    "expected up to 4 spans \"HH:MM-HH:MM\" a day, each opening before it closes, "                \
    "without overlap"

/* One group of n bytes at g: "mon-fri 08:00-12:00,13:00-17:00". */
static int hours_group(calendar *c, const char *g, size_t n, const char **err)
{
    const char *end = g + n;
    while (g < end && (*g == ' ' || *g == '\t'))
        g++;
    if (g == end)
        return 0; /* an empty group: "mon 08:00-12:00;" */
    const char *sp = memchr(g, ' ', (size_t)(end - g));
    if (!sp) {
        *err = "expected \"mon-fri 08:00-17:00\"";
        return -1;
    }
    const char *dash = memchr(g, '-', (size_t)(sp - g));
    int d1 = weekday_parse(g, (size_t)((dash ? dash : sp) - g));
    int d2 = dash ? weekday_parse(dash + 1, (size_t)(sp - dash - 1)) : d1;
    if (d1 < 0 || d2 < 0) {
        *err = "unknown weekday (mon, tue, wed, thu, fri, sat, sun)";
        return -1;
    }
    struct calendar_span spans[CALENDAR_MAX_SPANS];
    int ns = 0;
    for (const char *p = sp + 1; p <= end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (ns == CALENDAR_MAX_SPANS ||
            span_parse(p, (size_t)(stop - p), &spans[ns].open, &spans[ns].close) != 0) {
            *err = HOURS_SPANS_ERR;
            return -1;
        }
        ns++;
        p = stop + 1;
    }
    /* A range may wrap around the week's end: fri-mon. */
    for (int d = d1;; d = d % 7 + 1) {
        calendar_clear_day(c, d);
        for (int i = 0; i < ns; i++)
            if (calendar_add_span(c, d, spans[i].open, spans[i].close) != 0) {
                *err = HOURS_SPANS_ERR;
                return -1;
            }
        if (d == d2)
            break;
    }
    return 0;
}

int calendar_config_add_hours(calendar *c, const char *hours, const char **err)
{
    if (strcmp(hours, "24/7") == 0) {
        for (int d = 1; d <= 7; d++) {
            calendar_clear_day(c, d);
            int rc = calendar_add_span(c, d, 0, 86400);
            (void)rc;
            assert(rc == 0);
        }
        return 0;
    }
    for (const char *g = hours;;) {
        const char *semi = strchr(g, ';');
        size_t n = semi ? (size_t)(semi - g) : strlen(g);
        if (hours_group(c, g, n, err) != 0)
            return -1;
        if (!semi)
            return 0;
        g = semi + 1;
    }
}

int calendar_config_add_holidays(calendar *c, const char *dates, const char **err)
{
    for (const char *p = dates; *p;) {
        if (*p == ' ' || *p == ',') {
            p++;
            continue;
        }
        size_t n = strcspn(p, ", ");
        char date[CIVIL_DATE_LEN];
        int32_t day;
        if (n != CIVIL_DATE_LEN - 1) {
            *err = "expected comma-separated YYYY-MM-DD dates";
            return -1;
        }
        memcpy(date, p, n);
        date[n] = '\0';
        if (civil_date_parse(date, &day) != 0) {
            *err = "not a date (YYYY-MM-DD)";
            return -1;
        }
        if (calendar_add_holiday_day(c, day) != 0) {
            *err = "out of memory";
            return -1;
        }
        p += n;
    }
    return 0;
}

/* --- the JSON documents ------------------------------------------------------- */

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define CALS CALENDAR_CONFIG_CALENDARS
#define HOLS CALENDAR_CONFIG_HOLIDAYS

/* The closed dates of holiday set `name` into c. */
static int add_holiday_set(calendar *c, json_t *sets, const char *name, char *err, size_t errlen)
{
    json_t *set = json_object_get(sets, name);
    if (!json_is_array(set)) {
        fail(err, errlen,
             CALS ": calendar \"%s\" names holiday set \"%s\", which " HOLS " does not define",
             c->id, name);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(set, i, e)
    {
        const char *date = json_string_value(json_object_get(e, "date"));
        const char *from = date ? date : json_string_value(json_object_get(e, "from"));
        const char *to = date ? date : json_string_value(json_object_get(e, "to"));
        int32_t a, b;
        if (civil_date_parse(from, &a) != 0 || civil_date_parse(to, &b) != 0 || a > b ||
            b - a >= CALENDAR_CONFIG_MAX_RANGE) {
            fail(err, errlen,
                 HOLS ": entry %zu of set \"%s\" needs \"date\", or \"from\" <= \"to\" "
                      "(YYYY-MM-DD, at most %d days apart)",
                 i + 1, name, CALENDAR_CONFIG_MAX_RANGE);
            return -1;
        }
        for (int32_t d = a; d <= b; d++)
            if (calendar_add_holiday_day(c, d) != 0) {
                fail(err, errlen, "out of memory");
                return -1;
            }
    }
    return 0;
}

static int add_json_hours(calendar *c, json_t *hours, char *err, size_t errlen)
{
    if (!hours || json_is_null(hours))
        return 0;
    if (!json_is_object(hours)) {
        fail(err, errlen,
             CALS ": calendar \"%s\": \"hours\" must be {\"mon\": [\"08:00-12:00\"], ...}", c->id);
        return -1;
    }
    const char *key;
    json_t *spans;
    json_object_foreach(hours, key, spans)
    {
        int wd = weekday_parse(key, strlen(key));
        if (wd < 0 || !json_is_array(spans)) {
            fail(err, errlen,
                 CALS ": calendar \"%s\": hours are {\"mon\": [\"08:00-12:00\", ...], ...}, "
                      "not \"%s\"",
                 c->id, key);
            return -1;
        }
        size_t i;
        json_t *s;
        json_array_foreach(spans, i, s)
        {
            const char *text = json_string_value(s);
            int32_t open, close;
            if (!text || span_parse(text, strlen(text), &open, &close) != 0 ||
                calendar_add_span(c, wd, open, close) != 0) {
                fail(err, errlen,
                     CALS ": calendar \"%s\" %s: could not use \"%s\": " HOURS_SPANS_ERR, c->id,
                     key, text ? text : "a non-string");
                return -1;
            }
        }
    }
    return 0;
}

/* One entry of "calendars", finished. */
static calendar *calendar_build(json_t *e, json_t *sets, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    if (!id || !id[0] || strlen(id) >= CALENDAR_ID_MAX) {
        fail(err, errlen, CALS ": every calendar needs an \"id\" of 1-%d characters",
             CALENDAR_ID_MAX - 1);
        return NULL;
    }
    json_t *zone = json_object_get(e, "time_zone");
    json_t *always = json_object_get(e, "always_open");
    json_t *hols = json_object_get(e, "holidays");
    if ((zone && !json_is_null(zone) && !json_is_string(zone)) ||
        (always && !json_is_null(always) && !json_is_boolean(always)) ||
        (hols && !json_is_null(hols) && !json_is_array(hols))) {
        fail(err, errlen,
             CALS ": calendar \"%s\": \"time_zone\" is a name, \"always_open\" true or false, "
                  "\"holidays\" a list of sets",
             id);
        return NULL;
    }
    const char *why = NULL;
    calendar *c = calendar_new(id, json_string_value(zone), json_is_true(always), &why);
    if (!c) {
        fail(err, errlen, CALS ": calendar \"%s\": time zone \"%s\": %s", id,
             json_is_string(zone) ? json_string_value(zone) : CALENDAR_DEFAULT_ZONE, why);
        return NULL;
    }
    if (add_json_hours(c, json_object_get(e, "hours"), err, errlen) != 0)
        goto fail;
    size_t i;
    json_t *name;
    json_array_foreach(hols, i, name)
    {
        if (!json_is_string(name)) {
            fail(err, errlen, CALS ": calendar \"%s\": \"holidays\" lists names of sets", id);
            goto fail;
        }
        if (add_holiday_set(c, sets, json_string_value(name), err, errlen) != 0)
            goto fail;
    }
    if (calendar_finish(c, &why) != 0) {
        fail(err, errlen, CALS ": calendar \"%s\": %s", id, why);
        goto fail;
    }
    return c;
fail:
    calendar_destroy(&c);
    return NULL;
}

static calendar_config *config_build(json_t *cals, json_t *hols, char *err, size_t errlen)
{
    json_t *list = json_object_get(cals, "calendars");
    json_t *sets = json_object_get(hols, "sets");
    if (!json_is_array(list)) {
        fail(err, errlen, CALS ": \"calendars\" must be a list");
        return NULL;
    }
    if (!json_is_object(sets)) {
        fail(err, errlen, HOLS ": \"sets\" must be an object of lists");
        return NULL;
    }
    calendar_config *c = calloc(1, sizeof *c);
    if (!c || !(c->cals = calloc(json_array_size(list) + 1, sizeof *c->cals))) {
        fail(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        calendar *cal = calendar_build(e, sets, err, errlen);
        if (!cal)
            goto fail;
        if (calendar_config_find(c, cal->id)) {
            fail(err, errlen, CALS ": calendar \"%s\" is defined twice", cal->id);
            calendar_destroy(&cal);
            goto fail;
        }
        c->cals[c->ncals++] = cal;
    }
    return c;
fail:
    calendar_config_destroy(&c);
    return NULL;
}

calendar_config *calendar_config_parse(const char *calendars_json, const char *holidays_json,
                                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *cals = json_loads(calendars_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!cals) {
        fail(err, errlen, CALS ": line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    json_t *hols = json_loads(holidays_json, JSON_REJECT_DUPLICATES, &jerr);
    calendar_config *c = NULL;
    if (!hols)
        fail(err, errlen, HOLS ": line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    else
        c = config_build(cals, hols, err, errlen);
    json_decref(cals);
    json_decref(hols);
    return c;
}

static json_t *load_file(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[CONFIG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fail(err, errlen, "could not load %s: line %d column %d: %s", path, jerr.line, jerr.column,
             jerr.text);
    return doc;
}

calendar_config *calendar_config_load(const char *dir, char *err, size_t errlen)
{
    json_t *cals = load_file(dir, CALS, err, errlen);
    json_t *hols = cals ? load_file(dir, HOLS, err, errlen) : NULL;
    calendar_config *c = hols ? config_build(cals, hols, err, errlen) : NULL;
    json_decref(cals);
    json_decref(hols);
    return c;
}

void calendar_config_destroy(calendar_config **pc)
{
    calendar_config *c = *pc;
    if (!c)
        return;
    for (size_t i = 0; i < c->ncals; i++)
        calendar_destroy(&c->cals[i]);
    free(c->cals);
    free(c);
    *pc = NULL;
}

const calendar *calendar_config_find(const calendar_config *c, const char *id)
{
    for (size_t i = 0; i < c->ncals; i++)
        if (strcmp(c->cals[i]->id, id) == 0)
            return c->cals[i];
    return NULL;
}

calendar *calendar_config_take(calendar_config *c, const char *id)
{
    for (size_t i = 0; i < c->ncals; i++)
        if (strcmp(c->cals[i]->id, id) == 0) {
            calendar *cal = c->cals[i];
            memmove(&c->cals[i], &c->cals[i + 1], (c->ncals - i - 1) * sizeof *c->cals);
            c->ncals--;
            return cal;
        }
    return NULL;
}

/* --- where the files are ------------------------------------------------------- */

static bool dir_has_config(const char *dir)
{
    char path[CONFIG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, CALS);
    return access(path, R_OK) == 0;
}

char *calendar_config_dir(bool *is_explicit)
{
    const char *env = config_str("SLA_CONFIG_DIR", NULL);
    *is_explicit = env != NULL;
    if (env)
        return strdup(env);
    if (dir_has_config("deploy/config"))
        return strdup("deploy/config");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    char dir[CONFIG_PATH_MAX - 32];
    snprintf(dir, sizeof dir, "%s/../../../deploy/config", exe);
    return dir_has_config(dir) ? strdup(dir) : NULL;
}
