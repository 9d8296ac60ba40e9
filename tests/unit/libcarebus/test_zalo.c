/* test_zalo.c — channels/zalo.c: messages, receipts, the signature and its input.
 *
 * Payloads in the shape of Zalo OA's documented webhook events
 * (user_send_text, user_send_image, user_send_location, follow ...). Pure:
 * no database. Run one test by name: test_zalo <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/zalo.h"
#include "event.h"

#define NOW INT64_C(1795399200000000)

static struct inbound_batch g_b;

static int teardown(void **state)
{
    (void)state;
    inbound_batch_release(&g_b);
    return 0;
}

static int parse(const char *body, struct inbound_error *err)
{
    inbound_batch_release(&g_b);
    return zalo_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_text(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"app_id\":\"360846\",\"user_id_by_app\":\"552177279717587730\","
              "\"event_name\":\"user_send_text\",\"timestamp\":\"1795399200456\","
              "\"sender\":{\"id\":\"4120978365\"},\"recipient\":{\"id\":"
              "\"579745863508352884\"},\"message\":{\"msg_id\":\"96d3cdf3af150460909\","
              "\"text\":\"Đơn hàng của tôi bị giao chậm\"}}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
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
    struct inbound_error err;
    assert_int_equal(
        parse("{\"event_name\":\"user_send_image\",\"timestamp\":1795399200000,"
              "\"sender\":{\"id\":\"u1\"},\"message\":{\"msg_id\":\"z1\",\"text\":\"\","
              "\"quote_msg_id\":\"z0\",\"attachments\":[{\"type\":\"image\","
              "\"payload\":{\"thumbnail\":\"https://z/t.jpg\",\"url\":"
              "\"https://z/a.jpg\"}}]}}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
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
    struct inbound_error err;
    const char *events[] = {
        "{\"event_name\":\"follow\",\"follower\":{\"id\":\"u1\"},\"timestamp\":\"1\"}",
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
    /* A receipt is no customer message, and no longer ignored: a status
     * (its msg_id an array, as some payloads have it; test_receipts). */
    assert_int_equal(parse("{\"event_name\":\"user_seen_message\",\"sender\":{\"id\":\"OA\"},"
                           "\"message\":{\"msg_id\":[\"x\"]}}",
                           &err),
                     0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.ignored, 0);
    assert_int_equal(g_b.nstatus, 1);
    assert_string_equal(g_b.status[0]->ev.message_read->provider_message_ids[0], "x");
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
    struct inbound_error err;
    assert_int_equal(parse("{\"event_name\":\"follow\",\"timestamp\":\"1795399200000\"}", &err), 0);
    assert_string_equal(zalo_timestamp(g_b.root, buf, sizeof buf), "1795399200000");
    assert_int_equal(parse("{\"event_name\":\"follow\",\"timestamp\":1795399200000}", &err), 0);
    assert_string_equal(zalo_timestamp(g_b.root, buf, sizeof buf), "1795399200000");
    assert_int_equal(parse("{\"event_name\":\"follow\"}", &err), 0);
    assert_null(zalo_timestamp(g_b.root, buf, sizeof buf));
}

/* The receipts as the emulator and Zalo's samples send them: the OA is
 * the sender, the customer the recipient; received names one msg_id, seen
 * an array msg_ids. */
static void test_receipts(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"app_id\":\"3608465248940903967\",\"user_id_by_app\":\"552177279717587730\","
              "\"event_name\":\"user_received_message\",\"sender\":{\"id\":"
              "\"388613280878808645\"},\"recipient\":{\"id\":\"2512523625412515\"},"
              "\"message\":{\"msg_id\":\"63ecf43f0df7dba892e6\"},\"timestamp\":"
              "\"1795399201000\"}",
              &err),
        0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.nstatus, 1);
    const struct status *s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED);
    assert_string_equal(s->ev.type, "message.delivered");
    const Carebus__V1__MessageDelivered *d = s->ev.message_delivered;
    assert_int_equal(d->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_int_equal(d->n_provider_message_ids, 1);
    assert_string_equal(d->provider_message_ids[0], "63ecf43f0df7dba892e6");
    assert_string_equal(d->recipient, "2512523625412515");
    assert_null(d->watermark);
    assert_int_equal(event_ts_us(s->ev.occurred_at), INT64_C(1795399201000000));
    assert_string_equal(s->idem_scope, "status:zalo");
    assert_string_equal(s->idem_key, "delivered:63ecf43f0df7dba892e6");
    size_t len;
    uint8_t *buf = event_pack(&s->ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_string_equal(ev->message_delivered->recipient, "2512523625412515");
    event_destroy(&ev);

    assert_int_equal(parse("{\"event_name\":\"user_seen_message\",\"sender\":{\"id\":\"OA\"},"
                           "\"recipient\":{\"id\":\"2512523625412515\"},\"message\":{\"msg_ids\":"
                           "[\"m1\",\"m2\",7]},\"timestamp\":\"1795399202000\"}",
                           &err),
                     0);
    s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ);
    assert_int_equal(s->ev.message_read->n_provider_message_ids, 2);
    assert_string_equal(s->ev.message_read->provider_message_ids[1], "m2");
    assert_string_equal(s->idem_key, "read:m1,m2");
    /* msg_ids given as one string, and on a received event, are taken too. */
    assert_int_equal(parse("{\"event_name\":\"user_received_message\",\"message\":{"
                           "\"msg_ids\":\"m3\"}}",
                           &err),
                     0);
    assert_string_equal(g_b.status[0]->idem_key, "delivered:m3");
    assert_string_equal(g_b.status[0]->ev.message_delivered->recipient, "");
    /* No id at all: skipped, nothing to record. */
    assert_int_equal(parse("{\"event_name\":\"user_seen_message\",\"message\":{}}", &err), 0);
    assert_int_equal(g_b.nstatus, 0);
    assert_int_equal(g_b.skipped, 1);
}

