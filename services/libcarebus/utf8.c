/* utf8.c — the UTF-8 decoder and its uses (see utf8.h).
 *
 * The lead byte fixes the length and the smallest code point that length
 * may carry: a smaller one is an overlong form. 0xC0, 0xC1 and 0xF5..0xFF
 * can never start a well-formed character; they fail the same range checks.
 */
#include "utf8.h"

#include <assert.h>
#include <string.h>

size_t utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    assert(n >= 1);
    const unsigned char *s = (const unsigned char *)str;
    size_t len;
    uint32_t c, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1Fu, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0Fu, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07u, min = 0x10000;
    } else {
        goto invalid; /* a continuation byte, or 0xF8..0xFF */
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n || (s[i] & 0xC0) != 0x80)
            goto invalid;
        c = c << 6 | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = UTF8_REPLACEMENT;
    return 0;
}

bool utf8_valid(const char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        /* ASCII needs no call: most text is mostly ASCII, skipped eight
         * bytes at a time (the rows every service writes pass here). */
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), !(w & UINT64_C(0x8080808080808080)))) {
            i += 8;
            continue;
        }
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

size_t utf8_count(const char *s, size_t n)
{
    /* Well-formed text: every byte but a continuation byte starts one. */
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

size_t utf8_copy(char *dst, size_t cap, const char *src, const char *repl)
{
    assert(cap >= 1);
    size_t rl = strlen(repl), o = 0;
    uint32_t cp;
    for (const char *p = src ? src : ""; *p;) {
        /* SIZE_MAX: the decoder stops at the NUL by itself (see utf8.h). */
        size_t len = utf8_decode(p, SIZE_MAX, &cp);
        const char *from = len ? p : repl;
        size_t out = len ? len : rl;
        if (o + out >= cap)
            break;
        memcpy(dst + o, from, out);
        o += out;
        p += len ? len : 1;
    }
    dst[o] = '\0';
    return o;
}
