/* bizcal.h — local days and business time for the KPIs.
 *
 * Every KPI is reported per local day in one time zone
 * (CAREBUS_ANALYTICS_TZ), and the "business" variants of the first-response
 * and resolution times count only the department's opening hours
 * (CAREBUS_ANALYTICS_HOURS, minus CAREBUS_ANALYTICS_HOLIDAYS). Local times
 * are converted with the system's time-zone database (localtime_r/mktime
 * under TZ, set once at start), so zones with daylight saving work too.
 *
 * XXX: sla-monitor has its own calendars (per policy); until its calendar
 * code is general enough to move to libcarebus, analytics measures business
 * time with this one department calendar, which also keeps the KPI
 * comparable across segments whose SLAs run on different calendars.
 *
 * Days are int32 counts since 1970-01-01 (local civil date); times are
 * milliseconds since the epoch. Results are cached per day: one process,
 * one calendar.
 */
#ifndef CAREBUS_ANALYTICS_BIZCAL_H
#define CAREBUS_ANALYTICS_BIZCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BIZCAL_MAX_SPANS 4 /* opening intervals per weekday */
#define BIZCAL_MAX_HOLIDAYS 512

typedef struct bizcal bizcal;

/* hours: "mon-fri 08:00-17:00; sat 08:00-12:00" (';' between groups,
 * ',' between a group's intervals, "24/7" for always open); holidays:
 * "2026-01-01,2026-02-16" (may be empty). Sets TZ=tz for the process.
 * NULL with *err (static storage) on a bad value. */
bizcal *bizcal_new(const char *tz, const char *hours, const char *holidays, const char **err);
void bizcal_destroy(bizcal **pc);

/* The local day of a time. */
int32_t bizcal_day(bizcal *c, int64_t at_ms);
/* The UTC time (ms) at which a local day starts. */
int64_t bizcal_day_start(bizcal *c, int32_t day);
/* Business milliseconds in [from, to) (0 when to <= from). */
int64_t bizcal_business_ms(bizcal *c, int64_t from_ms, int64_t to_ms);

/* "YYYY-MM-DD" of a day into out (>= 11 bytes); and back (0 or -1). */
void bizcal_day_format(int32_t day, char *out);
int bizcal_day_parse(const char *s, int32_t *day);

/* A stable text naming the calendar (zone, hours, holidays): stored with
 * the derived state, so that a change of calendar forces a rebuild. */
const char *bizcal_fingerprint(const bizcal *c);
const char *bizcal_tz(const bizcal *c);

#endif
