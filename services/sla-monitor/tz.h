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
 * so that the SQL side of the calendars (sla.business_secs_between) agrees
 * with this one to the microsecond: in a gap the offset from before the
 * transition applies, in an overlap the offset from after it.
 */
#ifndef CAREBUS_SLA_TZ_H
#define CAREBUS_SLA_TZ_H

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
void tz_free(tz **pz);

/* Borrowed. */
const char *tz_name(const tz *z);

/* Seconds east of UTC in effect at the UTC instant t (epoch seconds). */
int32_t tz_offset(const tz *z, int64_t t);
/* The UTC instant (epoch seconds) of local wall time `local` (seconds since
 * 1970-01-01T00:00 local), resolved as described above. */
int64_t tz_local_to_utc(const tz *z, int64_t local);

/* Proleptic Gregorian calendar helpers (Howard Hinnant's algorithms):
 * days since 1970-01-01 <-> y-m-d (m 1-12); ISO weekday 1 (Monday) to 7. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int tz_iso_weekday(int64_t days);

/* Floor division (C's / truncates toward zero). */
static inline int64_t tz_floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && ((a < 0) != (d < 0))) ? q - 1 : q;
}

#endif
