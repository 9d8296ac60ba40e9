/* lockout.c — the sign-in lockout's rule (lockout.h). */
#include "lockout.h"

#include <math.h>

long lockout_wait_s(long failures, double since_last_s, long max_failures, long lockout_s)
{
    if (failures < max_failures || !(since_last_s < (double)lockout_s))
        return 0;
    if (since_last_s < 0)
        since_last_s = 0;
    /* Whole seconds, rounded up: Retry-After never says too early. */
    return (long)ceil((double)lockout_s - since_last_s);
}
