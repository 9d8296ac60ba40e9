/* test_lockout.c — the sign-in lockout's rule (lockout.h).
 * Run one test by name: test_lockout <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "lockout.h"

static void test_attempts_up_to_the_bound_go_on(void **state)
{
    (void)state;
    assert_int_equal(lockout_wait_s(1, 0, 5, 900), 0);
    assert_int_equal(lockout_wait_s(5, 1, 5, 900), 0);
}

static void test_past_the_bound_wait_for_the_time_after_the_last(void **state)
{
    (void)state;
    assert_int_equal(lockout_wait_s(6, 0, 5, 900), 900);
    assert_int_equal(lockout_wait_s(9, 100.2, 5, 900), 800); /* rounded up */
    assert_int_equal(lockout_wait_s(6, 899.5, 5, 900), 1);
}

static void test_the_wait_is_never_less_than_a_second(void **state)
{
    (void)state;
    /* At the very end of the time (the row counts from one just after). */
    assert_int_equal(lockout_wait_s(6, 900, 5, 900), 1);
}

static void test_a_clock_behind_waits_the_whole_time(void **state)
{
    (void)state;
    /* The last attempt "in the future" (a server's clock stepped back). */
    assert_int_equal(lockout_wait_s(6, -3, 5, 900), 900);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attempts_up_to_the_bound_go_on),
        cmocka_unit_test(test_past_the_bound_wait_for_the_time_after_the_last),
        cmocka_unit_test(test_the_wait_is_never_less_than_a_second),
        cmocka_unit_test(test_a_clock_behind_waits_the_whole_time),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("lockout", tests, NULL, NULL);
}
