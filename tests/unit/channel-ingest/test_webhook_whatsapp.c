/* test_webhook_whatsapp.c — webhooks/whatsapp.c's parser.
 *
 * Payloads in the documented Cloud API shape (whatsapp/webhooks/reference/
 * messages). Pure: no database. Run one test by name: test_webhook_whatsapp
 * <name>.
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

/* One change holding the given messages array (JSON text). */
static int parse_messages(const char *messages, struct webhook_error *err)
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
    webhook_batch_release(&g_b);
    return webhook_whatsapp_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_text_message(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(
        parse_messages("[{\"from\":\"84901234567\",\"id\":\"wamid.HBgL1\",\"timestamp\":"
                       "\"1795399200\",\"type\":\"text\",\"text\":{\"body\":\"Xin "
                       "chào\"}}]",
                       &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct message *m = g_b.msg[0];
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
    struct webhook_error err;
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
    const struct message *m = g_b.msg[0];
    assert_string_equal(m->contact.text, "ảnh lỗi");
    assert_int_equal(m->contact.n_attachments, 1);
    assert_string_equal(m->contact.attachments[0]->content_type, "image/jpeg");
    assert_string_equal(m->contact.attachments[0]->name, "2754859441498128");
    m = g_b.msg[1];
    assert_string_equal(m->contact.attachments[0]->name, "hoadon.pdf");
    assert_string_equal(m->contact.text, "");
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW); /* no timestamp */
    assert_string_equal(g_b.msg[2]->contact.text, "[location] Shop Q1 10.500000, 106.250000");
    assert_string_equal(g_b.msg[3]->contact.text, "Yes");
    assert_string_equal(g_b.msg[4]->contact.text, "[unsupported]");
    assert_string_equal(g_b.msg[5]->contact.in_reply_to, "wamid.OURS");
}

static void test_statuses_ignored(void **state)
{
    (void)state;
    const char *body =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":[{"
        "\"field\":"
        "\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"statuses\":[{\"id\":"
        "\"wamid.X\",\"status\":\"delivered\",\"timestamp\":\"1694492484\",\"recipient_id\":"
        "\"60173526233\"}]}},{\"field\":\"message_template_status_update\",\"value\":{}}]}]}";
    struct webhook_error err;
    assert_int_equal(webhook_whatsapp_parse(body, strlen(body), NOW, &g_b, &err), 0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.ignored, 2);
}

static void test_unusable_and_refused(void **state)
{
    (void)state;
    struct webhook_error err;
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

    webhook_batch_release(&g_b);
    const char *bad = "{\"object\":\"whatsapp_business_account\",\"entry\":7}";
    assert_int_equal(webhook_whatsapp_parse(bad, strlen(bad), NOW, &g_b, &err), -1);
    assert_int_equal(err.status, 400);
    webhook_batch_release(&g_b);
    assert_int_equal(webhook_whatsapp_parse("nope", 4, NOW, &g_b, &err), -1);
    webhook_batch_release(&g_b);
    const char *other = "{\"object\":\"page\",\"entry\":[]}";
    assert_int_equal(webhook_whatsapp_parse(other, strlen(other), NOW, &g_b, &err), 0);
    assert_int_equal(g_b.ignored, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text_message, teardown),
        cmocka_unit_test_teardown(test_media_and_other_types, teardown),
        cmocka_unit_test_teardown(test_statuses_ignored, teardown),
        cmocka_unit_test_teardown(test_unusable_and_refused, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook_whatsapp", tests, NULL, NULL);
}
