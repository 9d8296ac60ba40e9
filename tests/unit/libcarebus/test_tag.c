/* test_tag.c — tag.c: a tag's spelling and a ticket's set of tags.
 *
 * Run one test by name: test_tag <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tag.h"

static void norm(const char *in, const char *want)
{
    char out[TAG_MAX + 1];
    if (!want) {
        assert_int_equal(tag_normalise(in, out), -1);
        return;
    }
    assert_int_equal(tag_normalise(in, out), 0);
    assert_string_equal(out, want);
}

static void test_normalise(void **state)
{
    (void)state;
    norm("vip", "vip");
    norm("VIP", "vip");
    norm("  Late Delivery \t", "late_delivery");
    norm("a \t\n b", "a_b");
    /* Letters beyond ASCII are kept as written. */
    norm("Đổi Trả", "Đổi_trả");
    norm("khiếu-nại", "khiếu-nại");
    norm("", NULL);
    norm("   ", NULL);
    norm(NULL, NULL);
    norm("a,b", NULL);
    norm("bell\a", NULL);
    norm("del\x7f", NULL);
    norm("\xc3\x28", NULL); /* ill-formed UTF-8 */
    char s[TAG_MAX + 2];
    memset(s, 'x', sizeof s);
    s[TAG_MAX] = '\0';
    norm(s, s); /* exactly TAG_MAX bytes */
    s[TAG_MAX] = 'x';
    s[TAG_MAX + 1] = '\0';
    norm(s, NULL);
}

static void set(const char *const *cur, size_t n, const char *const *add, size_t nadd,
                const char *const *rm, size_t nrm, const char *want, size_t want_dropped)
{
    const char *out[TAG_SET_MAX + 1];
    size_t dropped = 99;
    size_t k = tag_set_apply(cur, n, add, nadd, rm, nrm, out, TAG_SET_MAX, &dropped);
    char got[1024] = "";
    for (size_t i = 0; i < k; i++) {
        strcat(got, i ? "," : "");
        strcat(got, out[i]);
    }
    assert_string_equal(got, want);
    assert_int_equal(dropped, want_dropped);
}

static void test_set_apply(void **state)
{
    (void)state;
    const char *cur[] = {"billing", "vip"};
    const char *add[] = {"urgent", "billing", "urgent", "a"};
    const char *rm[] = {"vip", "unknown"};
    set(cur, 2, add, 4, NULL, 0, "a,billing,urgent,vip", 0);
    set(cur, 2, NULL, 0, rm, 2, "billing", 0);
    set(cur, 2, add, 4, rm, 2, "a,billing,urgent", 0);
    set(NULL, 0, NULL, 0, NULL, 0, "", 0);
    /* Added and removed at once: removed. */
    const char *both[] = {"x"};
    set(NULL, 0, both, 1, both, 1, "", 0);
    /* No more than TAG_SET_MAX. */
    static char names[TAG_SET_MAX + 5][16];
    const char *many[TAG_SET_MAX + 5];
    for (int i = 0; i < TAG_SET_MAX + 5; i++) {
        snprintf(names[i], sizeof names[i], "t%03d", i);
        many[i] = names[i];
    }
    const char *out[TAG_SET_MAX + 1];
    size_t dropped;
    assert_int_equal(
        tag_set_apply(many, 0, many, TAG_SET_MAX + 5, NULL, 0, out, TAG_SET_MAX, &dropped),
        TAG_SET_MAX);
    assert_int_equal(dropped, 5);
    assert_string_equal(out[0], "t000");
    assert_string_equal(out[TAG_SET_MAX - 1], "t049");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_set_apply),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("tag", tests, NULL, NULL);
}
