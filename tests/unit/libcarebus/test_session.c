/* test_session.c — session.c's cookie: signed, expiring, bound to its key.
 *
 * A cookie verifies under its secret until it expires and names its key;
 * any change to it (its key, its expiry, its MAC), another secret, or no
 * secret yet refuses it. The CSRF token belongs to one cookie and is not
 * the cookie's MAC. Run one test by name: test_session <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define KEY "6f1c2a4e-8a55-4c8e-9a0b-1d2e3f405162"
#define NOW INT64_C(1790000000)

static void test_sign_and_verify(void **state)
{
    (void)state;
    session *s = session_new(SECRET, 3600);
    assert_non_null(s);
    assert_true(session_ready(s));
    assert_int_equal(session_ttl(s), 3600);
    char v[SESSION_VALUE_LEN], id[ID_LEN];
    assert_int_equal(session_sign(s, KEY, NOW + 3600, v, sizeof v), 0);
    assert_memory_equal(v, KEY ".1790003600.", strlen(KEY ".1790003600."));
    assert_int_equal(strlen(v), strlen(KEY) + 12 + 64);
    assert_int_equal(session_verify(s, v, NOW, id), 0);
    assert_string_equal(id, KEY);
    assert_int_equal(session_verify(s, v, NOW + 3599, id), 0);
    /* Expired at its expiry. */
    assert_int_equal(session_verify(s, v, NOW + 3600, id), -1);
    /* The bootstrap key has a session too. */
    assert_int_equal(session_sign(s, "bootstrap", NOW + 10, v, sizeof v), 0);
    assert_int_equal(session_verify(s, v, NOW, id), 0);
    assert_string_equal(id, "bootstrap");
    /* Too small a buffer, or an id that would break the format. */
    assert_int_equal(session_sign(s, KEY, NOW, v, 20), -1);
    assert_int_equal(session_sign(s, "a.b", NOW, v, sizeof v), -1);
    session_destroy(&s);
    assert_null(s);
}

static void test_tampering_is_refused(void **state)
{
    (void)state;
    session *s = session_new(SECRET, 3600);
    session *other = session_new(SECRET "-other", 3600);
    char v[SESSION_VALUE_LEN], t[SESSION_VALUE_LEN], id[ID_LEN];
    assert_int_equal(session_sign(s, KEY, NOW + 60, v, sizeof v), 0);
    assert_int_equal(session_verify(other, v, NOW, id), -1);
    /* Another key id under the same MAC. */
    snprintf(t, sizeof t, "%s", v);
    t[0] = t[0] == '6' ? '7' : '6';
    assert_int_equal(session_verify(s, t, NOW, id), -1);
    /* A later expiry. */
    snprintf(t, sizeof t, "%s", v);
    char *e = strchr(t, '.') + 1;
    e[0] = '2';
    assert_int_equal(session_verify(s, t, NOW, id), -1);
    /* Each byte of the MAC matters; so does its length. */
    for (size_t i = strlen(v) - 64; i < strlen(v); i++) {
        snprintf(t, sizeof t, "%s", v);
        t[i] = t[i] == '0' ? '1' : '0';
        if (session_verify(s, t, NOW, id) == 0)
            fail_msg("a cookie with MAC byte %zu changed verified", i);
    }
    snprintf(t, sizeof t, "%s", v);
    t[strlen(t) - 1] = '\0';
    assert_int_equal(session_verify(s, t, NOW, id), -1);
    /* Upper-case hex is the same MAC. */
    snprintf(t, sizeof t, "%s", v);
    for (char *p = strrchr(t, '.'); *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(session_verify(s, t, NOW, id), 0);
    /* Not cookies at all. */
    static const char *const junk[] = {"",
                                       ".",
                                       "..",
                                       "a..",
                                       ".1.",
                                       KEY,
                                       KEY ".x.y",
                                       KEY ".1790000060",
                                       "bootstrap.99999999999999999999999.00"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        if (session_verify(s, junk[i], NOW, id) == 0)
            fail_msg("\"%s\" verified", junk[i]);
    assert_int_equal(session_verify(s, NULL, NOW, id), -1);
    session_destroy(&s);
    session_destroy(&other);
}

static void test_no_secret_yet(void **state)
{
    (void)state;
    session *s = session_new(NULL, 3600);
    assert_non_null(s);
    assert_false(session_ready(s));
    char v[SESSION_VALUE_LEN], id[ID_LEN], csrf[SESSION_CSRF_LEN];
    assert_int_equal(session_sign(s, KEY, NOW + 60, v, sizeof v), -1);
    assert_int_equal(session_verify(s, KEY ".1790000060.00", NOW, id), -1);
    assert_int_equal(session_csrf(s, "x", csrf), -1);
    assert_false(session_csrf_ok(s, "x", "00"));
    session_destroy(&s);
}

static void test_csrf(void **state)
{
    (void)state;
    session *s = session_new(SECRET, 3600);
    char v1[SESSION_VALUE_LEN], v2[SESSION_VALUE_LEN], c1[SESSION_CSRF_LEN], c2[SESSION_CSRF_LEN];
    assert_int_equal(session_sign(s, KEY, NOW + 60, v1, sizeof v1), 0);
    assert_int_equal(session_sign(s, KEY, NOW + 61, v2, sizeof v2), 0);
    assert_int_equal(session_csrf(s, v1, c1), 0);
    assert_int_equal(session_csrf(s, v2, c2), 0);
    assert_int_equal(strlen(c1), 64);
    assert_string_not_equal(c1, c2);
    assert_true(session_csrf_ok(s, v1, c1));
    assert_false(session_csrf_ok(s, v1, c2));
    assert_false(session_csrf_ok(s, v2, c1));
    assert_false(session_csrf_ok(s, v1, NULL));
    assert_false(session_csrf_ok(s, NULL, c1));
    assert_false(session_csrf_ok(s, v1, ""));
    /* The token is not the cookie's MAC. */
    assert_null(strstr(v1, c1));
    session_destroy(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_tampering_is_refused),
        cmocka_unit_test(test_no_secret_yet),
        cmocka_unit_test(test_csrf),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
