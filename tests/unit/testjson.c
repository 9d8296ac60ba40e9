/* testjson.c — see testjson.h: a test's JSON parsed, or the test failed. */
#include "testjson.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

json_t *testjson_load(const char *text, size_t flags)
{
    json_error_t e;
    json_t *j = json_loads(text, flags, &e);
    if (!j)
        fail_msg("test JSON does not parse: %s: %s", e.text, text);
    return j;
}
