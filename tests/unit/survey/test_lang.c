/* test_lang.c — services/survey/lang.c: the language heuristic,
 * Accept-Language and the request text. Run one test by name: test_lang
 * <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lang.h"

static void test_guess(void **state)
{
    (void)state;
    /* Vietnamese letters decide at once. */
    assert_int_equal(survey_lang_guess("Tôi cần hỗ trợ"), LANG_VI);
    assert_int_equal(survey_lang_guess("Hello, my order đơn hàng is late"), LANG_VI);
    assert_int_equal(survey_lang_guess("Đổi trả"), LANG_VI);
    /* Decomposed tone marks (combining characters) count too. */
    assert_int_equal(survey_lang_guess("To\xcc\x82i ca\xcc\x82\xcc\x80n"), LANG_VI);
    /* English words. */
    assert_int_equal(survey_lang_guess("Hello, my order has not arrived yet"), LANG_EN);
    assert_int_equal(survey_lang_guess("Please refund the invoice"), LANG_EN);
    assert_int_equal(survey_lang_guess("HELLO"), LANG_EN);
    /* Vietnamese without diacritics. */
    assert_int_equal(survey_lang_guess("toi can ho tro don hang"), LANG_VI);
    assert_int_equal(survey_lang_guess("cam on shop nhe"), LANG_VI);
    /* "can" is both (cần): no vote; a tie is Vietnamese. */
    assert_int_equal(survey_lang_guess("can"), LANG_VI);
    assert_int_equal(survey_lang_guess("order bi loi"), LANG_VI);
    /* Nothing to go on: Vietnamese. */
    assert_int_equal(survey_lang_guess(NULL), LANG_VI);
    assert_int_equal(survey_lang_guess(""), LANG_VI);
    assert_int_equal(survey_lang_guess("12345 !!!"), LANG_VI);
    /* Invalid UTF-8 is not a crash, nor a vote. */
    assert_int_equal(survey_lang_guess("\xff\xfe hello my order"), LANG_EN);
    assert_int_equal(survey_lang_guess("\xe1"), LANG_VI);
    /* A word longer than the buffer is skipped, not cut into a match. */
    assert_int_equal(survey_lang_guess("pleasepleasepleaseplease"), LANG_VI);
}

static void test_accept_language(void **state)
{
    (void)state;
    survey_lang l = LANG_VI;
    assert_int_equal(survey_lang_accept("en-US,en;q=0.9", &l), 1);
    assert_int_equal(l, LANG_EN);
    assert_int_equal(survey_lang_accept("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", &l), 1);
    assert_int_equal(l, LANG_VI);
    assert_int_equal(survey_lang_accept("fr-FR, en;q=0.5, vi;q=0.6", &l), 1);
    assert_int_equal(l, LANG_VI);
    assert_int_equal(survey_lang_accept("en;q=0, vi;q=0.1", &l), 1);
    assert_int_equal(l, LANG_VI);
    l = LANG_VI;
    assert_int_equal(survey_lang_accept("EN-gb ; q=1", &l), 1);
    assert_int_equal(l, LANG_EN);
    assert_int_equal(survey_lang_accept("fr-FR,de;q=0.9,*;q=0.5", &l), 0);
    assert_int_equal(survey_lang_accept("", &l), 0);
    assert_int_equal(survey_lang_accept(NULL, &l), 0);
    assert_int_equal(survey_lang_accept("eng,vie", &l), 0);
    assert_int_equal(survey_lang_accept(",,;q=,", &l), 0);
}

static void test_parse_and_text(void **state)
{
    (void)state;
    survey_lang l;
    assert_int_equal(survey_lang_parse("en", &l), 0);
    assert_int_equal(l, LANG_EN);
    assert_int_equal(survey_lang_parse("vi-VN", &l), 0);
    assert_int_equal(l, LANG_VI);
    assert_int_equal(survey_lang_parse("fr", &l), -1);
    assert_int_equal(survey_lang_parse("english", &l), -1);
    assert_int_equal(survey_lang_parse(NULL, &l), -1);
    assert_string_equal(survey_lang_code(LANG_EN), "en");
    buf b = BUF_INIT;
    survey_lang_request_text(&b, LANG_EN, "http://x/s/T");
    assert_non_null(strstr(buf_str(&b), "http://x/s/T"));
    assert_true(strncmp(buf_str(&b), "Thank you", 9) == 0);
    buf_reset(&b);
    survey_lang_request_text(&b, LANG_VI, "http://x/s/T");
    assert_true(strncmp(buf_str(&b), "Cảm ơn", strlen("Cảm ơn")) == 0);
    buf_release(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_accept_language),
        cmocka_unit_test(test_parse_and_text),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("lang", tests, NULL, NULL);
}
