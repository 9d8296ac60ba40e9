/* test_answer.c — services/survey/answer.c: answers from the form and from
 * JSON, and comment normalisation. Run one test by name: test_answer <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"

static void form(const char *body, struct survey_form *f)
{
    assert_int_equal(survey_form_parse(body, strlen(body), f), 0);
}

static void test_form_ok(void **state)
{
    (void)state;
    struct survey_form f;
    form("csrf=abc&lang=vi&csat=5&ces=6&comment=R%E1%BA%A5t+t%E1%BB%91t%0D%0Ana&x=1", &f);
    assert_int_equal(f.bad, 0);
    assert_int_equal(f.a.csat, 5);
    assert_int_equal(f.a.ces, 6);
    assert_string_equal(f.a.comment, "Rất tốt\nna");
    assert_string_equal(f.csrf, "abc");
    assert_string_equal(f.lang, "vi");
    survey_form_clear(&f);
    /* A blank comment is no comment. */
    form("csat=1&ces=7&comment=+%20%0A", &f);
    assert_int_equal(f.bad, 0);
    assert_null(f.a.comment);
    survey_form_clear(&f);
}

static void test_form_bad(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        unsigned bad;
    } cases[] = {
        {"", SURVEY_BAD_CSAT | SURVEY_BAD_CES},
        {"csat=6&ces=5", SURVEY_BAD_CSAT},
        {"csat=0&ces=5", SURVEY_BAD_CSAT},
        {"csat=05&ces=5", SURVEY_BAD_CSAT},
        {"csat=+5&ces=5", SURVEY_BAD_CSAT},
        {"csat=5&ces=8", SURVEY_BAD_CES},
        {"csat=5&ces=", SURVEY_BAD_CES},
        {"csat=5&csat=4&ces=5", SURVEY_BAD_CSAT},
        {"csat=5&ces=5&ces=5", SURVEY_BAD_CES},
        {"csat=5&ces=5&comment=a%00b", SURVEY_BAD_COMMENT},
        {"csat=5&ces=5&comment=%FF", SURVEY_BAD_COMMENT},
        {"csat=5&ces=5&comment=%C3%28", SURVEY_BAD_COMMENT},
        {"csat=5&ces=5&comment=%ED%A0%80", SURVEY_BAD_COMMENT}, /* a surrogate */
        {"csat=5&ces=5&comment=%07", SURVEY_BAD_COMMENT},
        {"csat=5&ces=5&comment=a&comment=b", SURVEY_BAD_COMMENT},
        {"csat&ces=5", SURVEY_BAD_CSAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct survey_form f;
        form(cases[i].body, &f);
        if (f.bad != cases[i].bad)
            fail_msg("\"%s\": bad %u, expected %u", cases[i].body, f.bad, cases[i].bad);
        survey_form_clear(&f);
    }
    /* The comment is kept for the page even when a score is missing. */
    struct survey_form f;
    form("ces=3&comment=gi%E1%BB%AF", &f);
    assert_int_equal(f.bad, SURVEY_BAD_CSAT);
    assert_string_equal(f.a.comment, "giữ");
    assert_int_equal(f.a.ces, 3);
    survey_form_clear(&f);
    /* A truncated escape is kept as it is. */
    form("csat=5&ces=5&comment=100%2", &f);
    assert_int_equal(f.bad, 0);
    assert_string_equal(f.a.comment, "100%2");
    survey_form_clear(&f);
}

static void test_comment_length(void **state)
{
    (void)state;
    /* 2,000 characters of two bytes each pass; 2,001 do not. */
    char *s = malloc(2 * 2001 + 1);
    assert_non_null(s);
    for (int i = 0; i < 2001; i++)
        memcpy(s + 2 * i, "\xc6\xb0", 2); /* ư */
    s[2 * 2001] = '\0';
    int blank;
    assert_int_equal(survey_comment_normalise(s, &blank), -1);
    s[2 * 2000] = '\0';
    assert_int_equal(survey_comment_normalise(s, &blank), 0);
    assert_false(blank);
    free(s);
    char t[] = " \r\n a\r\rb\t \n";
    assert_int_equal(survey_comment_normalise(t, &blank), 0);
    assert_string_equal(t, "a\n\nb");
}

static void json_ok(const char *body, int csat, int ces, const char *comment)
{
    struct survey_answer a;
    const char *field;
    char msg[256];
    if (survey_answer_json(body, strlen(body), &a, &field, msg, sizeof msg) != 0)
        fail_msg("%s: %s", body, msg);
    assert_int_equal(a.csat, csat);
    assert_int_equal(a.ces, ces);
    if (comment)
        assert_string_equal(a.comment, comment);
    else
        assert_null(a.comment);
    survey_answer_clear(&a);
}

static void json_bad(const char *body, const char *want_field)
{
    struct survey_answer a;
    const char *field = "unset";
    char msg[256];
    if (survey_answer_json(body, strlen(body), &a, &field, msg, sizeof msg) == 0)
        fail_msg("%s: accepted", body);
    if (want_field) {
        assert_non_null(field);
        assert_string_equal(field, want_field);
    } else
        assert_null(field);
    assert_true(strlen(msg) > 0);
    assert_null(a.comment);
}

static void test_json(void **state)
{
    (void)state;
    json_ok("{\"csat\":5,\"ces\":6,\"comment\":\"Tốt\"}", 5, 6, "Tốt");
    json_ok("{\"csat\":1}", 1, 0, NULL);
    json_ok("{\"ces\":7,\"comment\":null,\"csat\":null}", 0, 7, NULL);
    json_ok("{\"csat\":3,\"comment\":\"   \"}", 3, 0, NULL);
    json_ok("{\"csat\":3,\"extra\":true}", 3, 0, NULL);
    json_bad("{\"csat\":6}", "csat");
    json_bad("{\"csat\":0,\"ces\":5}", "csat");
    json_bad("{\"csat\":5,\"ces\":8}", "ces");
    json_bad("{\"csat\":5,\"ces\":0}", "ces");
    json_bad("{\"csat\":\"5\"}", "csat");
    json_bad("{\"csat\":5.0}", "csat");
    json_bad("{\"csat\":true}", "csat");
    json_bad("{}", "csat");
    json_bad("{\"comment\":\"only\"}", "csat");
    json_bad("{\"csat\":5,\"comment\":5}", "comment");
    json_bad("{\"csat\":5,\"comment\":\"a\\u0000b\"}", NULL); /* jansson refuses NUL */
    json_bad("{\"csat\":5,\"comment\":\"bell\\u0007\"}", "comment");
    json_bad("[5]", NULL);
    json_bad("{\"csat\":5", NULL);
    json_bad("{\"csat\":5,\"csat\":4}", NULL);
    json_bad("", NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_ok),
        cmocka_unit_test(test_form_bad),
        cmocka_unit_test(test_comment_length),
        cmocka_unit_test(test_json),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("answer", tests, NULL, NULL);
}
