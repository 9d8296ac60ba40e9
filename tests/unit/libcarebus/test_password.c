/* test_password.c — password.c: scrypt hashes in PHC format.
 *
 * The known answer is RFC 7914's scrypt test vector ("password", salt
 * "NaCl", N = 1024, r = 8, p = 16, 64 bytes), written as a PHC string the
 * way passlib writes one; hashes made here use a low cost so the test stays
 * fast. Run one test by name: test_password <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"

#define RFC7914                                                                                    \
    "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/"        \
    "xCSedmDDaxyevuUqD7m2DYMvfoswGQA"

static void test_known_answer(void **state)
{
    (void)state;
    assert_true(password_verify("password", 8, RFC7914));
    assert_false(password_verify("Password", 8, RFC7914));
    assert_false(password_verify("passwor", 7, RFC7914));
}

static void test_round_trip(void **state)
{
    (void)state;
    char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
    const char *pw = "mật khẩu của Lan";
    assert_int_equal(password_hash(pw, strlen(pw), 4, 8, 1, a), 0);
    assert_int_equal(password_hash(pw, strlen(pw), 4, 8, 1, b), 0);
    assert_true(strncmp(a, "$scrypt$ln=4,r=8,p=1$", 21) == 0);
    /* A fresh salt each time: the same password never hashes alike. */
    assert_string_not_equal(a, b);
    assert_true(password_verify(pw, strlen(pw), a));
    assert_true(password_verify(pw, strlen(pw), b));
    assert_false(password_verify("mật khẩu của Hoa", strlen("mật khẩu của Hoa"), a));
    /* Nothing of the password is in the string. */
    assert_null(strstr(a, "Lan"));
}

static void test_default_cost_fits(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX];
    assert_int_equal(password_hash("correct horse", 13, PASSWORD_LOG_N, PASSWORD_R, PASSWORD_P, h),
                     0);
    assert_true(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
    assert_true(password_verify("correct horse", 13, h));
}

static void test_refuses(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX];
    assert_int_equal(password_hash("x", 1, 0, 8, 1, h), -1);
    assert_int_equal(password_hash("x", 1, 4, 0, 1, h), -1);
    assert_int_equal(password_hash("x", 1, 40, 8, 1, h), -1);
    const char *bad[] = {
        NULL,
        "",
        "plain text",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "$scrypt$ln=10,r=8,p=16$TmFDbA",
        "$scrypt$ln=10,r=8,p=16$$/bq+HJ00cgB4VucZDQHp",
        "$scrypt$ln=99,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
        "$scrypt$ln=10,r=8,p=16$T$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
        "$scrypt$ln=10,r=8,p=16$TmFDbA$short",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(password_verify("password", 8, bad[i]));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_default_cost_fits),
        cmocka_unit_test(test_refuses),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
