/* test_status.c — channels/status.c: status reports as events, and their
 * idempotency keys.
 *
 * Pure: no database. Run one test by name: test_status <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/status.h"

#define NOW INT64_C(1795399200000000)

static struct status g_s;

static void test_kinds(void **state)
{
    (void)state;
    assert_string_equal(status_kind_name(STATUS_DELIVERED), "delivered");
    assert_string_equal(status_kind_name(STATUS_READ), "read");
    assert_string_equal(status_kind_name(STATUS_FAILED), "failed");
    assert_string_equal(status_kind_name((status_kind)42), "");
}

static void test_ids_and_keys(void **state)
{
    (void)state;
    status_init(&g_s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, STATUS_READ);
    assert_false(status_seal(&g_s, NOW)); /* nothing to say */
    assert_false(status_add_id(&g_s, NULL));
    assert_false(status_add_id(&g_s, ""));
    char big[STATUS_MAX_ID + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(status_add_id(&g_s, big));
    assert_true(status_add_id(&g_s, "m1"));
    assert_true(status_add_id(&g_s, "m2"));
    assert_true(status_seal(&g_s, NOW));
    assert_string_equal(g_s.idem_scope, "status:zalo");
    assert_string_equal(g_s.idem_key, "read:m1,m2");
    assert_string_equal(g_s.ev.type, "message.read");
    assert_int_equal(event_ts_us(g_s.ev.occurred_at), NOW);
    assert_string_equal(g_s.ev.message_read->recipient, "");

    /* Many long ids: the key is the hash of the same text, so a redelivery
     * still finds it, and it fits the index. */
    status_init(&g_s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, STATUS_READ);
    static char ids[STATUS_MAX_IDS + 1][40];
    for (int i = 0; i <= STATUS_MAX_IDS; i++) {
        snprintf(ids[i], sizeof ids[i], "63ecf43f0df7dba892e6-%d", i);
        assert_int_equal(status_add_id(&g_s, ids[i]), i < STATUS_MAX_IDS);
    }
    assert_true(status_seal(&g_s, NOW));
    assert_int_equal(g_s.read.n_provider_message_ids, STATUS_MAX_IDS);
    assert_int_equal(strncmp(g_s.idem_key, "read:sha256:", 12), 0);
    assert_int_equal(strlen(g_s.idem_key), 12 + 64);
    char first[STATUS_KEY_MAX + 1];
    strcpy(first, g_s.idem_key);
    status_init(&g_s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, STATUS_READ);
    for (int i = 0; i < STATUS_MAX_IDS; i++)
        status_add_id(&g_s, ids[i]);
    assert_true(status_seal(&g_s, NOW + 5));
    assert_string_equal(g_s.idem_key, first);
}

/* A watermark receipt is keyed by its recipient and watermark, never by
 * when it was sent (a redelivery is stamped anew). */
static void test_watermark(void **state)
{
    (void)state;
    status_init(&g_s, CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, STATUS_DELIVERED);
    g_s.recipient = "PSID";
    g_s.watermark_us = INT64_C(1795399200253000);
    status_add_id(&g_s, "m_1");
    assert_true(status_seal(&g_s, NOW));
    assert_string_equal(g_s.idem_key, "delivered:PSID@1795399200253");
    assert_int_equal(event_ts_us(g_s.ev.message_delivered->watermark), g_s.watermark_us);
    assert_int_equal(g_s.ev.message_delivered->n_provider_message_ids, 1);
    size_t len;
    uint8_t *buf = event_pack(&g_s.ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_string_equal(ev->message_delivered->recipient, "PSID");
    assert_int_equal(event_ts_us(ev->message_delivered->watermark), g_s.watermark_us);
    event_destroy(&ev);
}

static void test_failed(void **state)
{
    (void)state;
    status_init(&g_s, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, STATUS_FAILED);
    g_s.watermark_us = NOW; /* a failure names its message */
    assert_false(status_seal(&g_s, NOW));
    status_add_id(&g_s, "wamid.X");
    g_s.watermark_us = 0;
    g_s.code = "131026";
    g_s.reason = "Message undeliverable";
    g_s.permanent = true;
    assert_true(status_seal(&g_s, NOW));
    assert_string_equal(g_s.ev.type, "message.failed");
    const Carebus__V1__MessageFailed *f = g_s.ev.message_failed;
    assert_string_equal(f->provider_message_id, "wamid.X");
    assert_string_equal(f->code, "131026");
    assert_string_equal(f->reason, "Message undeliverable");
    assert_true(f->permanent);
    assert_string_equal(f->delivery_id, "");
    assert_string_equal(g_s.idem_key, "failed:wamid.X");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_ids_and_keys),
        cmocka_unit_test(test_watermark),
        cmocka_unit_test(test_failed),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
