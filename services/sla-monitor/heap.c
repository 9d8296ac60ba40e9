/* heap.c — array binary heap ordered by `at` (ties in any order).
 *
 * Pushing entries in ascending order (the start-up load reads them sorted)
 * never sifts: each new leaf is already not earlier than its parent, so
 * loading a million timers is a linear copy.
 */
#include "heap.h"

#include <stdlib.h>

int sla_heap_reserve(sla_heap *h, size_t cap)
{
    if (cap <= h->cap)
        return 0;
    struct sla_timer *v = realloc(h->v, cap * sizeof *v);
    if (!v)
        return -1;
    h->v = v;
    h->cap = cap;
    return 0;
}

int sla_heap_push(sla_heap *h, const struct sla_timer *t)
{
    if (h->n == h->cap && sla_heap_reserve(h, h->cap ? h->cap * 2 : 1024) != 0)
        return -1;
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent].at <= t->at)
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = *t;
    return 0;
}

const struct sla_timer *sla_heap_top(const sla_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

bool sla_heap_pop(sla_heap *h, struct sla_timer *out)
{
    if (!h->n)
        return false;
    *out = h->v[0];
    struct sla_timer last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->v[c + 1].at < h->v[c].at)
            c++;
        if (last.at <= h->v[c].at)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n)
        h->v[i] = last;
    return true;
}

void sla_heap_release(sla_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
