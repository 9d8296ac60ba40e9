/* fuzz_form.c — application/x-www-form-urlencoded decoding (form.c): the
 * walker and the whole-body parser agree, every pair form_parse keeps is
 * well-formed UTF-8 without NUL, and nothing decodes longer than the body.
 * Everything is released before returning, so LeakSanitizer turns any leak
 * into a failure. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char *out = malloc(size + 2);
    assert(out);
    form_iter it;
    form_iter_init(&it, body, size);
    struct form_pair p;
    size_t walked = 0;
    while (form_next(&it, out, &p)) {
        assert(p.name_len + p.value_len <= size);
        assert(p.name[p.name_len] == '\0' && p.value[p.value_len] == '\0');
        walked++;
    }
    free(out);

    struct form f = {0};
    if (form_parse(body, size, &f) == 0) {
        assert(f.n <= FORM_MAX_PAIRS && f.n == walked);
        for (size_t i = 0; i < f.n; i++) {
            size_t nl = strlen(f.pairs[i].name), vl = strlen(f.pairs[i].value);
            assert(nl == f.pairs[i].name_len && vl == f.pairs[i].value_len);
            assert(nl + vl <= size);
            assert(utf8_valid(f.pairs[i].name, nl));
            assert(utf8_valid(f.pairs[i].value, vl));
            assert(form_get(&f, f.pairs[i].name) != NULL);
        }
    } else {
        assert(f.n == 0 && f.pairs == NULL && f.buf == NULL);
    }
    form_release(&f);
    (void)utf8_valid(body, size);
    return 0;
}
