/* list_cursor.c — the keyset cursor and its opaque spelling.
 *
 * The text form is read by hand, byte by byte, against the one spelling the
 * encoder writes: a cursor is client input, and a lenient reader would take
 * forms that then encode differently. Its values reach PostgreSQL as
 * parameters, so each is checked as the type the order expects (text as
 * well-formed UTF-8 without NUL).
 */
#include "list_cursor.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define LIST_CURSOR_VERSION "v1"

static bool order_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= LIST_CURSOR_ORDER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

static bool types_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > LIST_CURSOR_KEYS)
        return false;
    return strspn(t, "iurt") == n;
}

void list_cursor_init(struct list_cursor *c, const char *order, const char *types)
{
    assert(order_valid(order) && types_valid(types));
    memset(c, 0, sizeof *c);
    snprintf(c->order, sizeof c->order, "%s", order);
    c->n = strlen(types);
    for (size_t i = 0; i < c->n; i++)
        c->keys[i].type = types[i];
}

/* [-]digits, no leading zeros, no "-0", within int64: s[0..n). */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = s && n && s[0] == '-';
    if (i == n || n - i > 19 || (s[i] == '0' && (n - i > 1 || i)))
        return -1;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return -1;
    char tmp[24];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* A finite real, the whole of s[0..n). */
static int parse_real(const char *s, size_t n, float *out)
{
    char tmp[48];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    /* Digits, a sign, a point, an exponent: no blanks, hexadecimal, "nan". */
    if (strspn(tmp, "0123456789.-+eE") < n || !strchr("0123456789.-", tmp[0]))
        return -1;
    char *end;
    errno = 0;
    float v = strtof(tmp, &end);
    if (end != tmp + n || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* A UUID in canonical lower-case form, s[0..n). */
static bool uuid_canonical(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = s[i];
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

static int key_set(struct list_key *k, const char *s, size_t n)
{
    switch (k->type) {
    case 'i':
        return parse_int(s, n, &k->i);
    case 'r':
        return parse_real(s, n, &k->r);
    case 'u':
    case 't':
        if (k->type == 'u' ? !uuid_canonical(s, n)
                           : n > LIST_CURSOR_TEXT_MAX || memchr(s, '\0', n) || !utf8_valid(s, n))
            return -1;
        memcpy(k->text, s, n);
        k->text[n] = '\0';
        return 0;
    default:
        assert(!"a cursor value of no known type");
        return -1;
    }
}

int list_cursor_set(struct list_cursor *c, size_t i, const char *text)
{
    assert(i < c->n);
    return text ? key_set(&c->keys[i], text, strlen(text)) : -1;
}

const char *list_cursor_param(const struct list_cursor *c, size_t i,
                              char out[LIST_CURSOR_PARAM_MAX])
{
    assert(i < c->n);
    const struct list_key *k = &c->keys[i];
    if (k->type == 'i')
        snprintf(out, LIST_CURSOR_PARAM_MAX, "%" PRId64, k->i);
    else if (k->type == 'r')
        snprintf(out, LIST_CURSOR_PARAM_MAX, "%.9g", (double)k->r);
    else
        snprintf(out, LIST_CURSOR_PARAM_MAX, "%s", k->text);
    return out;
}

/* The text form into out (LIST_CURSOR_TEXT_LEN + 1 bytes): its length. */
static size_t cursor_text(const struct list_cursor *c, char *out)
{
    size_t len =
        (size_t)snprintf(out, LIST_CURSOR_TEXT_LEN + 1, "%s;%s", LIST_CURSOR_VERSION, c->order);
    for (size_t i = 0; i < c->n; i++) {
        const struct list_key *k = &c->keys[i];
        char v[LIST_CURSOR_PARAM_MAX];
        list_cursor_param(c, i, v);
        size_t room = LIST_CURSOR_TEXT_LEN + 1 - len;
        int w = k->type == 't' ? snprintf(out + len, room, ";t%zu:%s", strlen(v), v)
                               : snprintf(out + len, room, ";%c%s", k->type, v);
        assert(w > 0 && (size_t)w < room);
        len += (size_t)w;
    }
    return len;
}

size_t list_cursor_encode(const struct list_cursor *c, char out[LIST_CURSOR_MAX])
{
    char text[LIST_CURSOR_TEXT_LEN + 1];
    size_t len = cursor_text(c, text);
    return base64url_encode((const unsigned char *)text, len, out);
}

int list_cursor_decode(const char *s, const char *order, const char *types, struct list_cursor *c)
{
    list_cursor_init(c, order, types);
    unsigned char raw[LIST_CURSOR_TEXT_LEN + 1];
    size_t slen = s ? strlen(s) : 0;
    int n = slen && slen < LIST_CURSOR_MAX ? base64url_decode(s, slen, raw, sizeof raw - 1) : -1;
    if (n < 0)
        return -1;
    raw[n] = '\0';
    const char *p = (const char *)raw, *end = p + n;
    size_t head = strlen(LIST_CURSOR_VERSION ";") + strlen(order);
    if ((size_t)n < head || memcmp(p, LIST_CURSOR_VERSION ";", 3) != 0 ||
        memcmp(p + 3, order, strlen(order)) != 0)
        return -1;
    p += head;
    for (size_t i = 0; i < c->n; i++) {
        struct list_key *k = &c->keys[i];
        if (end - p < 2 || p[0] != ';' || p[1] != k->type)
            return -1;
        p += 2;
        size_t vlen;
        if (k->type == 't') {
            const char *colon = memchr(p, ':', (size_t)(end - p));
            int64_t tl;
            if (!colon || parse_int(p, (size_t)(colon - p), &tl) != 0 || tl < 0 ||
                tl > LIST_CURSOR_TEXT_MAX || end - (colon + 1) < tl)
                return -1;
            p = colon + 1;
            vlen = (size_t)tl;
        } else {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            vlen = (size_t)((semi ? semi : end) - p);
        }
        if (key_set(k, p, vlen) != 0)
            return -1;
        p += vlen;
    }
    if (p != end)
        return -1;
    /* One spelling: what was read must be what the encoder writes (a real
     * written with more digits, "1e0" for "1", reads the same). */
    char text[LIST_CURSOR_TEXT_LEN + 1];
    size_t len = cursor_text(c, text);
    if (len != (size_t)n || memcmp(text, raw, len) != 0)
        return -1;
    return 0;
}
