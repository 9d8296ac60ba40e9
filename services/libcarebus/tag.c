/* tag.c — see tag.h. Sets are small (TAG_SET_MAX): sorted arrays, searched
 * linearly, are all they need. */
#include "tag.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static bool blank_byte(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

int tag_normalise(const char *in, char out[TAG_MAX + 1])
{
    out[0] = '\0';
    if (!in)
        return -1;
    while (blank_byte(*in))
        in++;
    size_t len = strlen(in);
    while (len > 0 && blank_byte(in[len - 1]))
        len--;
    if (len == 0 || !utf8_valid(in, len))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (blank_byte(c)) {
            while (i + 1 < len && blank_byte(in[i + 1]))
                i++;
            c = '_';
        } else if ((unsigned char)c < 0x20 || c == 0x7f || c == ',') {
            return -1;
        } else if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (n == TAG_MAX)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static bool in_set(const char *const *set, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], s) == 0)
            return true;
    return false;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t tag_set_apply(const char *const *cur, size_t n, const char *const *add, size_t nadd,
                     const char *const *remove, size_t nremove, const char **out, size_t cap,
                     size_t *dropped)
{
    size_t k = 0, lost = 0;
    size_t room = cap < TAG_SET_MAX ? cap : TAG_SET_MAX;
    for (size_t i = 0; i < n + nadd; i++) {
        const char *t = i < n ? cur[i] : add[i - n];
        if (!t || !t[0] || in_set(out, k, t) || in_set(remove, nremove, t))
            continue;
        if (k == room) {
            lost++;
            continue;
        }
        out[k++] = t;
    }
    qsort(out, k, sizeof *out, by_bytes);
    if (dropped)
        *dropped = lost;
    return k;
}
