/* arena.h — per-batch memory: many small allocations, one release.
 *
 * The router builds a model of the state a batch touches and throws it
 * away after the batch; every string and array of that model lives in one
 * arena. Allocation failure is fatal (logged, abort): the batch's
 * transaction dies with the process and the supervisor's restart replays it
 * from the log, which is what a rollback would have done.
 */
#ifndef CAREBUS_ROUTER_ARENA_H
#define CAREBUS_ROUTER_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

#define ARENA_INIT                                                                                 \
    {                                                                                              \
        NULL                                                                                       \
    }

/* n bytes aligned for any type; never NULL. */
void *arena_alloc(arena *a, size_t n);
/* Zeroed. */
void *arena_calloc(arena *a, size_t count, size_t size);
/* Copies; NULL stays NULL. */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* Grows *p (of *cap elements of size) to hold need elements. */
void arena_grow(arena *a, void **p, size_t *cap, size_t need, size_t size);
/* Frees everything; the arena can be used again. */
void arena_release(arena *a);

#endif
