/* test_routes.c — the route table's access column (routes.c): every route
 * states exactly one scope, or SCOPE_PUBLIC, and only the channels' signed
 * webhooks, the sign-in (which checks a password instead) and the front
 * door (GET /, GET /openapi.yaml) are public. A route added without a
 * scope does not compile
 * (-Wmissing-field-initializers); one with 0 or two scopes fails here.
 * Run one test by name: test_routes <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "ingest.h"
#include "scope.h"

static void test_every_route_states_one_scope(void **state)
{
    (void)state;
    assert_true(ingest_routes_count > 0);
    for (size_t i = 0; i < ingest_routes_count; i++) {
        const struct http_route *r = &ingest_routes[i];
        unsigned scope = r->access & SCOPE_MASK;
        bool public = (r->access & SCOPE_PUBLIC) != 0;
        if (public ? scope != 0 : !scope_name(scope))
            fail_msg("%s %s: access %#x is not one scope nor public", r->method, r->pattern,
                     r->access);
        /* No key opens only what a provider signs, the sign-in, and the
         * front door (front.c: where things are, no data). */
        bool signin = strcmp(r->method, "POST") == 0 && strcmp(r->pattern, "/v1/sessions") == 0;
        bool front = strcmp(r->method, "GET") == 0 &&
                     (strcmp(r->pattern, "/") == 0 || strcmp(r->pattern, "/openapi.yaml") == 0);
        if (public && strncmp(r->pattern, "/v1/webhooks/", 13) != 0 && !signin && !front)
            fail_msg("%s %s is public", r->method, r->pattern);
        /* channel-ingest has no pages: no flag beyond the scopes, but the
         * e-mail webhook's key as Basic's password (test_webhook checks it
         * is the API-key webhooks'), the bulk import's large body and the
         * reads of customers' data an admin key makes with a reason. */
        assert_int_equal(
            r->access & ~(SCOPE_MASK | SCOPE_PUBLIC | AUTH_BASIC | HTTP_LARGE_BODY | AUDIT_READ),
            0);
        if (r->access & HTTP_LARGE_BODY)
            assert_string_equal(r->pattern, "/v1/customer-imports");
        /* An audited read is a read: its handler records it (audit.h). */
        if (r->access & AUDIT_READ) {
            assert_string_equal(r->method, "GET");
            assert_int_equal(scope, SCOPE_READ);
        }
    }
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
