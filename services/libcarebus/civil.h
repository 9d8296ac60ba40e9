/* civil.h — proleptic Gregorian dates as day numbers: the one place carebus
 * converts between a calendar date and a count of days.
 *
 * A day number counts days since 1970-01-01 (0), negative before it, like
 * PostgreSQL's date counts days since 2000-01-01. Conversions use Howard
 * Hinnant's algorithms ("chrono-Compatible Low-Level Date Algorithms"),
 * exact for every date an int64 can hold. Everything here is pure and
 * thread-safe; time zones are tz.h's, business hours calendar.h's.
 */
#ifndef CAREBUS_CIVIL_H
#define CAREBUS_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* "YYYY-MM-DD" and its NUL. */
#define CIVIL_DATE_LEN 11

/* Floor division (C's / truncates toward zero); d > 0. */
static inline int64_t civil_floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d < 0) ? q - 1 : q;
}

/* The day number of y-m-d (m 1-12, d 1-31; not checked: 2026-02-30 is
 * 2026-03-02). */
int64_t civil_to_days(int64_t y, int m, int d);
/* The date of a day number. */
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* ISO weekday of a day number: 1 (Monday) to 7 (Sunday). */
int civil_iso_weekday(int64_t days);

bool civil_is_leap(int64_t y);
/* 28-31; m 1-12. */
int civil_days_in_month(int64_t y, int m);

/* Parses exactly "YYYY-MM-DD" (years 1900-9999, a date that exists) into
 * a day number. 0, or -1 on anything else (NULL included). */
int civil_date_parse(const char *s, int32_t *days);
/* Formats a day number as "YYYY-MM-DD" into out (CIVIL_DATE_LEN bytes;
 * years outside 0000-9999 are cut short). */
void civil_date_format(int64_t days, char *out);

#endif
