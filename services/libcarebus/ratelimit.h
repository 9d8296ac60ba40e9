/* ratelimit.h — a token bucket per API key.
 *
 * A bucket holds up to `burst` tokens and gains `rate` per second; each
 * request takes one. Pure arithmetic on the caller's clock (no syscalls, no
 * allocation): the caller passes the monotonic time, so the tests can too.
 */
#ifndef CAREBUS_RATELIMIT_H
#define CAREBUS_RATELIMIT_H

#include <stdint.h>

struct ratelimit_conf {
    double rate;  /* tokens per second; 0: unlimited */
    double burst; /* bucket size, at least 1 */
};

struct ratelimit {
    double tokens;
    int64_t last_us; /* 0: never used (the bucket starts full) */
};

/* Takes a token at now_us (monotonic). 0 when allowed; otherwise the whole
 * seconds (at least 1) until a token will be there: the Retry-After. */
long ratelimit_take(struct ratelimit *b, const struct ratelimit_conf *c, int64_t now_us);

#endif
