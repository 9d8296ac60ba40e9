/* fuzz_list_cursor.c — a list page's cursor decoder (list_cursor.c) on
 * arbitrary input, both as the encoded cursor a client sends and as the
 * text inside one, for each order the lists use: whatever it accepts has
 * the order's types, gives parameters that read back as the same values,
 * and encodes back to exactly what it was given (one spelling per cursor).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "list_cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const orders[][2] = {
    {"queue", "iiu"},    {"updated", "iu"},    {"due", "iu"},
    {"relevance", "ru"}, {"customers", "itu"}, {"timeline", "ii"},
};

static void check(const char *enc)
{
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        struct list_cursor c, d;
        if (list_cursor_decode(enc, orders[o][0], orders[o][1], &c) != 0)
            continue;
        assert(c.n == strlen(orders[o][1]));
        list_cursor_init(&d, orders[o][0], orders[o][1]);
        for (size_t i = 0; i < c.n; i++) {
            assert(c.keys[i].type == orders[o][1][i]);
            char p[LIST_CURSOR_PARAM_MAX];
            assert(list_cursor_set(&d, i, list_cursor_param(&c, i, p)) == 0);
        }
        char again[LIST_CURSOR_MAX], other[LIST_CURSOR_MAX];
        list_cursor_encode(&c, again);
        assert(strcmp(again, enc) == 0);
        list_cursor_encode(&d, other);
        assert(strcmp(other, enc) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    assert(s);
    memcpy(s, data, size);
    s[size] = '\0';
    check(s);
    free(s);
    if (size <= LIST_CURSOR_TEXT_LEN) {
        char *enc = malloc(BASE64URL_LEN(size) + 1);
        assert(enc);
        base64url_encode(data, size, enc);
        check(enc);
        free(enc);
    }
    return 0;
}
