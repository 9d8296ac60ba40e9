/* placeholder.c — see placeholder.h. */
#include "placeholder.h"

#include <stdio.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz_"

/* The length of the placeholder's name at p ("{" at p[0]), 0 when the
 * brace opens none. */
static size_t name_len(const char *p)
{
    size_t n = strspn(p + 1, NAME_CHARS);
    return n > 0 && p[1 + n] == '}' ? n : 0;
}

int placeholder_check(const char *text, const char *const *known, size_t n,
                      char bad[PLACEHOLDER_NAME_MAX + 1])
{
    bad[0] = '\0';
    for (const char *p = text ? strchr(text, '{') : NULL; p; p = strchr(p + 1, '{')) {
        size_t len = name_len(p);
        if (len == 0)
            continue;
        size_t i = 0;
        while (i < n && !(strlen(known[i]) == len && memcmp(known[i], p + 1, len) == 0))
            i++;
        if (i == n) {
            snprintf(bad, PLACEHOLDER_NAME_MAX + 1, "%.*s", (int)len, p + 1);
            return -1;
        }
    }
    return 0;
}

void placeholder_render(const char *text, const struct placeholder *vals, size_t n, buf *out)
{
    for (const char *p = text ? text : ""; *p;) {
        size_t len = *p == '{' ? name_len(p) : 0;
        size_t i = 0;
        while (len && i < n &&
               !(strlen(vals[i].name) == len && memcmp(vals[i].name, p + 1, len) == 0))
            i++;
        if (len && i < n) {
            buf_puts(out, vals[i].value ? vals[i].value : "");
            p += len + 2;
            continue;
        }
        size_t k = strcspn(p + 1, "{") + 1;
        buf_append(out, p, k);
        p += k;
    }
}
