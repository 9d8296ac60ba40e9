/* test_sessions.c — sessions.c: the session's key sealed in its cookie,
 * its CSRF token, the agent read from the API's answer, and the bounded
 * copies of who a key is.
 *
 * A sealed key opens under the same secret only (another desk's does not),
 * never shows the key, differs each time (a fresh nonce), and any byte
 * changed, cut or added, the old plain key, another prefix, or something
 * not a key's shape sealed, is refused with the output wiped.
 * The CSRF token is the same for a key wherever it is computed (a fixed
 * vector: HMAC-SHA256 under the key of the label), another key's differs,
 * and the check is exact; an agent object is read with its defaults; a
 * copy is found by its key only, forgotten on request, and the oldest
 * gives way once the copies are full. Run one test by name:
 * test_sessions <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sessions.h"

/* "cb_" and 43 characters, the i-th key. */
static void key_of(int i, char out[APIKEY_LEN])
{
    snprintf(out, APIKEY_LEN, "cb_%043d", i);
}

static const uint8_t SECRET[DESK_SECRET_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void test_seal(void **state)
{
    (void)state;
    sessions *s = sessions_new(3600, SECRET, false);
    uint8_t other_secret[DESK_SECRET_LEN];
    memcpy(other_secret, SECRET, sizeof other_secret);
    other_secret[31] ^= 1;
    sessions *other = sessions_new(3600, other_secret, false);
    char k[APIKEY_LEN], got[APIKEY_LEN], sealed[DESK_SEALED_MAX], again[DESK_SEALED_MAX];
    key_of(7, k);
    assert_int_equal(sessions_seal(s, k, sealed), 0);
    assert_int_equal(strlen(sealed), DESK_SEALED_MAX - 1);
    assert_int_equal(strncmp(sealed, DESK_SEAL_PREFIX, strlen(DESK_SEAL_PREFIX)), 0);
    assert_null(strstr(sealed, k));
    assert_null(strstr(sealed, k + 3));
    /* Round trip, on any sessions with the same secret. */
    assert_true(sessions_open(s, sealed, got));
    assert_string_equal(got, k);
    sessions *twin = sessions_new(60, SECRET, false);
    assert_true(sessions_open(twin, sealed, got));
    assert_string_equal(got, k);
    sessions_destroy(&twin);
    /* A fresh nonce each time: another cookie, the same key. */
    assert_int_equal(sessions_seal(s, k, again), 0);
    assert_string_not_equal(sealed, again);
    assert_true(sessions_open(s, again, got));
    assert_string_equal(got, k);
    /* Another secret. */
    assert_false(sessions_open(other, sealed, got));
    assert_int_equal(got[0], 0);
    /* Every character changed, one at a time (prefix, nonce, text, tag). */
    char t[DESK_SEALED_MAX];
    for (size_t i = 0; i < DESK_SEALED_MAX - 1; i++) {
        memcpy(t, sealed, sizeof t);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_false(sessions_open(s, t, got));
        assert_int_equal(got[0], 0);
    }
    /* Cut, lengthened, empty, absent, the old plain key. */
    memcpy(t, sealed, sizeof t);
    for (size_t n = 0; n < DESK_SEALED_MAX - 1; n++) {
        t[n] = '\0';
        assert_false(sessions_open(s, t, got));
        t[n] = sealed[n];
    }
    char longer[DESK_SEALED_MAX + 4];
    snprintf(longer, sizeof longer, "%sAAAA", sealed);
    assert_false(sessions_open(s, longer, got));
    assert_false(sessions_open(s, "", got));
    assert_false(sessions_open(s, NULL, got));
    assert_false(sessions_open(s, k, got));
    /* Only a session key's shape is sealed. */
    assert_int_equal(sessions_seal(s, "cb_short", sealed), -1);
    assert_int_equal(sessions_seal(s, "xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sealed),
                     -1);
    sessions_destroy(&other);
    sessions_destroy(&s);
}

static void test_csrf(void **state)
{
    (void)state;
    const char *k1 = "cb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char c1[DESK_CSRF_LEN], again[DESK_CSRF_LEN], c2[DESK_CSRF_LEN], k2[APIKEY_LEN];
    sessions_csrf(k1, c1);
    /* python3: hmac.new(key, b"carebus-desk csrf 1", hashlib.sha256).hexdigest() */
    assert_string_equal(c1, "ae0b7a8b673903c5523cd60dc94f4c51c2dd117c96f069550db2ccbc0a928a51");
    sessions_csrf(k1, again);
    assert_string_equal(c1, again);
    key_of(2, k2);
    sessions_csrf(k2, c2);
    assert_string_not_equal(c1, c2);
    assert_true(sessions_csrf_ok(k1, c1));
    assert_false(sessions_csrf_ok(k1, c2));
    assert_false(sessions_csrf_ok(k2, c1));
    assert_false(sessions_csrf_ok(k1, NULL));
    assert_false(sessions_csrf_ok(NULL, c1));
    assert_false(sessions_csrf_ok(k1, "abc"));
    c1[63] = c1[63] == '0' ? '1' : '0';
    assert_false(sessions_csrf_ok(k1, c1));
}

static void test_agent_read(void **state)
{
    (void)state;
    struct desk_agent a;
    json_t *j = json_pack("{s:s, s:s, s:s, s:[s,s]}", "id", "lan", "name", "Nguyễn Thị Lan", "role",
                          "supervisor", "teams", "complaints", "technical");
    assert_true(sessions_agent_read(j, &a));
    assert_string_equal(a.id, "lan");
    assert_string_equal(a.name, "Nguyễn Thị Lan");
    assert_string_equal(a.role, "supervisor");
    assert_string_equal(a.teams, "[\"complaints\",\"technical\"]");
    json_decref(j);
    /* Defaults: the id as name, the agent role, no teams. */
    j = json_pack("{s:s}", "id", "minh");
    assert_true(sessions_agent_read(j, &a));
    assert_string_equal(a.name, "minh");
    assert_string_equal(a.role, "agent");
    assert_string_equal(a.teams, "[]");
    json_decref(j);
    j = json_pack("{s:s}", "name", "nobody");
    assert_false(sessions_agent_read(j, &a));
    assert_false(sessions_agent_read(NULL, &a));
    json_decref(j);
}

static void test_copies(void **state)
{
    (void)state;
    sessions *s = sessions_new(3600, SECRET, false);
    assert_non_null(s);
    char k1[APIKEY_LEN], k2[APIKEY_LEN];
    key_of(1, k1);
    key_of(2, k2);
    struct desk_agent lan = {.id = "lan", .role = "agent", .teams = "[]"}, got;
    assert_false(sessions_cached(s, k1, &got));
    sessions_remember(s, k1, &lan);
    assert_true(sessions_cached(s, k1, &got));
    assert_string_equal(got.id, "lan");
    assert_false(sessions_cached(s, k2, &got));
    /* Told again: the one copy changes. */
    snprintf(lan.role, sizeof lan.role, "supervisor");
    sessions_remember(s, k1, &lan);
    assert_true(sessions_cached(s, k1, &got));
    assert_string_equal(got.role, "supervisor");
    sessions_forget(s, k1);
    assert_false(sessions_cached(s, k1, &got));
    sessions_forget(s, k2); /* none: nothing happens */
    sessions_destroy(&s);
    assert_null(s);
}

static void test_bounded(void **state)
{
    (void)state;
    sessions *s = sessions_new(3600, SECRET, false);
    char k[APIKEY_LEN];
    struct desk_agent a = {.id = "many", .role = "agent", .teams = "[]"}, got;
    for (int i = 0; i < DESK_CACHED_MAX; i++) {
        key_of(i, k);
        sessions_remember(s, k, &a);
    }
    for (int i = 0; i < DESK_CACHED_MAX; i++) {
        key_of(i, k);
        assert_true(sessions_cached(s, k, &got));
    }
    /* One more: a copy gives way, the new one is kept, the count stays. */
    key_of(DESK_CACHED_MAX, k);
    sessions_remember(s, k, &a);
    assert_true(sessions_cached(s, k, &got));
    int kept = 0;
    for (int i = 0; i <= DESK_CACHED_MAX; i++) {
        key_of(i, k);
        kept += sessions_cached(s, k, &got);
    }
    assert_int_equal(kept, DESK_CACHED_MAX);
    sessions_destroy(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal),       cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_agent_read), cmocka_unit_test(test_copies),
        cmocka_unit_test(test_bounded),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sessions", tests, NULL, NULL);
}
