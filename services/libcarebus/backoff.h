/* backoff.h — a bounded, growing delay between attempts that keep failing.
 *
 * The delay starts at a floor, doubles with each failure up to a cap, and
 * is forgotten at the first success: a short blip costs one short wait, an
 * outage settles at one attempt per cap. The rule is a pure function
 * (backoff_next); the state is a plain struct for the caller's object to
 * hold (the database connection's reconnects and its cut commits: db.c).
 * Nothing here sleeps: the caller asks whether it is waiting, and its loop
 * goes on serving meanwhile.
 */
#ifndef CAREBUS_BACKOFF_H
#define CAREBUS_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Set min_ms and max_ms, zero the rest: (struct backoff){.min_ms = .., .max_ms = ..}. */
struct backoff {
    long min_ms, max_ms; /* the floor and the cap */
    long delay_ms;       /* the last delay; 0: no failure since the last success */
    int64_t until_ms;    /* no attempt before this (monotonic ms) */
};

/* The delay after a failure that followed a delay of prev_ms (0: the first
 * failure): min_ms, then twice the previous, at most max_ms. Pure. */
long backoff_next(long prev_ms, long min_ms, long max_ms);

/* A failure at now_ms: waits the next delay from now. Returns that delay. */
long backoff_fail(struct backoff *b, int64_t now_ms);

/* A success: the next failure waits the floor again. */
void backoff_reset(struct backoff *b);

/* Whether an attempt at now_ms should wait still. */
bool backoff_waiting(const struct backoff *b, int64_t now_ms);

#endif
