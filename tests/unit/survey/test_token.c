/* test_token.c — services/survey/token.c: signed links and CSRF fields.
 *
 * A token round-trips; every kind of tampering (a changed byte, another
 * secret, another survey, a longer life, padding or stray bits, wrong
 * length) is refused as forged; expiry is reported as such; CSRF fields
 * bind the link and the cookie's nonce. Run one test by name: test_token
 * <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

#define SID "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b"
#define SECRET "0123456789abcdef0123456789abcdef"
#define EXP INT64_C(1795399200)

static struct survey_keys keys(const char *secret)
{
    struct survey_keys k;
    survey_keys_derive(&k, secret, strlen(secret));
    return k;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct survey_keys k = keys(SECRET);
    char t[SURVEY_TOKEN_LEN], id[ID_LEN];
    int64_t exp = 0;
    assert_int_equal(survey_token_make(&k, SID, EXP, t), 0);
    assert_int_equal(strlen(t), SURVEY_TOKEN_LEN - 1);
    assert_true(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                strlen(t));
    assert_int_equal(survey_token_check(&k, t, EXP - 1, id, &exp), TOKEN_OK);
    assert_string_equal(id, SID);
    assert_true(exp == EXP);
    /* Deterministic: the same survey and expiry give the same link. */
    char t2[SURVEY_TOKEN_LEN];
    survey_token_make(&k, SID, EXP, t2);
    assert_string_equal(t, t2);
    assert_int_equal(survey_token_make(&k, "not-a-uuid", EXP, t2), -1);
}

static void test_expiry(void **state)
{
    (void)state;
    struct survey_keys k = keys(SECRET);
    char t[SURVEY_TOKEN_LEN], id[ID_LEN];
    int64_t exp;
    survey_token_make(&k, SID, EXP, t);
    assert_int_equal(survey_token_check(&k, t, EXP, id, &exp), TOKEN_EXPIRED);
    assert_string_equal(id, SID);
    assert_int_equal(survey_token_check(&k, t, EXP + 86400, id, &exp), TOKEN_EXPIRED);
}

static void test_tampering_is_forged(void **state)
{
    (void)state;
    struct survey_keys k = keys(SECRET);
    char t[SURVEY_TOKEN_LEN], id[ID_LEN], bad[SURVEY_TOKEN_LEN + 4];
    int64_t exp;
    survey_token_make(&k, SID, EXP, t);
    /* Every single-character change anywhere. */
    for (size_t i = 0; i < strlen(t); i++) {
        strcpy(bad, t);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(survey_token_check(&k, bad, 0, id, &exp), TOKEN_FORGED);
    }
    /* Another secret. */
    struct survey_keys other = keys("another secret of some length!!");
    assert_int_equal(survey_token_check(&other, t, 0, id, &exp), TOKEN_FORGED);
    /* A longer life spliced from a token for another expiry. */
    char longer[SURVEY_TOKEN_LEN];
    survey_token_make(&k, SID, EXP + 1000000, longer);
    memcpy(bad, longer, 33);
    strcpy(bad + 33, t + 33);
    assert_int_equal(survey_token_check(&k, bad, 0, id, &exp), TOKEN_FORGED);
    /* Wrong lengths, padding, stray characters. */
    snprintf(bad, sizeof bad, "%s=", t);
    assert_int_equal(survey_token_check(&k, bad, 0, id, &exp), TOKEN_FORGED);
    snprintf(bad, sizeof bad, "%.54s", t);
    assert_int_equal(survey_token_check(&k, bad, 0, id, &exp), TOKEN_FORGED);
    assert_int_equal(survey_token_check(&k, "", 0, id, &exp), TOKEN_FORGED);
    assert_int_equal(survey_token_check(&k, NULL, 0, id, &exp), TOKEN_FORGED);
    strcpy(bad, t);
    bad[10] = '+';
    assert_int_equal(survey_token_check(&k, bad, 0, id, &exp), TOKEN_FORGED);
}

static void test_csrf(void **state)
{
    (void)state;
    struct survey_keys k = keys(SECRET);
    char t[SURVEY_TOKEN_LEN], t2[SURVEY_TOKEN_LEN], n[SURVEY_NONCE_LEN], n2[SURVEY_NONCE_LEN];
    char f[SURVEY_CSRF_LEN];
    survey_token_make(&k, SID, EXP, t);
    survey_token_make(&k, "7a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c", EXP, t2);
    assert_int_equal(survey_nonce_new(n), 0);
    assert_int_equal(survey_nonce_new(n2), 0);
    assert_string_not_equal(n, n2);
    assert_true(survey_nonce_valid(n));
    assert_false(survey_nonce_valid("short"));
    assert_false(survey_nonce_valid(NULL));
    survey_csrf_make(&k, t, n, f);
    assert_int_equal(strlen(f), SURVEY_CSRF_LEN - 1);
    assert_true(survey_csrf_check(&k, t, n, f));
    assert_false(survey_csrf_check(&k, t, n2, f)); /* another cookie */
    assert_false(survey_csrf_check(&k, t2, n, f)); /* another survey */
    assert_false(survey_csrf_check(&k, t, n, NULL));
    assert_false(survey_csrf_check(&k, t, NULL, f));
    struct survey_keys other = keys("another secret of some length!!");
    assert_false(survey_csrf_check(&other, t, n, f));
    /* A link token never passes as a CSRF field (different keys). */
    assert_false(survey_csrf_check(&k, t, n, t));
    char bad[SURVEY_CSRF_LEN];
    strcpy(bad, f);
    bad[0] = bad[0] == 'A' ? 'B' : 'A';
    assert_false(survey_csrf_check(&k, t, n, bad));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_tampering_is_forged),
        cmocka_unit_test(test_csrf),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
