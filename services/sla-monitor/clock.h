/* clock.h — sla-monitor's time source: the real clock, or one a test drives.
 *
 * CAREBUS_SLA_CLOCK selects it:
 *   real          (default) the system's CLOCK_REALTIME;
 *   file:<path>   the time written in <path> (RFC 3339, or microseconds since
 *                 the epoch), standing still until the file changes. The
 *                 service watches the file with inotify, so a test that
 *                 writes a new time sees warnings and breaches fire at that
 *                 instant, not at the next poll. For tests only.
 *
 * Waking: sla_clock_arm(c, at, retry_ms) asks for the callback once the
 * clock reaches `at`, or retry_ms real milliseconds from now, whichever
 * comes first. The real clock uses a timerfd on CLOCK_REALTIME with an
 * absolute expiry (so it follows wall-clock steps, like the deadlines); the
 * file clock calls back when the file's time moves. The callback may fire
 * early (it must check the time itself), never late.
 */
#ifndef CAREBUS_SLA_CLOCK_H
#define CAREBUS_SLA_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

typedef struct sla_clock sla_clock;

typedef void (*sla_clock_fn)(void *arg);

/* spec: "real", "file:<path>" (NULL or "": real). NULL with *err (static
 * storage) when the spec is unknown or the file cannot be read or parsed. */
sla_clock *sla_clock_new(const char *spec, const char **err);
void sla_clock_destroy(sla_clock **pc);

bool sla_clock_is_real(const sla_clock *c);
/* Microseconds since the epoch. */
int64_t sla_clock_now(const sla_clock *c);

/* Registers its descriptors with the loop; fn(arg) runs when an armed time
 * is reached or the file clock moves. 0 or -1. */
int sla_clock_attach(sla_clock *c, loop *l, sla_clock_fn fn, void *arg);
/* at: INT64_MAX for none; retry_ms < 0 for none. */
void sla_clock_arm(sla_clock *c, int64_t at, long retry_ms);

/* Re-reads the file clock (also done on each inotify event). 1 when the time
 * changed, 0 when not, -1 when the file is unreadable (the time stays). */
int sla_clock_reload(sla_clock *c);

#endif
