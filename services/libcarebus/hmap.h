/* hmap.h — the hash map: borrowed keys to int values, open addressing.
 *
 * The caller keeps each key in place while the map holds it (an arena, an
 * entity, a static table). Values are the caller's ints, most often indexes
 * into its own array; HMAP_ABSENT (-1) means "not there". Nothing is ever
 * removed (no user needs it; tombstones would lengthen every probe). A key
 * is a byte string, hashed with FNV-1a and compared with memcmp, unless the
 * map has an hmap_type: its functions then get the key pointers as passed
 * (a struct of several fields, a secret compared in constant time). Not
 * thread-safe: a shared map is locked by its owner.
 */
#ifndef CAREBUS_HMAP_H
#define CAREBUS_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAP_ABSENT (-1)

typedef struct hmap_type {
    /* NULL: FNV-1a of the klen bytes (hmap_hash_bytes). */
    uint64_t (*hash)(const void *key, size_t klen);
    /* NULL: memcmp. Called only for keys of equal klen and hash. */
    bool (*eq)(const void *stored, const void *key, size_t klen);
} hmap_type;

typedef struct hmap_slot {
    const void *key; /* NULL: empty */
    uint32_t klen;
    uint32_t hash;
    int value;
} hmap_slot;

typedef struct hmap {
    const hmap_type *type; /* NULL: byte-string keys */
    hmap_slot *slots;
    size_t cap, n;
} hmap;

#define HMAP_INIT {NULL, NULL, 0, 0}
/* A map of keys of type t (a const hmap_type *). */
#define HMAP_INIT_TYPE(t) {(t), NULL, 0, 0}

/* FNV-1a, 64 bits: the default hash. A typed map's hash may build on it,
 * or fold several fields into one pass with its basis and prime. */
#define HMAP_FNV_BASIS UINT64_C(1469598103934665603)
#define HMAP_FNV_PRIME UINT64_C(1099511628211)
uint64_t hmap_hash_bytes(const void *key, size_t klen);

/* The value of key (klen bytes; a non-NULL pointer), or HMAP_ABSENT. */
int hmap_get(const hmap *m, const void *key, size_t klen);
int hmap_gets(const hmap *m, const char *key);

/* Sets key's value, replacing any; the map keeps the pointer given when the
 * key was first put. 0, or -1 when out of memory (the map is unchanged). */
int hmap_put(hmap *m, const void *key, size_t klen, int value);
int hmap_puts(hmap *m, const char *key, int value);

/* Makes room for n keys in all, so that puts up to n never allocate (and
 * never fail). 0 or -1. */
int hmap_reserve(hmap *m, size_t n);

size_t hmap_count(const hmap *m);

/* Frees the table; the map is empty and usable again, with its type. */
void hmap_release(hmap *m);

#endif
