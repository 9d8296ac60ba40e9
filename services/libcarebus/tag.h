/* tag.h — a ticket's tags: how one is spelled, and how a set changes.
 *
 * A tag is what an agent types ("VIP", "đổi trả", " late delivery "),
 * normalised once so that the same word is the same tag everywhere (the
 * API that takes it, the router that keeps it, the lists that filter by
 * it): blanks trimmed, inner runs of blanks one "_", ASCII letters in
 * lower case (other letters as written: Vietnamese is kept), 1 to TAG_MAX
 * bytes of well-formed UTF-8 without control characters or commas. A
 * ticket's tags are a set, kept sorted (byte order) so that the same set
 * always reads the same. Pure functions.
 */
#ifndef CAREBUS_TAG_H
#define CAREBUS_TAG_H

#include <stddef.h>

#define TAG_MAX 64         /* bytes of one tag */
#define TAG_SET_MAX 50     /* tags on one ticket */
#define TAG_REQUEST_MAX 50 /* tags one request adds or removes */

/* in, normalised, into out. 0, or -1 when nothing is left or what is left
 * is not a tag (too long, a control character or a comma, ill-formed
 * UTF-8). */
int tag_normalise(const char *in, char out[TAG_MAX + 1]);

/* The set cur (n tags, sorted and unique as this module keeps them) with
 * add's tags added and then remove's removed (both normalised already;
 * repeats are harmless), sorted, into out (cap entries; the strings are
 * borrowed from cur, add). Adding stops at TAG_SET_MAX tags: *dropped (may
 * be NULL) counts what did not fit. Returns the new count. */
size_t tag_set_apply(const char *const *cur, size_t n, const char *const *add, size_t nadd,
                     const char *const *remove, size_t nremove, const char **out, size_t cap,
                     size_t *dropped);

#endif
