/* test_twilio.c — channels/twilio.c: incoming messages, status callbacks, the signature.
 *
 * Forms in the shape of Twilio's incoming-message webhook (From, To, Body,
 * MessageSid, NumMedia, MediaUrlN, MediaContentTypeN, SmsStatus) and of its
 * StatusCallback (MessageSid, MessageStatus, To, ErrorCode). Pure: no
 * database. Run one test by name: test_twilio <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/twilio.h"
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
    return twilio_sms_parse(body, strlen(body), NOW, &g_b, err);
}

static void test_sms(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("ToCountry=VN&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&"
              "SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&SmsStatus=received&"
              "Body=T%C3%B4i+c%E1%BA%A7n+h%E1%BB%97+tr%E1%BB%A3&To=%2B84281234567&NumSegments=1&"
              "MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC00&"
              "From=%2B84901234567&ApiVersion=2010-04-01",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
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
    struct inbound_error err;
    assert_int_equal(parse("From=%2B84901234567&MessageSid=MM1&Body=&NumMedia=2&"
                           "MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0&MediaContentType0=image%"
                           "2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1&MediaContentType1="
                           "application%2Fpdf",
                           &err),
                     0);
    const struct contact *m = g_b.msg[0];
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
    struct inbound_error err;
    assert_int_equal(parse("From=whatsapp%3A%2B84901234567&To=whatsapp%3A%2B14155238886&"
                           "MessageSid=SMw1&Body=hello&SmsStatus=received",
                           &err),
                     0);
    const struct contact *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(m->customer.phone, "+84901234567");
    assert_string_equal(m->customer.handle, "84901234567"); /* as a Cloud API wa_id */
    assert_string_equal(m->idem_scope, "msg:whatsapp");
}

static void test_ignored_and_skipped(void **state)
{
    (void)state;
    struct inbound_error err;
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

/* --- status callbacks ------------------------------------------------------- */

static int parse_status(const char *body, struct inbound_error *err)
{
    inbound_batch_release(&g_b);
    return twilio_status_parse(body, strlen(body), NOW, &g_b, err);
}

/* The StatusCallback's form as Twilio documents it (and the emulator
 * posts it). */
static void test_status_callbacks(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(parse_status("SmsSid=SM1&SmsStatus=delivered&MessageStatus=delivered&"
                                  "To=%2B84901234567&MessageSid=SM1&AccountSid=AC1&"
                                  "From=%2B15005550006&ApiVersion=2010-04-01&"
                                  "RawDlrDoneDate=2611230900",
                                  &err),
                     0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.nstatus, 1);
    const struct status *s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED);
    assert_int_equal(s->ev.message_delivered->channel, CAREBUS__V1__CHANNEL__CHANNEL_SMS);
    assert_string_equal(s->ev.message_delivered->provider_message_ids[0], "SM1");
    assert_string_equal(s->ev.message_delivered->recipient, "+84901234567");
    assert_int_equal(event_ts_us(s->ev.occurred_at), NOW);
    assert_string_equal(s->idem_scope, "status:sms");
    assert_string_equal(s->idem_key, "delivered:SM1");

    assert_int_equal(
        parse_status("MessageSid=SM2&MessageStatus=read&To=whatsapp%3A%2B84901234567", &err), 0);
    s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ);
    assert_int_equal(s->ev.message_read->channel, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    assert_string_equal(s->ev.message_read->recipient, "84901234567");
    assert_string_equal(s->idem_scope, "status:whatsapp");

    /* undelivered and failed: the ErrorCode, and the ErrorMessage or
     * Twilio's title for the code. */
    assert_int_equal(parse_status("MessageSid=SM3&MessageStatus=undelivered&To=%2B84901234567&"
                                  "ErrorCode=30003",
                                  &err),
                     0);
    s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED);
    const Carebus__V1__MessageFailed *f = s->ev.message_failed;
    assert_string_equal(f->provider_message_id, "SM3");
    assert_string_equal(f->code, "30003");
    assert_string_equal(f->reason, "Unreachable destination handset");
    assert_true(f->permanent);
    assert_string_equal(s->idem_key, "failed:SM3");
    assert_int_equal(parse_status("MessageSid=SM4&MessageStatus=failed&To=%2B84901234567&"
                                  "ErrorCode=63016&ErrorMessage=Outside+the+window",
                                  &err),
                     0);
    assert_string_equal(g_b.status[0]->ev.message_failed->code, "63016");
    assert_string_equal(g_b.status[0]->ev.message_failed->reason, "Outside the window");
    assert_int_equal(parse_status("MessageSid=SM5&MessageStatus=failed&To=%2B84901234567", &err),
                     0);
    assert_string_equal(g_b.status[0]->ev.message_failed->code, "");
    assert_string_equal(g_b.status[0]->ev.message_failed->reason, "failed");

    /* sent, queued ... are not reports carebus records; no sid: skipped. */
    const char *ignored[] = {"MessageSid=SM6&MessageStatus=sent&To=%2B84901234567",
                             "MessageSid=SM6&MessageStatus=queued&To=%2B84901234567",
                             "MessageSid=SM6&MessageStatus=delivered&To=messenger%3A1",
                             "MessageSid=SM6&To=%2B84901234567"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        assert_int_equal(parse_status(ignored[i], &err), 0);
        assert_int_equal(g_b.nstatus, 0);
        assert_int_equal(g_b.ignored, 1);
    }
    assert_int_equal(parse_status("MessageStatus=delivered&To=%2B84901234567", &err), 0);
    assert_int_equal(g_b.nstatus, 0);
    assert_int_equal(g_b.skipped, 1);
    assert_int_equal(parse_status("MessageStatus=%FF", &err), -1);
    assert_string_equal(err.code, "invalid_form");
}

