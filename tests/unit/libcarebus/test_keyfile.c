/* test_keyfile.c — keyfile.c: a 32-byte key from CAREBUS_<NAME> or the
 * file CAREBUS_<NAME>_FILE names.
 *
 * The variable wins over the file; white space around the digits is
 * ignored, anything else is refused (-1), and neither set is 0. A made
 * file is mode 0600 and read back; a second make keeps it; an invalid
 * file is never replaced. Run one test by name: test_keyfile <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyfile.h"

#define HEX_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void temp_path(char *out, size_t cap, const char *leaf)
{
    snprintf(out, cap, "%s/keyfile-%ld-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid(), leaf);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "a.key");
    write_file(path, "\n " HEX_B "\n");
    uint8_t key[KEYFILE_LEN];
    unsetenv("CAREBUS_TESTKEY");
    unsetenv("CAREBUS_TESTKEY_FILE");
    assert_int_equal(keyfile_load("TESTKEY", key), 0);
    setenv("CAREBUS_TESTKEY_FILE", path, 1);
    assert_int_equal(keyfile_load("TESTKEY", key), 1);
    assert_int_equal(key[0], 0xff);
    assert_int_equal(key[31], 0x00);
    setenv("CAREBUS_TESTKEY", HEX_A, 1); /* the variable wins */
    assert_int_equal(keyfile_load("TESTKEY", key), 1);
    assert_int_equal(key[0], 0x00);
    assert_int_equal(key[31], 0xff);
    setenv("CAREBUS_TESTKEY", HEX_A "00", 1);
    assert_int_equal(keyfile_load("TESTKEY", key), -1);
    setenv("CAREBUS_TESTKEY", "", 1); /* empty: unset, the file is read */
    assert_int_equal(keyfile_load("TESTKEY", key), 1);
    write_file(path, "not a key\n");
    assert_int_equal(keyfile_load("TESTKEY", key), -1);
    unlink(path);
    assert_int_equal(keyfile_load("TESTKEY", key), -1); /* named but missing */
    unsetenv("CAREBUS_TESTKEY");
    unsetenv("CAREBUS_TESTKEY_FILE");
}

static void test_make(void **state)
{
    (void)state;
    char path[256], err[400];
    temp_path(path, sizeof path, "made.key");
    unlink(path);
    uint8_t a[KEYFILE_LEN], b[KEYFILE_LEN];
    assert_int_equal(keyfile_make(path, err, sizeof err), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(keyfile_read(path, a, err, sizeof err), 0);
    assert_int_equal(keyfile_make(path, err, sizeof err), 0); /* kept */
    assert_int_equal(keyfile_read(path, b, err, sizeof err), 0);
    assert_memory_equal(a, b, KEYFILE_LEN);
    write_file(path, "garbage");
    assert_int_equal(keyfile_make(path, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected 64 hex digits"));
    unlink(path);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_make),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("keyfile", tests, NULL, NULL);
}
