/* test_routes.c — analytics' route table (routes.c): every route states
 * exactly one scope or SCOPE_PUBLIC; the KPI API and the dashboard need
 * read, the dashboard is a page (sends a person to sign in), and only the
 * sign-in and sign-out are public. Run one test by name: test_routes <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics.h"
#include "scope.h"

static void test_every_route_states_one_scope(void **state)
{
    (void)state;
    size_t pages = 0, public_routes = 0;
    for (size_t i = 0; i < analytics_routes_count; i++) {
        const struct http_route *r = &analytics_routes[i];
        unsigned scope = r->access & SCOPE_MASK;
        bool public = (r->access & SCOPE_PUBLIC) != 0;
        if (public ? scope != 0 : !scope_name(scope))
            fail_msg("%s %s: access %#x is not one scope nor public", r->method, r->pattern,
                     r->access);
        if (public) {
            public_routes++;
            if (strcmp(r->pattern, SESSION_SIGNIN) != 0 && strcmp(r->pattern, "/signout") != 0)
                fail_msg("%s %s is public", r->method, r->pattern);
        } else {
            assert_int_equal(scope, SCOPE_READ);
        }
        if (r->access & SESSION_PAGE) {
            pages++;
            assert_string_equal(r->pattern, "/");
        }
    }
    assert_int_equal(pages, 1);
    assert_int_equal(public_routes, 3);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_states_one_scope),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("routes", tests, NULL, NULL);
}
