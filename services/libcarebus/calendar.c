/* calendar.c — business time: walk local dates, intersect opening spans.
 *
 * Every opening span is turned into a UTC interval on its own local date
 * (tz_local_to_utc), so daylight-saving changes need no special case: the
 * walk only ever compares UTC instants. A walk visits at most one date per
 * iteration and a handful of spans per date, each a binary search in the
 * zone's transitions: adding a week of business time costs a few
 * microseconds.
 */
#include "calendar.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"

#define US INT64_C(1000000)
#define SECS_PER_DAY INT64_C(86400)

calendar *calendar_new(const char *id, const char *zone_name, bool always_open, const char **err)
{
    calendar *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    snprintf(c->id, sizeof c->id, "%s", id ? id : "");
    c->always_open = always_open;
    c->zone = tz_load(zone_name ? zone_name : CALENDAR_DEFAULT_ZONE, err);
    if (!c->zone) {
        free(c);
        return NULL;
    }
    return c;
}

void calendar_destroy(calendar **pc)
{
    calendar *c = *pc;
    if (!c)
        return;
    tz_destroy(&c->zone);
    free(c->holidays);
    free(c);
    *pc = NULL;
}

int calendar_add_span(calendar *c, int weekday, int32_t open, int32_t close)
{
    if (weekday < 1 || weekday > 7 || open < 0 || close > SECS_PER_DAY || open >= close)
        return -1;
    struct calendar_span *s = c->week[weekday - 1];
    int n = c->nspans[weekday - 1];
    if (n == CALENDAR_MAX_SPANS)
        return -1;
    for (int i = 0; i < n; i++)
        if (open < s[i].close && s[i].open < close)
            return -1;
    /* Kept in order of opening, so walks meet them in time order. */
    int at = n;
    while (at > 0 && s[at - 1].open > open) {
        s[at] = s[at - 1];
        at--;
    }
    s[at] = (struct calendar_span){open, close};
    c->nspans[weekday - 1] = n + 1;
    return 0;
}

void calendar_clear_day(calendar *c, int weekday)
{
    assert(weekday >= 1 && weekday <= 7);
    c->nspans[weekday - 1] = 0;
}

int calendar_add_holiday(calendar *c, int64_t y, int m, int d)
{
    if (m < 1 || m > 12 || d < 1 || d > civil_days_in_month(y, m))
        return -1; /* 2026-02-30 */
    return calendar_add_holiday_day(c, civil_to_days(y, m, d));
}

int calendar_add_holiday_day(calendar *c, int64_t day)
{
    if (c->nholidays == c->capholidays) {
        size_t cap = c->capholidays ? c->capholidays * 2 : 32;
        int64_t *h = realloc(c->holidays, cap * sizeof *h);
        if (!h)
            return -1;
        c->holidays = h;
        c->capholidays = cap;
    }
    c->holidays[c->nholidays++] = day;
    return 0;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int calendar_finish(calendar *c, const char **err)
{
    if (c->nholidays) /* qsort's base must not be NULL, even for 0 items */
        qsort(c->holidays, c->nholidays, sizeof *c->holidays, cmp_day);
    size_t j = 0;
    for (size_t i = 0; i < c->nholidays; i++)
        if (j == 0 || c->holidays[j - 1] != c->holidays[i])
            c->holidays[j++] = c->holidays[i];
    c->nholidays = j;
    if (c->always_open)
        return 0;
    for (int d = 0; d < 7; d++)
        if (c->nspans[d])
            return 0;
    *err = "the calendar never opens (no opening hours on any weekday)";
    return -1;
}

bool calendar_is_holiday(const calendar *c, int64_t local_day)
{
    size_t lo = 0, hi = c->nholidays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->holidays[mid] < local_day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nholidays && c->holidays[lo] == local_day;
}

/* The local date of the instant t (us). */
static int64_t calendar_local_day(const calendar *c, int64_t t_us)
{
    return tz_local_day(c->zone, t_us);
}

/* Span s of local date day as a UTC interval [*o, *cl) in us. */
static void calendar_span_utc(const calendar *c, int64_t day, const struct calendar_span *s,
                              int64_t *o, int64_t *cl)
{
    *o = tz_local_to_utc(c->zone, day * SECS_PER_DAY + s->open) * US;
    *cl = tz_local_to_utc(c->zone, day * SECS_PER_DAY + s->close) * US;
}

bool calendar_is_open(const calendar *c, int64_t t_us)
{
    if (c->always_open)
        return true;
    int64_t day = calendar_local_day(c, t_us);
    if (calendar_is_holiday(c, day))
        return false;
    int wd = civil_iso_weekday(day) - 1;
    for (int i = 0; i < c->nspans[wd]; i++) {
        int64_t o, cl;
        calendar_span_utc(c, day, &c->week[wd][i], &o, &cl);
        if (t_us >= o && t_us < cl)
            return true;
    }
    return false;
}

int64_t calendar_add_business_us(const calendar *c, int64_t t_us, int64_t dur_us)
{
    if (dur_us <= 0)
        return t_us;
    if (c->always_open)
        return t_us > CALENDAR_NEVER - dur_us ? CALENDAR_NEVER : t_us + dur_us;
    int64_t day0 = calendar_local_day(c, t_us);
    for (int64_t day = day0; day < day0 + CALENDAR_MAX_DAYS; day++) {
        if (calendar_is_holiday(c, day))
            continue;
        int wd = civil_iso_weekday(day) - 1;
        for (int i = 0; i < c->nspans[wd]; i++) {
            int64_t o, cl;
            calendar_span_utc(c, day, &c->week[wd][i], &o, &cl);
            int64_t start = o > t_us ? o : t_us;
            if (start >= cl)
                continue;
            if (dur_us <= cl - start)
                return start + dur_us;
            dur_us -= cl - start;
        }
    }
    return CALENDAR_NEVER;
}

int64_t calendar_business_us_between(const calendar *c, int64_t a_us, int64_t b_us)
{
    if (a_us == b_us)
        return 0;
    if (a_us > b_us)
        return -calendar_business_us_between(c, b_us, a_us);
    if (c->always_open)
        return b_us - a_us;
    int64_t sum = 0, last = calendar_local_day(c, b_us);
    for (int64_t day = calendar_local_day(c, a_us); day <= last; day++) {
        if (calendar_is_holiday(c, day))
            continue;
        int wd = civil_iso_weekday(day) - 1;
        for (int i = 0; i < c->nspans[wd]; i++) {
            int64_t o, cl;
            calendar_span_utc(c, day, &c->week[wd][i], &o, &cl);
            int64_t lo = o > a_us ? o : a_us, hi = cl < b_us ? cl : b_us;
            if (hi > lo)
                sum += hi - lo;
        }
    }
    return sum;
}
