/* calconf.c — which calendar business time is measured on.
 *
 * By default the department's standard calendar as sla-monitor defines it:
 * CAREBUS_ANALYTICS_CALENDAR (default "vn-business") in
 * sla-calendars.json and its holiday sets in sla-holidays.json, from
 * CAREBUS_SLA_CONFIG_DIR or deploy/config (the way sla-monitor finds them),
 * so that "business seconds" mean the same in the KPIs as in the SLAs.
 * CAREBUS_ANALYTICS_HOURS (and CAREBUS_ANALYTICS_HOLIDAYS) set the hours
 * directly instead. Days are always those of CAREBUS_ANALYTICS_TZ.
 *
 * XXX: sla-monitor's calendar arithmetic (services/sla-monitor/calendar.c)
 * is general; once it moves to libcarebus, bizcal.c can go and only this
 * file remains.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "analytics.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#define CALCONF_DEFAULT_ID "vn-business"
/* When no file is found: vn-business's hours, without holidays. */
#define CALCONF_FALLBACK_HOURS "mon-fri 08:00-12:00,13:00-17:30; sat 08:00-12:00"

static bool dir_has(const char *dir)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/sla-calendars.json", dir);
    return access(path, R_OK) == 0;
}

/* The directory of the SLA configuration, or "" when there is none. */
static void config_dir(char *out, size_t n)
{
    const char *env = config_str("SLA_CONFIG_DIR", NULL);
    out[0] = '\0';
    if (env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (dir_has("deploy/config")) {
        snprintf(out, n, "deploy/config");
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/../../../deploy/config", exe);
    size_t len2 = strlen(dir);
    if (len2 < n && dir_has(dir))
        memcpy(out, dir, len2 + 1);
}

static json_t *load(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        log_error("analytics: could not load %s: line %d: %s", path, jerr.line, jerr.text);
    return doc;
}

/* "mon 08:00-12:00,13:00-17:30; tue ..." from {"mon": ["08:00-12:00", ...]}. */
static int hours_text(json_t *hours, buf *out)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int d = 0; d < 7; d++) {
        json_t *spans = json_object_get(hours, days[d]);
        if (!spans)
            continue;
        if (!json_is_array(spans))
            return -1;
        size_t i;
        json_t *s;
        buf_printf(out, "%s%s ", out->len ? "; " : "", days[d]);
        json_array_foreach(spans, i, s)
        {
            if (!json_is_string(s))
                return -1;
            buf_printf(out, "%s%s", i ? "," : "", json_string_value(s));
        }
    }
    return 0;
}

/* Comma-separated dates of the named sets ({"date"} or {"from", "to"}). */
static int holidays_text(json_t *sets, json_t *names, buf *out)
{
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        json_t *set = json_object_get(sets, json_string_value(name));
        if (!json_is_array(set))
            return -1;
        size_t k;
        json_t *e;
        json_array_foreach(set, k, e)
        {
            const char *date = json_string_value(json_object_get(e, "date"));
            const char *from = json_string_value(json_object_get(e, "from"));
            const char *to = json_string_value(json_object_get(e, "to"));
            int32_t a, b;
            if (date && bizcal_day_parse(date, &a) == 0)
                b = a;
            else if (!(from && to && bizcal_day_parse(from, &a) == 0 &&
                       bizcal_day_parse(to, &b) == 0 && a <= b && b - a < 60))
                return -1;
            for (int32_t d = a; d <= b; d++) {
                char day[11];
                bizcal_day_format(d, day);
                buf_printf(out, "%s%s", out->len ? "," : "", day);
            }
        }
    }
    return 0;
}

bizcal *analytics_calendar_load(void)
{
    const char *tz = config_str("ANALYTICS_TZ", ANALYTICS_DEFAULT_TZ);
    const char *hours = config_str("ANALYTICS_HOURS", NULL);
    const char *err = NULL;
    bizcal *c = NULL;
    if (hours) {
        c = bizcal_new(tz, hours, config_str("ANALYTICS_HOLIDAYS", ""), &err);
        if (!c)
            log_error("%s", err);
        return c;
    }
    const char *id = config_str("ANALYTICS_CALENDAR", NULL);
    char dir[PATH_MAX];
    config_dir(dir, sizeof dir);
    if (!dir[0]) {
        if (id) {
            log_error("analytics: CAREBUS_ANALYTICS_CALENDAR is \"%s\" but no sla-calendars.json "
                      "was found (set CAREBUS_SLA_CONFIG_DIR)",
                      id);
            return NULL;
        }
        log_warn("analytics: no sla-calendars.json found: business hours are \"%s\", no holidays",
                 CALCONF_FALLBACK_HOURS);
        c = bizcal_new(tz, CALCONF_FALLBACK_HOURS, "", &err);
        if (!c)
            log_error("%s", err);
        return c;
    }
    if (!id)
        id = CALCONF_DEFAULT_ID;
    json_t *cals = load(dir, "sla-calendars.json");
    json_t *hols = load(dir, "sla-holidays.json");
    buf h = BUF_INIT, d = BUF_INIT;
    json_t *cal = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cals, "calendars"), i, e)
    {
        if (json_is_string(json_object_get(e, "id")) &&
            strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
            cal = e;
    }
    if (!cal) {
        log_error("analytics: no calendar \"%s\" in %s/sla-calendars.json", id, dir);
        goto out;
    }
    const char *zone = json_string_value(json_object_get(cal, "time_zone"));
    if (zone && strcmp(zone, tz) != 0)
        log_warn("analytics: calendar \"%s\" is in %s; its hours are read in %s "
                 "(CAREBUS_ANALYTICS_TZ)",
                 id, zone, tz);
    if (json_is_true(json_object_get(cal, "always_open")))
        buf_puts(&h, "24/7");
    else if (hours_text(json_object_get(cal, "hours"), &h) != 0 || h.len == 0) {
        log_error("analytics: calendar \"%s\" has no usable hours", id);
        goto out;
    }
    json_t *sets = json_object_get(cal, "holidays");
    if (json_is_array(sets) && holidays_text(json_object_get(hols, "sets"), sets, &d) != 0) {
        log_error("analytics: the holidays of calendar \"%s\" do not load", id);
        goto out;
    }
    if (!(c = bizcal_new(tz, buf_str(&h), buf_str(&d), &err)))
        log_error("analytics: calendar \"%s\": %s", id, err);
    else
        log_info("analytics: business time on calendar \"%s\" (%s)", id, dir);
out:
    buf_release(&h);
    buf_release(&d);
    json_decref(cals);
    json_decref(hols);
    return c;
}
