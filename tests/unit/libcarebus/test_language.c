/* test_language.c — services/libcarebus/language.c: the language
 * heuristic, Accept-Language and the codes. Run one test by name:
 * test_language <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "language.h"

static void test_guess(void **state)
{
    (void)state;
    /* Vietnamese letters decide at once. */
    assert_int_equal(language_guess("Tôi cần hỗ trợ"), LANGUAGE_VI);
    assert_int_equal(language_guess("Hello, my order đơn hàng is late"), LANGUAGE_VI);
    assert_int_equal(language_guess("Đổi trả"), LANGUAGE_VI);
    /* Decomposed tone marks (combining characters) count too. */
    assert_int_equal(language_guess("To\xcc\x82i ca\xcc\x82\xcc\x80n"), LANGUAGE_VI);
    /* English words. */
    assert_int_equal(language_guess("Hello, my order has not arrived yet"), LANGUAGE_EN);
    assert_int_equal(language_guess("Please refund the invoice"), LANGUAGE_EN);
    assert_int_equal(language_guess("HELLO"), LANGUAGE_EN);
    /* Vietnamese without diacritics. */
    assert_int_equal(language_guess("toi can ho tro don hang"), LANGUAGE_VI);
    assert_int_equal(language_guess("cam on shop nhe"), LANGUAGE_VI);
    /* "can" is both (cần): no vote; a tie is Vietnamese. */
    assert_int_equal(language_guess("can"), LANGUAGE_VI);
    assert_int_equal(language_guess("order bi loi"), LANGUAGE_VI);
    /* Nothing to go on: Vietnamese. */
    assert_int_equal(language_guess(NULL), LANGUAGE_VI);
    assert_int_equal(language_guess(""), LANGUAGE_VI);
    assert_int_equal(language_guess("12345 !!!"), LANGUAGE_VI);
    /* Invalid UTF-8 is not a crash, nor a vote. */
    assert_int_equal(language_guess("\xff\xfe hello my order"), LANGUAGE_EN);
    assert_int_equal(language_guess("\xe1"), LANGUAGE_VI);
    /* A word longer than the buffer is skipped, not cut into a match. */
    assert_int_equal(language_guess("pleasepleasepleaseplease"), LANGUAGE_VI);
}

static void test_accept_language(void **state)
{
    (void)state;
    language_id l = LANGUAGE_VI;
    assert_int_equal(language_accept("en-US,en;q=0.9", &l), 1);
    assert_int_equal(l, LANGUAGE_EN);
    assert_int_equal(language_accept("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", &l), 1);
    assert_int_equal(l, LANGUAGE_VI);
    assert_int_equal(language_accept("fr-FR, en;q=0.5, vi;q=0.6", &l), 1);
    assert_int_equal(l, LANGUAGE_VI);
    assert_int_equal(language_accept("en;q=0, vi;q=0.1", &l), 1);
    assert_int_equal(l, LANGUAGE_VI);
    l = LANGUAGE_VI;
    assert_int_equal(language_accept("EN-gb ; q=1", &l), 1);
    assert_int_equal(l, LANGUAGE_EN);
    assert_int_equal(language_accept("fr-FR,de;q=0.9,*;q=0.5", &l), 0);
    assert_int_equal(language_accept("", &l), 0);
    assert_int_equal(language_accept(NULL, &l), 0);
    assert_int_equal(language_accept("eng,vie", &l), 0);
    assert_int_equal(language_accept(",,;q=,", &l), 0);
}

static void test_parse_and_code(void **state)
{
    (void)state;
    language_id l;
    assert_int_equal(language_parse("en", &l), 0);
    assert_int_equal(l, LANGUAGE_EN);
    assert_int_equal(language_parse("vi-VN", &l), 0);
    assert_int_equal(l, LANGUAGE_VI);
    assert_int_equal(language_parse("fr", &l), -1);
    assert_int_equal(language_parse("english", &l), -1);
    assert_int_equal(language_parse(NULL, &l), -1);
    assert_string_equal(language_code(LANGUAGE_EN), "en");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_accept_language),
        cmocka_unit_test(test_parse_and_code),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("language", tests, NULL, NULL);
}
