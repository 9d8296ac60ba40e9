/* test_whatsapp.c — channels/whatsapp.c: messages and statuses.
 *
 * Payloads in the documented Cloud API shape (whatsapp/webhooks/reference/
 * messages). Pure: no database. Run one test by name: test_whatsapp
 * <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/whatsapp.h"
#include "event.h"

#define NOW INT64_C(1795399200000000)

static struct inbound_batch g_b;

static int teardown(void **state)
{
    (void)state;
    inbound_batch_release(&g_b);
    return 0;
}

/* One change holding the given messages array (JSON text). */
static int parse_messages(const char *messages, struct inbound_error *err)
{
    char body[4096];
    snprintf(
        body, sizeof body,
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"WABA\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"
        "\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"106540352242922\"},"
        "\"contacts\":[{\"profile\":{\"name\":\"Other\"},\"wa_id\":\"16315551181\"},{"
        "\"profile\":{\"name\":\"Nguyễn Lan\"},\"wa_id\":\"84901234567\"}],\"messages\":%s}}]}]}",
        messages);
    inbound_batch_release(&g_b);
    return whatsapp_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_text_message(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse_messages("[{\"from\":\"84901234567\",\"id\":\"wamid.HBgL1\",\"timestamp\":"
                       "\"1795399200\",\"type\":\"text\",\"text\":{\"body\":\"Xin "
                       "chào\"}}]",
                       &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(m->customer.phone, "+84901234567");
    assert_string_equal(m->customer.handle, "84901234567");
    assert_string_equal(m->customer.name, "Nguyễn Lan"); /* the contact with this wa_id */
    assert_string_equal(m->contact.external_id, "wamid.HBgL1");
    assert_string_equal(m->contact.text, "Xin chào");
    assert_string_equal(m->idem_scope, "msg:whatsapp");
    assert_int_equal(event_ts_us(m->ev.occurred_at), INT64_C(1795399200000000));
    size_t len;
    uint8_t *buf = event_pack(&m->ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_string_equal(ev->contact_received->customer->phone, "+84901234567");
    event_destroy(&ev);
}

static void test_media_and_other_types(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse_messages(
            "[{\"from\":\"84901234567\",\"id\":\"w1\",\"timestamp\":\"1795399200\",\"type\":"
            "\"image\",\"image\":{\"caption\":\"ảnh lỗi\",\"mime_type\":\"image/jpeg\",\"sha256\":"
            "\"abc\",\"id\":\"2754859441498128\"}},"
            "{\"from\":\"84901234567\",\"id\":\"w2\",\"type\":\"document\",\"document\":{"
            "\"filename\":\"hoadon.pdf\",\"mime_type\":\"application/pdf\",\"id\":\"99\"}},"
            "{\"from\":\"84901234567\",\"id\":\"w3\",\"type\":\"location\",\"location\":{"
            "\"latitude\":10.5,\"longitude\":106.25,\"name\":\"Shop\",\"address\":\"Q1\"}},"
            "{\"from\":\"84901234567\",\"id\":\"w4\",\"type\":\"interactive\",\"interactive\":{"
            "\"type\":\"button_reply\",\"button_reply\":{\"id\":\"b1\",\"title\":\"Yes\"}}},"
            "{\"from\":\"84901234567\",\"id\":\"w5\",\"type\":\"unsupported\",\"unsupported\":{"
            "\"type\":\"poll_update\"}},"
            "{\"from\":\"84901234567\",\"id\":\"w6\",\"type\":\"reaction\",\"reaction\":{"
            "\"message_id\":\"w1\",\"emoji\":\"x\"}},"
            "{\"from\":\"84901234567\",\"id\":\"w7\",\"type\":\"text\",\"text\":{\"body\":\"re\"},"
            "\"context\":{\"from\":\"15550783881\",\"id\":\"wamid.OURS\"}}]",
            &err),
        0);
    assert_int_equal(g_b.n, 6);
    assert_int_equal(g_b.ignored, 1); /* the reaction */
    const struct contact *m = g_b.msg[0];
    assert_string_equal(m->contact.text, "ảnh lỗi");
    assert_int_equal(m->contact.n_attachments, 1);
    assert_string_equal(m->contact.attachments[0]->content_type, "image/jpeg");
    assert_string_equal(m->contact.attachments[0]->name, "2754859441498128");
    assert_string_equal(m->contact.attachments[0]->media_id, "2754859441498128");
    assert_string_equal(m->contact.attachments[0]->url, "");
    m = g_b.msg[1];
    assert_string_equal(m->contact.attachments[0]->name, "hoadon.pdf");
    assert_string_equal(m->contact.attachments[0]->media_id, "99");
    assert_string_equal(m->contact.text, "");
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW); /* no timestamp */
    assert_string_equal(g_b.msg[2]->contact.text, "[location] Shop Q1 10.500000, 106.250000");
    assert_string_equal(g_b.msg[3]->contact.text, "Yes");
    assert_string_equal(g_b.msg[4]->contact.text, "[unsupported]");
    assert_string_equal(g_b.msg[5]->contact.in_reply_to, "wamid.OURS");
}

static void test_statuses(void **state)
{
    (void)state;
    const char *body =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":[{"
        "\"field\":"
        "\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"statuses\":[{\"id\":"
        "\"wamid.X\",\"status\":\"delivered\",\"timestamp\":\"1694492484\",\"recipient_id\":"
        "\"60173526233\"}]}},{\"field\":\"message_template_status_update\",\"value\":{}}]}]}";
    struct inbound_error err;
    assert_int_equal(whatsapp_parse(body, strlen(body), NOW, &g_b, &err), 0);
    assert_int_equal(g_b.n, 0);
    /* The status is a message.delivered now; the template update stays
     * ignored. */
    assert_int_equal(g_b.ignored, 1);
    assert_int_equal(g_b.nstatus, 1);
    const struct status *s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED);
    assert_int_equal(s->ev.message_delivered->channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(s->ev.message_delivered->provider_message_ids[0], "wamid.X");
    assert_string_equal(s->ev.message_delivered->recipient, "60173526233");
    assert_int_equal(event_ts_us(s->ev.occurred_at), INT64_C(1694492484000000));
    assert_string_equal(s->idem_scope, "status:whatsapp");
    assert_string_equal(s->idem_key, "delivered:wamid.X");
}

/* Every status value Meta documents, in one delivery, beside a message:
 * sent is not recorded (courier's message.sent says it), failed carries
 * Meta's code, title and details. */
static void test_status_values(void **state)
{
    (void)state;
    const char *body =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
        "\"messages\":[{\"from\":\"84901234567\",\"id\":\"wamid.IN\",\"timestamp\":"
        "\"1795399200\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}],"
        "\"statuses\":[{\"id\":\"wamid.A\",\"status\":\"sent\",\"timestamp\":\"1795399200\","
        "\"recipient_id\":\"84901234567\"},{\"id\":\"wamid.A\",\"status\":\"read\","
        "\"timestamp\":\"1795399260\",\"recipient_id\":\"84901234567\"},{\"id\":\"wamid.B\","
        "\"status\":\"failed\",\"timestamp\":\"1795399270\",\"recipient_id\":\"84901234567\","
        "\"errors\":[{\"code\":131047,\"title\":\"Re-engagement message\",\"message\":"
        "\"Re-engagement message\",\"error_data\":{\"details\":\"Message failed to send because "
        "more than 24 hours have passed since the customer last replied to this number.\"},"
        "\"href\":\"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
        "\"}]},"
        "{\"id\":\"wamid.C\",\"status\":\"failed\",\"timestamp\":\"1795399280\"},"
        "{\"status\":\"delivered\"},3]}}]}]}";
    struct inbound_error err;
    assert_int_equal(whatsapp_parse(body, strlen(body), NOW, &g_b, &err), 0);
    assert_int_equal(g_b.n, 1);
    assert_string_equal(g_b.msg[0]->contact.external_id, "wamid.IN");
    assert_int_equal(g_b.nstatus, 3);
    assert_int_equal(g_b.ignored, 2); /* sent, and the 3 */
    assert_int_equal(g_b.skipped, 1); /* delivered without an id */
    const struct status *s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ);
    assert_string_equal(s->idem_key, "read:wamid.A");
    assert_int_equal(event_ts_us(s->ev.occurred_at), INT64_C(1795399260000000));
    s = g_b.status[1];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED);
    const Carebus__V1__MessageFailed *f = s->ev.message_failed;
    assert_int_equal(f->channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(f->provider_message_id, "wamid.B");
    assert_string_equal(f->code, "131047");
    assert_string_equal(f->reason, "Re-engagement message: Message failed to send because more "
                                   "than 24 hours have passed since the customer last replied "
                                   "to this number.");
    assert_true(f->permanent);
    assert_string_equal(s->idem_key, "failed:wamid.B");
    /* failed without errors[]: still a permanent failure, no code. */
    f = g_b.status[2]->ev.message_failed;
    assert_string_equal(f->provider_message_id, "wamid.C");
    assert_string_equal(f->code, "");
    assert_true(f->permanent);
    for (size_t i = 0; i < g_b.nstatus; i++) {
        size_t len;
        uint8_t *buf = event_pack(&g_b.status[i]->ev, &len);
        event *ev = event_unpack(buf, len);
        free(buf);
        assert_non_null(ev);
        assert_string_equal(ev->type, g_b.status[i]->ev.type);
        event_destroy(&ev);
    }
}

