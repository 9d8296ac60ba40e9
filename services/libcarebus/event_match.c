/* event_match.c — "*" patterns over event types.
 *
 * The classic wildcard walk: on a mismatch, go back to the last "*" and let
 * it swallow one more character. Linear in practice (types and patterns
 * are at most 64 bytes), never recursive.
 */
#include "event_match.h"

#include <string.h>

#include "vocab.h"

bool event_match(const char *pattern, const char *type)
{
    const char *p = pattern, *t = type;
    const char *star = NULL, *resume = NULL;
    while (*t) {
        if (*p == '*') {
            star = p++;
            resume = t;
        } else if (*p == *t) {
            p++;
            t++;
        } else if (star) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool event_match_any(const char *const *patterns, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (event_match(patterns[i], type))
            return true;
    return false;
}

int event_match_check(const char *pattern, const char **why)
{
    size_t n = pattern ? strlen(pattern) : 0;
    if (n == 0 || n > EVENT_MATCH_MAX ||
        strspn(pattern, "abcdefghijklmnopqrstuvwxyz0123456789_.*") != n) {
        *why = "must be 1 to 64 characters of a-z, 0-9, \"_\", \".\" and \"*\"";
        return -1;
    }
    for (size_t i = 0; i < vocab_event_type_count(); i++)
        if (event_match(pattern, vocab_event_type(vocab_event_type_at(i))))
            return 0;
    *why = "matches no event type";
    return -1;
}

size_t event_match_types(const char *const *patterns, size_t n, const char **out, size_t cap)
{
    size_t got = 0;
    for (size_t i = 0; i < vocab_event_type_count() && got < cap; i++) {
        const char *type = vocab_event_type(vocab_event_type_at(i));
        if (event_match_any(patterns, n, type))
            out[got++] = type;
    }
    return got;
}
