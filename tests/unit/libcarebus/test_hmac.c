/* test_hmac.c — hmac.c: HMAC-SHA1/SHA-256 in parts, constant-time compares.
 *
 * Vectors come from outside this code: RFC 4231 (HMAC-SHA256) test cases 2
 * and 6 (a key longer than the block), RFC 2202 (HMAC-SHA1) test case 2,
 * and the empty key and message as Python's
 * hmac.new(b"", b"", hashlib.sha256).hexdigest() gives them. Run one test
 * by name: test_hmac <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "hmac.h"

static void assert_mac_hex(const unsigned char *mac, size_t n, const char *want)
{
    char h[2 * HMAC_MAX_LEN + 1];
    hex_encode(mac, n, h);
    assert_string_equal(h, want);
}

static void test_rfc_vectors(void **state)
{
    (void)state;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {"what do ya want for nothing?", 28};
    assert_int_equal(hmac_compute(HMAC_SHA256, "Jefe", 4, &part, 1, mac), 0);
    assert_mac_hex(mac, HMAC_SHA256_LEN,
                   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(hmac_compute(HMAC_SHA1, "Jefe", 4, &part, 1, mac), 0);
    assert_mac_hex(mac, HMAC_SHA1_LEN, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    struct hmac_part big = {"Test Using Larger Than Block-Size Key - Hash Key First", 54};
    assert_int_equal(hmac_compute(HMAC_SHA256, key, sizeof key, &big, 1, mac), 0);
    assert_mac_hex(mac, HMAC_SHA256_LEN,
                   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_parts_and_empty(void **state)
{
    (void)state;
    unsigned char whole[HMAC_MAX_LEN], split[HMAC_MAX_LEN];
    struct hmac_part part = {"what do ya want for nothing?", 28};
    assert_int_equal(hmac_compute(HMAC_SHA1, "Jefe", 4, &part, 1, whole), 0);
    /* The same message in parts (an empty one among them) gives the same MAC. */
    struct hmac_part parts[] = {{"what do ya ", 11}, {NULL, 0}, {"want for nothing?", 17}};
    assert_int_equal(hmac_compute(HMAC_SHA1, "Jefe", 4, parts, 3, split), 0);
    assert_memory_equal(whole, split, HMAC_SHA1_LEN);
    /* An empty key and no input at all are legal HMAC. */
    assert_int_equal(hmac_compute(HMAC_SHA256, "", 0, NULL, 0, whole), 0);
    assert_mac_hex(whole, HMAC_SHA256_LEN,
                   "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_unknown_digest(void **state)
{
    (void)state;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {"x", 1};
    /* An unknown digest fails instead of answering something. */
    assert_int_equal(hmac_compute((hmac_digest)99, "k", 1, &part, 1, mac), -1);
    assert_int_equal(hmac_len((hmac_digest)99), 0);
    assert_int_equal(hmac_len(HMAC_SHA1), 20);
    assert_int_equal(hmac_len(HMAC_SHA256), 32);
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(hmac_equal("abc", "abc", 3));
    assert_false(hmac_equal("abc", "abd", 3));
    assert_false(hmac_equal("xbc", "abc", 3));
    assert_true(hmac_equal("", "x", 0));
}

static void test_equal_hex(void **state)
{
    (void)state;
    const unsigned char mac[] = {0xab, 0x01, 0xff};
    assert_true(hmac_equal_hex("ab01ff", 6, mac, 3));
    assert_true(hmac_equal_hex("AB01FF", 6, mac, 3));
    assert_false(hmac_equal_hex("ab01fe", 6, mac, 3));
    assert_false(hmac_equal_hex("ab01f", 5, mac, 3));
    assert_false(hmac_equal_hex("ab01ff00", 8, mac, 3));
    assert_false(hmac_equal_hex("ab01fg", 6, mac, 3));
    assert_false(hmac_equal_hex("", 0, mac, 3));
    /* Longer than any MAC: refused, never copied. */
    unsigned char big[HMAC_MAX_LEN + 1] = {0};
    char hex[2 * sizeof big + 1];
    hex_encode(big, sizeof big, hex);
    assert_false(hmac_equal_hex(hex, strlen(hex), big, sizeof big));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_vectors),
        cmocka_unit_test(test_parts_and_empty),
        cmocka_unit_test(test_unknown_digest),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_equal_hex),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("hmac", tests, NULL, NULL);
}
