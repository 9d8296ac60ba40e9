/* hmap.c — linear probing over a power-of-two table kept at most half full.
 * FNV-1a: the keys are short (UUIDs, handles, team names). */
#include "hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static uint64_t hmap_hash(const char *key, size_t klen)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < klen; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211u;
    }
    return h;
}

static hmap_slot *hmap_find(const hmap *m, const char *key, size_t klen)
{
    size_t mask = m->cap - 1;
    for (size_t i = hmap_hash(key, klen) & mask;; i = (i + 1) & mask) {
        hmap_slot *s = &m->slots[i];
        if (!s->key || (s->klen == klen && memcmp(s->key, key, klen) == 0))
            return s;
    }
}

int hmap_get(const hmap *m, const char *key, size_t klen)
{
    if (!m->cap)
        return -1;
    hmap_slot *s = hmap_find(m, key, klen);
    return s->key ? s->value : -1;
}

int hmap_gets(const hmap *m, const char *key)
{
    return hmap_get(m, key, strlen(key));
}

static void hmap_resize(hmap *m, size_t cap)
{
    hmap old = *m;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        log_error("router: out of memory growing an index: exiting, the log replays the batch");
        abort();
    }
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *hmap_find(m, old.slots[i].key, old.slots[i].klen) = old.slots[i];
    free(old.slots);
}

void hmap_put(hmap *m, const char *key, size_t klen, int value)
{
    if (2 * (m->n + 1) > m->cap)
        hmap_resize(m, m->cap ? 2 * m->cap : 64);
    hmap_slot *s = hmap_find(m, key, klen);
    if (!s->key) {
        s->key = key;
        s->klen = klen;
        m->n++;
    }
    s->value = value;
}

void hmap_puts(hmap *m, const char *key, int value)
{
    hmap_put(m, key, strlen(key), value);
}

void hmap_release(hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
