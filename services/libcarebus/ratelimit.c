/* ratelimit.c — token bucket arithmetic. */
#include "ratelimit.h"

#include <math.h>

long ratelimit_take(struct ratelimit *b, const struct ratelimit_conf *c, int64_t now_us)
{
    if (c->rate <= 0)
        return 0;
    if (b->last_us == 0) {
        b->tokens = c->burst;
    } else if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * c->rate / 1e6;
        if (b->tokens > c->burst)
            b->tokens = c->burst;
    }
    /* A clock that did not move (or a caller's older reading) adds nothing. */
    if (now_us > b->last_us || b->last_us == 0)
        b->last_us = now_us;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = ceil((1.0 - b->tokens) / c->rate);
    return wait < 1 ? 1 : wait > 86400 ? 86400 : (long)wait;
}
