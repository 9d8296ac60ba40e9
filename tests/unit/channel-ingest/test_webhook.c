/* test_webhook.c — webhook.c's routes against libcarebus's inbound
 * adapters: every webhook route of the table has its adapter (POST), a GET
 * route exactly where the adapter has a handshake, every adapter its
 * routes, and each route's access column agrees with its adapter's
 * authentication. The requests themselves are driven end to end by the
 * integration tests (test_webhooks.py, test_webhook_statuses.py).
 *
 * Pure: no database. Run one test by name: test_webhook <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channels/inbound.h"
#include "ingest.h"
#include "webhook.h"

static const struct http_route *route(const char *method, const char *path)
{
    for (size_t i = 0; i < ingest_routes_count; i++)
        if (strcmp(ingest_routes[i].method, method) == 0 &&
            strcmp(ingest_routes[i].pattern, path) == 0)
            return &ingest_routes[i];
    return NULL;
}

static void test_routes_and_adapters(void **state)
{
    (void)state;
    size_t pl = strlen(INBOUND_PATH_PREFIX), webhook_routes = 0;
    for (size_t i = 0; i < ingest_routes_count; i++) {
        const struct http_route *r = &ingest_routes[i];
        if (strncmp(r->pattern, INBOUND_PATH_PREFIX, pl) != 0)
            continue;
        webhook_routes++;
        const struct inbound_adapter *a = inbound_adapter_find(r->pattern + pl);
        assert_non_null(a);
        /* Who may call it: what the provider signs is public; an API-key
         * webhook needs an ingest key, also as Basic's password. */
        if (a->auth == INBOUND_SIGNED)
            assert_int_equal(r->access, SCOPE_PUBLIC);
        else
            assert_int_equal(r->access, SCOPE_INGEST | AUTH_BASIC);
        if (strcmp(r->method, "GET") == 0) {
            assert_ptr_equal(r->fn, webhook_handshake);
            assert_non_null(a->handshake);
        } else {
            assert_string_equal(r->method, "POST");
            assert_ptr_equal(r->fn, webhook_post);
        }
    }
    size_t want = 0;
    for (size_t i = 0; i < inbound_adapters_count; i++) {
        const struct inbound_adapter *a = inbound_adapters[i];
        char path[128];
        snprintf(path, sizeof path, "%s%s", INBOUND_PATH_PREFIX, a->path);
        assert_non_null(route("POST", path));
        assert_true(!route("GET", path) == !a->handshake);
        want += a->handshake ? 2 : 1;
    }
    assert_int_equal(webhook_routes, want);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_adapters),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}
