/* test_store.c — the live path's handler table says what the model places.
 *
 * analytics' consumer table (store_handlers) lists the bodies the live path
 * applies; model_refs_of decides which events name something to load. The
 * two must agree for every body case, or an event would be acknowledged
 * unread (or loaded for nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "store.h"

#define T1 "11111111-1111-4111-8111-111111111111"
#define CA "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define CB "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static void test_table_matches_model(void **state)
{
    (void)state;
    Carebus__V1__CustomerMerged merged = CAREBUS__V1__CUSTOMER_MERGED__INIT;
    merged.survivor_id = CA;
    merged.merged_id = CB;
    int handled = 0;
    for (int bc = 1; bc < 128; bc++) {
        event ev = CAREBUS__V1__ENVELOPE__INIT;
        ev.body_case = (Carebus__V1__Envelope__BodyCase)bc;
        /* The oneof is one pointer: every body case reads the same one. */
        ev.customer_merged = &merged;
        ev.ticket_id = T1;
        ev.customer_id = CA;
        /* An erasure is no event of the model: the store applies it after
         * the batch's writes (store.c), from the router. */
        if (bc == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASED) {
            assert_non_null(store_handlers[bc].fn);
            assert_string_equal(store_handlers[bc].stream, "router");
            continue;
        }
        struct model_refs r;
        bool places = event_type_name(ev.body_case) && model_refs_of(&ev, &r);
        bool listed = (size_t)bc < store_nhandlers && store_handlers[bc].fn;
        if (places != listed)
            fail_msg("body case %d (%s): the model %s it, the table %s it", bc,
                     event_type_name(ev.body_case) ? event_type_name(ev.body_case) : "?",
                     places ? "places" : "ignores", listed ? "lists" : "does not list");
        handled += listed;
        /* From any stream: the four analytics reads all carry its events. */
        if (listed)
            assert_null(store_handlers[bc].stream);
    }
    assert_true(handled > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
