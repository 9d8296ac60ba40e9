/* test_heap.c — services/sla-monitor/heap.c: order, duplicates, growth.
 * Run one test by name: test_heap <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"

static struct sla_timer timer(int64_t at, uint8_t tag)
{
    struct sla_timer t;
    memset(&t, 0, sizeof t);
    t.at = at;
    t.ticket[0] = tag;
    t.cycle = tag;
    t.target = 3;
    return t;
}

static void test_empty(void **state)
{
    (void)state;
    sla_heap h = {0};
    struct sla_timer out;
    assert_null(sla_heap_top(&h));
    assert_false(sla_heap_pop(&h, &out));
    sla_heap_release(&h);
}

static void test_pops_in_order_with_duplicates(void **state)
{
    (void)state;
    sla_heap h = {0};
    unsigned seed = 7;
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        struct sla_timer t = timer((int64_t)(seed % 5000), (uint8_t)i);
        assert_int_equal(sla_heap_push(&h, &t), 0);
    }
    assert_int_equal(h.n, N);
    int64_t last = INT64_MIN;
    struct sla_timer out;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sla_heap_top(&h)->at, h.v[0].at);
        assert_true(sla_heap_pop(&h, &out));
        assert_true(out.at >= last);
        assert_int_equal(out.target, 3);
        last = out.at;
    }
    assert_false(sla_heap_pop(&h, &out));
    sla_heap_release(&h);
    assert_null(h.v);
}

static void test_sorted_load_and_interleaving(void **state)
{
    (void)state;
    sla_heap h = {0};
    assert_int_equal(sla_heap_reserve(&h, 100000), 0);
    struct sla_timer *before = h.v;
    for (int i = 0; i < 100000; i++) {
        struct sla_timer t = timer(1000 + i, (uint8_t)i);
        assert_int_equal(sla_heap_push(&h, &t), 0);
    }
    /* Reserved room: no reallocation, and a sorted array is a heap as is. */
    assert_ptr_equal(h.v, before);
    assert_int_equal(h.v[99999].at, 1000 + 99999);
    struct sla_timer early = timer(5, 9), out;
    assert_int_equal(sla_heap_push(&h, &early), 0);
    assert_true(sla_heap_pop(&h, &out));
    assert_int_equal(out.at, 5);
    assert_int_equal(out.ticket[0], 9);
    assert_true(sla_heap_pop(&h, &out));
    assert_int_equal(out.at, 1000);
    sla_heap_release(&h);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_pops_in_order_with_duplicates),
        cmocka_unit_test(test_sorted_load_and_interleaving),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
