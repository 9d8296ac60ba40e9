/* test_list_cursor.c — list_cursor.c: a list page's keyset cursor and its
 * opaque spelling.
 *
 * Values read from PostgreSQL's text (bigint, real, uuid, text) round-trip
 * through the encoded cursor and come back as the same parameters; the
 * largest cursor fits its buffer. Every other text is refused: not
 * base64url, another version or order, other value types, a leading zero,
 * "-0", an integer past int64, a real not finite or not in "%.9g"'s
 * spelling, a UUID in upper case, text of another length, with NUL or
 * ill-formed UTF-8, anything trailing. Run one test by name:
 * test_list_cursor <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base64url.h"
#include "list_cursor.h"

#define ID "7c9e6679-7425-40de-944b-e07fc1f90ae7"

/* The cursor whose text form is text (n bytes). */
static void wrap(const char *text, size_t n, char out[LIST_CURSOR_MAX])
{
    assert_true(n <= LIST_CURSOR_TEXT_LEN);
    base64url_encode((const unsigned char *)text, n, out);
}

static void refused(const char *text, const char *order, const char *types)
{
    char enc[LIST_CURSOR_MAX];
    struct list_cursor c;
    wrap(text, strlen(text), enc);
    if (list_cursor_decode(enc, order, types, &c) == 0)
        fail_msg("accepted \"%s\" as %s %s", text, order, types);
}

static void accepted(const char *text, const char *order, const char *types)
{
    char enc[LIST_CURSOR_MAX], again[LIST_CURSOR_MAX];
    struct list_cursor c;
    wrap(text, strlen(text), enc);
    if (list_cursor_decode(enc, order, types, &c) != 0)
        fail_msg("refused \"%s\" as %s %s", text, order, types);
    list_cursor_encode(&c, again);
    assert_string_equal(again, enc);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct list_cursor c, d;
    list_cursor_init(&c, "queue", "iiu");
    assert_int_equal(c.n, 3);
    assert_int_equal(list_cursor_set(&c, 0, "-4"), 0);
    assert_int_equal(list_cursor_set(&c, 1, "1795399200123456"), 0);
    assert_int_equal(list_cursor_set(&c, 2, ID), 0);
    char enc[LIST_CURSOR_MAX], p[LIST_CURSOR_PARAM_MAX];
    size_t n = list_cursor_encode(&c, enc);
    assert_int_equal(n, strlen(enc));
    /* Opaque: URL-safe characters only. */
    assert_int_equal(
        strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), n);
    assert_int_equal(list_cursor_decode(enc, "queue", "iiu", &d), 0);
    assert_string_equal(list_cursor_param(&d, 0, p), "-4");
    assert_string_equal(list_cursor_param(&d, 1, p), "1795399200123456");
    assert_string_equal(list_cursor_param(&d, 2, p), ID);
    /* Of one order only, with its types. */
    assert_int_equal(list_cursor_decode(enc, "updated", "iiu", &d), -1);
    assert_int_equal(list_cursor_decode(enc, "queue", "iu", &d), -1);
    assert_int_equal(list_cursor_decode(enc, "queue", "iiuu", &d), -1);
    assert_int_equal(list_cursor_decode(enc, "queu", "iiu", &d), -1);

    /* A search's rank: PostgreSQL's shortest spelling of a real reads as
     * the same float, and goes back as "%.9g". */
    list_cursor_init(&c, "relevance", "ru");
    assert_int_equal(list_cursor_set(&c, 0, "0.0607927"), 0);
    assert_int_equal(list_cursor_set(&c, 1, ID), 0);
    list_cursor_encode(&c, enc);
    assert_int_equal(list_cursor_decode(enc, "relevance", "ru", &d), 0);
    assert_true(d.keys[0].r == c.keys[0].r);
    assert_string_equal(list_cursor_param(&d, 0, p), "0.0607926995");
    assert_int_equal(list_cursor_set(&c, 0, "1e-20"), 0);
    assert_int_equal(list_cursor_set(&c, 0, "0"), 0);

    /* Text: any bytes of well-formed UTF-8 but NUL, ";" and ":" too. */
    list_cursor_init(&c, "customers", "itu");
    assert_int_equal(list_cursor_set(&c, 0, "1"), 0);
    assert_int_equal(list_cursor_set(&c, 1, "nguyen van an;t3:x\t\n"), 0);
    assert_int_equal(list_cursor_set(&c, 2, ID), 0);
    list_cursor_encode(&c, enc);
    assert_int_equal(list_cursor_decode(enc, "customers", "itu", &d), 0);
    assert_string_equal(list_cursor_param(&d, 1, p), "nguyen van an;t3:x\t\n");
    assert_int_equal(list_cursor_set(&c, 1, ""), 0);
    list_cursor_encode(&c, enc);
    assert_int_equal(list_cursor_decode(enc, "customers", "itu", &d), 0);
    assert_string_equal(d.keys[1].text, "");
}

