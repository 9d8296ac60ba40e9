/* timebase.h — the KPIs' local days and business time, at analytics' edge.
 *
 * Every KPI is reported per local day of one time zone
 * (CAREBUS_ANALYTICS_TZ), and the "business" variants of the first-response
 * and resolution times count only opening hours. Both are libcarebus's
 * (tz.h, calendar.h, calendar_config.h): this file picks the calendar from
 * the settings and converts at the edge, where analytics counts
 * milliseconds (the unit of its tables) and days as int32 day numbers
 * (civil.h).
 *
 * Which calendar: by default the SLA's standard one,
 * CAREBUS_ANALYTICS_CALENDAR (default "vn-business") of sla-calendars.json
 * and sla-holidays.json, found as sla-monitor finds them
 * (CAREBUS_SLA_CONFIG_DIR or deploy/config), so that business seconds mean
 * the same in the KPIs as in the SLAs: in the calendar's own zone, as there.
 * CAREBUS_ANALYTICS_HOURS (and CAREBUS_ANALYTICS_HOLIDAYS) set opening hours
 * in CAREBUS_ANALYTICS_TZ directly instead; with neither setting nor file,
 * vn-business's hours without holidays.
 *
 * A timebase is immutable: every query is pure.
 */
#ifndef CAREBUS_ANALYTICS_TIMEBASE_H
#define CAREBUS_ANALYTICS_TIMEBASE_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

typedef struct timebase timebase;

/* From the settings above. NULL (logged) on a bad configuration. Blocks on
 * the file system. */
timebase *timebase_load(void);
/* Days in zone tz, business time on the opening hours and holidays given as
 * text (calendar_config_add_hours and _add_holidays, in tz). NULL on a bad
 * value, with err (errlen bytes) naming its CAREBUS_ANALYTICS_* setting. */
timebase *timebase_new(const char *tz, const char *hours, const char *holidays, char *err,
                       size_t errlen);
/* Days in zone tz, business time on *cal (finished), which it takes over
 * (*cal = NULL) whatever the outcome. NULL with err on a bad zone. */
timebase *timebase_new_calendar(const char *tz, calendar **cal, char *err, size_t errlen);
void timebase_destroy(timebase **ptb);

/* The local day of a time (ms). */
int32_t timebase_day(const timebase *tb, int64_t at_ms);
/* The first instant (ms) of a local day. */
int64_t timebase_day_start(const timebase *tb, int32_t day);
/* Business milliseconds in [from, to) (0 when to <= from). */
int64_t timebase_business_ms(const timebase *tb, int64_t from_ms, int64_t to_ms);

/* A stable text naming what the KPIs depend on (days' zone, opening hours,
 * holidays, the calendar's zone): stored with the derived state, so that a
 * change forces a rebuild. Borrowed. */
const char *timebase_fingerprint(const timebase *tb);
/* The days' zone name (CAREBUS_ANALYTICS_TZ). Borrowed. */
const char *timebase_tz(const timebase *tb);

#endif
