/* test_placeholder.c — placeholder.c: checking and filling {placeholders}.
 *
 * A brace that opens no placeholder is text; an unknown placeholder is
 * refused by the check and left as written by the rendering. Run one test
 * by name: test_placeholder <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "placeholder.h"

static const char *const known[] = {"customer_name", "ticket_number", "agent_name"};
#define NKNOWN (sizeof known / sizeof known[0])

static void test_check(void **state)
{
    (void)state;
    char bad[PLACEHOLDER_NAME_MAX + 1];
    assert_int_equal(
        placeholder_check("Chào {customer_name}, phiếu {ticket_number}", known, NKNOWN, bad), 0);
    assert_string_equal(bad, "");
    assert_int_equal(placeholder_check("", known, NKNOWN, bad), 0);
    assert_int_equal(placeholder_check(NULL, known, NKNOWN, bad), 0);
    /* Braces that open no placeholder are text. */
    assert_int_equal(placeholder_check("{ } {Name} {a-b} {} {{ }} {x", known, NKNOWN, bad), 0);
    assert_int_equal(placeholder_check("Hi {customer}!", known, NKNOWN, bad), -1);
    assert_string_equal(bad, "customer");
    assert_int_equal(placeholder_check("{agent_name} {order_id}", known, NKNOWN, bad), -1);
    assert_string_equal(bad, "order_id");
    /* A prefix of a known name is not that name. */
    assert_int_equal(placeholder_check("{agent}", known, NKNOWN, bad), -1);
    assert_string_equal(bad, "agent");
    /* A long unknown name is cut to fit. */
    char text[128];
    memset(text, 'a', sizeof text);
    text[0] = '{';
    text[100] = '}';
    text[101] = '\0';
    assert_int_equal(placeholder_check(text, known, NKNOWN, bad), -1);
    assert_int_equal(strlen(bad), PLACEHOLDER_NAME_MAX);
}

static void render(const char *text, const struct placeholder *v, size_t n, const char *want)
{
    buf b = BUF_INIT;
    placeholder_render(text, v, n, &b);
    assert_false(b.failed);
    assert_string_equal(buf_str(&b), want);
    buf_release(&b);
}

static void test_render(void **state)
{
    (void)state;
    const struct placeholder v[] = {
        {"customer_name", "Lan"}, {"ticket_number", "4812"}, {"agent_name", NULL}};
    render("Chào {customer_name}, phiếu #{ticket_number} ({agent_name}).", v, 3,
           "Chào Lan, phiếu #4812 ().");
    render("{customer_name}{customer_name}", v, 3, "LanLan");
    /* Unknown ones and braces that are text stay as written. */
    render("{order_id} { x } {Lan} {", v, 3, "{order_id} { x } {Lan} {");
    render("{{customer_name}}", v, 3, "{Lan}");
    render("", v, 3, "");
    render(NULL, v, 3, "");
    render("no values {customer_name}", v, 0, "no values {customer_name}");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_render),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("placeholder", tests, NULL, NULL);
}
