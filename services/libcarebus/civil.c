/* civil.c — day numbers <-> dates (see civil.h).
 *
 * The algorithms shift the year to start on 1 March, so the leap day is the
 * last day of a "year" and month lengths follow a fixed 153-day pattern;
 * eras of 400 years (146097 days) make them exact for negative years too.
 */
#include "civil.h"

#include <stdio.h>

int64_t civil_to_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = civil_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = civil_floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int civil_iso_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t r = (days + 3) % 7;
    if (r < 0)
        r += 7;
    return (int)r + 1;
}

bool civil_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && civil_is_leap(y) ? 29 : dm[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int civil_date_parse(const char *s, int32_t *days)
{
    if (!s)
        return -1;
    /* digits() stops at the first non-digit, so a short string fails
     * before anything is read past its NUL. */
    int y = digits(s, 4);
    if (y < 0 || s[4] != '-')
        return -1;
    int m = digits(s + 5, 2);
    if (m < 0 || s[7] != '-')
        return -1;
    int d = digits(s + 8, 2);
    if (d < 0 || s[10] != '\0')
        return -1;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > civil_days_in_month(y, m))
        return -1;
    *days = (int32_t)civil_to_days(y, m, d);
    return 0;
}

void civil_date_format(int64_t days, char *out)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, CIVIL_DATE_LEN, "%04lld-%02d-%02d", (long long)y, m, d);
}
