/* test_jsondepth.c — jsondepth.c: nesting judged on raw JSON bytes.
 *
 * Pure. Run one test by name: test_jsondepth <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsondepth.h"

/* n nested arrays around 1. */
static char *nested(size_t n, char open, char close)
{
    char *s = malloc(2 * n + 2);
    assert_non_null(s);
    memset(s, open, n);
    s[n] = '1';
    memset(s + n + 1, close, n);
    s[2 * n + 1] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    char *s = nested(32, '[', ']');
    assert_true(jsondepth_ok(s, strlen(s), 32));
    assert_false(jsondepth_ok(s, strlen(s), 31));
    free(s);
    s = nested(100000, '[', ']');
    assert_false(jsondepth_ok(s, strlen(s), 32));
    free(s);
    /* Brackets in strings, escaped quotes included, do not count. */
    static const char str[] = "{\"a\":\"[[[[{{{{\\\"[[[[\",\"b\":[1]}";
    assert_true(jsondepth_ok(str, strlen(str), 2));
    assert_false(jsondepth_ok(str, strlen(str), 1));
    /* Siblings do not add up. */
    static const char sib[] = "{\"a\":{},\"b\":{},\"c\":[[]]}";
    assert_true(jsondepth_ok(sib, strlen(sib), 3));
    assert_false(jsondepth_ok(sib, strlen(sib), 2));
    /* Garbage is left to the parser; a stray closer does not go below 0. */
    static const char odd[] = "]]]]{[";
    assert_true(jsondepth_ok(odd, strlen(odd), 2));
    assert_true(jsondepth_ok("", 0, 1));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("jsondepth", tests, NULL, NULL);
}
