/* test_utf8.c — utf8.c: the strict decoder and what is built on it.
 *
 * The refusals are Markus Kuhn's classic cases: overlong forms (including
 * the overlong NUL C0 80), UTF-16 surrogates, code points past U+10FFFF,
 * bytes that can never appear (C0, C1, F5..FF), stray and missing
 * continuation bytes, and sequences cut by the end of the input. Run one
 * test by name: test_utf8 <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* Decodes the whole of s (its strlen, or n when given) as one character. */
static size_t decode(const char *s, size_t n, uint32_t *cp)
{
    return utf8_decode(s, n ? n : strlen(s), cp);
}

static void test_decode_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 'A'},
        {"\x7f", 1, 0x7f},
        {"\xc2\x80", 2, 0x80},             /* the smallest two-byte form */
        {"\xc3\xa1", 2, 0xe1},             /* á */
        {"\xdf\xbf", 2, 0x7ff},            /* the largest two-byte form */
        {"\xe0\xa0\x80", 3, 0x800},        /* the smallest three-byte form */
        {"\xe1\xba\xa1", 3, 0x1ea1},       /* ạ */
        {"\xed\x9f\xbf", 3, 0xd7ff},       /* just below the surrogates */
        {"\xee\x80\x80", 3, 0xe000},       /* just above them */
        {"\xef\xbf\xbd", 3, 0xfffd},       /* the replacement character */
        {"\xef\xbf\xbf", 3, 0xffff},       /* a noncharacter is still well-formed */
        {"\xf0\x90\x80\x80", 4, 0x10000},  /* the smallest four-byte form */
        {"\xf0\x9f\x98\x80", 4, 0x1f600},  /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff}, /* the last code point */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        assert_int_equal(decode(cases[i].s, 0, &cp), cases[i].len);
        assert_int_equal(cp, cases[i].cp);
    }
    /* NUL is a character (U+0000); trailing bytes are not looked at. */
    uint32_t cp = 1;
    assert_int_equal(utf8_decode("\0x", 2, &cp), 1);
    assert_int_equal(cp, 0);
    assert_int_equal(utf8_decode("\xc3\xa1\xff", 3, &cp), 2);
    assert_int_equal(cp, 0xe1);
}

static void test_decode_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n; /* 0: strlen */
        const char *why;
    } cases[] = {
        {"\xc0\x80", 0, "overlong NUL"},
        {"\xc0\xaf", 0, "overlong '/'"},
        {"\xc1\xbf", 0, "overlong U+007F"},
        {"\xe0\x80\xaf", 0, "overlong three-byte '/'"},
        {"\xe0\x9f\xbf", 0, "overlong U+07FF"},
        {"\xf0\x80\x80\xaf", 0, "overlong four-byte '/'"},
        {"\xf0\x8f\xbf\xbf", 0, "overlong U+FFFF"},
        {"\xed\xa0\x80", 0, "surrogate U+D800"},
        {"\xed\xad\xbf", 0, "surrogate U+DB7F"},
        {"\xed\xbf\xbf", 0, "surrogate U+DFFF"},
        {"\xf4\x90\x80\x80", 0, "U+110000"},
        {"\xf5\x80\x80\x80", 0, "lead F5"},
        {"\xf7\xbf\xbf\xbf", 0, "lead F7"},
        {"\xf8\x88\x80\x80\x80", 0, "five-byte form"},
        {"\xfc\x84\x80\x80\x80\x80", 0, "six-byte form"},
        {"\xfe", 0, "FE"},
        {"\xff", 0, "FF"},
        {"\x80", 0, "lone continuation byte"},
        {"\xbf\xbf", 0, "continuation bytes"},
        {"\xc3", 0, "truncated two-byte"},
        {"\xe2\x82", 0, "truncated three-byte"},
        {"\xf0\x9f\x98", 0, "truncated four-byte"},
        {"\xc3\xa1", 1, "cut by n"},
        {"\xf0\x9f\x98\x80", 3, "cut by n"},
        {"\xc3\x41", 0, "ASCII where a continuation byte belongs"},
        {"\xe1\xba\xc3\xa1", 0, "a lead byte where a continuation byte belongs"},
        {"\xe1\x00\xa1", 3, "NUL where a continuation byte belongs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        if (decode(cases[i].s, cases[i].n, &cp) != 0)
            fail_msg("case %zu (%s) decoded", i, cases[i].why);
        assert_int_equal(cp, UTF8_REPLACEMENT);
    }
}

