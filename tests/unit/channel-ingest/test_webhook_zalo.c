/* test_webhook_zalo.c — webhooks/zalo.c's parser and its signature input.
 *
 * Payloads in the shape of Zalo OA's documented webhook events
 * (user_send_text, user_send_image, user_send_location, follow ...). Pure:
 * no database. Run one test by name: test_webhook_zalo <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "webhooks/parse.h"

#define NOW INT64_C(1795399200000000)

static struct webhook_batch g_b;

static int teardown(void **state)
{
    (void)state;
    webhook_batch_release(&g_b);
    return 0;
}

static int parse(const char *body, struct webhook_error *err)
{
    webhook_batch_release(&g_b);
    return webhook_zalo_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_text(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(
        parse("{\"app_id\":\"360846\",\"user_id_by_app\":\"552177279717587730\","
              "\"event_name\":\"user_send_text\",\"timestamp\":\"1795399200456\","
              "\"sender\":{\"id\":\"4120978365\"},\"recipient\":{\"id\":"
              "\"579745863508352884\"},\"message\":{\"msg_id\":\"96d3cdf3af150460909\","
              "\"text\":\"Đơn hàng của tôi bị giao chậm\"}}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct message *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_string_equal(m->customer.handle, "4120978365");
    assert_string_equal(m->contact.external_id, "96d3cdf3af150460909");
    assert_string_equal(m->contact.text, "Đơn hàng của tôi bị giao chậm");
    assert_string_equal(m->idem_scope, "msg:zalo");
    assert_int_equal(event_ts_us(m->ev.occurred_at), INT64_C(1795399200456000));
    size_t len;
    uint8_t *buf = event_pack(&m->ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_string_equal(ev->contact_received->customer->handle, "4120978365");
    event_destroy(&ev);
}

static void test_attachments(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(
        parse("{\"event_name\":\"user_send_image\",\"timestamp\":1795399200000,"
              "\"sender\":{\"id\":\"u1\"},\"message\":{\"msg_id\":\"z1\",\"text\":\"\","
              "\"quote_msg_id\":\"z0\",\"attachments\":[{\"type\":\"image\","
              "\"payload\":{\"thumbnail\":\"https://z/t.jpg\",\"url\":"
              "\"https://z/a.jpg\"}}]}}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct message *m = g_b.msg[0];
    assert_string_equal(m->contact.in_reply_to, "z0");
    assert_int_equal(m->contact.n_attachments, 1);
    assert_string_equal(m->contact.attachments[0]->url, "https://z/a.jpg");
    assert_string_equal(m->contact.attachments[0]->content_type, "image");
    assert_int_equal(event_ts_us(m->ev.occurred_at), INT64_C(1795399200000000));

    assert_int_equal(parse("{\"event_name\":\"user_send_file\",\"sender\":{\"id\":\"u1\"},"
                           "\"message\":{\"msg_id\":\"z2\",\"attachments\":[{\"type\":\"file\","
                           "\"payload\":{\"url\":\"https://z/f\",\"name\":\"hd.pdf\",\"size\":"
                           "\"1024000\",\"type\":\"pdf\"}}]}}",
                           &err),
                     0);
    m = g_b.msg[0];
    assert_string_equal(m->contact.attachments[0]->name, "hd.pdf");
    assert_string_equal(m->contact.attachments[0]->content_type, "pdf");
    assert_int_equal(m->contact.attachments[0]->size, 1024000);

    assert_int_equal(parse("{\"event_name\":\"user_send_location\",\"sender\":{\"id\":\"u1\"},"
                           "\"message\":{\"msg_id\":\"z3\",\"attachments\":[{\"type\":\"location\","
                           "\"payload\":{\"coordinates\":{\"latitude\":\"10.762622\",\"longitude\":"
                           "\"106.660172\"}}}]}}",
                           &err),
                     0);
    assert_string_equal(g_b.msg[0]->contact.text, "[location] 10.762622, 106.660172");
    assert_int_equal(g_b.msg[0]->contact.n_attachments, 0);
}

static void test_other_events_ignored(void **state)
{
    (void)state;
    struct webhook_error err;
    const char *events[] = {
        "{\"event_name\":\"follow\",\"follower\":{\"id\":\"u1\"},\"timestamp\":\"1\"}",
        "{\"event_name\":\"user_seen_message\",\"sender\":{\"id\":\"OA\"},\"message\":{"
        "\"msg_id\":[\"x\"]}}",
        "{\"event_name\":\"oa_send_text\",\"sender\":{\"id\":\"OA\"},\"message\":{\"msg_id\":"
        "\"o1\",\"text\":\"ours\"}}",
        "{\"event_name\":\"anonymous_send_text\",\"sender\":{\"id\":\"anon\"},\"message\":{"
        "\"msg_id\":\"a1\",\"text\":\"hi\"}}",
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        assert_int_equal(parse(events[i], &err), 0);
        assert_int_equal(g_b.n, 0);
        assert_int_equal(g_b.ignored, 1);
    }
    /* A user message without sender or id is skipped, not refused. */
    assert_int_equal(
        parse("{\"event_name\":\"user_send_text\",\"message\":{\"text\":\"x\"}}", &err), 0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.skipped, 1);
    assert_int_equal(parse("{\"event_name\":5}", &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(parse("{]", &err), -1);
}

static void test_signature_timestamp(void **state)
{
    (void)state;
    char buf[32];
    struct webhook_error err;
    assert_int_equal(parse("{\"event_name\":\"follow\",\"timestamp\":\"1795399200000\"}", &err), 0);
    assert_string_equal(webhook_zalo_timestamp(g_b.root, buf, sizeof buf), "1795399200000");
    assert_int_equal(parse("{\"event_name\":\"follow\",\"timestamp\":1795399200000}", &err), 0);
    assert_string_equal(webhook_zalo_timestamp(g_b.root, buf, sizeof buf), "1795399200000");
    assert_int_equal(parse("{\"event_name\":\"follow\"}", &err), 0);
    assert_null(webhook_zalo_timestamp(g_b.root, buf, sizeof buf));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text, teardown),
        cmocka_unit_test_teardown(test_attachments, teardown),
        cmocka_unit_test_teardown(test_other_events_ignored, teardown),
        cmocka_unit_test_teardown(test_signature_timestamp, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook_zalo", tests, NULL, NULL);
}
