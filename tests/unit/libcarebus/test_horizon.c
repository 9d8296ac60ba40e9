/* test_horizon.c — which events of several streams' chunks go together.
 *
 * The horizon is the earliest last time of the full chunks; every stream
 * gives its prefix up to it; a stream's end (a chunk not full) does not
 * limit it; the stream that sets it gives its whole chunk, even when a time
 * in it goes backwards, so that a round always makes progress.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "horizon.h"

static void test_prefixes_up_to_the_earliest_full_end(void **state)
{
    (void)state;
    /* ingest full up to 40, router full up to 25, sla at its end. */
    static const int64_t a[] = {10, 20, 30, 40}, b[] = {5, 15, 25}, c[] = {1, 26, 100};
    struct horizon_read r[] = {{4, true, a}, {3, true, b}, {3, false, c}};
    size_t take[3];
    horizon_take(r, 3, take);
    assert_int_equal(take[0], 2); /* 10, 20 */
    assert_int_equal(take[1], 3); /* all: it sets the horizon */
    assert_int_equal(take[2], 1); /* 1; 26 is past it */
}

static void test_no_full_chunk_takes_everything(void **state)
{
    (void)state;
    static const int64_t a[] = {10, 90}, b[] = {50};
    struct horizon_read r[] = {{2, false, a}, {1, false, b}, {0, false, NULL}};
    size_t take[3];
    horizon_take(r, 3, take);
    assert_int_equal(take[0], 2);
    assert_int_equal(take[1], 1);
    assert_int_equal(take[2], 0);
}

static void test_the_horizon_stream_always_gives_its_chunk(void **state)
{
    (void)state;
    /* A time going backwards in the stream that sets the horizon: its
     * first event (30) is past its last (20); it goes whole anyway. */
    static const int64_t a[] = {30, 20}, b[] = {25, 35, 45};
    struct horizon_read r[] = {{2, true, a}, {3, true, b}};
    size_t take[2];
    horizon_take(r, 2, take);
    assert_int_equal(take[0], 2);
    assert_int_equal(take[1], 0); /* 25 > 20 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes_up_to_the_earliest_full_end),
        cmocka_unit_test(test_no_full_chunk_takes_everything),
        cmocka_unit_test(test_the_horizon_stream_always_gives_its_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
