/* test_config.c — config.c: defaults, empty values, integers and booleans.
 *
 * Each test sets the variables it reads and clears them in teardown, so the
 * order of tests does not matter. Run one test by name: test_config <name>.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char *const vars[] = {"CAREBUS_T_STR", "CAREBUS_T_PORT",     "CAREBUS_T_FLAG",
                                   "CAREBUS_T_NEG", "CAREBUS_PUBLIC_URL", "CAREBUS_INGEST_PORT"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_str_unset_is_default(void **state)
{
    (void)state;
    assert_string_equal(config_str("T_STR", "dflt"), "dflt");
    assert_null(config_str("T_STR", NULL));
}

static void test_str_empty_is_default(void **state)
{
    (void)state;
    setenv("CAREBUS_T_STR", "", 1);
    assert_string_equal(config_str("T_STR", "dflt"), "dflt");
}

static void test_str_set(void **state)
{
    (void)state;
    setenv("CAREBUS_T_STR", "host=db port=5432", 1);
    assert_string_equal(config_str("T_STR", "dflt"), "host=db port=5432");
}

static void test_long_unset_and_empty(void **state)
{
    (void)state;
    long v = 0;
    const char *err = NULL;
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), 0);
    assert_int_equal(v, 8080);
    setenv("CAREBUS_T_PORT", "", 1);
    v = 0;
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), 0);
    assert_int_equal(v, 8080);
    assert_null(err);
}

static void test_long_valid(void **state)
{
    (void)state;
    long v = 0;
    const char *err = NULL;
    setenv("CAREBUS_T_PORT", "8081", 1);
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), 0);
    assert_int_equal(v, 8081);
    /* Bounds are inclusive. */
    setenv("CAREBUS_T_PORT", "1", 1);
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), 0);
    assert_int_equal(v, 1);
    setenv("CAREBUS_T_PORT", "65535", 1);
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), 0);
    assert_int_equal(v, 65535);
    setenv("CAREBUS_T_NEG", "-42", 1);
    assert_int_equal(config_long("T_NEG", 0, -100, 100, &v, &err), 0);
    assert_int_equal(v, -42);
    setenv("CAREBUS_T_NEG", "+7", 1);
    assert_int_equal(config_long("T_NEG", 0, -100, 100, &v, &err), 0);
    assert_int_equal(v, 7);
}

static void test_long_trailing_junk(void **state)
{
    (void)state;
    long v = 1234;
    const char *err = NULL;
    setenv("CAREBUS_T_PORT", "80a", 1);
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), -1);
    assert_string_equal(err, "CAREBUS_T_PORT: expected an integer in [1, 65535], got \"80a\"");
    assert_int_equal(v, 1234); /* untouched on error */
}

static void test_long_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc",
        " 80",
        "80 ",
        "8 0",
        "0x50",
        "-",
        "+",
        "1.5",
        "1e3",
        "0",
        "65536",
        "-1",
        "99999999999999999999999",
        "-99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = 0;
        const char *err = NULL;
        setenv("CAREBUS_T_PORT", bad[i], 1);
        if (config_long("T_PORT", 8080, 1, 65535, &v, &err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(err);
        assert_non_null(strstr(err, "CAREBUS_T_PORT: expected an integer in [1, 65535]"));
    }
}

static void test_long_full_range(void **state)
{
    (void)state;
    long v = 0;
    const char *err = NULL;
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", LONG_MAX);
    setenv("CAREBUS_T_PORT", buf, 1);
    assert_int_equal(config_long("T_PORT", 0, LONG_MIN, LONG_MAX, &v, &err), 0);
    assert_true(v == LONG_MAX);
    snprintf(buf, sizeof buf, "%ld", LONG_MIN);
    setenv("CAREBUS_T_PORT", buf, 1);
    assert_int_equal(config_long("T_PORT", 0, LONG_MIN, LONG_MAX, &v, &err), 0);
    assert_true(v == LONG_MIN);
}

