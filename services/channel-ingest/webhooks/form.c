/* form.c — application/x-www-form-urlencoded decoding (see form.h).
 *
 * Decoding never grows a string ("%41" is three bytes in, one out), so all
 * names and values fit in one buffer the size of the body plus a NUL per
 * string; pointers into it stay valid because it is never reallocated.
 */
#include "form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool form_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false; /* continuation byte, 0xC0/0xC1 or above 0xF4 */
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Decodes src[0..len) to dst (NUL-terminated); -1 on a decoded NUL. */
static int form_decode(char *dst, const char *src, size_t len, size_t *out_len)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        int hi, lo;
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && len - i > 2 && (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
                   (lo = hexval((unsigned char)src[i + 2])) >= 0) {
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        dst[j++] = (char)c;
    }
    dst[j] = '\0';
    *out_len = j;
    return 0;
}

void form_release(struct form *f)
{
    free(f->pairs);
    free(f->buf);
    *f = (struct form){0};
}

int form_parse(const char *body, size_t len, struct form *f)
{
    *f = (struct form){0};
    /* Pairs are at most one more than the "&"s. */
    size_t amps = 0;
    for (size_t i = 0; i < len; i++)
        amps += body[i] == '&';
    size_t max_pairs = amps + 1;
    if (max_pairs > FORM_MAX_PAIRS)
        max_pairs = FORM_MAX_PAIRS + 1; /* enough to notice one too many */
    /* Each pair adds at most two NULs to its bytes. */
    f->buf = malloc(len + 2 * (amps + 1) + 1);
    f->pairs = calloc(max_pairs, sizeof *f->pairs);
    if (!f->buf || !f->pairs)
        goto fail;
    char *o = f->buf;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            if (f->n == FORM_MAX_PAIRS)
                goto fail;
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *name_end = eq ? eq : stop;
            const char *val = eq ? eq + 1 : stop;
            size_t nl, vl;
            struct form_pair *pair = &f->pairs[f->n];
            if (form_decode(o, p, (size_t)(name_end - p), &nl) != 0 || !form_utf8_valid(o, nl))
                goto fail;
            pair->name = o;
            o += nl + 1;
            if (form_decode(o, val, (size_t)(stop - val), &vl) != 0 || !form_utf8_valid(o, vl))
                goto fail;
            pair->value = o;
            o += vl + 1;
            f->n++;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
fail:
    form_release(f);
    return -1;
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->pairs[i].name, name) == 0)
            return f->pairs[i].value;
    return NULL;
}
