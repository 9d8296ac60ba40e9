/* test_retry.c — services/courier/retry.c: backoff with full jitter (the
 * window doubling from the base to the cap, the wait anywhere in it), a
 * Retry-After never shortened, and the deadline. Run one test by name:
 * test_retry <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

static void test_full_jitter(void **state)
{
    (void)state;
    /* Uniform in [0, d], d doubling from the base up to the cap. */
    assert_int_equal(retry_delay_ms(1000, 60000, 1, -1, 0), 0);
    assert_int_equal(retry_delay_ms(1000, 60000, 1, -1, 1000), 1000);
    assert_int_equal(retry_delay_ms(1000, 60000, 1, -1, 1001), 0);
    assert_int_equal(retry_delay_ms(1000, 60000, 2, -1, 2000), 2000);
    assert_int_equal(retry_delay_ms(1000, 60000, 3, -1, 4000), 4000);
    assert_int_equal(retry_delay_ms(1000, 60000, 30, -1, 60000), 60000);
    assert_int_equal(retry_delay_ms(1000, 60000, 1000, -1, UINT32_MAX),
                     (int64_t)(UINT32_MAX % 60001));
    int64_t lo = INT64_MAX, hi = 0;
    for (uint32_t r = 0; r < 50000; r += 7) {
        int64_t v = retry_delay_ms(5000, 3600000, 4, -1, r);
        assert_true(v >= 0 && v <= 40000);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    /* The whole window is used, not its upper half. */
    assert_true(lo < 1000 && hi > 39000);
    assert_true(retry_delay_ms(0, 60000, 1, -1, 12345) <= 1);
}

static void test_retry_after_is_a_floor(void **state)
{
    (void)state;
    for (uint32_t r = 0; r < 5000; r += 13)
        assert_true(retry_delay_ms(1000, 60000, 1, 2000, r) >= 2000);
    /* Beyond the cap too: never earlier than asked. */
    assert_int_equal(retry_delay_ms(1000, 60000, 1, 120000, 5), 120000);
    /* A longer backoff stands. */
    assert_int_equal(retry_delay_ms(1000, 60000, 5, 10, 16000), 16000);
}

static void test_deadline(void **state)
{
    (void)state;
    int64_t now = INT64_C(1796529600000000);
    assert_int_equal(retry_next_at(now, now + 5000000, 4000), now + 4000000);
    assert_int_equal(retry_next_at(now, now + 5000000, 5000), now + 5000000);
    assert_int_equal(retry_next_at(now, now + 5000000, 5001), -1);
    assert_int_equal(retry_next_at(now, now - 1, 0), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_jitter),
        cmocka_unit_test(test_retry_after_is_a_floor),
        cmocka_unit_test(test_deadline),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
