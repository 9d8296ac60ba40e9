/* retry.c — backoff with full jitter, Retry-After as a floor, the deadline.
 *
 * Full jitter (AWS's "Exponential Backoff And Jitter") spreads a burst of
 * failures over the whole window instead of around its end; the expected
 * wait is half the window's size, which is why the base is doubled per
 * attempt rather than grown faster.
 */
#include "retry.h"

int64_t retry_delay_ms(long base_ms, long max_ms, int failed_attempts, int64_t retry_after_ms,
                       uint32_t rnd)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < failed_attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t wait = (int64_t)((uint64_t)rnd % (uint64_t)(d + 1));
    return retry_after_ms > wait ? retry_after_ms : wait;
}

int64_t retry_next_at(int64_t now_us, int64_t deadline_us, int64_t delay_ms)
{
    int64_t at = now_us + delay_ms * 1000;
    return at > deadline_us ? -1 : at;
}