static void test_unusable_and_refused(void **state)
{
    (void)state;
    struct inbound_error err;
    /* No id; no from; a from that is not a number is still a handle. */
    assert_int_equal(
        parse_messages("[{\"from\":\"84901234567\",\"type\":\"text\",\"text\":{\"body\":"
                       "\"x\"}},{\"id\":\"w2\",\"text\":{\"body\":\"x\"}},{\"from\":"
                       "\"abc\",\"id\":\"w3\"}, 5]",
                       &err),
        0);
    assert_int_equal(g_b.skipped, 2);
    assert_int_equal(g_b.ignored, 1);
    assert_int_equal(g_b.n, 1);
    assert_string_equal(g_b.msg[0]->customer.phone, "");
    assert_string_equal(g_b.msg[0]->customer.handle, "abc");
    assert_string_equal(g_b.msg[0]->customer.name, "Other"); /* no wa_id match: the first */

    inbound_batch_release(&g_b);
    const char *bad = "{\"object\":\"whatsapp_business_account\",\"entry\":7}";
    assert_int_equal(whatsapp_parse(bad, strlen(bad), NOW, &g_b, &err), -1);
    assert_int_equal(err.status, 400);
    inbound_batch_release(&g_b);
    assert_int_equal(whatsapp_parse("nope", 4, NOW, &g_b, &err), -1);
    inbound_batch_release(&g_b);
    const char *other = "{\"object\":\"page\",\"entry\":[]}";
    assert_int_equal(whatsapp_parse(other, strlen(other), NOW, &g_b, &err), 0);
    assert_int_equal(g_b.ignored, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text_message, teardown),
        cmocka_unit_test_teardown(test_media_and_other_types, teardown),
        cmocka_unit_test_teardown(test_statuses, teardown),
        cmocka_unit_test_teardown(test_status_values, teardown),
        cmocka_unit_test_teardown(test_unusable_and_refused, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("whatsapp", tests, NULL, NULL);
}
