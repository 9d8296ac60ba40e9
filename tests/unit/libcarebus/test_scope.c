/* test_scope.c — scope.c: the scopes' names, parsing, formatting and the
 * grants between them, all from SCOPE_LIST.
 *
 * Parsing trims blanks, skips empty names, counts (and names the first of)
 * the unknown ones without granting them; formatting is the list's order;
 * supervisor grants agent and nothing else grants another scope; a need
 * that is not exactly one scope is granted by nothing (a route table's bug
 * must close the route, not open it). Run one test by name: test_scope <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scope.h"

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(SCOPE_COUNT, 5);
    assert_string_equal(scope_name(SCOPE_INGEST), "ingest");
    assert_string_equal(scope_name(SCOPE_READ), "read");
    assert_string_equal(scope_name(SCOPE_AGENT), "agent");
    assert_string_equal(scope_name(SCOPE_SUPERVISOR), "supervisor");
    assert_string_equal(scope_name(SCOPE_ADMIN), "admin");
    assert_null(scope_name(0));
    assert_null(scope_name(SCOPE_READ | SCOPE_AGENT));
    assert_null(scope_name(SCOPE_PUBLIC));
    assert_non_null(scope_doc(SCOPE_ADMIN));
    assert_string_equal(scope_names(), "ingest, read, agent, supervisor, admin");
    /* The flags above the scopes stay clear of them. */
    assert_int_equal(SCOPE_ALL & ~SCOPE_MASK, 0);
    assert_int_equal(SCOPE_PUBLIC & SCOPE_MASK, 0);
}

static void test_parse(void **state)
{
    (void)state;
    unsigned m = 99;
    char bad[16];
    assert_int_equal(scope_parse("ingest,read", &m, bad, sizeof bad), 0);
    assert_int_equal(m, SCOPE_INGEST | SCOPE_READ);
    assert_string_equal(bad, "");
    assert_int_equal(scope_parse(" agent , supervisor,,admin ", &m, bad, sizeof bad), 0);
    assert_int_equal(m, SCOPE_AGENT | SCOPE_SUPERVISOR | SCOPE_ADMIN);
    assert_int_equal(scope_parse("read,Read,teleport,public", &m, bad, sizeof bad), 3);
    assert_int_equal(m, SCOPE_READ);
    assert_string_equal(bad, "Read"); /* spellings are exact */
    assert_int_equal(scope_parse("", &m, NULL, 0), 0);
    assert_int_equal(m, 0);
    assert_int_equal(scope_parse(NULL, &m, bad, sizeof bad), 0);
    assert_int_equal(m, 0);
    /* A long unknown name is cut in bad, still counted. */
    assert_int_equal(scope_parse("averyveryverylongname", &m, bad, 8), 1);
    assert_string_equal(bad, "averyve");
}

static void test_format(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(scope_format(SCOPE_ADMIN | SCOPE_INGEST, out, sizeof out), 12);
    assert_string_equal(out, "ingest,admin");
    assert_int_equal(scope_format(SCOPE_ALL, out, sizeof out),
                     (int)strlen("ingest,read,agent,supervisor,admin"));
    assert_string_equal(out, "ingest,read,agent,supervisor,admin");
    assert_int_equal(scope_format(0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(scope_format(SCOPE_ALL, out, 10), -1);
    /* Round trip. */
    unsigned m;
    assert_int_equal(scope_format(SCOPE_READ | SCOPE_AGENT, out, sizeof out), 10);
    assert_int_equal(scope_parse(out, &m, NULL, 0), 0);
    assert_int_equal(m, SCOPE_READ | SCOPE_AGENT);
}

static void test_grants(void **state)
{
    (void)state;
    assert_true(scope_grants(SCOPE_READ, SCOPE_READ));
    assert_false(scope_grants(SCOPE_INGEST, SCOPE_READ));
    assert_true(scope_grants(SCOPE_SUPERVISOR, SCOPE_AGENT));
    assert_false(scope_grants(SCOPE_AGENT, SCOPE_SUPERVISOR));
    assert_false(scope_grants(SCOPE_ADMIN, SCOPE_AGENT));
    assert_false(scope_grants(SCOPE_ADMIN, SCOPE_READ));
    assert_true(scope_grants(0, SCOPE_PUBLIC));
    assert_false(scope_grants(SCOPE_ALL, 0));
    assert_false(scope_grants(SCOPE_ALL, SCOPE_READ | SCOPE_AGENT));
    for (unsigned s = 1; s & SCOPE_ALL; s <<= 1)
        assert_true(scope_grants(SCOPE_ALL, s));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_grants),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("scope", tests, NULL, NULL);
}
