/* test_backoff.c — the doubling delay between failed attempts (pure).
 *
 *  - backoff_next: the floor first, then twice the last, never past the
 *    cap (also from a delay that was not a power of two of the floor);
 *  - the state: waiting for the delay from the failure's end, growing with
 *    each failure, back to the floor after a success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_next(void **state)
{
    (void)state;
    assert_int_equal(backoff_next(0, 100, 3200), 100);
    assert_int_equal(backoff_next(100, 100, 3200), 200);
    assert_int_equal(backoff_next(1600, 100, 3200), 3200);
    assert_int_equal(backoff_next(3200, 100, 3200), 3200);
    assert_int_equal(backoff_next(2000, 100, 3000), 3000);
    assert_int_equal(backoff_next(1500, 100, 3000), 3000);
    /* Below the floor (a delay set by hand) starts over at the floor. */
    assert_int_equal(backoff_next(50, 100, 3200), 100);
    /* A floor equal to the cap is a fixed delay. */
    assert_int_equal(backoff_next(0, 500, 500), 500);
    assert_int_equal(backoff_next(500, 500, 500), 500);
    /* The sequence reaches the cap and stays there, bounded. */
    long d = 0, steps = 0;
    for (int i = 0; i < 64; i++) {
        long n = backoff_next(d, 100, 3200);
        assert_true(n >= d && n <= 3200);
        steps += n != d;
        d = n;
    }
    assert_int_equal(d, 3200);
    assert_int_equal(steps, 6); /* 100 200 400 800 1600 3200 */
}

static void test_state(void **state)
{
    (void)state;
    struct backoff b = {.min_ms = 100, .max_ms = 400};
    assert_false(backoff_waiting(&b, 0));
    assert_int_equal(backoff_fail(&b, 1000), 100);
    assert_true(backoff_waiting(&b, 1000));
    assert_true(backoff_waiting(&b, 1099));
    assert_false(backoff_waiting(&b, 1100));
    assert_int_equal(backoff_fail(&b, 5000), 200);
    assert_true(backoff_waiting(&b, 5199));
    assert_int_equal(backoff_fail(&b, 6000), 400);
    assert_int_equal(backoff_fail(&b, 7000), 400);
    assert_true(backoff_waiting(&b, 7399));
    backoff_reset(&b);
    assert_false(backoff_waiting(&b, 7000));
    assert_int_equal(backoff_fail(&b, 8000), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
