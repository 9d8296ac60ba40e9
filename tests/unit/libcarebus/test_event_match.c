/* test_event_match.c — event_match.c: the patterns subscriptions and the
 * event feed name events with.
 *
 * "*" swallows any run, dots included, and backtracks; everything else
 * matches itself. A pattern is refused for its characters or its length,
 * and when no event type of the schema matches it. The expansion lists
 * each matching type once, in schema order. Run one test by name:
 * test_event_match <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event_match.h"
#include "vocab.h"

static void test_match(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *type;
        bool want;
    } cases[] = {
        {"ticket.opened", "ticket.opened", true},
        {"ticket.opened", "ticket.opene", false},
        {"ticket.opene", "ticket.opened", false},
        {"ticket.*", "ticket.opened", true},
        {"ticket.*", "ticket.status_changed", true},
        {"ticket.*", "ticket.", true},
        {"ticket.*", "tickets.opened", false},
        {"ticket.*", "customer.merged", false},
        {"*", "sla.breach", true},
        {"*", "", true},
        {"**", "sla.breach", true},
        {"*.failed", "message.failed", true},
        {"*.failed", "message.failed.x", false},
        {"message.*ed", "message.delivered", true},
        {"message.*ed", "message.read", false},
        {"*a*a*", "banana", true},
        {"*a*a*a*a", "banana", false},
        {"t*t", "ticket.transferred", false},
        {"t*d", "ticket.transferred", true},
        {"", "", true},
        {"", "x", false},
        {"x", "", false},
        /* (moved from courier's subscriptions) */
        {"ticket.*", "sla.breach", false},
        {"contact.received", "contact.received", true},
        {"contact.received", "contact.received2", false},
        {"contact.receive", "contact.received", false},
        {"*.opened", "ticket.opened", true},
        {"*.opened", "ticket.reopened.x", false},
        {"*opened", "ticket.reopened", true},
        {"message.*d", "message.delivered", true},
        {"message.*d", "message.failed", true},
        {"message.*d", "message.sent", false},
        {"**", "a", true},
        {"a*b*c", "aXbYbZc", true},
        {"a*b*c", "aXbYbZ", false},
        {"", "ticket.opened", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (event_match(cases[i].pattern, cases[i].type) != cases[i].want)
            fail_msg("\"%s\" against \"%s\": want %s", cases[i].pattern, cases[i].type,
                     cases[i].want ? "a match" : "no match");
}

static void test_match_any(void **state)
{
    (void)state;
    const char *p[] = {"sla.*", "ticket.opened"};
    assert_true(event_match_any(p, 2, "sla.warning"));
    assert_true(event_match_any(p, 2, "ticket.opened"));
    assert_false(event_match_any(p, 2, "ticket.closed"));
    assert_false(event_match_any(p, 0, "ticket.opened"));
}

static void test_check(void **state)
{
    (void)state;
    const char *why = NULL;
    static const char *const good[] = {"*",        "ticket.*",       "ticket.opened",
                                       "*.failed", "subscription.*", "message.outbound",
                                       "sla.*"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (event_match_check(good[i], &why) != 0)
            fail_msg("\"%s\" refused: %s", good[i], why);
    static const char *const bad_form[] = {
        "",
        "Ticket.*",
        "ticket opened",
        "ticket.?",
        "ticket-opened",
        "tícket.*",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*"};
    for (size_t i = 0; i < sizeof bad_form / sizeof bad_form[0]; i++) {
        why = NULL;
        if (event_match_check(bad_form[i], &why) == 0)
            fail_msg("\"%s\" accepted", bad_form[i]);
        assert_non_null(strstr(why, "must be"));
    }
    assert_int_equal(event_match_check(NULL, &why), -1);
    static const char *const no_type[] = {"ticket.open", "tickets.*", "x*", "ticket.opened.*"};
    for (size_t i = 0; i < sizeof no_type / sizeof no_type[0]; i++) {
        why = NULL;
        if (event_match_check(no_type[i], &why) == 0)
            fail_msg("\"%s\" accepted", no_type[i]);
        assert_string_equal(why, "matches no event type");
    }
}

static void test_types(void **state)
{
    (void)state;
    size_t all = vocab_event_type_count();
    const char *out[128];
    assert_true(all <= sizeof out / sizeof out[0]);
    const char *star[] = {"*"};
    assert_int_equal(event_match_types(star, 1, out, all), all);
    for (size_t i = 0; i < all; i++)
        assert_string_equal(out[i], vocab_event_type(vocab_event_type_at(i)));

    /* Overlapping patterns list a type once, in schema order. */
    const char *p[] = {"sla.breach", "sla.*", "contact.received"};
    size_t n = event_match_types(p, 3, out, all);
    assert_int_equal(n, 4);
    assert_string_equal(out[0], "contact.received");
    assert_string_equal(out[1], "sla.warning");
    assert_string_equal(out[2], "sla.breach");
    assert_string_equal(out[3], "sla.escalation");
    assert_int_equal(event_match_types(p, 3, out, 2), 2);
    assert_int_equal(event_match_types(p, 0, out, all), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_any),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_types),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("event_match", tests, NULL, NULL);
}
