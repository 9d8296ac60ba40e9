/* timeutil.c — clocks, and RFC 3339 without the C library's calendar.
 *
 * timegm() and strptime() drag in the TZ database and the locale; the API's
 * only time format is RFC 3339, so it is parsed by hand and converted with
 * civil.h's day numbers (exact for every proleptic Gregorian date). Subtleties: a leap second (:60)
 * is clamped to :59 because epoch time cannot represent it; fractions beyond microseconds are
 * truncated, not rounded, so a time never moves into the next second.
 */
#include "timeutil.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "civil.h"

#define US_PER_SEC INT64_C(1000000)
#define SECS_PER_DAY INT64_C(86400)

int64_t time_now_us(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    assert(rc == 0);
    (void)rc;
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    assert(rc == 0);
    (void)rc;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
    return time_mono_us() / 1000;
}

/* The remainder of floor division, in [0, d). */
static int64_t floor_mod(int64_t a, int64_t d)
{
    int64_t r = a % d;
    return r < 0 ? r + d : r;
}

/* Reads exactly n decimal digits; advances *p. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

int time_parse_rfc3339(const char *s, int64_t *us)
{
    if (s == NULL)
        return -1;
    const char *p = s;
    int y, mo, d, h, mi, sec;
    if (!read_digits(&p, 4, &y) || !expect(&p, '-') || !read_digits(&p, 2, &mo) ||
        !expect(&p, '-') || !read_digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't')
        return -1;
    p++;
    if (!read_digits(&p, 2, &h) || !expect(&p, ':') || !read_digits(&p, 2, &mi) ||
        !expect(&p, ':') || !read_digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > civil_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    if (sec == 60)
        sec = 59; /* leap second: see the top of the file */

    int64_t frac = 0; /* microseconds */
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            if (n >= 9)
                return -1;
            if (n < 6)
                frac = frac * 10 + (*p - '0');
        }
        if (n == 0)
            return -1;
        for (; n < 6; n++)
            frac *= 10;
    }

    int64_t offset = 0; /* seconds east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!read_digits(&p, 2, &oh) || !expect(&p, ':') || !read_digits(&p, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;

    int64_t secs = civil_to_days(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + sec - offset;
    *us = secs * US_PER_SEC + frac;
    return 0;
}

void time_format_rfc3339(int64_t us, char *buf)
{
    int64_t secs = civil_floor_div(us, US_PER_SEC);
    int64_t frac = floor_mod(us, US_PER_SEC);
    int64_t days = civil_floor_div(secs, SECS_PER_DAY);
    int64_t sod = floor_mod(secs, SECS_PER_DAY);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    /* Years outside 0000-9999 (not RFC 3339) print wider; the longest
     * int64 case still fits TIME_RFC3339_LEN. */
    int n =
        snprintf(buf, TIME_RFC3339_LEN, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)y, m,
                 d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long long)frac);
    assert(n > 0 && n < TIME_RFC3339_LEN);
    (void)n;
}
