/* fuzz_feed_cursor.c — the event feed's cursor decoder (feed_cursor.c) on
 * arbitrary input, both as the encoded cursor a client sends and as the
 * text inside one: whatever it accepts encodes back to exactly what it was
 * given (one spelling per cursor), with its positions sorted, unique and
 * non-zero. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "feed_cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *enc)
{
    struct feed_cursor c;
    if (feed_cursor_decode(enc, &c) != 0) {
        assert(c.n == 0);
        return;
    }
    assert(c.n <= FEED_CURSOR_STREAMS);
    for (size_t i = 0; i < c.n; i++) {
        assert(c.pos[i].seq > 0 && c.pos[i].seq <= INT64_MAX);
        assert(feed_cursor_stream_valid(c.pos[i].stream));
        assert(i == 0 || strcmp(c.pos[i - 1].stream, c.pos[i].stream) < 0);
        assert(feed_cursor_get(&c, c.pos[i].stream) == c.pos[i].seq);
    }
    char again[FEED_CURSOR_MAX];
    feed_cursor_encode(&c, again);
    assert(strcmp(again, enc) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    assert(s);
    memcpy(s, data, size);
    s[size] = '\0';
    check(s);
    free(s);
    if (size <= FEED_CURSOR_TEXT_MAX + 16) {
        char *enc = malloc(BASE64URL_LEN(size) + 1);
        assert(enc);
        base64url_encode(data, size, enc);
        check(enc);
        free(enc);
    }
    return 0;
}
