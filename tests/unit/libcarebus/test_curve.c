/* test_curve.c — curve.c: Z85 keys, key files, the settings (environment
 * and keys folder) and the allow-list (parsing, lookups, in-place edits).
 *
 * Files live in a fresh folder under /tmp per test; the CAREBUS_BUS_CURVE_*
 * variables are cleared before each. Run one test by name: test_curve <name>.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "curve.h"

static const char *const vars[] = {
    "CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY",
    "CAREBUS_BUS_CURVE_SERVER_SECRET_KEY",
    "CAREBUS_BUS_CURVE_SECRET_KEY",
    "CAREBUS_BUS_CURVE_ALLOWED_CLIENTS",
    "CAREBUS_BUS_CURVE_DIR",
};

static char dir[256];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    snprintf(dir, sizeof dir, "/tmp/carebus-test-curve-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void path_in(char *out, const char *file)
{
    snprintf(out, PATH_MAX, "%s/%s", dir, file);
}

static void write_text(const char *file, const char *text)
{
    char p[PATH_MAX];
    path_in(p, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *file)
{
    char p[PATH_MAX];
    path_in(p, file);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void test_keys_roundtrip_and_strict_decoding(void **state)
{
    (void)state;
    uint8_t pub[CURVE_KEY_BYTES], sec[CURVE_KEY_BYTES], back[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(pub, sec), 0);
    char text[CURVE_KEY_TEXT + 1];
    curve_key_encode(pub, text);
    assert_int_equal(strlen(text), CURVE_KEY_TEXT);
    assert_int_equal(curve_key_decode(text, CURVE_KEY_TEXT, back), 0);
    assert_memory_equal(back, pub, CURVE_KEY_BYTES);
    uint8_t derived[CURVE_KEY_BYTES];
    assert_int_equal(curve_public_of(sec, derived), 0);
    assert_memory_equal(derived, pub, CURVE_KEY_BYTES);

    /* Length, alphabet, embedded NUL, and 5-character groups beyond 2^32. */
    assert_int_equal(curve_key_decode(text, CURVE_KEY_TEXT - 1, back), -1);
    char bad[CURVE_KEY_TEXT + 1];
    memcpy(bad, text, sizeof bad);
    bad[7] = ' ';
    assert_int_equal(curve_key_decode(bad, CURVE_KEY_TEXT, back), -1);
    bad[7] = '\'';
    assert_int_equal(curve_key_decode(bad, CURVE_KEY_TEXT, back), -1);
    bad[7] = '\0';
    assert_int_equal(curve_key_decode(bad, CURVE_KEY_TEXT, back), -1);
    assert_int_equal(curve_key_decode("########################################", 40, back), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(curve_name_valid("crm-listener_2.prod"));
    assert_false(curve_name_valid(""));
    assert_false(curve_name_valid("server"));
    assert_false(curve_name_valid("with space"));
    assert_false(curve_name_valid("dấu"));
    char longname[CURVE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[CURVE_NAME_MAX + 1] = '\0';
    assert_false(curve_name_valid(longname));
    longname[CURVE_NAME_MAX] = '\0';
    assert_true(curve_name_valid(longname));
    for (size_t i = 0; i < curve_service_count(); i++)
        assert_true(curve_name_valid(curve_service_at(i)));
    assert_null(curve_service_at(curve_service_count()));
}

static void test_key_files(void **state)
{
    (void)state;
    uint8_t pub[CURVE_KEY_BYTES], sec[CURVE_KEY_BYTES], back[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(pub, sec), 0);
    char p[PATH_MAX], err[CURVE_ERR_MAX];
    path_in(p, "x.key");
    assert_int_equal(curve_key_read(p, back, err), 0); /* no such file */
    assert_int_equal(curve_key_write(p, sec, true, err), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(curve_key_read(p, back, err), 1);
    assert_memory_equal(back, sec, CURVE_KEY_BYTES);
    path_in(p, "x.pub");
    assert_int_equal(curve_key_write(p, pub, false, err), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* Blanks around the key are fine; anything else is not, and the error
     * names the file but never quotes the key. */
    char text[CURVE_KEY_TEXT + 1], padded[64];
    curve_key_encode(sec, text);
    snprintf(padded, sizeof padded, "  %s \r\n\n", text);
    write_text("padded.key", padded);
    path_in(p, "padded.key");
    assert_int_equal(curve_key_read(p, back, err), 1);
    snprintf(padded, sizeof padded, "%s x", text);
    write_text("bad.key", padded);
    path_in(p, "bad.key");
    assert_int_equal(curve_key_read(p, back, err), -1);
    assert_non_null(strstr(err, "bad.key"));
    assert_null(strstr(err, text));
}

static void test_config_off_env_and_mismatch(void **state)
{
    (void)state;
    struct curve_config c;
    char err[CURVE_ERR_MAX];
    assert_int_equal(curve_config_load("router", &c, err), 0);
    assert_false(c.on);

    uint8_t spub[CURVE_KEY_BYTES], ssec[CURVE_KEY_BYTES], cpub[CURVE_KEY_BYTES],
        csec[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(spub, ssec), 0);
    assert_int_equal(curve_keypair(cpub, csec), 0);
    char t[CURVE_KEY_TEXT + 1];
    /* A subscriber: the server's public key and its own secret key. */
    curve_key_encode(spub, t);
    setenv("CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY", t, 1);
    curve_key_encode(csec, t);
    setenv("CAREBUS_BUS_CURVE_SECRET_KEY", t, 1);
    assert_int_equal(curve_config_load("router", &c, err), 0);
    assert_true(c.on && c.has_server_public && c.has_secret && !c.has_server_secret);
    assert_memory_equal(c.server_public, spub, CURVE_KEY_BYTES);
    assert_memory_equal(c.public_key, cpub, CURVE_KEY_BYTES);
    assert_string_equal(c.allowed, "");

    /* A publisher: the public key follows from the secret one, and must
     * match a public key given beside it. */
    curve_key_encode(ssec, t);
    setenv("CAREBUS_BUS_CURVE_SERVER_SECRET_KEY", t, 1);
    setenv("CAREBUS_BUS_CURVE_ALLOWED_CLIENTS", "/etc/carebus/allowed", 1);
    assert_int_equal(curve_config_load(NULL, &c, err), 0);
    assert_true(c.has_server_secret && c.has_server_public);
    assert_string_equal(c.allowed, "/etc/carebus/allowed");
    curve_key_encode(cpub, t);
    setenv("CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY", t, 1);
    assert_int_equal(curve_config_load(NULL, &c, err), -1);
    assert_non_null(strstr(err, "does not belong"));

    /* A malformed key names its variable, never its value. */
    setenv("CAREBUS_BUS_CURVE_SECRET_KEY", "not-a-key", 1);
    unsetenv("CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY");
    assert_int_equal(curve_config_load(NULL, &c, err), -1);
    assert_non_null(strstr(err, "CAREBUS_BUS_CURVE_SECRET_KEY"));
    assert_null(strstr(err, "not-a-key"));

    /* The allow-list alone turns CURVE on (a publisher then lacks its key). */
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("CAREBUS_BUS_CURVE_ALLOWED_CLIENTS", "/x", 1);
    assert_int_equal(curve_config_load(NULL, &c, err), 0);
    assert_true(c.on && !c.has_server_secret && !c.has_server_public && !c.has_secret);
}

static void test_config_from_the_keys_folder(void **state)
{
    (void)state;
    uint8_t spub[CURVE_KEY_BYTES], ssec[CURVE_KEY_BYTES], cpub[CURVE_KEY_BYTES],
        csec[CURVE_KEY_BYTES], other[CURVE_KEY_BYTES], osec[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(spub, ssec), 0);
    assert_int_equal(curve_keypair(cpub, csec), 0);
    assert_int_equal(curve_keypair(other, osec), 0);
    char p[PATH_MAX], err[CURVE_ERR_MAX];
    path_in(p, CURVE_FILE_SERVER_PUBLIC);
    assert_int_equal(curve_key_write(p, spub, false, err), 0);
    path_in(p, "analytics" CURVE_FILE_CLIENT_SUFFIX);
    assert_int_equal(curve_key_write(p, csec, true, err), 0);
    setenv("CAREBUS_BUS_CURVE_DIR", dir, 1);

    struct curve_config c;
    assert_int_equal(curve_config_load("analytics", &c, err), 0);
    assert_true(c.on && c.has_server_public && c.has_secret && !c.has_server_secret);
    assert_memory_equal(c.server_public, spub, CURVE_KEY_BYTES);
    assert_memory_equal(c.public_key, cpub, CURVE_KEY_BYTES);
    path_in(p, CURVE_FILE_ALLOWED);
    assert_string_equal(c.allowed, p);
    /* Another service's key is not there: missing, not an error. */
    assert_int_equal(curve_config_load("router", &c, err), 0);
    assert_false(c.has_secret);

    /* The environment wins over the folder. */
    char t[CURVE_KEY_TEXT + 1];
    curve_key_encode(osec, t);
    setenv("CAREBUS_BUS_CURVE_SECRET_KEY", t, 1);
    assert_int_equal(curve_config_load("analytics", &c, err), 0);
    assert_memory_equal(c.public_key, other, CURVE_KEY_BYTES);

    /* A server key pair that does not match, and a malformed file. */
    path_in(p, CURVE_FILE_SERVER_SECRET);
    assert_int_equal(curve_key_write(p, osec, true, err), 0);
    assert_int_equal(curve_config_load("analytics", &c, err), -1);
    assert_non_null(strstr(err, "does not belong"));
    write_text(CURVE_FILE_SERVER_SECRET, "short\n");
    assert_int_equal(curve_config_load("analytics", &c, err), -1);
    assert_non_null(strstr(err, CURVE_FILE_SERVER_SECRET));
}

static void test_allowlist_parse(void **state)
{
    (void)state;
    uint8_t a[CURVE_KEY_BYTES], b[CURVE_KEY_BYTES], s[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(a, s), 0);
    assert_int_equal(curve_keypair(b, s), 0);
    char ta[CURVE_KEY_TEXT + 1], tb[CURVE_KEY_TEXT + 1], text[512];
    curve_key_encode(a, ta);
    curve_key_encode(b, tb);
    snprintf(text, sizeof text, "# subscribers\n\n%s router\r\n  \t%s\tcrm.listener  \n# end", ta,
             tb);
    struct curve_allowlist l;
    char err[CURVE_ERR_MAX];
    assert_int_equal(curve_allowlist_parse(text, strlen(text), &l, err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.clients[0].name, "router");
    assert_string_equal(l.clients[1].name, "crm.listener");
    assert_ptr_equal(curve_allowlist_find(&l, b), &l.clients[1]);
    assert_ptr_equal(curve_allowlist_named(&l, "router"), &l.clients[0]);
    assert_null(curve_allowlist_named(&l, "nobody"));
    assert_null(curve_allowlist_find(&l, s));

    /* keeps: a list that lost a key does not keep the old one. */
    struct curve_allowlist one;
    snprintf(text, sizeof text, "%s router\n", ta);
    assert_int_equal(curve_allowlist_parse(text, strlen(text), &one, err), 0);
    assert_true(curve_allowlist_keeps(&one, &l));
    assert_false(curve_allowlist_keeps(&l, &one));
    curve_allowlist_release(&one);
    curve_allowlist_release(&l);
    assert_null(l.clients);

    /* Errors name the line. */
    static const char *const bad[] = {"%s\n", "%s a b\n", "%s server\n", "x%s a\n", "%s dấu\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, bad[i], ta);
        snprintf(text, sizeof text, "# ok\n%s ok\n%s", tb, line);
        assert_int_equal(curve_allowlist_parse(text, strlen(text), &l, err), -1);
        assert_non_null(strstr(err, "line 3"));
        assert_int_equal(l.n, 0);
    }
    assert_int_equal(curve_allowlist_parse("", 0, &l, err), 0);
    assert_int_equal(l.n, 0);
}

static void test_allowlist_edit_keeps_other_lines(void **state)
{
    (void)state;
    char p[PATH_MAX], err[CURVE_ERR_MAX];
    path_in(p, CURVE_FILE_ALLOWED);
    struct curve_client x = {.name = "crm"}, y = {.name = "bi-stream"};
    uint8_t s[CURVE_KEY_BYTES];
    assert_int_equal(curve_keypair(x.key, s), 0);
    assert_int_equal(curve_keypair(y.key, s), 0);
    struct curve_allowlist l;
    assert_int_equal(curve_allowlist_read(p, &l, err), -1); /* missing */
    assert_int_equal(curve_allowlist_edit(p, NULL, NULL, NULL, err), 0);
    assert_int_equal(curve_allowlist_read(p, &l, err), 0); /* made, empty */
    assert_int_equal(l.n, 0);

    write_text(CURVE_FILE_ALLOWED, "# who may read the bus");
    int removed = -1;
    assert_int_equal(curve_allowlist_edit(p, &x, NULL, &removed, err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(curve_allowlist_edit(p, &y, NULL, NULL, err), 0);
    char tx[CURVE_KEY_TEXT + 1], ty[CURVE_KEY_TEXT + 1], want[256];
    curve_key_encode(x.key, tx);
    curve_key_encode(y.key, ty);
    snprintf(want, sizeof want, "# who may read the bus\n%s crm\n%s bi-stream\n", tx, ty);
    assert_string_equal(read_text(CURVE_FILE_ALLOWED), want);

    /* Replace crm's key in one edit: the old line goes, the new one comes. */
    struct curve_client x2 = {.name = "crm"};
    assert_int_equal(curve_keypair(x2.key, s), 0);
    assert_int_equal(curve_allowlist_edit(p, &x2, "crm", &removed, err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(curve_allowlist_read(p, &l, err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.clients[0].name, "bi-stream");
    assert_memory_equal(l.clients[1].key, x2.key, CURVE_KEY_BYTES);
    curve_allowlist_release(&l);

    assert_int_equal(curve_allowlist_edit(p, NULL, "nobody", &removed, err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(curve_allowlist_edit(p, NULL, "bi-stream", &removed, err), 0);
    assert_int_equal(removed, 1);
    assert_null(strstr(read_text(CURVE_FILE_ALLOWED), "bi-stream"));
    assert_non_null(strstr(read_text(CURVE_FILE_ALLOWED), "# who may read the bus\n"));

    /* A malformed file is the operator's to mend: not edited. */
    write_text(CURVE_FILE_ALLOWED, "garbage here\n");
    assert_int_equal(curve_allowlist_edit(p, &y, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "line 1"));
    assert_string_equal(read_text(CURVE_FILE_ALLOWED), "garbage here\n");
}

/* Two processes add 40 clients each at once: every line lands. */
static void test_allowlist_edits_at_once_all_land(void **state)
{
    (void)state;
    enum { EACH = 40 };
    char p[PATH_MAX], err[CURVE_ERR_MAX];
    path_in(p, CURVE_FILE_ALLOWED);
    assert_int_equal(curve_allowlist_edit(p, NULL, NULL, NULL, err), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            for (int i = 0; i < EACH; i++) {
                struct curve_client c;
                uint8_t sec[CURVE_KEY_BYTES];
                snprintf(c.name, sizeof c.name, "client-%d-%d", k, i);
                if (curve_keypair(c.key, sec) != 0 ||
                    curve_allowlist_edit(p, &c, NULL, NULL, err) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    struct curve_allowlist l;
    assert_int_equal(curve_allowlist_read(p, &l, err), 0);
    assert_int_equal(l.n, 2 * EACH);
    curve_allowlist_release(&l);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_roundtrip_and_strict_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_off_env_and_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_from_the_keys_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowlist_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowlist_edit_keeps_other_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowlist_edits_at_once_all_land, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("curve", tests, NULL, NULL);
}
