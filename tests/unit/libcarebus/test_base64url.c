/* test_base64url.c — base64url.c: URL-safe base64, one spelling per value.
 *
 * Round trips of every length across a group boundary, RFC 4648's vectors
 * (in the URL alphabet), and the strict refusals: padding, stray low bits,
 * impossible lengths, characters outside the alphabet, too little room.
 * Run one test by name: test_base64url <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64url.h"

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char enc[16];
        unsigned char dec[16];
        size_t n = strlen(v[i].in);
        assert_int_equal(base64url_encode((const unsigned char *)v[i].in, n, enc),
                         strlen(v[i].out));
        assert_int_equal(BASE64URL_LEN(n), strlen(v[i].out));
        assert_string_equal(enc, v[i].out);
        assert_int_equal(base64url_decode(enc, strlen(enc), dec, sizeof dec), (int)n);
        assert_memory_equal(dec, v[i].in, n);
    }
}

static void test_url_alphabet(void **state)
{
    (void)state;
    unsigned char out[8];
    char enc[16];
    const unsigned char in[] = {0xfb, 0xff, 0x00};
    assert_int_equal(base64url_encode(in, 3, enc), 4);
    assert_string_equal(enc, "-_8A");
    assert_int_equal(base64url_encode(in, 1, enc), 2);
    assert_string_equal(enc, "-w");
    assert_int_equal(base64url_decode("-w", 2, out, sizeof out), 1);
    assert_int_equal(out[0], 0xfb);
}

static void test_round_trips(void **state)
{
    (void)state;
    unsigned char in[64], out[64];
    char enc[BASE64URL_LEN(64) + 1];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t len = base64url_encode(in, n, enc);
        assert_int_equal(len, BASE64URL_LEN(n));
        assert_int_equal(base64url_decode(enc, len, out, sizeof out), (int)n);
        assert_memory_equal(out, in, n);
    }
}

static void test_strict(void **state)
{
    (void)state;
    unsigned char out[8];
    /* "-x" carries stray low bits: another spelling of 0xfb, refused. */
    assert_int_equal(base64url_decode("-x", 2, out, sizeof out), -1);
    assert_int_equal(base64url_decode("A", 1, out, sizeof out), -1);
    assert_int_equal(base64url_decode("AA==", 4, out, sizeof out), -1);
    assert_int_equal(base64url_decode("Zm+v", 4, out, sizeof out), -1);
    assert_int_equal(base64url_decode("Zm/v", 4, out, sizeof out), -1);
    assert_int_equal(base64url_decode("Zm9 ", 4, out, sizeof out), -1);
    assert_int_equal(base64url_decode("AAAAAAAAAAAA", 12, out, sizeof out), -1); /* 9 > 8 */
    /* Only len characters are read. */
    assert_int_equal(base64url_decode("Zm9v!!", 4, out, sizeof out), 3);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_strict),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("base64url", tests, NULL, NULL);
}