/* --- the signature (from test_webhook_signature.c) ------------------------------
 * Twilio's documented example (twilio.com/docs/usage/webhooks/webhooks-
 * security: auth token "12345", https://mycompany.com/myapp.php?foo=1&bar=2
 * and five parameters -> "0/KCTR6DLpKmkAf8muzZqo1nDgQ="). */
#define TWILIO_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
/* The documented parameters, deliberately not in sorted order. */
#define TWILIO_FORM                                                                                \
    "To=%2B18005551212&From=%2B12349013030&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%"         \
    "2B12349013030"
#define TWILIO_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

static void test_twilio_documented_example(void **state)
{
    (void)state;
    struct form f = {0};
    assert_int_equal(form_parse(TWILIO_FORM, strlen(TWILIO_FORM), &f), 0);
    assert_int_equal(f.n, 5);
    char sig[TWILIO_SIGNATURE_LEN];
    assert_int_equal(twilio_signature("12345", TWILIO_URL, &f, sig), 0);
    assert_string_equal(sig, TWILIO_SIG);
    assert_true(twilio_signature_ok(TWILIO_SIG, "12345", TWILIO_URL, &f));
    assert_false(twilio_signature_ok(TWILIO_SIG, "12346", TWILIO_URL, &f));
    assert_false(twilio_signature_ok(TWILIO_SIG, "12345", "https://mycompany.com/myapp.php", &f));
    assert_false(twilio_signature_ok("0/KCTR6DLpKmkAf8muzZqo1nDgQ", "12345", TWILIO_URL, &f));
    assert_false(twilio_signature_ok(NULL, "12345", TWILIO_URL, &f));
    form_release(&f);
    /* One parameter changed: another signature. */
    const char *other = "To=%2B18005551212&From=%2B12349013030&Digits=1235&CallSid="
                        "CA1234567890ABCDE&Caller=%2B12349013030";
    assert_int_equal(form_parse(other, strlen(other), &f), 0);
    assert_false(twilio_signature_ok(TWILIO_SIG, "12345", TWILIO_URL, &f));
    form_release(&f);
}

/* Both adapters verify the same way: the form is loaded, then signed over
 * the URL they are given (the driver's public URL of the request). */
static const char *g_sig;
static const char *sig_header(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "X-Twilio-Signature") == 0 ? g_sig : NULL;
}

static void test_verify(void **state)
{
    (void)state;
    const char *settings[] = {"12345"};
    struct inbound_req req = {
        .body = TWILIO_FORM, .len = strlen(TWILIO_FORM), .url = TWILIO_URL, .header = sig_header};
    struct inbound_error err;
    const struct inbound_adapter *adapters[] = {&twilio_sms_inbound, &twilio_status_inbound};
    assert_string_equal(twilio_sms_inbound.path, "twilio/sms");
    assert_string_equal(twilio_status_inbound.path, "twilio/status");
    for (size_t i = 0; i < 2; i++) {
        const struct inbound_adapter *a = adapters[i];
        assert_string_equal(a->content_type, "application/x-www-form-urlencoded");
        g_sig = TWILIO_SIG;
        req.url = TWILIO_URL;
        assert_int_equal(a->verify(settings, &req, &g_b, &err), 0);
        assert_int_equal(g_b.form.n, 5);
        inbound_batch_release(&g_b);
        req.url = "https://mycompany.com/myapp.php"; /* the query is signed too */
        assert_int_equal(a->verify(settings, &req, &g_b, &err), -1);
        assert_int_equal(err.status, 401);
        inbound_batch_release(&g_b);
        req.url = NULL;
        assert_int_equal(a->verify(settings, &req, &g_b, &err), -1);
        assert_int_equal(err.status, 401);
        inbound_batch_release(&g_b);
        req.url = TWILIO_URL;
        g_sig = TWILIO_SIG; /* signs the documented form, not this one */
        struct inbound_req tampered = req;
        const char *other = "To=%2B18005551212&From=%2B12349013030&Digits=1235&CallSid="
                            "CA1234567890ABCDE&Caller=%2B12349013030";
        tampered.body = other;
        tampered.len = strlen(other);
        assert_int_equal(a->verify(settings, &tampered, &g_b, &err), -1);
        assert_int_equal(err.status, 401);
        inbound_batch_release(&g_b);
        g_sig = NULL;
        assert_int_equal(a->verify(settings, &req, &g_b, &err), -1);
        assert_int_equal(err.status, 401);
        inbound_batch_release(&g_b);
    }
    /* The incoming message's answer is empty TwiML: no automatic reply. */
    assert_string_equal(twilio_sms_inbound.answer_type, "text/xml");
    assert_non_null(strstr(twilio_sms_inbound.answer_body, "<Response/>"));
    assert_null(twilio_status_inbound.answer_body);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sms, teardown),
        cmocka_unit_test_teardown(test_mms_media, teardown),
        cmocka_unit_test_teardown(test_whatsapp_via_twilio, teardown),
        cmocka_unit_test_teardown(test_ignored_and_skipped, teardown),
        cmocka_unit_test_teardown(test_status_callbacks, teardown),
        cmocka_unit_test(test_twilio_documented_example),
        cmocka_unit_test_teardown(test_verify, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("twilio", tests, NULL, NULL);
}