static void test_set_refuses(void **state)
{
    (void)state;
    struct list_cursor c;
    list_cursor_init(&c, "x", "irut");
    const char *ints[] = {"",
                          "-",
                          "01",
                          "-0",
                          "+1",
                          "1.0",
                          " 1",
                          "9223372036854775808",
                          "-9223372036854775809",
                          "12345678901234567890",
                          "1e3"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (list_cursor_set(&c, 0, ints[i]) == 0)
            fail_msg("integer \"%s\" accepted", ints[i]);
    assert_int_equal(list_cursor_set(&c, 0, "9223372036854775807"), 0);
    assert_int_equal(list_cursor_set(&c, 0, "-9223372036854775808"), 0);
    const char *reals[] = {"",     "NaN",  "Infinity", "-Infinity", "1e39",
                           "0.5x", " 0.5", "0x1p3",    "+1"};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (list_cursor_set(&c, 1, reals[i]) == 0)
            fail_msg("real \"%s\" accepted", reals[i]);
    const char *ids[] = {"",
                         "7C9E6679-7425-40DE-944B-E07FC1F90AE7",
                         "7c9e6679742540de944be07fc1f90ae7",
                         "7c9e6679-7425-40de-944b-e07fc1f90ae",
                         "7c9e6679-7425-40de-944b-e07fc1f90ae7x",
                         "7c9e6679_7425-40de-944b-e07fc1f90ae7"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (list_cursor_set(&c, 2, ids[i]) == 0)
            fail_msg("uuid \"%s\" accepted", ids[i]);
    char big[LIST_CURSOR_TEXT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(list_cursor_set(&c, 3, big), -1);
    big[LIST_CURSOR_TEXT_MAX] = '\0';
    assert_int_equal(list_cursor_set(&c, 3, big), 0);
    assert_int_equal(list_cursor_set(&c, 3, "caf\xc3"), -1);
    assert_int_equal(list_cursor_set(&c, 3, NULL), -1);
}

static void test_largest(void **state)
{
    (void)state;
    struct list_cursor c, d;
    list_cursor_init(&c, "abcdefghijklmno", "tttt");
    char big[LIST_CURSOR_TEXT_MAX + 1];
    memset(big, 'z', LIST_CURSOR_TEXT_MAX);
    big[LIST_CURSOR_TEXT_MAX] = '\0';
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(list_cursor_set(&c, i, big), 0);
    char enc[LIST_CURSOR_MAX];
    size_t n = list_cursor_encode(&c, enc);
    assert_true(n < LIST_CURSOR_MAX);
    assert_int_equal(list_cursor_decode(enc, "abcdefghijklmno", "tttt", &d), 0);
    list_cursor_init(&c, "q", "i");
    assert_int_equal(list_cursor_set(&c, 0, "-9223372036854775808"), 0);
    n = list_cursor_encode(&c, enc);
    assert_int_equal(list_cursor_decode(enc, "q", "i", &d), 0);
    assert_true(d.keys[0].i == INT64_MIN);
}

static void test_refused(void **state)
{
    (void)state;
    accepted("v1;queue;i-4;i1795399200123456;u" ID, "queue", "iiu");
    refused("v2;queue;i-4;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;queue;i-4;i1795399200123456;u" ID ";", "queue", "iiu");
    refused("v1;queue;i-4;i1795399200123456;u" ID "x", "queue", "iiu");
    refused("v1;queue;i-4;i1795399200123456", "queue", "iiu");
    refused("v1;queue;i-04;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;queue;i-0;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;queue;r-4;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;queue;i-4;;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;queue;i-4;i1795399200123456;U" ID, "queue", "iiu");
    refused("v1;queuex;i-4;i1795399200123456;u" ID, "queue", "iiu");
    refused("v1;Queue;i-4;i1795399200123456;u" ID, "queue", "iiu");
    refused("", "queue", "iiu");
    refused("v1", "queue", "iiu");
    /* Reals: "%.9g"'s spelling only. */
    accepted("v1;relevance;r0.0607926995;u" ID, "relevance", "ru");
    refused("v1;relevance;r0.0607927;u" ID, "relevance", "ru");
    refused("v1;relevance;r6.07927002e-02;u" ID, "relevance", "ru");
    refused("v1;relevance;rnan;u" ID, "relevance", "ru");
    refused("v1;relevance;rinf;u" ID, "relevance", "ru");
    accepted("v1;relevance;r0;u" ID, "relevance", "ru");
    refused("v1;relevance;r0.0;u" ID, "relevance", "ru");
    /* Text: its length, then exactly that many bytes. */
    accepted("v1;customers;i1;t6:nguyen;u" ID, "customers", "itu");
    accepted("v1;customers;i1;t0:;u" ID, "customers", "itu");
    refused("v1;customers;i1;t5:nguyen;u" ID, "customers", "itu");
    refused("v1;customers;i1;t7:nguyen;u" ID, "customers", "itu");
    refused("v1;customers;i1;t06:nguyen;u" ID, "customers", "itu");
    refused("v1;customers;i1;t:nguyen;u" ID, "customers", "itu");
    refused("v1;customers;i1;t2:\xc3(;u" ID, "customers", "itu");
    refused("v1;customers;i1;t99999999999999999999:x;u" ID, "customers", "itu");
    char nul[] = "v1;customers;i1;t1:\0;u" ID;
    char enc[LIST_CURSOR_MAX];
    struct list_cursor c;
    wrap(nul, sizeof nul - 1, enc);
    assert_int_equal(list_cursor_decode(enc, "customers", "itu", &c), -1);
    /* Not base64url, and too long to be a cursor. */
    assert_int_equal(list_cursor_decode("not a cursor", "queue", "iiu", &c), -1);
    assert_int_equal(list_cursor_decode("djE+", "queue", "iiu", &c), -1);
    assert_int_equal(list_cursor_decode("", "queue", "iiu", &c), -1);
    assert_int_equal(list_cursor_decode(NULL, "queue", "iiu", &c), -1);
    static char longer[LIST_CURSOR_MAX + 8];
    memset(longer, 'A', sizeof longer - 1);
    assert_int_equal(list_cursor_decode(longer, "queue", "iiu", &c), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_set_refuses),
        cmocka_unit_test(test_largest),
        cmocka_unit_test(test_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("list_cursor", tests, NULL, NULL);
}
