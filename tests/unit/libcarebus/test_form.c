/* test_form.c — form.c: application/x-www-form-urlencoded bodies.
 *
 * form_next walks pairs and judges nothing; form_parse refuses a whole body
 * with a decoded NUL, invalid UTF-8 or too many pairs; form_append writes
 * what form_parse reads back. Run one test by name: test_form <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "form.h"

static void test_walk(void **state)
{
    (void)state;
    const char *body = "&a=1&&b=x+y%20z&c&=v&d=%41%4a%zz%4&e=%C3%A1&f=%00&a=2=3&";
    char out[64];
    assert_true(strlen(body) + 2 <= sizeof out);
    static const struct {
        const char *name, *value;
        size_t vlen;
    } want[] = {
        {"a", "1", 1},
        {"b", "x y z", 5},
        {"c", "", 0},
        {"", "v", 1},
        {"d", "AJ%zz%4", 7},
        {"e", "\xc3\xa1", 2},
        /* a decoded NUL: only the length tells */
        {"f", "", 1},
        /* split on the first "=" only */
        {"a", "2=3", 3},
    };
    form_iter it;
    form_iter_init(&it, body, strlen(body));
    struct form_pair p;
    size_t n = 0;
    while (form_next(&it, out, &p)) {
        assert_true(n < sizeof want / sizeof want[0]);
        assert_string_equal(p.name, want[n].name);
        assert_int_equal(p.name_len, strlen(want[n].name));
        assert_string_equal(p.value, want[n].value);
        assert_int_equal(p.value_len, want[n].vlen);
        n++;
    }
    assert_int_equal(n, sizeof want / sizeof want[0]);
    assert_false(form_next(&it, out, &p)); /* and stays at the end */

    form_iter_init(&it, "", 0);
    assert_false(form_next(&it, out, &p));
    form_iter_init(&it, "&&&", 3);
    assert_false(form_next(&it, out, &p));
    /* Not NUL-terminated input: only len bytes are read. */
    char raw[] = {'k', '=', 'v', 'X'};
    form_iter_init(&it, raw, 3);
    assert_true(form_next(&it, out, &p));
    assert_string_equal(p.name, "k");
    assert_string_equal(p.value, "v");
    assert_false(form_next(&it, out, &p));
}

static void test_walk_plus_and_blanks(void **state)
{
    (void)state;
    char out[32];
    form_iter it;
    struct form_pair p;
    /* '+' is a blank, "%2B" a plus; "=" alone is an empty name and value. */
    const char *body = "q=a+%2B+b&=&+=+";
    form_iter_init(&it, body, strlen(body));
    assert_true(form_next(&it, out, &p));
    assert_string_equal(p.value, "a + b");
    assert_true(form_next(&it, out, &p));
    assert_string_equal(p.name, "");
    assert_string_equal(p.value, "");
    assert_true(form_next(&it, out, &p));
    assert_string_equal(p.name, " ");
    assert_string_equal(p.value, " ");
    assert_false(form_next(&it, out, &p));
}

