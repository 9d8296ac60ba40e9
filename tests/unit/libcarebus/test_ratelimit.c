/* test_ratelimit.c — the per-key token bucket (ratelimit.c), on a clock the
 * test drives. Run one test by name: test_ratelimit <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC INT64_C(1000000)
#define T0 (1000 * SEC)

static void test_burst_then_rate(void **state)
{
    (void)state;
    struct ratelimit_conf c = {10, 5};
    struct ratelimit b = {0};
    /* A new bucket is full: the burst goes through at once. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_take(&b, &c, T0), 0);
    long wait = ratelimit_take(&b, &c, T0);
    assert_int_equal(wait, 1); /* 1/10 s rounds up to the header's 1 s */
    /* 100 ms later, one token. */
    assert_int_equal(ratelimit_take(&b, &c, T0 + SEC / 10), 0);
    assert_true(ratelimit_take(&b, &c, T0 + SEC / 10) > 0);
    /* A long pause refills to the burst, not beyond. */
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += ratelimit_take(&b, &c, T0 + 3600 * SEC) == 0;
    assert_int_equal(ok, 5);
}

static void test_slow_rate_retry_after(void **state)
{
    (void)state;
    struct ratelimit_conf c = {0.25, 1}; /* one request every 4 s */
    struct ratelimit b = {0};
    assert_int_equal(ratelimit_take(&b, &c, T0), 0);
    assert_int_equal(ratelimit_take(&b, &c, T0), 4);
    assert_int_equal(ratelimit_take(&b, &c, T0 + 2 * SEC), 2);
    assert_int_equal(ratelimit_take(&b, &c, T0 + 4 * SEC), 0);
}

static void test_refused_requests_cost_nothing(void **state)
{
    (void)state;
    struct ratelimit_conf c = {1, 1};
    struct ratelimit b = {0};
    assert_int_equal(ratelimit_take(&b, &c, T0), 0);
    for (int i = 0; i < 100; i++)
        assert_true(ratelimit_take(&b, &c, T0 + SEC / 2) > 0);
    /* Hammering while empty does not push the next token further away. */
    assert_int_equal(ratelimit_take(&b, &c, T0 + SEC), 0);
}

static void test_unlimited_and_clock(void **state)
{
    (void)state;
    struct ratelimit_conf off = {0, 1};
    struct ratelimit b = {0};
    for (int i = 0; i < 100000; i++)
        assert_int_equal(ratelimit_take(&b, &off, T0), 0);
    /* A clock that goes backwards adds no tokens. */
    struct ratelimit_conf c = {1, 1};
    struct ratelimit b2 = {0};
    assert_int_equal(ratelimit_take(&b2, &c, T0), 0);
    assert_true(ratelimit_take(&b2, &c, T0 - 100 * SEC) > 0);
    assert_true(ratelimit_take(&b2, &c, T0 + SEC / 2) > 0);
    assert_int_equal(ratelimit_take(&b2, &c, T0 + SEC), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_slow_rate_retry_after),
        cmocka_unit_test(test_refused_requests_cost_nothing),
        cmocka_unit_test(test_unlimited_and_clock),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
