/* timebase.c — settings -> a zone for days and a calendar for business time.
 *
 * What is subtle: the fingerprint keeps the text earlier versions stored
 * ("v1 tz=... hours=<Sunday first, minutes> holidays=..."), so that an
 * upgrade does not rebuild every KPI for a calendar that did not change;
 * what that text cannot say (a calendar in another zone than the days, an
 * always-open calendar whose holidays do not close it) is appended, and
 * changes it exactly when the numbers change.
 */
#include "timebase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "buf.h"
#include "calendar_config.h"
#include "civil.h"
#include "config.h"
#include "log.h"
#include "tz.h"

#define TIMEBASE_DEFAULT_CALENDAR "vn-business"
/* When no file is found: vn-business's hours, without holidays. */
#define TIMEBASE_FALLBACK_HOURS "mon-fri 08:00-12:00,13:00-17:30; sat 08:00-12:00"

struct timebase {
    tz *days;      /* CAREBUS_ANALYTICS_TZ */
    calendar *cal; /* business time */
    char *fingerprint;
};

static char *fingerprint_make(const timebase *tb)
{
    const calendar *c = tb->cal;
    buf b = BUF_INIT;
    buf_printf(&b, "v1 tz=%s hours=", tz_name(tb->days));
    for (int d = 0; d < 7; d++) {
        int wd = d == 0 ? 7 : d; /* the stored text starts on Sunday */
        buf_printf(&b, "%d:", d);
        if (c->always_open)
            buf_puts(&b, "0-1440,");
        for (int i = 0; !c->always_open && i < c->nspans[wd - 1]; i++)
            buf_printf(&b, "%d-%d,", c->week[wd - 1][i].open / 60, c->week[wd - 1][i].close / 60);
        buf_putc(&b, ';');
    }
    buf_puts(&b, " holidays=");
    for (size_t i = 0; i < c->nholidays; i++) {
        char day[CIVIL_DATE_LEN];
        civil_date_format(c->holidays[i], day);
        buf_printf(&b, "%s,", day);
    }
    if (c->always_open && c->nholidays)
        buf_puts(&b, " always_open");
    if (strcmp(tz_name(c->zone), tz_name(tb->days)) != 0)
        buf_printf(&b, " zone=%s", tz_name(c->zone));
    return buf_detach(&b, NULL);
}

timebase *timebase_new_calendar(const char *zone, calendar **cal, char *err, size_t errlen)
{
    timebase *tb = calloc(1, sizeof *tb);
    if (!tb) {
        snprintf(err, errlen, "out of memory");
        calendar_destroy(cal);
        return NULL;
    }
    tb->cal = *cal;
    *cal = NULL;
    const char *why = NULL;
    if (!(tb->days = tz_load(zone, &why))) {
        snprintf(err, errlen, "could not load CAREBUS_ANALYTICS_TZ \"%s\": %s", zone, why);
        goto fail;
    }
    if (!(tb->fingerprint = fingerprint_make(tb))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return tb;
fail:
    timebase_destroy(&tb);
    return NULL;
}

timebase *timebase_new(const char *zone, const char *hours, const char *holidays, char *err,
                       size_t errlen)
{
    const char *why = NULL;
    calendar *c = calendar_new("CAREBUS_ANALYTICS_HOURS", zone, false, &why);
    if (!c) {
        snprintf(err, errlen, "could not load CAREBUS_ANALYTICS_TZ \"%s\": %s", zone, why);
        return NULL;
    }
    const char *setting = NULL;
    if (calendar_config_add_hours(c, hours, &why) != 0)
        setting = "HOURS";
    else if (calendar_config_add_holidays(c, holidays ? holidays : "", &why) != 0)
        setting = "HOLIDAYS";
    else if (calendar_finish(c, &why) != 0)
        setting = "HOURS"; /* it never opens */
    if (setting) {
        snprintf(err, errlen, "could not parse CAREBUS_ANALYTICS_%s: %s", setting, why);
        calendar_destroy(&c);
        return NULL;
    }
    return timebase_new_calendar(zone, &c, err, errlen);
}

void timebase_destroy(timebase **ptb)
{
    timebase *tb = *ptb;
    if (!tb)
        return;
    tz_destroy(&tb->days);
    calendar_destroy(&tb->cal);
    free(tb->fingerprint);
    free(tb);
    *ptb = NULL;
}

/* The calendar CAREBUS_ANALYTICS_CALENDAR names in dir, or NULL logged. */
static calendar *calendar_from_files(const char *dir, const char *id, const char *days_tz)
{
    char err[512];
    calendar_config *cfg = calendar_config_load(dir, err, sizeof err);
    if (!cfg) {
        log_error("analytics: %s", err);
        return NULL;
    }
    calendar *cal = calendar_config_take(cfg, id);
    calendar_config_destroy(&cfg);
    if (!cal)
        log_error("analytics: no calendar \"%s\" in %s/" CALENDAR_CONFIG_CALENDARS, id, dir);
    else if (strcmp(tz_name(cal->zone), days_tz) != 0)
        log_info("analytics: calendar \"%s\" counts business time in %s; days are those of %s "
                 "(CAREBUS_ANALYTICS_TZ)",
                 id, tz_name(cal->zone), days_tz);
    return cal;
}

timebase *timebase_load(void)
{
    const char *days_tz = config_str("ANALYTICS_TZ", ANALYTICS_DEFAULT_TZ);
    const char *hours = config_str("ANALYTICS_HOURS", NULL);
    const char *id = config_str("ANALYTICS_CALENDAR", NULL);
    char err[512];
    timebase *tb = NULL;
    if (hours) {
        if (!(tb = timebase_new(days_tz, hours, config_str("ANALYTICS_HOLIDAYS", ""), err,
                                sizeof err)))
            log_error("analytics: %s", err);
        return tb;
    }
    bool is_explicit;
    char *dir = calendar_config_dir(&is_explicit);
    if (!dir) {
        if (id) {
            log_error("analytics: CAREBUS_ANALYTICS_CALENDAR is \"%s\" but no "
                      "sla-calendars.json was found (set CAREBUS_SLA_CONFIG_DIR)",
                      id);
            return NULL;
        }
        log_warn("analytics: no sla-calendars.json found: business hours are \"%s\", no holidays",
                 TIMEBASE_FALLBACK_HOURS);
        if (!(tb = timebase_new(days_tz, TIMEBASE_FALLBACK_HOURS, "", err, sizeof err)))
            log_error("analytics: %s", err);
        return tb;
    }
    if (!id)
        id = TIMEBASE_DEFAULT_CALENDAR;
    calendar *cal = calendar_from_files(dir, id, days_tz);
    if (cal && !(tb = timebase_new_calendar(days_tz, &cal, err, sizeof err)))
        log_error("analytics: %s", err);
    else if (tb)
        log_info("analytics: business time on calendar \"%s\" (%s)", id, dir);
    free(dir);
    return tb;
}

int32_t timebase_day(const timebase *tb, int64_t at_ms)
{
    return (int32_t)tz_local_day(tb->days, at_ms * 1000);
}

int64_t timebase_day_start(const timebase *tb, int32_t day)
{
    return tz_day_start_us(tb->days, day) / 1000;
}

int64_t timebase_business_ms(const timebase *tb, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0;
    return calendar_business_us_between(tb->cal, from_ms * 1000, to_ms * 1000) / 1000;
}

const char *timebase_fingerprint(const timebase *tb)
{
    return tb->fingerprint;
}

const char *timebase_tz(const timebase *tb)
{
    return tz_name(tb->days);
}