static void test_parse(void **state)
{
    (void)state;
    struct form f = {0};
    const char *body = "a=1&b=x+y%20z&&c&=v&d=%41%4a%zz%4&e=%C3%A1";
    assert_int_equal(form_parse(body, strlen(body), &f), 0);
    assert_int_equal(f.n, 6);
    assert_string_equal(form_get(&f, "a"), "1");
    assert_string_equal(form_get(&f, "b"), "x y z");
    assert_string_equal(form_get(&f, "c"), "");
    assert_string_equal(form_get(&f, ""), "v");
    assert_string_equal(form_get(&f, "d"), "AJ%zz%4"); /* bad escapes stay as they are */
    assert_string_equal(form_get(&f, "e"), "\xc3\xa1");
    assert_null(form_get(&f, "zz"));
    form_release(&f);
    /* The first value of a repeated name. */
    assert_int_equal(form_parse("k=1&k=2", 7, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(form_get(&f, "k"), "1");
    form_release(&f);
    /* Not NUL-terminated input: only len bytes are read. */
    char raw[] = {'k', '=', 'v', 'X'};
    assert_int_equal(form_parse(raw, 3, &f), 0);
    assert_string_equal(form_get(&f, "k"), "v");
    form_release(&f);
    assert_int_equal(form_parse("", 0, &f), 0);
    assert_int_equal(f.n, 0);
    form_release(&f);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    struct form f = {0};
    assert_int_equal(form_parse("a=%00", 5, &f), -1); /* decoded NUL */
    assert_null(f.pairs);
    assert_null(f.buf);
    assert_int_equal(f.n, 0);
    assert_int_equal(form_parse("a=b\0c", 5, &f), -1);          /* a raw NUL too */
    assert_int_equal(form_parse("%00=1", 5, &f), -1);           /* in a name */
    assert_int_equal(form_parse("a=%C3", 5, &f), -1);           /* truncated UTF-8 */
    assert_int_equal(form_parse("a=%C0%AF", 8, &f), -1);        /* overlong */
    assert_int_equal(form_parse("a=%ED%A0%80", 11, &f), -1);    /* surrogate */
    assert_int_equal(form_parse("a=%F4%90%80%80", 14, &f), -1); /* above U+10FFFF */
    assert_int_equal(form_parse("%FF=1", 5, &f), -1);           /* name too */
    assert_int_equal(form_parse("ok=1&a=\xff", 9, &f), -1);     /* raw bytes too */
    /* FORM_MAX_PAIRS pairs pass, one more is refused. */
    char big[FORM_MAX_PAIRS * 4 + 8] = "";
    size_t n = 0;
    for (int i = 0; i < FORM_MAX_PAIRS; i++)
        n += (size_t)sprintf(big + n, "%sa=1", i ? "&" : "");
    assert_int_equal(form_parse(big, n, &f), 0);
    assert_int_equal(f.n, FORM_MAX_PAIRS);
    form_release(&f);
    /* Empty sequences do not count. */
    n += (size_t)sprintf(big + n, "&&&");
    assert_int_equal(form_parse(big, n, &f), 0);
    assert_int_equal(f.n, FORM_MAX_PAIRS);
    form_release(&f);
    n += (size_t)sprintf(big + n, "b");
    assert_int_equal(form_parse(big, n, &f), -1);
    assert_null(f.pairs);
}

static void test_append(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    form_append(&b, "To", "+84901234567");
    form_append(&b, "Body", "Chào bạn & a=b/c ~x");
    form_append(&b, "MediaUrl", "https://cdn.example/a b.png?x=1");
    form_append(&b, "MediaUrl", "");
    assert_false(b.failed);
    assert_string_equal(buf_str(&b), "To=%2B84901234567"
                                     "&Body=Ch%C3%A0o%20b%E1%BA%A1n%20%26%20a%3Db%2Fc%20~x"
                                     "&MediaUrl=https%3A%2F%2Fcdn.example%2Fa%20b.png%3Fx%3D1"
                                     "&MediaUrl=");
    /* What is written reads back, repeated names in order. */
    struct form f = {0};
    assert_int_equal(form_parse(b.data, b.len, &f), 0);
    assert_int_equal(f.n, 4);
    assert_string_equal(form_get(&f, "Body"), "Chào bạn & a=b/c ~x");
    assert_string_equal(f.pairs[2].value, "https://cdn.example/a b.png?x=1");
    assert_string_equal(f.pairs[3].value, "");
    form_release(&f);
    buf_release(&b);

    /* A value longer than the encoder's stack room. */
    char big[1000];
    memset(big, '/', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    form_append(&b, "x", big);
    assert_int_equal(b.len, 2 + 3 * (sizeof big - 1));
    buf_release(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),   cmocka_unit_test(test_walk_plus_and_blanks),
        cmocka_unit_test(test_parse),  cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_append),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
