/* test_fold.c — services/router/fold.c: words folded for matching,
 * insensitive to case and to Vietnamese diacritics, precomposed or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fold.h"

static const char *folded(const char *s)
{
    static char out[512];
    fold_text t;
    assert_int_equal(fold_init(&t, s), 0);
    fold_string(&t, out, sizeof out);
    fold_release(&t);
    return out;
}

static bool contains(const char *text, const char *phrase)
{
    fold_text t, p;
    assert_int_equal(fold_init(&t, text), 0);
    assert_int_equal(fold_init(&p, phrase), 0);
    bool r = fold_contains(&t, &p);
    fold_release(&t);
    fold_release(&p);
    return r;
}

static void test_folding(void **state)
{
    (void)state;
    assert_string_equal(folded("Khiếu NẠI, đổi-trả!"), "khieu nai doi tra");
    assert_string_equal(folded("ĐƠN HÀNG ỞỞ ỮỰ"), "don hang oo uu");
    assert_string_equal(folded("  Bảo\u00a0hành\u2014gấp…  "), "bao hanh gap");
    assert_string_equal(folded("Crème brûlée, naïve"), "creme brulee naive");
    /* Decomposed (NFD): the marks are dropped from the word too. */
    assert_string_equal(folded("Khie\xcc\x82\xcc\x81u na\xcc\xa3i"), "khieu nai");
    /* Other scripts stay as they are; invalid bytes separate. */
    assert_string_equal(folded("你好 abc\xff"
                               "def"),
                        "你好 abc def");
    assert_string_equal(folded(""), "");
    assert_string_equal(folded(NULL), "");
    assert_string_equal(folded("...---"), "");
}

static void test_matching(void **state)
{
    (void)state;
    /* Without marks in the text: any marks in the phrase. */
    assert_true(contains("toi muon khieu nai ve don", "khiếu nại"));
    assert_true(contains("may can bao hanh", "bảo hành"));
    assert_true(contains("KHIẾU NẠI", "khiếu nại"));
    assert_true(contains("Tôi muốn khiếu nại", "khieu nai"));
    /* NFD text, NFC phrase. */
    assert_true(contains("Khie\xcc\x82\xcc\x81u na\xcc\xa3i", "khiếu nại"));
    /* Marks on both sides must agree: to meet is not urgent. */
    assert_false(contains("Tôi muốn gặp quản lý", "gấp"));
    assert_true(contains("can gap lam", "gấp"));
    assert_true(contains("Cần GẤP", "gấp"));
    assert_true(contains("đổi trả", "doi tra"));
    assert_false(contains("đổi trả", "dội trả"));
    /* Whole words, in order. */
    assert_false(contains("khieu nairobi", "khiếu nại"));
    assert_false(contains("nai khieu", "khiếu nại"));
    assert_true(contains("I want to RETURN it", "return"));
    assert_false(contains("returned", "return"));
    assert_true(contains("it doesn't work", "doesn't work"));
    assert_false(contains("anything", ""));
    assert_false(contains("", "x"));
}

static void test_bounded(void **state)
{
    (void)state;
    size_t n = FOLD_MAX_BYTES + 100;
    char *s = malloc(n + 16);
    assert_non_null(s);
    memset(s, 'a', n);
    memcpy(s + 10, " gap ", 5);
    strcpy(s + n, " urgent");
    fold_text t, p;
    assert_int_equal(fold_init(&t, s), 0);
    assert_int_equal(fold_init(&p, "gap"), 0);
    assert_true(fold_contains(&t, &p));
    fold_release(&p);
    assert_int_equal(fold_init(&p, "urgent"), 0);
    assert_false(fold_contains(&t, &p)); /* beyond the bound */
    fold_release(&p);
    /* A subject and a body fold into one text. */
    assert_int_equal(fold_init(&p, "bảo hành"), 0);
    fold_release(&t);
    assert_int_equal(fold_init(&t, "Re: máy giặt"), 0);
    assert_false(fold_contains(&t, &p));
    assert_int_equal(fold_append(&t, "cần bảo hành"), 0);
    assert_true(fold_contains(&t, &p));
    fold_release(&t);
    fold_release(&p);
    free(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_bounded),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
