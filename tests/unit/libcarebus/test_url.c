/* test_url.c — url.c: percent-decoding of path segments and form values,
 * and the encoding of query values.
 *
 * A '%' without two hex digits stays as it is; '+' is a blank only in a
 * form; only the given length is read; encoding keeps only the unreserved
 * bytes and decodes back. Run one test by name: test_url <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "url.h"

static void test_url_decode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(url_decode(out, "a%2Fb+c%41%4a", 13, URL_PATH), 7);
    assert_string_equal(out, "a/b+cAJ");
    assert_int_equal(url_decode(out, "a%2Fb+c", 7, URL_FORM), 5);
    assert_string_equal(out, "a/b c");
    /* A '%' without two hex digits after it stays as it is. */
    assert_int_equal(url_decode(out, "%zz%4%", 6, URL_FORM), 6);
    assert_string_equal(out, "%zz%4%");
    assert_int_equal(url_decode(out, "%g1%1g", 6, URL_PATH), 6);
    assert_string_equal(out, "%g1%1g");
    /* Only n bytes are read: "%41" cut after "%4" is not decoded. */
    assert_int_equal(url_decode(out, "%41", 2, URL_PATH), 2);
    assert_string_equal(out, "%4");
    /* A decoded NUL is a byte like any other: the length tells. */
    assert_int_equal(url_decode(out, "a%00b", 5, URL_FORM), 3);
    assert_memory_equal(out, "a\0b", 4);
    assert_int_equal(url_decode(out, "%C3%A1", 6, URL_FORM), 2);
    assert_string_equal(out, "\xc3\xa1");
    assert_int_equal(url_decode(out, "", 0, URL_FORM), 0);
    assert_string_equal(out, "");
}

static void test_url_encode(void **state)
{
    (void)state;
    char out[128], back[128];
    const char *s = "/?from=2026-03-01&to=x y+z~._-\xc3\xa1%";
    size_t n = url_encode(out, s);
    assert_string_equal(out, "%2F%3Ffrom%3D2026-03-01%26to%3Dx%20y%2Bz~._-%C3%A1%25");
    assert_int_equal(n, strlen(out));
    assert_int_equal(url_decode(back, out, n, URL_FORM), strlen(s));
    assert_string_equal(back, s);
    assert_int_equal(url_encode(out, ""), 0);
    assert_string_equal(out, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_url_encode),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
