/* test_asset.c — asset.c: a service's embedded files, found by name and
 * typed by extension (the table here stands for a generated one). Run one
 * test by name: test_asset <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "asset.h"

static const struct asset table[] = {
    {"app.js", "console.log('a ?? b');\n"},
    {"app.css", "body{}\n"},
};

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(asset_find(table, 2, "app.js"), &table[0]);
    assert_ptr_equal(asset_find(table, 2, "app.css"), &table[1]);
    assert_null(asset_find(table, 2, "app.JS"));
    assert_null(asset_find(table, 2, "../app.js"));
    assert_null(asset_find(table, 2, ""));
    assert_null(asset_find(table, 2, NULL));
    assert_null(asset_find(table, 0, "app.js"));
}

static void test_type(void **state)
{
    (void)state;
    assert_string_equal(asset_type("desk.js"), "text/javascript; charset=utf-8");
    assert_string_equal(asset_type("desk.css"), "text/css; charset=utf-8");
    assert_string_equal(asset_type("logo.svg"), "image/svg+xml");
    assert_string_equal(asset_type("a.min.js.map"), "text/plain; charset=utf-8");
    assert_string_equal(asset_type("README"), "text/plain; charset=utf-8");
    assert_string_equal(asset_type(NULL), "text/plain; charset=utf-8");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_type),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("asset", tests, NULL, NULL);
}