static void test_long_long_value_is_cut_in_error(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    setenv("CAREBUS_T_PORT", big, 1);
    long v = 0;
    const char *err = NULL;
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, &err), -1);
    assert_true(strlen(err) < 200);
    assert_non_null(strstr(err, "xxx...\""));
    /* err may be NULL when the caller does not want the text. */
    assert_int_equal(config_long("T_PORT", 8080, 1, 65535, &v, NULL), -1);
}

/* config_long_logged reads as config_long does; a bad value is -1, *out kept. */
static void test_long_logged(void **state)
{
    (void)state;
    long v = 7;
    assert_int_equal(config_long_logged("T_PORT", 8080, 1, 65535, &v), 0);
    assert_int_equal(v, 8080);
    setenv("CAREBUS_T_PORT", "9090", 1);
    assert_int_equal(config_long_logged("T_PORT", 8080, 1, 65535, &v), 0);
    assert_int_equal(v, 9090);
    setenv("CAREBUS_T_PORT", "70000", 1);
    assert_int_equal(config_long_logged("T_PORT", 8080, 1, 65535, &v), -1);
    assert_int_equal(v, 9090);
}

static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool v;
    } ok[] = {
        {"1", true},   {"true", true}, {"TRUE", true}, {"yes", true},    {"Yes", true},
        {"on", true},  {"ON", true},   {"0", false},   {"false", false}, {"False", false},
        {"no", false}, {"NO", false},  {"off", false}, {"oFf", false},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        bool v = !ok[i].v;
        const char *err = NULL;
        setenv("CAREBUS_T_FLAG", ok[i].s, 1);
        if (config_bool("T_FLAG", !ok[i].v, &v, &err) != 0)
            fail_msg("refused \"%s\"", ok[i].s);
        assert_int_equal(v, ok[i].v);
    }
}

static void test_bool_default(void **state)
{
    (void)state;
    bool v = false;
    const char *err = NULL;
    assert_int_equal(config_bool("T_FLAG", true, &v, &err), 0);
    assert_true(v);
    setenv("CAREBUS_T_FLAG", "", 1);
    v = true;
    assert_int_equal(config_bool("T_FLAG", false, &v, &err), 0);
    assert_false(v);
}

static void test_bool_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"2", "y", "n", "truee", " true", "true ", "enabled", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool v = true;
        const char *err = NULL;
        setenv("CAREBUS_T_FLAG", bad[i], 1);
        if (config_bool("T_FLAG", false, &v, &err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(v); /* untouched */
        assert_non_null(err);
    }
    setenv("CAREBUS_T_FLAG", "maybe", 1);
    bool v;
    const char *err = NULL;
    assert_int_equal(config_bool("T_FLAG", false, &v, &err), -1);
    assert_string_equal(err, "CAREBUS_T_FLAG: expected a boolean (1/0, true/false, yes/no, "
                             "on/off), got \"maybe\"");
}

static void test_public_url(void **state)
{
    (void)state;
    char url[64];
    /* Unset: channel-ingest on loopback, at its port. */
    assert_int_equal(config_public_url(url, sizeof url), 0);
    assert_string_equal(url, "http://127.0.0.1:8080");
    setenv("CAREBUS_INGEST_PORT", "18081", 1);
    assert_int_equal(config_public_url(url, sizeof url), 0);
    assert_string_equal(url, "http://127.0.0.1:18081");
    setenv("CAREBUS_INGEST_PORT", "x", 1); /* channel-ingest refuses it; here the default */
    assert_int_equal(config_public_url(url, sizeof url), 0);
    assert_string_equal(url, "http://127.0.0.1:8080");
    /* Set: as given, without its final slashes. */
    setenv("CAREBUS_PUBLIC_URL", "https://care.example.vn/cb//", 1);
    assert_int_equal(config_public_url(url, sizeof url), 0);
    assert_string_equal(url, "https://care.example.vn/cb");
    assert_int_equal(config_public_url(url, 10), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_str_unset_is_default, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_str_empty_is_default, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_str_set, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_unset_and_empty, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_valid, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_trailing_junk, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_invalid, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_full_range, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_long_value_is_cut_in_error, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_long_logged, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_bool, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_bool_default, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_bool_invalid, clear_env, clear_env),
        cmocka_unit_test_setup_teardown(test_public_url, clear_env, clear_env),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
