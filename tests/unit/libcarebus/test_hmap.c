/* test_hmap.c — hmap.c: the one hash map.
 *
 * Byte-string keys (with lengths, so NULs and prefixes are distinct keys),
 * replacing, growing past many resizes, reserve (no allocation after it),
 * and typed keys with their own hash and equality, including a hash that
 * collides for every key. Run one test by name: test_hmap <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmap.h"

static void test_bytes(void **state)
{
    (void)state;
    hmap m = HMAP_INIT;
    assert_int_equal(hmap_gets(&m, "a"), HMAP_ABSENT);
    assert_int_equal(hmap_count(&m), 0);
    assert_int_equal(hmap_puts(&m, "a", 1), 0);
    assert_int_equal(hmap_puts(&m, "ab", 2), 0);
    assert_int_equal(hmap_puts(&m, "", 0), 0);
    assert_int_equal(hmap_put(&m, "ab\0c", 4, 3), 0);
    assert_int_equal(hmap_count(&m), 4);
    assert_int_equal(hmap_gets(&m, "a"), 1);
    assert_int_equal(hmap_gets(&m, "ab"), 2);
    assert_int_equal(hmap_gets(&m, ""), 0);
    assert_int_equal(hmap_get(&m, "ab\0c", 4), 3);
    assert_int_equal(hmap_get(&m, "ab\0d", 4), HMAP_ABSENT);
    assert_int_equal(hmap_get(&m, "abc", 2), 2); /* only klen bytes count */
    assert_int_equal(hmap_gets(&m, "abc"), HMAP_ABSENT);
    assert_int_equal(hmap_gets(&m, "b"), HMAP_ABSENT);
    /* Replacing keeps the count, and any int but HMAP_ABSENT is a value. */
    assert_int_equal(hmap_puts(&m, "a", -2), 0);
    assert_int_equal(hmap_gets(&m, "a"), -2);
    assert_int_equal(hmap_puts(&m, "a", 7), 0);
    assert_int_equal(hmap_gets(&m, "a"), 7);
    assert_int_equal(hmap_count(&m), 4);
    hmap_release(&m);
    assert_int_equal(hmap_count(&m), 0);
    assert_int_equal(hmap_gets(&m, "a"), HMAP_ABSENT);
    /* Usable again after release. */
    assert_int_equal(hmap_puts(&m, "a", 1), 0);
    assert_int_equal(hmap_gets(&m, "a"), 1);
    hmap_release(&m);
}

static void test_keys_are_borrowed(void **state)
{
    (void)state;
    hmap m = HMAP_INIT;
    char first[] = "key", second[] = "key";
    assert_int_equal(hmap_puts(&m, first, 1), 0);
    /* An equal key replaces the value; the map keeps the first pointer. */
    assert_int_equal(hmap_puts(&m, second, 2), 0);
    second[0] = 'x';
    assert_int_equal(hmap_gets(&m, "key"), 2);
    hmap_release(&m);
}

static void test_grow(void **state)
{
    (void)state;
    enum { N = 100000 };
    char(*keys)[16] = malloc(N * sizeof *keys);
    assert_non_null(keys);
    hmap m = HMAP_INIT;
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(hmap_puts(&m, keys[i], i), 0);
    }
    assert_int_equal(hmap_count(&m), N);
    assert_true(m.cap >= 2 * (size_t)N); /* at most half full */
    for (int i = 0; i < N; i++)
        if (hmap_gets(&m, keys[i]) != i)
            fail_msg("key %s lost after growing", keys[i]);
    assert_int_equal(hmap_gets(&m, "k100000"), HMAP_ABSENT);
    assert_int_equal(hmap_gets(&m, "k-1"), HMAP_ABSENT);
    hmap_release(&m);
    free(keys);
}

static void test_reserve(void **state)
{
    (void)state;
    hmap m = HMAP_INIT;
    assert_int_equal(hmap_reserve(&m, 100), 0);
    const hmap_slot *slots = m.slots;
    size_t cap = m.cap;
    assert_true(cap >= 200);
    static char keys[100][12];
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof keys[i], "%d", i);
        assert_int_equal(hmap_puts(&m, keys[i], i), 0);
    }
    /* No put up to the reserved count moved the table. */
    assert_ptr_equal(m.slots, slots);
    assert_int_equal(m.cap, cap);
    /* Reserving less than there is changes nothing. */
    assert_int_equal(hmap_reserve(&m, 10), 0);
    assert_ptr_equal(m.slots, slots);
    assert_int_equal(hmap_gets(&m, "99"), 99);
    hmap_release(&m);
}

/* A key of two fields, as analytics' sums use (dimension, day, text). */
struct pair_key {
    int dim;
    const char *text;
};

static uint64_t pair_hash(const void *key, size_t klen)
{
    (void)klen;
    const struct pair_key *k = key;
    return hmap_hash_bytes(k->text, strlen(k->text)) ^ (uint64_t)k->dim * 0x9e3779b97f4a7c15u;
}

static bool pair_eq(const void *stored, const void *key, size_t klen)
{
    (void)klen;
    const struct pair_key *a = stored, *b = key;
    return a->dim == b->dim && strcmp(a->text, b->text) == 0;
}

static uint64_t constant_hash(const void *key, size_t klen)
{
    (void)key;
    (void)klen;
    return 42;
}

static void test_typed(void **state)
{
    (void)state;
    static const hmap_type pair_type = {pair_hash, pair_eq};
    hmap m = HMAP_INIT_TYPE(&pair_type);
    struct pair_key keys[] = {{0, "x"}, {1, "x"}, {0, "y"}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(hmap_put(&m, &keys[i], sizeof keys[i], i), 0);
    /* Found by value through a probe on the stack, not by pointer. */
    char text[] = "x";
    struct pair_key probe = {1, text};
    assert_int_equal(hmap_get(&m, &probe, sizeof probe), 1);
    probe.dim = 2;
    assert_int_equal(hmap_get(&m, &probe, sizeof probe), HMAP_ABSENT);
    hmap_release(&m);
    assert_ptr_equal(m.type, &pair_type); /* the type survives release */
}

static void test_all_collide(void **state)
{
    (void)state;
    /* Equality alone must tell keys apart, through every resize. */
    static const hmap_type collide = {constant_hash, NULL};
    hmap m = HMAP_INIT_TYPE(&collide);
    static char keys[300][12];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof keys[i], "%d", i);
        assert_int_equal(hmap_puts(&m, keys[i], i), 0);
    }
    for (int i = 0; i < 300; i++)
        assert_int_equal(hmap_gets(&m, keys[i]), i);
    assert_int_equal(hmap_gets(&m, "300"), HMAP_ABSENT);
    hmap_release(&m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_keys_are_borrowed),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_typed),
        cmocka_unit_test(test_all_collide),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("hmap", tests, NULL, NULL);
}
