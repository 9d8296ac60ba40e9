/* hmap.c — linear probing over a power-of-two table kept at most half full.
 *
 * Each slot keeps its key's hash (folded to 32 bits), so a probe compares
 * keys only when the hashes agree, and growing never hashes a key again.
 * Half full keeps probes short even with a weak hash; the callers' hot maps
 * (the router's batch indexes, analytics' rebuild) are sized by their
 * entities, a few hundred thousand at most.
 */
#include "hmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define HMAP_MIN_CAP 16

uint64_t hmap_hash_bytes(const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = HMAP_FNV_BASIS;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * HMAP_FNV_PRIME;
    return h;
}

static uint32_t hmap_hash(const hmap *m, const void *key, size_t klen)
{
    uint64_t h = m->type && m->type->hash ? m->type->hash(key, klen) : hmap_hash_bytes(key, klen);
    return (uint32_t)(h ^ h >> 32);
}

/* The slot holding key, or the empty slot where it would go. */
static hmap_slot *hmap_find(const hmap *m, const void *key, size_t klen, uint32_t hash)
{
    size_t mask = m->cap - 1;
    bool (*eq)(const void *, const void *, size_t) = m->type ? m->type->eq : NULL;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        hmap_slot *s = &m->slots[i];
        if (!s->key)
            return s;
        if (s->hash == hash && s->klen == klen &&
            (eq ? eq(s->key, key, klen) : memcmp(s->key, key, klen) == 0))
            return s;
    }
}

int hmap_get(const hmap *m, const void *key, size_t klen)
{
    assert(key);
    if (!m->n)
        return HMAP_ABSENT;
    const hmap_slot *s = hmap_find(m, key, klen, hmap_hash(m, key, klen));
    return s->key ? s->value : HMAP_ABSENT;
}

int hmap_gets(const hmap *m, const char *key)
{
    return hmap_get(m, key, strlen(key));
}

static int hmap_resize(hmap *m, size_t cap)
{
    hmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    hmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key)
            continue;
        size_t k = old.slots[i].hash & (cap - 1);
        while (slots[k].key)
            k = (k + 1) & (cap - 1);
        slots[k] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int hmap_reserve(hmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : HMAP_MIN_CAP;
    while (2 * n > cap)
        cap *= 2;
    return cap > m->cap ? hmap_resize(m, cap) : 0;
}

int hmap_put(hmap *m, const void *key, size_t klen, int value)
{
    assert(key && klen <= UINT32_MAX && value != HMAP_ABSENT);
    uint32_t hash = hmap_hash(m, key, klen);
    if (2 * (m->n + 1) > m->cap) {
        /* Replacing needs no room: look before growing. */
        hmap_slot *s = m->n ? hmap_find(m, key, klen, hash) : NULL;
        if (s && s->key) {
            s->value = value;
            return 0;
        }
        if (hmap_reserve(m, m->n + 1) != 0)
            return -1;
    }
    hmap_slot *s = hmap_find(m, key, klen, hash);
    if (!s->key) {
        *s = (hmap_slot){key, (uint32_t)klen, hash, value};
        m->n++;
    }
    s->value = value;
    return 0;
}

int hmap_puts(hmap *m, const char *key, int value)
{
    return hmap_put(m, key, strlen(key), value);
}

size_t hmap_count(const hmap *m)
{
    return m->n;
}

void hmap_release(hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
