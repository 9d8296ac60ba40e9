/* arena.c — chunks of at least 64 kB, bumped; big requests get their own.
 *
 * arena_grow copies into a new block and leaves the old one in place until
 * the release: arrays grow by doubling, so the waste stays under half.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ARENA_CHUNK (64u * 1024u)

struct arena_chunk {
    arena_chunk *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

static void arena_oom(size_t n)
{
    log_error("router: out of memory (%zu bytes): exiting, the log replays the batch", n);
    abort();
}

void *arena_alloc(arena *a, size_t n)
{
    const size_t al = alignof(max_align_t);
    n = (n + al - 1) & ~(al - 1);
    if (n == 0)
        n = al;
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + size);
        if (!c)
            arena_oom(n);
        c->used = 0;
        c->size = size;
        /* A big block goes behind the current chunk, whose room stays
         * usable. */
        if (a->head && n > ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void *arena_calloc(arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        arena_oom(SIZE_MAX);
    void *p = arena_alloc(a, count * size);
    memset(p, 0, count * size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void arena_grow(arena *a, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = arena_calloc(a, ncap, size);
    if (*cap)
        memcpy(np, *p, *cap * size);
    *p = np;
    *cap = ncap;
}

void arena_release(arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
