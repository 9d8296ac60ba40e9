/* test_lockout.c — the sign-in lockout's rule (lockout.h).
 * Run one test by name: test_lockout <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "lockout.h"

static void test_fewer_failures_than_the_bound_go_through(void **state)
{
    (void)state;
    assert_int_equal(lockout_wait_s(0, 0, 5, 900), 0);
    assert_int_equal(lockout_wait_s(4, 1, 5, 900), 0);
}

static void test_the_bound_locks_until_the_time_after_the_last(void **state)
{
    (void)state;
    assert_int_equal(lockout_wait_s(5, 0, 5, 900), 900);
    assert_int_equal(lockout_wait_s(7, 100.2, 5, 900), 800); /* rounded up */
    assert_int_equal(lockout_wait_s(5, 899.5, 5, 900), 1);
}

static void test_the_lock_ends_after_its_time(void **state)
{
    (void)state;
    assert_int_equal(lockout_wait_s(5, 900, 5, 900), 0);
    assert_int_equal(lockout_wait_s(50, 1e9, 5, 900), 0);
}

static void test_a_clock_behind_waits_the_whole_time(void **state)
{
    (void)state;
    /* The last failure "in the future" (a server's clock stepped back). */
    assert_int_equal(lockout_wait_s(5, -3, 5, 900), 900);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fewer_failures_than_the_bound_go_through),
        cmocka_unit_test(test_the_bound_locks_until_the_time_after_the_last),
        cmocka_unit_test(test_the_lock_ends_after_its_time),
        cmocka_unit_test(test_a_clock_behind_waits_the_whole_time),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("lockout", tests, NULL, NULL);
}
