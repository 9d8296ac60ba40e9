/* feed_cursor.c — the event feed's cursor and its opaque spelling.
 *
 * The text form is decoded by hand, byte by byte, against the one spelling
 * the encoder writes: a cursor is client input, and a lenient reader would
 * accept forms that then encode differently.
 */
#include "feed_cursor.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FEED_CURSOR_VERSION "v1"

void feed_cursor_init(struct feed_cursor *c)
{
    c->n = 0;
}

static bool stream_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

bool feed_cursor_stream_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n == FEED_STREAM_MAX - 1 || !stream_char(s[n]))
            return false;
    return n > 0;
}

/* The index where stream is, or where it would go; *found tells which. */
static size_t cursor_find(const struct feed_cursor *c, const char *stream, bool *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->pos[mid].stream, stream);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int feed_cursor_set(struct feed_cursor *c, const char *stream, uint64_t seq)
{
    if (!feed_cursor_stream_valid(stream) || seq > INT64_MAX)
        return -1;
    bool found;
    size_t i = cursor_find(c, stream, &found);
    if (found) {
        if (seq == 0) {
            memmove(&c->pos[i], &c->pos[i + 1], (c->n - i - 1) * sizeof c->pos[0]);
            c->n--;
        } else {
            c->pos[i].seq = seq;
        }
        return 0;
    }
    if (seq == 0)
        return 0;
    if (c->n == FEED_CURSOR_STREAMS)
        return -1;
    memmove(&c->pos[i + 1], &c->pos[i], (c->n - i) * sizeof c->pos[0]);
    snprintf(c->pos[i].stream, sizeof c->pos[i].stream, "%s", stream);
    c->pos[i].seq = seq;
    c->n++;
    return 0;
}

uint64_t feed_cursor_get(const struct feed_cursor *c, const char *stream)
{
    bool found;
    size_t i = cursor_find(c, stream, &found);
    return found ? c->pos[i].seq : 0;
}

size_t feed_cursor_encode(const struct feed_cursor *c, char out[FEED_CURSOR_MAX])
{
    char text[FEED_CURSOR_TEXT_MAX + 1];
    size_t len = (size_t)snprintf(text, sizeof text, "%s", FEED_CURSOR_VERSION);
    for (size_t i = 0; i < c->n; i++) {
        int w = snprintf(text + len, sizeof text - len, ";%s=%" PRIu64, c->pos[i].stream,
                         c->pos[i].seq);
        assert(w > 0 && (size_t)w < sizeof text - len && "FEED_CURSOR_TEXT_MAX holds any cursor");
        len += (size_t)w;
    }
    return base64url_encode((const unsigned char *)text, len, out);
}

/* Reads "<digits>" up to the next ';' or the end: 1 .. INT64_MAX, no
 * leading zero. Returns the bytes read, or 0 when malformed. */
static size_t read_seq(const char *p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; p + n < end && p[n] != ';'; n++) {
        char ch = p[n];
        if (ch < '0' || ch > '9' || (n == 0 && ch == '0'))
            return 0;
        if (v > (INT64_MAX - (uint64_t)(ch - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(ch - '0');
    }
    *out = v;
    return n;
}

int feed_cursor_decode(const char *s, struct feed_cursor *c)
{
    feed_cursor_init(c);
    unsigned char text[FEED_CURSOR_TEXT_MAX];
    size_t slen = strlen(s);
    int len = slen <= FEED_CURSOR_MAX - 1 ? base64url_decode(s, slen, text, sizeof text) : -1;
    size_t vlen = strlen(FEED_CURSOR_VERSION);
    if (len < (int)vlen || memcmp(text, FEED_CURSOR_VERSION, vlen) != 0)
        return -1;
    const char *p = (const char *)text + vlen, *end = (const char *)text + len;
    while (p < end) {
        if (*p++ != ';' || c->n == FEED_CURSOR_STREAMS)
            goto bad;
        struct feed_pos *pos = &c->pos[c->n];
        size_t n = 0;
        for (; p + n < end && p[n] != '='; n++)
            if (n == FEED_STREAM_MAX - 1 || !stream_char(p[n]))
                goto bad;
        if (n == 0 || p + n == end)
            goto bad;
        memcpy(pos->stream, p, n);
        pos->stream[n] = '\0';
        /* Strictly increasing: sorted, and each stream once. */
        if (c->n > 0 && strcmp(c->pos[c->n - 1].stream, pos->stream) >= 0)
            goto bad;
        p += n + 1;
        size_t d = read_seq(p, end, &pos->seq);
        if (d == 0)
            goto bad;
        p += d;
        c->n++;
    }
    return 0;
bad:
    feed_cursor_init(c);
    return -1;
}
