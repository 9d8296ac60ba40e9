/* test_lang.c — services/survey/lang.c: the request text in each
 * language. Run one test by name: test_lang <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lang.h"

static void test_request_text(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    survey_lang_request_text(&b, LANGUAGE_EN, "http://x/s/T");
    assert_non_null(strstr(buf_str(&b), "http://x/s/T"));
    assert_true(strncmp(buf_str(&b), "Thank you", 9) == 0);
    buf_reset(&b);
    survey_lang_request_text(&b, LANGUAGE_VI, "http://x/s/T");
    assert_true(strncmp(buf_str(&b), "Cảm ơn", strlen("Cảm ơn")) == 0);
    buf_release(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_text),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("lang", tests, NULL, NULL);
}
