/* tz.h — time zones from the system's tz database, without TZ or tzset().
 *
 * localtime_r() under setenv("TZ") is process-global, not thread-safe and
 * re-reads the zone file on every switch, which several calendars side by
 * side would do constantly. So a zone is read once from its TZif file
 * (RFC 8536, /usr/share/zoneinfo/<name>, version 2+): its UTC offset
 * transitions, plus the POSIX TZ footer rule expanded into explicit
 * transitions up to TZ_LAST_YEAR. After loading, a zone is immutable: every
 * query is a binary search, pure and safe from any thread.
 *
 * Local times that do not exist (a spring-forward gap) or exist twice (a
 * fall-back) are resolved as PostgreSQL resolves `timestamp AT TIME ZONE`,
 * so that the SQL side of the calendars (sla.business_us_between) agrees
 * with this one to the microsecond: in a gap the offset from before the
 * transition applies, in an overlap the offset from after it.
 *
 * Zone data is whole seconds, so tz_offset and tz_local_to_utc take epoch
 * seconds; the local-day functions take and give carebus's microseconds.
 */
#ifndef CAREBUS_TZ_H
#define CAREBUS_TZ_H

#include <stddef.h>
#include <stdint.h>

/* Footer rules are expanded up to the end of this year; later instants keep
 * the last offset. */
#define TZ_LAST_YEAR 2100
#define TZ_DIR "/usr/share/zoneinfo"

typedef struct tz tz;

/* Loads TZ_DIR/<name> ("Asia/Ho_Chi_Minh"). NULL when the name is not a
 * plain zone name, the file is missing or is not valid TZif v2+; *err
 * (static storage) then says why. */
tz *tz_load(const char *name, const char **err);
/* The same from the bytes of a TZif file (for tests). */
tz *tz_parse(const char *name, const uint8_t *data, size_t len, const char **err);
void tz_destroy(tz **pz);

/* Borrowed. */
const char *tz_name(const tz *z);

/* Seconds east of UTC in effect at the UTC instant t (epoch seconds). */
int32_t tz_offset(const tz *z, int64_t t);
/* The UTC instant (epoch seconds) of local wall time `local` (seconds since
 * 1970-01-01T00:00 local), resolved as described above. */
int64_t tz_local_to_utc(const tz *z, int64_t local);

/* The local date (civil.h day number) of the instant t_us. */
int64_t tz_local_day(const tz *z, int64_t t_us);
/* The first instant (us) of local date `day`: its midnight (the first one
 * when a fall-back repeats it), or the end of a daylight-saving gap that
 * swallows it. tz_local_day(z, tz_day_start_us(z, d)) == d. */
int64_t tz_day_start_us(const tz *z, int64_t day);

#endif
