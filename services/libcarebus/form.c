/* form.c — application/x-www-form-urlencoded bodies (see form.h).
 *
 * Decoding never grows a string ("%41" is three bytes in, one out), so a
 * pair decodes into its own raw length plus two NULs, and a whole body into
 * one buffer the size of the body plus two NULs a pair; pointers into it
 * stay valid because it is never reallocated.
 */
#include "form.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "url.h"
#include "utf8.h"

void form_iter_init(form_iter *it, const char *body, size_t len)
{
    it->p = body;
    it->end = body + len;
}

bool form_next(form_iter *it, char *out, struct form_pair *pair)
{
    while (it->p < it->end) {
        const char *p = it->p;
        const char *amp = memchr(p, '&', (size_t)(it->end - p));
        const char *stop = amp ? amp : it->end;
        it->p = amp ? amp + 1 : it->end;
        if (stop == p)
            continue;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *name_end = eq ? eq : stop;
        const char *val = eq ? eq + 1 : stop;
        pair->name = out;
        pair->name_len = url_decode(out, p, (size_t)(name_end - p), URL_FORM);
        char *v = out + pair->name_len + 1;
        pair->value = v;
        pair->value_len = url_decode(v, val, (size_t)(stop - val), URL_FORM);
        return true;
    }
    return false;
}

/* No NUL and well-formed UTF-8: a C string and a protobuf string. */
static bool form_text(const char *s, size_t n)
{
    return !memchr(s, '\0', n) && utf8_valid(s, n);
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
    size_t max_pairs = amps + 1 < FORM_MAX_PAIRS ? amps + 1 : FORM_MAX_PAIRS;
    f->buf = malloc(len + 2 * (amps + 1) + 1);
    f->pairs = calloc(max_pairs, sizeof *f->pairs);
    if (!f->buf || !f->pairs)
        goto fail;
    form_iter it;
    form_iter_init(&it, body, len);
    char *o = f->buf;
    struct form_pair pair;
    while (form_next(&it, o, &pair)) {
        if (f->n == FORM_MAX_PAIRS || !form_text(pair.name, pair.name_len) ||
            !form_text(pair.value, pair.value_len))
            goto fail;
        f->pairs[f->n++] = pair;
        o += pair.name_len + pair.value_len + 2;
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

/* One part encoded into b. */
static void form_put(buf *b, const char *s)
{
    size_t n = strlen(s);
    char local[256];
    char *enc = 3 * n + 1 <= sizeof local ? local : malloc(3 * n + 1);
    if (!enc) {
        b->failed = 1;
        return;
    }
    size_t len = url_encode(enc, s);
    buf_append(b, enc, len);
    if (enc != local)
        free(enc);
}

void form_append(buf *b, const char *name, const char *value)
{
    if (b->len)
        buf_putc(b, '&');
    form_put(b, name);
    buf_putc(b, '=');
    form_put(b, value);
}
