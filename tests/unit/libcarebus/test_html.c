/* test_html.c — html.c: the one escaper of every page.
 *
 * All five of & < > " ' are escaped, so the text is safe in element content
 * and in attribute values quoted either way. Run one test by name:
 * test_html <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "html.h"

static void test_escape(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    html_escape(&b, "<script>alert('x')</script> & \"q\"");
    assert_string_equal(buf_str(&b),
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    buf_reset(&b);
    /* Already escaped text is escaped again: the input is text, not HTML. */
    html_escape(&b, "&amp;");
    assert_string_equal(buf_str(&b), "&amp;amp;");
    buf_reset(&b);
    /* Other bytes, UTF-8 included, are copied as they are. */
    html_escape(&b, "Khách hàng O'Brien");
    assert_string_equal(buf_str(&b), "Khách hàng O&#39;Brien");
    buf_reset(&b);
    html_escape(&b, "plain");
    html_escape(&b, "");
    html_escape(&b, NULL);
    assert_string_equal(buf_str(&b), "plain");
    buf_reset(&b);
    html_escape(&b, "'''");
    assert_string_equal(buf_str(&b), "&#39;&#39;&#39;");
    buf_release(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
