/* retry.h — when the next attempt of a delivery is, or that there is none.
 * Pure functions.
 *
 * Exponential backoff with full jitter (the wait before attempt n+1 is
 * uniform in [0, min(cap, base * 2^(n-1))]), so that deliveries that failed
 * together do not come back together; a provider's Retry-After is a floor,
 * never shortened; and no attempt starts after the delivery's deadline (the
 * cause's recorded time plus the retry window): a retry that would is a
 * give-up instead, with the last attempt's reason.
 */
#ifndef CAREBUS_COURIER_RETRY_H
#define CAREBUS_COURIER_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* The wait in ms after failed_attempts (>= 1) failures: uniform in [0, d]
 * from rnd, d = base_ms * 2^(failed_attempts - 1) capped at max_ms; at
 * least retry_after_ms when that is >= 0. */
int64_t retry_delay_ms(long base_ms, long max_ms, int failed_attempts, int64_t retry_after_ms,
                       uint32_t rnd);

/* The next attempt's time (microseconds), or -1 when it would start after
 * deadline_us: give up. */
int64_t retry_next_at(int64_t now_us, int64_t deadline_us, int64_t delay_ms);

#endif