static void test_decode_stops_at_nul(void **state)
{
    (void)state;
    /* Exactly two bytes on the heap: a read of the third is an error under
     * valgrind and ASan. */
    char *s = malloc(2);
    assert_non_null(s);
    memcpy(s, "\xe1", 2);
    uint32_t cp;
    assert_int_equal(utf8_decode(s, SIZE_MAX, &cp), 0);
    free(s);
}

static void test_valid(void **state)
{
    (void)state;
    const char *vi = "Tôi cần hỗ trợ 😀";
    assert_true(utf8_valid(vi, strlen(vi)));
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("a\0b", 3));
    assert_true(utf8_valid("\xc3\xa1", 2));
    assert_false(utf8_valid("\xc3\xa1", 1));             /* cut */
    assert_false(utf8_valid("ab\xc3", 3));               /* truncated at the end */
    assert_false(utf8_valid("a\xc0\xafz", 4));           /* overlong */
    assert_false(utf8_valid("a\xed\xa0\x80z", 5));       /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4));     /* above U+10FFFF */
    assert_false(utf8_valid("abc\x80", 4));              /* stray continuation */
    assert_false(utf8_valid("\xe2\x82\xac\xe2\x82", 5)); /* € then a cut one */
}

/* The cases channel-ingest's field checks were first tested with. */
static void test_valid_field_cases(void **state)
{
    (void)state;
    static const char *const good[] = {
        "",
        "ascii",
        "T\xc3\xb4i c\xe1\xba\xa7n",
        "\xf0\x9f\x98\x80",
        "\xef\xbf\xbd",
        "\xf4\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!utf8_valid(good[i], strlen(good[i])))
            fail_msg("refused good UTF-8 #%zu", i);
    static const char *const bad[] = {
        "\xff",
        "\x80",
        "\xc3",
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "ok\xe1\xba",
        "\xc3\x28",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (utf8_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted bad UTF-8 #%zu", i);
}

static void test_count(void **state)
{
    (void)state;
    const char *vi = "Tôi cần 😀";
    assert_int_equal(utf8_count(vi, strlen(vi)), 9);
    assert_int_equal(utf8_count("", 0), 0);
    assert_int_equal(utf8_count("abc", 3), 3);
}

static void test_copy(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(utf8_copy(out, sizeof out, "Tôi cần", "?"), 10);
    assert_string_equal(out, "Tôi cần");
    /* Each ill-formed byte becomes one replacement. */
    assert_int_equal(utf8_copy(out, sizeof out, "a\xc0\xafz\xff", "?"), 5);
    assert_string_equal(out, "a??z?");
    assert_int_equal(utf8_copy(out, sizeof out, "a\xed\xa0\x80", UTF8_REPLACEMENT_STR), 10);
    assert_string_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* A truncated character at the end: its bytes are replaced. */
    assert_int_equal(utf8_copy(out, sizeof out, "ab\xe1\xba", "?"), 4);
    assert_string_equal(out, "ab??");
    assert_int_equal(utf8_copy(out, sizeof out, NULL, "?"), 0);
    assert_string_equal(out, "");
}

static void test_copy_truncates_whole_characters(void **state)
{
    (void)state;
    char out[8];
    /* "ạ" (3 bytes) at offset 5 would need bytes 5..7 and the NUL at 8. */
    assert_int_equal(utf8_copy(out, sizeof out, "abcdeạ", "?"), 5);
    assert_string_equal(out, "abcde");
    assert_int_equal(utf8_copy(out, 7, "abcde\xc3\xa1z", "?"), 5);
    assert_string_equal(out, "abcde");
    assert_int_equal(utf8_copy(out, 8, "abcde\xc3\xa1z", "?"), 7);
    assert_string_equal(out, "abcde\xc3\xa1");
    /* A replacement that does not fit stops the copy too. */
    assert_int_equal(utf8_copy(out, 6, "abc\xff\xff", UTF8_REPLACEMENT_STR), 3);
    assert_string_equal(out, "abc");
    /* The replacement of the first bad byte fits, the next does not. */
    assert_int_equal(utf8_copy(out, 5, "abc\xff\xff", "?"), 4);
    assert_string_equal(out, "abc?");
    /* Room for the NUL only. */
    assert_int_equal(utf8_copy(out, 1, "abc", "?"), 0);
    assert_string_equal(out, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_valid),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_decode_stops_at_nul),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_valid_field_cases),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_copy_truncates_whole_characters),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
