/* test_webhook_twilio.c — webhooks/twilio.c's parser.
 *
 * Forms in the shape of Twilio's incoming-message webhook (From, To, Body,
 * MessageSid, NumMedia, MediaUrlN, MediaContentTypeN, SmsStatus). Pure: no
 * database. Run one test by name: test_webhook_twilio <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    return webhook_twilio_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_sms(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(
        parse("ToCountry=VN&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&"
              "SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&SmsStatus=received&"
              "Body=T%C3%B4i+c%E1%BA%A7n+h%E1%BB%97+tr%E1%BB%A3&To=%2B84281234567&NumSegments=1&"
              "MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC00&"
              "From=%2B84901234567&ApiVersion=2010-04-01",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct message *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_SMS);
    assert_string_equal(m->customer.phone, "+84901234567");
    assert_string_equal(m->customer.handle, "");
    assert_string_equal(m->contact.external_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    assert_string_equal(m->contact.text, "Tôi cần hỗ trợ");
    assert_string_equal(m->idem_scope, "msg:sms");
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW);
    size_t len;
    uint8_t *buf = event_pack(&m->ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_string_equal(ev->contact_received->text, "Tôi cần hỗ trợ");
    event_destroy(&ev);
}

static void test_mms_media(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(parse("From=%2B84901234567&MessageSid=MM1&Body=&NumMedia=2&"
                           "MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0&MediaContentType0=image%"
                           "2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1&MediaContentType1="
                           "application%2Fpdf",
                           &err),
                     0);
    const struct message *m = g_b.msg[0];
    assert_int_equal(m->contact.n_attachments, 2);
    assert_string_equal(m->contact.attachments[0]->url, "https://api.twilio.com/m0");
    assert_string_equal(m->contact.attachments[0]->content_type, "image/jpeg");
    assert_string_equal(m->contact.attachments[1]->content_type, "application/pdf");
    /* NumMedia larger than what is there, or absurd: only present urls count. */
    assert_int_equal(
        parse("From=%2B84901234567&MessageSid=MM2&NumMedia=99999999999999999999&MediaUrl0=u", &err),
        0);
    assert_int_equal(g_b.msg[0]->contact.n_attachments, 1);
    assert_int_equal(parse("From=%2B84901234567&MessageSid=MM3&NumMedia=-4", &err), 0);
    assert_int_equal(g_b.msg[0]->contact.n_attachments, 0);
}

static void test_whatsapp_via_twilio(void **state)
{
    (void)state;
    struct webhook_error err;
    assert_int_equal(parse("From=whatsapp%3A%2B84901234567&To=whatsapp%3A%2B14155238886&"
                           "MessageSid=SMw1&Body=hello&SmsStatus=received",
                           &err),
                     0);
    const struct message *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(m->customer.phone, "+84901234567");
    assert_string_equal(m->customer.handle, "84901234567"); /* as a Cloud API wa_id */
    assert_string_equal(m->idem_scope, "msg:whatsapp");
}

static void test_ignored_and_skipped(void **state)
{
    (void)state;
    struct webhook_error err;
    /* A status callback about our own message. */
    assert_int_equal(parse("MessageSid=SM9&MessageStatus=delivered&To=%2B84901234567&From=%"
                           "2B84281234567",
                           &err),
                     0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.ignored, 1);
    assert_int_equal(parse("From=messenger%3A123&MessageSid=SM8&Body=x", &err), 0);
    assert_int_equal(g_b.ignored, 1);
    /* No sid, no sender, a sender that is no phone number. */
    assert_int_equal(parse("From=%2B84901234567&Body=x", &err), 0);
    assert_int_equal(g_b.skipped, 1);
    assert_int_equal(parse("MessageSid=SM7&Body=x", &err), 0);
    assert_int_equal(g_b.skipped, 1);
    assert_int_equal(parse("From=hello&MessageSid=SM6&Body=x", &err), 0);
    assert_int_equal(g_b.skipped, 1);
    assert_int_equal(g_b.n, 0);
    /* Not a valid form. */
    assert_int_equal(parse("From=%FF&MessageSid=SM5", &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "invalid_form");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sms, teardown),
        cmocka_unit_test_teardown(test_mms_media, teardown),
        cmocka_unit_test_teardown(test_whatsapp_via_twilio, teardown),
        cmocka_unit_test_teardown(test_ignored_and_skipped, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook_twilio", tests, NULL, NULL);
}
