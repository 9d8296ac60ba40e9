/* lockout.c — the sign-in lockout's rule (lockout.h). */
#include "lockout.h"

#include <math.h>

long lockout_wait_s(long attempt, double since_last_s, long max_failures, long lockout_s)
{
    if (attempt <= max_failures)
        return 0;
    if (since_last_s < 0)
        since_last_s = 0; /* a clock stepped back: the whole time */
    /* Whole seconds, rounded up, at least one: Retry-After never says too
     * early (past the time, the attempt would have counted from one). */
    long wait = (long)ceil((double)lockout_s - since_last_s);
    return wait > 0 ? wait : 1;
}
