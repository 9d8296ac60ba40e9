/* timeutil.h — wall-clock time as int64 microseconds since the epoch, and
 * RFC 3339 parsing and formatting (the only time format of the API). */
#ifndef CAREBUS_TIMEUTIL_H
#define CAREBUS_TIMEUTIL_H

#include <stdint.h>

int64_t time_now_us(void);
/* Monotonic milliseconds, for timers and backoff; microseconds, for
 * durations. */
int64_t time_mono_ms(void);
int64_t time_mono_us(void);

/* Parses "2026-11-23T09:00:00+07:00", "...Z", with optional fraction.
 * 0 or -1. */
int time_parse_rfc3339(const char *s, int64_t *us);

/* Formats as UTC "2026-11-23T02:00:00.123456Z" into buf (>= 32 bytes). */
#define TIME_RFC3339_LEN 32
void time_format_rfc3339(int64_t us, char *buf);

#endif
