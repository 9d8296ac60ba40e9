/* test_id.c — id.c: random and name-based UUIDs.
 *
 * The pinned v5 values were computed with Python's uuid.uuid5 and the carebus
 * namespace: if they change, every derived id in every event log changes.
 * Run one test by name: test_id <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "id.h"

/* 8-4-4-4-12 lower-case hex, with the given version nibble and the RFC 4122
 * variant. */
static void assert_uuid_shape(const char *s, char version)
{
    assert_int_equal(strlen(s), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", s[i]));
    }
    assert_int_equal(s[14], version);
    assert_non_null(strchr("89ab", s[19]));
    assert_true(id_valid(s));
}

static void test_new_is_v4_and_unique(void **state)
{
    (void)state;
    char a[ID_LEN], b[ID_LEN];
    id_new(a);
    id_new(b);
    assert_uuid_shape(a, '4');
    assert_uuid_shape(b, '4');
    assert_string_not_equal(a, b);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* More ids than one refill of id.c's buffer holds: all v4, none twice. */
static void test_new_many_unique(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char ids[N][ID_LEN];
    for (int i = 0; i < N; i++) {
        id_new(ids[i]);
        assert_uuid_shape(ids[i], '4');
    }
    qsort(ids, N, ID_LEN, cmp_id);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

/* A forked child does not hand out the parent's next id. */
static void test_new_after_fork(void **state)
{
    (void)state;
    char first[ID_LEN], parent[ID_LEN], child[ID_LEN] = "";
    id_new(first); /* the buffer is filled */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[ID_LEN];
        id_new(id);
        _exit(write(fd[1], id, ID_LEN) == ID_LEN ? 0 : 1);
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], child, ID_LEN), ID_LEN);
    close(fd[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    id_new(parent);
    assert_uuid_shape(child, '4');
    assert_string_not_equal(child, parent);
}

static void test_derive_pinned(void **state)
{
    (void)state;
    char out[ID_LEN];
    id_derive("x", out);
    assert_string_equal(out, "7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f");
    id_derive("ticket/123", out);
    assert_string_equal(out, "3169c9bd-a50f-56b5-aa11-782adacdee0f");
    id_derive("", out);
    assert_string_equal(out, "c9749184-df96-5d2d-8236-ca30d65d8b45");
}

static void test_derive_stable_and_distinct(void **state)
{
    (void)state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN];
    id_derive("contact:abc", a);
    id_derive("contact:abc", b);
    id_derive("contact:abd", c);
    assert_uuid_shape(a, '5');
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void test_derive2(void **state)
{
    (void)state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN];
    id_derive2("ticket", "123", a);
    id_derive("ticket/123", b);
    assert_string_equal(a, b);
    id_derive2("x/y", "z", b); /* the join is ambiguous: see id.c */
    id_derive2("x", "y/z", c);
    assert_string_equal(b, c);
    id_derive2("123", "ticket", c);
    assert_string_not_equal(a, c);
    id_derive2("", "", c);
    id_derive("/", b);
    assert_string_equal(b, c);
}

static void test_derive2_long_names(void **state)
{
    (void)state;
    /* Longer than the stack buffer: takes the heap path. */
    char big_a[400], big_b[300], joined[701];
    memset(big_a, 'a', sizeof big_a - 1);
    big_a[sizeof big_a - 1] = '\0';
    memset(big_b, 'b', sizeof big_b - 1);
    big_b[sizeof big_b - 1] = '\0';
    snprintf(joined, sizeof joined, "%s/%s", big_a, big_b);
    char x[ID_LEN], y[ID_LEN];
    id_derive2(big_a, big_b, x);
    id_derive(joined, y);
    assert_string_equal(x, y);
    assert_uuid_shape(x, '5');
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(id_valid("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f"));
    assert_true(id_valid("00000000-0000-0000-0000-000000000000"));
    assert_true(id_valid("7F53AF92-5D9B-5E25-BFA0-10ED6FA8C43F")); /* uuid_parse accepts */
    assert_false(id_valid(NULL));
    assert_false(id_valid(""));
    assert_false(id_valid("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43"));   /* 35 */
    assert_false(id_valid("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f0")); /* 37 */
    assert_false(id_valid("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f "));
    assert_false(id_valid("7f53af925d9b5e25bfa010ed6fa8c43f"));
    assert_false(id_valid("7f53af92-5d9b-5e25-bfa0_10ed6fa8c43f"));
    assert_false(id_valid("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43g"));
    assert_false(id_valid("{7f53af92-5d9b-5e25-bfa0-10ed6fa8c43}"));
    /* canonical: valid and lowercase, as every service writes ids */
    assert_true(id_canonical("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f"));
    assert_false(id_canonical("7F53AF92-5D9B-5E25-BFA0-10ED6FA8C43F"));
    assert_false(id_canonical("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43F"));
    assert_false(id_canonical("7f53af92-5d9b-5e25-bfa0-10ed6fa8c43g"));
    assert_false(id_canonical(NULL));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_is_v4_and_unique),
        cmocka_unit_test(test_new_many_unique),
        cmocka_unit_test(test_new_after_fork),
        cmocka_unit_test(test_derive_pinned),
        cmocka_unit_test(test_derive_stable_and_distinct),
        cmocka_unit_test(test_derive2),
        cmocka_unit_test(test_derive2_long_names),
        cmocka_unit_test(test_valid),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("id", tests, NULL, NULL);
}
