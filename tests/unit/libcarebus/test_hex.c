/* test_hex.c — hex.c: hexadecimal text.
 *
 * Decoding is strict (exactly two digits a byte, either case) and never
 * reads past the length it is given. Run one test by name: test_hex <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

static void test_digit(void **state)
{
    (void)state;
    assert_int_equal(hex_digit('0'), 0);
    assert_int_equal(hex_digit('9'), 9);
    assert_int_equal(hex_digit('a'), 10);
    assert_int_equal(hex_digit('F'), 15);
    assert_int_equal(hex_digit('g'), -1);
    assert_int_equal(hex_digit('G'), -1);
    assert_int_equal(hex_digit('/'), -1);
    assert_int_equal(hex_digit(':'), -1);
    assert_int_equal(hex_digit('\0'), -1);
    assert_int_equal(hex_digit(0xC3), -1);
}

static void test_encode(void **state)
{
    (void)state;
    const unsigned char b[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    char out[2 * sizeof b + 1];
    hex_encode(b, sizeof b, out);
    assert_string_equal(out, "0001abff7f");
    hex_encode(b, 0, out);
    assert_string_equal(out, "");
}

static void test_decode(void **state)
{
    (void)state;
    unsigned char out[4] = {0};
    assert_int_equal(hex_decode("0001abFF", 8, out, 4), 0);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0x01);
    assert_int_equal(out[2], 0xab);
    assert_int_equal(out[3], 0xff);
    /* Only len characters are read: the rest of the string is not looked at. */
    assert_int_equal(hex_decode("7fzz", 2, out, 1), 0);
    assert_int_equal(out[0], 0x7f);
    assert_int_equal(hex_decode("", 0, out, 0), 0);
}

static void test_decode_refusals(void **state)
{
    (void)state;
    unsigned char out[4];
    assert_int_equal(hex_decode("zz", 2, out, 1), -1);   /* not digits */
    assert_int_equal(hex_decode("0g", 2, out, 1), -1);   /* second digit */
    assert_int_equal(hex_decode("abcd", 4, out, 1), -1); /* too long */
    assert_int_equal(hex_decode("a", 1, out, 1), -1);    /* too short, odd */
    assert_int_equal(hex_decode("ab", 2, out, 2), -1);   /* too short */
    assert_int_equal(hex_decode(" ab", 3, out, 1), -1);  /* no blanks */
    assert_int_equal(hex_decode("0x1f", 4, out, 2), -1); /* no prefix */
    assert_int_equal(hex_decode("a\0", 2, out, 1), -1);  /* a NUL is no digit */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digit),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_refusals),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("hex", tests, NULL, NULL);
}
