/* list_cursor.h — where a page of a list ends: the keyset cursor.
 *
 * A list is read in the order of its sort key, and a page's cursor holds
 * the key of the page's last row (the sort's values and, last, the row's
 * id): the next page is the rows after that key, found through an index
 * rather than counted (no OFFSET), so a cursor stays correct while rows
 * are added or removed. A row whose own key changes while a client pages
 * moves in the order (seen again, or not, on the next pages).
 *
 * A cursor names its order ("queue", "updated" ...): one of another order
 * is refused. Its values are typed: 'i' a 64-bit integer (times are
 * microseconds since the epoch), 'r' a real (a search rank, PostgreSQL's
 * float4), 'u' a UUID, 't' text (at most LIST_CURSOR_TEXT_MAX bytes).
 *
 * On the wire it is opaque: base64url (no padding) of "v1;<order>" and,
 * per value, ";" and its type letter followed by the value: an integer in
 * decimal without leading zeros, a real as "%.9g" writes it, a UUID in
 * lower case, text as its decimal length, ":" and its bytes. Decoding is
 * strict (one spelling per cursor, the order's types exactly): anything
 * else is refused, and the list answers 400 naming "cursor". Pure
 * functions.
 */
#ifndef LIST_CURSOR_H
#define LIST_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base64url.h"

#define LIST_CURSOR_KEYS 4
#define LIST_CURSOR_ORDER_MAX 16 /* an order's name, the NUL included */
#define LIST_CURSOR_TEXT_MAX 1024
/* The text form's longest: "v1;" and the order, then per value ";", a
 * type letter and the longest value (text: 4 digits, ":" and its bytes). */
#define LIST_CURSOR_TEXT_LEN                                                                       \
    (3 + LIST_CURSOR_ORDER_MAX + LIST_CURSOR_KEYS * (2 + 4 + 1 + LIST_CURSOR_TEXT_MAX))
/* The encoded cursor's longest form, the NUL included. */
#define LIST_CURSOR_MAX (BASE64URL_LEN(LIST_CURSOR_TEXT_LEN) + 1)
/* A value as an SQL parameter: text, or the longest number or UUID. */
#define LIST_CURSOR_PARAM_MAX (LIST_CURSOR_TEXT_MAX + 1)

struct list_key {
    char type; /* 'i', 'r', 'u', 't' */
    int64_t i;
    float r;
    char text[LIST_CURSOR_TEXT_MAX + 1]; /* 'u': the UUID; 't': the text */
};

struct list_cursor {
    char order[LIST_CURSOR_ORDER_MAX];
    size_t n;
    struct list_key keys[LIST_CURSOR_KEYS];
};

/* Starts a cursor of order (1 to LIST_CURSOR_ORDER_MAX - 1 lower-case
 * letters and "_", asserted) for values of types ("iiu": one letter per
 * value, at most LIST_CURSOR_KEYS, asserted); set each with
 * list_cursor_set. */
void list_cursor_init(struct list_cursor *c, const char *order, const char *types);

/* Value i (its type given at init) from its text as PostgreSQL writes it
 * (a bigint, a real, a uuid, text). 0, or -1 when the text is not such a
 * value (out of range, not finite, too long, not a canonical UUID). */
int list_cursor_set(struct list_cursor *c, size_t i, const char *text);

/* Value i as an SQL parameter (the form list_cursor_set reads) in out. */
const char *list_cursor_param(const struct list_cursor *c, size_t i,
                              char out[LIST_CURSOR_PARAM_MAX]);

/* Writes the encoded cursor into out; returns its length. Every value must
 * have been set. */
size_t list_cursor_encode(const struct list_cursor *c, char out[LIST_CURSOR_MAX]);

/* Reads an encoded cursor (NUL-terminated) that must be of order with
 * values of types. 0, or -1 when it is not one list_cursor_encode wrote
 * for them. */
int list_cursor_decode(const char *s, const char *order, const char *types, struct list_cursor *c);

#endif
