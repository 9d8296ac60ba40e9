/* test_subs.c — services/courier/subs.c's pure part: which event types a
 * subscription's patterns take ("*" matching any run of characters, dots
 * included). Run one test by name: test_subs <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "subs.h"

static void test_patterns(void **state)
{
    (void)state;
    assert_true(subs_pattern_match("*", "ticket.opened"));
    assert_true(subs_pattern_match("ticket.*", "ticket.opened"));
    assert_true(subs_pattern_match("ticket.*", "ticket.status_changed"));
    assert_false(subs_pattern_match("ticket.*", "tickets.opened"));
    assert_false(subs_pattern_match("ticket.*", "sla.breach"));
    assert_true(subs_pattern_match("contact.received", "contact.received"));
    assert_false(subs_pattern_match("contact.received", "contact.received2"));
    assert_false(subs_pattern_match("contact.receive", "contact.received"));
    assert_true(subs_pattern_match("*.opened", "ticket.opened"));
    assert_false(subs_pattern_match("*.opened", "ticket.reopened.x"));
    assert_true(subs_pattern_match("*opened", "ticket.reopened"));
    assert_true(subs_pattern_match("message.*d", "message.delivered"));
    assert_true(subs_pattern_match("message.*d", "message.failed"));
    assert_false(subs_pattern_match("message.*d", "message.sent"));
    assert_true(subs_pattern_match("**", "a"));
    assert_true(subs_pattern_match("a*b*c", "aXbYbZc"));
    assert_false(subs_pattern_match("a*b*c", "aXbYbZ"));
    assert_false(subs_pattern_match("", "ticket.opened"));
    assert_true(subs_pattern_match("*", ""));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("subs", tests, NULL, NULL);
}
