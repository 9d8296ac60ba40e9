/* test_sessions.c — sessions.c: the desk's session table.
 *
 * A token finds its session until it expires or is removed (signed out);
 * another token, a changed one or none finds nothing; each session has its
 * own CSRF token; a full table refuses a new session; the sweep forgets
 * the expired ones and names their keys. Run one test by name:
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

static struct desk_session proto(const char *agent)
{
    struct desk_session d = {0};
    snprintf(d.agent_id, sizeof d.agent_id, "%s", agent);
    snprintf(d.key, sizeof d.key, "key-of-%s", agent);
    snprintf(d.role, sizeof d.role, "agent");
    snprintf(d.teams, sizeof d.teams, "[\"complaints\"]");
    return d;
}

static void test_find_and_remove(void **state)
{
    (void)state;
    sessions *s = sessions_new(3600);
    assert_non_null(s);
    char t1[DESK_TOKEN_LEN], t2[DESK_TOKEN_LEN];
    struct desk_session p1 = proto("lan"), p2 = proto("minh");
    const struct desk_session *a = sessions_add(s, &p1, t1);
    const struct desk_session *b = sessions_add(s, &p2, t2);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(strlen(t1), DESK_TOKEN_LEN - 1);
    assert_string_not_equal(t1, t2);
    assert_ptr_equal(sessions_find(s, t1), a);
    assert_string_equal(sessions_find(s, t2)->agent_id, "minh");
    /* Nothing else finds a session. */
    assert_null(sessions_find(s, NULL));
    assert_null(sessions_find(s, ""));
    char other[DESK_TOKEN_LEN];
    memcpy(other, t1, sizeof other);
    other[5] = other[5] == 'A' ? 'B' : 'A';
    assert_null(sessions_find(s, other));
    /* CSRF tokens: 64 hex digits, one per session, checked exactly. */
    assert_int_equal(strlen(a->csrf), DESK_CSRF_LEN - 1);
    assert_string_not_equal(a->csrf, b->csrf);
    assert_true(sessions_csrf_ok(a, a->csrf));
    assert_false(sessions_csrf_ok(a, b->csrf));
    assert_false(sessions_csrf_ok(a, NULL));
    assert_false(sessions_csrf_ok(a, "abc"));
    /* Signed out: the token finds nothing any more, the other stays. */
    char key[APIKEY_LEN];
    sessions_remove(s, a, key);
    assert_string_equal(key, "key-of-lan");
    assert_null(sessions_find(s, t1));
    assert_string_equal(sessions_find(s, t2)->agent_id, "minh");
    sessions_destroy(&s);
    assert_null(s);
}

static int swept;
static void on_swept(const char *key, void *arg)
{
    (void)arg;
    assert_string_equal(key, "key-of-old");
    swept++;
}

static void test_expiry_and_sweep(void **state)
{
    (void)state;
    /* A life of 0 s: expired as soon as made. */
    sessions *s = sessions_new(0);
    char t[DESK_TOKEN_LEN];
    struct desk_session p = proto("old");
    assert_non_null(sessions_add(s, &p, t));
    assert_null(sessions_find(s, t));
    swept = 0;
    sessions_sweep(s, on_swept, NULL);
    assert_int_equal(swept, 1);
    sessions_sweep(s, on_swept, NULL);
    assert_int_equal(swept, 1);
    sessions_destroy(&s);
}

static void test_full(void **state)
{
    (void)state;
    sessions *s = sessions_new(3600);
    char t[DESK_TOKEN_LEN], first[DESK_TOKEN_LEN];
    struct desk_session p = proto("many");
    for (int i = 0; i < DESK_SESSIONS_MAX; i++)
        assert_non_null(sessions_add(s, &p, i ? t : first));
    assert_null(sessions_add(s, &p, t));
    /* One out, one in again. */
    char key[APIKEY_LEN];
    sessions_remove(s, sessions_find(s, first), key);
    assert_non_null(sessions_add(s, &p, t));
    assert_non_null(sessions_find(s, t));
    sessions_destroy(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_remove),
        cmocka_unit_test(test_expiry_and_sweep),
        cmocka_unit_test(test_full),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sessions", tests, NULL, NULL);
}