/* From test_webhook_signature.c: the vector was computed with Python's
 * hashlib, an independent implementation:
 *   hashlib.sha256(b"360846" + ZALO_BODY + b"1795399200000" + b"oa-secret").hexdigest() */
#define ZALO_BODY                                                                                  \
    "{\"app_id\":\"360846\",\"event_name\":\"user_send_text\",\"timestamp\":\"1795399200000\"}"
#define ZALO_SIG "mac=541b07a0769cecb92bc648cec50a6314d07f48b82f2aaa319aeb8d53f6acbe05"

static void test_signature(void **state)
{
    (void)state;
    const char *body = ZALO_BODY;
    size_t len = strlen(body);
    assert_true(zalo_signature_ok(ZALO_SIG, "360846", body, len, "1795399200000", "oa-secret"));
    assert_false(zalo_signature_ok(ZALO_SIG, "360847", body, len, "1795399200000", "oa-secret"));
    assert_false(zalo_signature_ok(ZALO_SIG, "360846", body, len, "1795399200001", "oa-secret"));
    assert_false(zalo_signature_ok(ZALO_SIG, "360846", body, len, "1795399200000", "oa-secreT"));
    assert_false(zalo_signature_ok(ZALO_SIG, "360846", body, len, NULL, "oa-secret"));
    assert_false(
        zalo_signature_ok(ZALO_SIG + 4, "360846", body, len, "1795399200000", "oa-secret"));
    assert_false(zalo_signature_ok(NULL, "360846", body, len, "1795399200000", "oa-secret"));
}

/* The adapter's verify: the body is loaded (its timestamp is signed), a
 * tampered body or a wrong secret is 401, a body that is not JSON 400. */
static const char *g_sig;
static const char *sig_header(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "X-ZEvent-Signature") == 0 ? g_sig : NULL;
}

static void test_verify(void **state)
{
    (void)state;
    const char *settings[] = {"360846", "oa-secret"};
    struct inbound_req req = {.body = ZALO_BODY, .len = strlen(ZALO_BODY), .header = sig_header};
    struct inbound_error err;
    g_sig = ZALO_SIG;
    assert_string_equal(zalo_inbound.path, "zalo");
    assert_string_equal(zalo_inbound.signature_header, "X-ZEvent-Signature");
    assert_int_equal(zalo_inbound.verify(settings, &req, &g_b, &err), 0);
    assert_true(inbound_loaded(&g_b));
    assert_int_equal(zalo_inbound.map(&g_b, NOW, &err), 0);
    assert_int_equal(g_b.n, 0); /* no sender, no msg_id: skipped */
    inbound_batch_release(&g_b);

    const char *wrong[] = {"360846", "other-secret"};
    assert_int_equal(zalo_inbound.verify(wrong, &req, &g_b, &err), -1);
    assert_int_equal(err.status, 401);
    inbound_batch_release(&g_b);
    const char *tampered = "{\"app_id\":\"360846\",\"event_name\":\"user_send_text\","
                           "\"timestamp\":\"1795399200001\"}";
    req.body = tampered;
    req.len = strlen(tampered);
    assert_int_equal(zalo_inbound.verify(settings, &req, &g_b, &err), -1);
    assert_int_equal(err.status, 401);
    inbound_batch_release(&g_b);
    g_sig = NULL;
    req.body = ZALO_BODY;
    req.len = strlen(ZALO_BODY);
    assert_int_equal(zalo_inbound.verify(settings, &req, &g_b, &err), -1);
    assert_int_equal(err.status, 401);
    inbound_batch_release(&g_b);
    req.body = "{nope";
    req.len = 5;
    assert_int_equal(zalo_inbound.verify(settings, &req, &g_b, &err), -1);
    assert_int_equal(err.status, 400);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text, teardown),
        cmocka_unit_test_teardown(test_attachments, teardown),
        cmocka_unit_test_teardown(test_other_events_ignored, teardown),
        cmocka_unit_test_teardown(test_signature_timestamp, teardown),
        cmocka_unit_test_teardown(test_receipts, teardown),
        cmocka_unit_test(test_signature),
        cmocka_unit_test_teardown(test_verify, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("zalo", tests, NULL, NULL);
}
