/* test_msgid.c — a msg-id's two spellings (libcarebus/msgid.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msgid.h"

static void test_bare(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(msgid_bare("<a@b.vn>", out, sizeof out), 0);
    assert_string_equal(out, "a@b.vn");
    assert_int_equal(msgid_bare(" a@b.vn\r\n", out, sizeof out), 0);
    assert_string_equal(out, "a@b.vn");
    assert_int_equal(msgid_bare("\t<a@b.vn> ", out, sizeof out), 0);
    assert_string_equal(out, "a@b.vn");
    assert_int_equal(msgid_bare("<<a@b.vn>>", out, sizeof out), 0); /* one pair only */
    assert_string_equal(out, "<a@b.vn>");
    assert_int_equal(msgid_bare("<>", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(msgid_bare("   ", out, sizeof out), -1);
    assert_int_equal(msgid_bare(NULL, out, sizeof out), -1);
    assert_int_equal(msgid_bare("<abcdef@b.vn>", out, 7), -1);
    assert_string_equal(out, "");
}

static void test_angle(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(msgid_angle("a@b.vn", out, sizeof out), 0);
    assert_string_equal(out, "<a@b.vn>");
    assert_int_equal(msgid_angle(" <a@b.vn>", out, sizeof out), 0);
    assert_string_equal(out, "<a@b.vn>");
    assert_int_equal(msgid_angle("", out, sizeof out), -1);
    assert_int_equal(msgid_angle("a@b.vn", out, 8), -1); /* "<a@b.vn>" needs 9 */
    assert_int_equal(msgid_angle("a@b.vn", out, 9), 0);
    assert_string_equal(out, "<a@b.vn>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare),
        cmocka_unit_test(test_angle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
