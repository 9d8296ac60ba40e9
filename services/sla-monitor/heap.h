/* heap.h — the upcoming SLA deadlines in memory: a binary min-heap.
 *
 * One 32-byte entry per timer (when, which ticket, which target and cycle),
 * no side tables: a million open timers cost 32 MB. Entries are hints, not
 * truth: the row in sla.targets decides what fires when an entry comes due,
 * so a deadline that moved or was met simply leaves a stale entry that
 * fires into nothing (lazy deletion, no lookup structure to keep in sync).
 * Duplicates are as harmless.
 */
#ifndef CAREBUS_SLA_HEAP_H
#define CAREBUS_SLA_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sla_timer {
    int64_t at;         /* microseconds since the epoch */
    uint8_t ticket[16]; /* the ticket's UUID, binary */
    uint32_t cycle;
    uint8_t target; /* Carebus__V1__SlaTarget */
    uint8_t pad[3];
};
_Static_assert(sizeof(struct sla_timer) == 32, "a timer is 32 bytes");

typedef struct sla_heap {
    struct sla_timer *v;
    size_t n, cap;
} sla_heap;

/* Room for at least cap entries in total. -1 on allocation failure. */
int sla_heap_reserve(sla_heap *h, size_t cap);
/* -1 on allocation failure (the entry is not added). */
int sla_heap_push(sla_heap *h, const struct sla_timer *t);
/* The earliest entry, NULL when empty (borrowed until the next change). */
const struct sla_timer *sla_heap_top(const sla_heap *h);
/* Removes the earliest entry into *out. false when empty. */
bool sla_heap_pop(sla_heap *h, struct sla_timer *out);
void sla_heap_release(sla_heap *h);

#endif
