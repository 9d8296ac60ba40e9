/* hmap.h — string keys to ints, open addressing (the router's indexes).
 *
 * Keys are borrowed: they must outlive the map (the router's live in the
 * batch's arena). Values are indexes into the caller's arrays.
 */
#ifndef CAREBUS_ROUTER_HMAP_H
#define CAREBUS_ROUTER_HMAP_H

#include <stddef.h>

typedef struct hmap_slot {
    const char *key;
    size_t klen;
    int value;
} hmap_slot;

typedef struct hmap {
    hmap_slot *slots;
    size_t cap, n;
} hmap;

#define HMAP_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* The value of key (klen bytes), or -1. */
int hmap_get(const hmap *m, const char *key, size_t klen);
int hmap_gets(const hmap *m, const char *key);
/* Sets key's value (replacing any). Allocation failure is fatal. */
void hmap_put(hmap *m, const char *key, size_t klen, int value);
void hmap_puts(hmap *m, const char *key, int value);
void hmap_release(hmap *m);

#endif
