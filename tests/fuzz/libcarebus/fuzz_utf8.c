/* fuzz_utf8.c — the UTF-8 decoder (utf8.c) on arbitrary bytes: it never
 * reads past what it is given (ASan watches the exact-size copy), agrees
 * with utf8_valid, and utf8_copy always yields well-formed text that fits. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    assert(s);
    memcpy(s, data, size);
    s[size] = '\0';
    bool all_good = true;
    for (size_t i = 0; i < size;) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, size - i, &cp);
        assert(len <= size - i && len <= 4);
        if (len == 0) {
            assert(cp == UTF8_REPLACEMENT);
            all_good = false;
            i++;
        } else {
            assert(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));
            i += len;
        }
    }
    assert(utf8_valid(s, size) == all_good);
    /* The NUL-terminated copy stops at the first NUL, as C strings do. */
    size_t cap = size / 2 + 1;
    char *out = malloc(cap);
    assert(out);
    size_t n = utf8_copy(out, cap, s, UTF8_REPLACEMENT_STR);
    assert(n < cap && out[n] == '\0' && strlen(out) == n && utf8_valid(out, n));
    free(out);
    free(s);
    return 0;
}
