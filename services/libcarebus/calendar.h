/* calendar.h — business-hours calendars: carebus's one business-time module.
 *
 * A calendar is a time zone, weekly opening hours (up to CALENDAR_MAX_SPANS
 * spans a day, e.g. 08:00-12:00 and 13:00-17:30) and holidays (whole local
 * dates, closed), or "always open" (24/7). Business time is the real time
 * that elapses inside opening spans: a span is converted to UTC instants on
 * its own local date, so a span across a daylight-saving change is as long
 * as it really is (01:00-05:00 is three hours on the spring-forward night).
 *
 * Instants and durations are microseconds since the epoch (UTC), like every
 * time in carebus; a caller counting in other units converts at its edge.
 * A deadline is the earliest instant at which the budget is used up: 1 hour
 * added at 16:30 to a day that closes at 17:30 gives 17:30, not the next
 * opening. The same arithmetic exists in SQL (sla.business_us_between in
 * deploy/migrations/0030_sla.sql) for the API and BI;
 * tests/unit/libcarebus/test_calendar_sql.c holds the two equal.
 *
 * Calendars are built here span by span, or from configuration by
 * calendar_config.h. After calendar_finish a calendar is immutable; every
 * function below is pure and may be called from any thread.
 */
#ifndef CAREBUS_CALENDAR_H
#define CAREBUS_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define CALENDAR_MAX_SPANS 4
#define CALENDAR_ID_MAX 64
/* How far arithmetic searches for open time before giving up (a calendar
 * must open at least once a week, so only holidays can exhaust this). */
#define CALENDAR_MAX_DAYS (366 * 5)
/* An answer for "never": calendar_add_business_* found no open time. */
#define CALENDAR_NEVER INT64_MAX

struct calendar_span {
    int32_t open, close; /* seconds after local midnight, 0 <= open < close <= 86400 */
};

typedef struct calendar {
    char id[CALENDAR_ID_MAX];
    tz *zone; /* owned */
    bool always_open;
    struct calendar_span week[7][CALENDAR_MAX_SPANS]; /* [ISO weekday - 1] */
    int nspans[7];
    int64_t *holidays; /* local dates (civil.h day numbers), sorted, unique */
    size_t nholidays, capholidays;
} calendar;

/* A calendar in zone_name (NULL: CALENDAR_DEFAULT_ZONE), closed at all
 * times until spans are added. NULL with *err set (static storage) when
 * the zone does not load or memory runs out. */
#define CALENDAR_DEFAULT_ZONE "Asia/Ho_Chi_Minh"
calendar *calendar_new(const char *id, const char *zone_name, bool always_open, const char **err);
void calendar_destroy(calendar **pc);

/* weekday 1 (Monday) to 7; open/close as seconds after local midnight.
 * -1 when out of range, overlapping another span of the day, or the day
 * is full. */
int calendar_add_span(calendar *c, int weekday, int32_t open, int32_t close);
/* Drops the spans of a weekday (1-7), for a setting that replaces them. */
void calendar_clear_day(calendar *c, int weekday);
/* A closed local date. -1 on a bad date or out of memory. Holidays do not
 * close an always-open calendar (as in SQL). */
int calendar_add_holiday(calendar *c, int64_t y, int m, int d);
/* The same by day number. -1 out of memory. */
int calendar_add_holiday_day(calendar *c, int64_t day);
/* Sorts the holidays; -1 (with *err) when the calendar never opens. */
int calendar_finish(calendar *c, const char **err);

bool calendar_is_holiday(const calendar *c, int64_t local_day);
/* True when t (us) is inside an opening span. */
bool calendar_is_open(const calendar *c, int64_t t_us);

/* The instant at which dur_us of business time has elapsed after t_us
 * (dur_us <= 0: t_us). CALENDAR_NEVER when no open time is found within
 * CALENDAR_MAX_DAYS. */
int64_t calendar_add_business_us(const calendar *c, int64_t t_us, int64_t dur_us);
/* Business time from a_us to b_us (negative when b_us < a_us). */
int64_t calendar_business_us_between(const calendar *c, int64_t a_us, int64_t b_us);

#endif
