/* test_page.c — services/survey/page.c: the HTML's structure, escaping and
 * CSP. Run one test by name: test_page <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"
#include "page.h"
#include "survey.h"

#define TOKEN "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_form_structure(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    struct survey_form_view v = {.lang = LANGUAGE_VI, .token = TOKEN, .csrf = "CSRF"};
    survey_page_form(&b, &v);
    const char *h = buf_str(&b);
    assert_non_null(strstr(h, "<html lang=\"vi\">"));
    assert_non_null(strstr(h, "name=\"viewport\""));
    assert_int_equal(count(h, "<fieldset"), 2);
    assert_int_equal(count(h, "<legend>"), 2);
    assert_int_equal(count(h, "type=\"radio\""), 12);
    assert_int_equal(count(h, "name=\"csat\""), 5);
    assert_int_equal(count(h, "name=\"ces\""), 7);
    /* Every radio has its label. */
    for (int i = 1; i <= 7; i++) {
        char want[64];
        snprintf(want, sizeof want, "for=\"ces-%d\"><input type=\"radio\" id=\"ces-%d\"", i, i);
        assert_non_null(strstr(h, want));
    }
    assert_non_null(strstr(h, "<label class=\"field\" for=\"comment\">"));
    assert_non_null(strstr(h, "name=\"csrf\" value=\"CSRF\""));
    assert_non_null(strstr(h, "action=\"" TOKEN "\""));
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "role=\"alert\""));
    assert_null(strstr(h, " checked"));
    assert_null(strstr(h, "http"));
    buf_release(&b);
}

static void test_form_errors_and_escaping(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    struct survey_form_view v = {.lang = LANGUAGE_EN,
                                 .token = TOKEN,
                                 .csrf = "C\"SRF",
                                 .csat = 4,
                                 .comment = "<script>alert('x')</script> & \"q\"",
                                 .bad = SURVEY_BAD_CES};
    survey_page_form(&b, &v);
    const char *h = buf_str(&b);
    assert_non_null(strstr(h, "<html lang=\"en\">"));
    assert_non_null(strstr(h, "role=\"alert\""));
    assert_non_null(strstr(h, "aria-describedby=\"ces-err\""));
    assert_non_null(strstr(h, "id=\"csat-4\" name=\"csat\" value=\"4\" required checked"));
    assert_null(strstr(h, "<script>"));
    assert_non_null(
        strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
    assert_non_null(strstr(h, "value=\"C&quot;SRF\""));
    assert_non_null(strstr(h, "Choose how much you agree"));
    assert_null(strstr(h, "Choose how satisfied"));
    buf_release(&b);
}

static void test_notices(void **state)
{
    (void)state;
    for (int l = LANGUAGE_VI; l <= LANGUAGE_EN; l++)
        for (int n = NOTICE_INVALID; n <= NOTICE_EXAMPLE; n++) {
            buf b = BUF_INIT;
            survey_page_notice(&b, (language_id)l, (survey_notice)n, TOKEN);
            const char *h = buf_str(&b);
            assert_non_null(strstr(h, l == LANGUAGE_EN ? "lang=\"en\"" : "lang=\"vi\""));
            assert_int_equal(count(h, "<h1>"), 1);
            assert_true((strstr(h, "href=\"" TOKEN "?lang=") != NULL) == (n == NOTICE_CSRF));
            assert_true((strstr(h, "href=\"./?lang=") != NULL) == (n == NOTICE_EXAMPLE));
            buf_release(&b);
        }
    buf b = BUF_INIT;
    survey_page_thanks(&b, LANGUAGE_VI);
    assert_non_null(strstr(buf_str(&b), "Cảm ơn anh/chị!"));
    buf_release(&b);
}

static void test_home(void **state)
{
    (void)state;
    for (int l = LANGUAGE_VI; l <= LANGUAGE_EN; l++) {
        buf b = BUF_INIT;
        survey_page_home(&b, (language_id)l);
        const char *h = buf_str(&b);
        bool en = l == LANGUAGE_EN;
        assert_non_null(strstr(h, en ? "<html lang=\"en\">" : "<html lang=\"vi\">"));
        assert_int_equal(count(h, "<h1>"), 1);
        assert_non_null(
            strstr(h, en ? "Customer satisfaction surveys" : "Khảo sát mức độ hài lòng"));
        /* The example, in the page's language; the other language; links
         * relative, so that a proxy's path prefix keeps working. */
        assert_non_null(strstr(h, en ? "href=\"example?lang=en\"" : "href=\"example?lang=vi\""));
        assert_non_null(strstr(h, en ? "href=\"?lang=vi\"" : "href=\"?lang=en\""));
        assert_non_null(strstr(h, "/v1/surveys/{token}/answer"));
        assert_null(strstr(h, "http"));
        assert_null(strstr(h, "<script"));
        buf_release(&b);
    }
}

static void test_example_form(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    struct survey_form_view v = {
        .lang = LANGUAGE_EN, .token = "example", .csrf = "", .example = true};
    survey_page_form(&b, &v);
    const char *h = buf_str(&b);
    assert_non_null(strstr(h, "action=\"example\""));
    assert_non_null(strstr(h, "answers are not recorded"));
    assert_int_equal(count(h, "type=\"radio\""), 12);
    buf_release(&b);
    /* A link's form says nothing of the kind. */
    struct survey_form_view real = {.lang = LANGUAGE_EN, .token = TOKEN, .csrf = "C"};
    survey_page_form(&b, &real);
    assert_null(strstr(buf_str(&b), "class=\"example\""));
    buf_release(&b);
}

static void test_csp(void **state)
{
    (void)state;
    const char *csp = survey_page_csp();
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "style-src 'sha256-"));
    assert_non_null(strstr(csp, "form-action 'self'"));
    assert_null(strstr(csp, "unsafe"));
    assert_ptr_equal(csp, survey_page_csp());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_structure), cmocka_unit_test(test_form_errors_and_escaping),
        cmocka_unit_test(test_notices),        cmocka_unit_test(test_csp),
        cmocka_unit_test(test_home),           cmocka_unit_test(test_example_form),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("page", tests, NULL, NULL);
}
