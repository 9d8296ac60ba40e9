/* fuzz_imports.c — the bulk import's readers and the customer parser
 * (imports.c) on arbitrary bodies: the first byte picks the format (odd:
 * CSV), the rest is the body. Every record is an object or a bad line
 * with an error code, lines only grow, and a parsed customer has a content
 * key and packs. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    imports_format fmt = data[0] & 1 ? IMPORTS_CSV : IMPORTS_NDJSON;
    struct message_error err;
    imports_reader *r = imports_reader_new(fmt, (const char *)data + 1, size - 1, 8, &err);
    if (!r) {
        assert(err.code);
        return 0;
    }
    unsigned last = 0;
    for (size_t guard = 0; guard <= size; guard++) {
        json_t *o;
        unsigned line;
        int rc = imports_reader_next(r, &o, &line, &err);
        if (rc == 0)
            break;
        assert(line >= last);
        last = line;
        if (rc < 0) {
            assert(err.code);
            continue;
        }
        assert(json_is_object(o));
        struct customer_import c;
        if (imports_customer_parse(o, 0, &c, &err) == 0) {
            assert(strlen(c.key) == IMPORTS_KEY_LEN - 1);
            size_t len;
            uint8_t *bytes = event_pack(&c.ev, &len);
            assert(bytes);
            free(bytes);
        }
        json_decref(o);
    }
    imports_reader_destroy(&r);
    return 0;
}
