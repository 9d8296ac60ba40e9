/* backoff.c — the doubling delay of backoff.h.
 *
 * The delay counts from the end of the failed attempt (now_ms at
 * backoff_fail), not from its start: an attempt that itself took seconds
 * (a COMMIT cut at its bound) is still followed by the whole delay.
 */
#include "backoff.h"

#include <assert.h>

long backoff_next(long prev_ms, long min_ms, long max_ms)
{
    assert(min_ms > 0 && max_ms >= min_ms);
    if (prev_ms < min_ms)
        return min_ms;
    return prev_ms > max_ms / 2 ? max_ms : prev_ms * 2;
}

long backoff_fail(struct backoff *b, int64_t now_ms)
{
    b->delay_ms = backoff_next(b->delay_ms, b->min_ms, b->max_ms);
    b->until_ms = now_ms + b->delay_ms;
    return b->delay_ms;
}

void backoff_reset(struct backoff *b)
{
    b->delay_ms = 0;
    b->until_ms = 0;
}

bool backoff_waiting(const struct backoff *b, int64_t now_ms)
{
    return now_ms < b->until_ms;
}
