/* test_inbound.c — channels/inbound.c: the adapters' table, the batch's
 * limits and loaders, and the signature helpers every adapter shares.
 *
 * Pure: no database. Run one test by name: test_inbound <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/inbound.h"

#define NOW INT64_C(1795399200000000)

/* Every adapter is whole: a unique path, a name, a loader and a map; a
 * signed one names its settings, its header and its check; an API-key
 * one its switch and its channel; a handshake comes with its setting. */
static void test_table(void **state)
{
    (void)state;
    assert_true(inbound_adapters_count >= 6);
    for (size_t i = 0; i < inbound_adapters_count; i++) {
        const struct inbound_adapter *a = inbound_adapters[i];
        assert_non_null(a->name);
        assert_non_null(a->path);
        assert_non_null(a->load);
        assert_non_null(a->map);
        assert_ptr_equal(inbound_adapter_find(a->path), a);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(inbound_adapters[j]->path, a->path);
        if (a->auth == INBOUND_SIGNED) {
            assert_non_null(a->settings[0]);
            assert_non_null(a->signature_header);
            assert_non_null(a->verify);
        } else {
            assert_int_equal(a->auth, INBOUND_API_KEY);
            assert_non_null(a->toggle);
            assert_int_not_equal(a->channel, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED);
            assert_null(a->verify);
        }
        assert_true(!a->handshake == !a->handshake_setting);
        assert_true(!a->answer_body == !a->answer_type);
    }
    assert_null(inbound_adapter_find("nope"));
    assert_null(inbound_adapter_find(NULL));
    assert_non_null(inbound_adapter_find("twilio/status"));
}

static void test_token_equal(void **state)
{
    (void)state;
    assert_true(inbound_token_equal("meatyhamhock", "meatyhamhock"));
    assert_false(inbound_token_equal("meatyhamhock", "meatyhamhocK"));
    assert_false(inbound_token_equal("meatyhamhock", "meatyhamhoc"));
    assert_false(inbound_token_equal(NULL, "x"));
    assert_false(inbound_token_equal("x", NULL));
}

static void test_header_value(void **state)
{
    (void)state;
    size_t n = 0;
    const char *v = inbound_header_value("  MAC=abc \t", "mac=", &n);
    assert_non_null(v);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "abc", 3);
    assert_null(inbound_header_value("abc", "mac=", &n));
    assert_null(inbound_header_value(NULL, "", &n));
    assert_non_null(inbound_header_value("x", "", &n));
    assert_int_equal(n, 1);
}

static void test_loaders(void **state)
{
    (void)state;
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    assert_false(inbound_loaded(&b));
    assert_int_equal(inbound_load_json(&b, "[1]", 3, &err), -1);
    assert_int_equal(err.status, 400);
    assert_null(err.code);
    /* Deeper than INBOUND_JSON_MAX_DEPTH: refused on the raw bytes. */
    char deep[2 * INBOUND_JSON_MAX_DEPTH + 8];
    size_t k = 0;
    for (int i = 0; i <= INBOUND_JSON_MAX_DEPTH; i++)
        deep[k++] = '[';
    for (int i = 0; i <= INBOUND_JSON_MAX_DEPTH; i++)
        deep[k++] = ']';
    assert_int_equal(inbound_load_json(&b, deep, k, &err), -1);
    assert_non_null(strstr(err.message, "deeper"));
    assert_int_equal(inbound_load_json(&b, "{\"a\":\"\\u0000\"}", 14, &err), -1);
    assert_int_equal(inbound_load_json(&b, "{}", 2, &err), 0);
    assert_true(inbound_loaded(&b));
    inbound_batch_release(&b);
    assert_false(inbound_loaded(&b));
    assert_int_equal(inbound_load_form(&b, "a=%FF", 5, &err), -1);
    assert_string_equal(err.code, "invalid_form");
    assert_int_equal(inbound_load_form(&b, "a=1&b=2", 7, &err), 0);
    assert_true(inbound_loaded(&b));
    assert_int_equal(b.form.n, 2);
    inbound_batch_release(&b);
}

/* A batch holds at most INBOUND_MAX_EVENTS contacts and statuses
 * together; dropping counts as skipped. */
static void test_limits(void **state)
{
    (void)state;
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    for (size_t i = 0; i < INBOUND_MAX_EVENTS / 2; i++) {
        assert_non_null(inbound_add_contact(&b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &err));
        assert_non_null(
            inbound_add_status(&b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, STATUS_READ, &err));
    }
    assert_null(inbound_add_contact(&b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &err));
    assert_int_equal(err.status, 400);
    assert_null(inbound_add_status(&b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, STATUS_READ, &err));
    inbound_drop_contact(&b);
    inbound_drop_status(&b);
    assert_int_equal(b.skipped, 2);
    assert_int_equal(b.n + b.nstatus, INBOUND_MAX_EVENTS - 2);
    assert_non_null(inbound_add_contact(&b, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &err));
    char *s = inbound_printf(&b, "%s-%d", "x", 7);
    assert_string_equal(s, "x-7");
    assert_string_equal(inbound_strndup(&b, "abcdef", 3), "abc");
    assert_string_equal(inbound_strdup(&b, NULL), "");
    inbound_batch_release(&b);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.nstatus, 0);
}

/* A webhook's contact keeps what normalises and is unusable without an id
 * or any identity left (the API refuses; a webhook skips). */
static void test_contact_finish(void **state)
{
    (void)state;
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    struct contact *m = inbound_add_contact(&b, CAREBUS__V1__CHANNEL__CHANNEL_SMS, &err);
    m->customer.phone = "not a phone";
    m->customer.email = "lan@example.vn";
    m->contact.external_id = "SM1";
    assert_true(inbound_contact_finish(m, NOW));
    assert_string_equal(m->customer.phone, "");
    assert_string_equal(m->idem_scope, "msg:sms");
    assert_string_equal(m->ev.type, "contact.received");
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW);
    m = inbound_add_contact(&b, CAREBUS__V1__CHANNEL__CHANNEL_SMS, &err);
    m->customer.phone = "+84901234567";
    assert_false(inbound_contact_finish(m, NOW)); /* no external_id */
    char id[CONTACT_MAX_ID + 2];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    m->contact.external_id = id;
    assert_false(inbound_contact_finish(m, NOW));
    m->contact.external_id = "SM2";
    m->customer.phone = "nope";
    assert_false(inbound_contact_finish(m, NOW)); /* no identity left */
    inbound_batch_release(&b);
}

static void test_times(void **state)
{
    (void)state;
    assert_int_equal(inbound_time_from_s(1795399200, 7), NOW);
    assert_int_equal(inbound_time_from_s(1, 7), 7);
    assert_int_equal(inbound_time_from_ms(1795399200000, 7), NOW);
    assert_int_equal(inbound_time_from_ms(UINT64_MAX, 7), 7);
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:i}", "a", "123", "b", (json_int_t)5, "c", "1x", "d", -1);
    uint64_t v = 0;
    assert_int_equal(inbound_json_uint(o, "a", &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(inbound_json_uint(o, "b", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(inbound_json_uint(o, "c", &v), -1);
    assert_int_equal(inbound_json_uint(o, "d", &v), -1);
    assert_int_equal(inbound_json_uint(o, "e", &v), -1);
    json_decref(o);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_token_equal),
        cmocka_unit_test(test_header_value), cmocka_unit_test(test_loaders),
        cmocka_unit_test(test_limits),       cmocka_unit_test(test_contact_finish),
        cmocka_unit_test(test_times),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("inbound", tests, NULL, NULL);
}
