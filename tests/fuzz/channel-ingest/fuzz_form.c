/* fuzz_form.c — application/x-www-form-urlencoded decoding (webhooks/form.c):
 * every decoded name and value is well-formed UTF-8 without NUL, and no
 * longer than the body. */
#include <string.h>

#include "webhooks/form.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct form f = {0};
    if (form_parse((const char *)data, size, &f) == 0) {
        assert(f.n <= FORM_MAX_PAIRS);
        for (size_t i = 0; i < f.n; i++) {
            size_t nl = strlen(f.pairs[i].name), vl = strlen(f.pairs[i].value);
            assert(nl + vl <= size);
            assert(form_utf8_valid(f.pairs[i].name, nl));
            assert(form_utf8_valid(f.pairs[i].value, vl));
            assert(form_get(&f, f.pairs[i].name) != NULL);
        }
    } else {
        assert(f.n == 0 && f.pairs == NULL && f.buf == NULL);
    }
    form_release(&f);
    (void)form_utf8_valid((const char *)data, size);
    return 0;
}
