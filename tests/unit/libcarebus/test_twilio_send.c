/* test_twilio_send.c — channels/twilio.c's SMS sender: the Messages
 * resource request byte for byte (Basic credentials, the form, MediaUrl
 * repeated, the StatusCallback under the public URL), the settings, and
 * the classification of Twilio's answers (bodies as twilio.com/docs/api/
 * errors shows them), Retry-After included. No credential in any error
 * text. Pure: no network. Run one test by name: test_twilio_send <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channels/outbound.h"
#include "channels/twilio.h"
#include "form.h"

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)
#define SID "ACf0e1d2c3b4a5968778695a4b3c2d1e0f"
#define TOKEN "twilio-auth-token-for-tests"
#define KEY "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_SECRET "twilio-api-key-secret"
#define SERVICE "MG00000000000000000000000000000001"
#define CALLBACK "https%3A%2F%2Fcare.example.vn%2Fv1%2Fwebhooks%2Ftwilio%2Fstatus"

static const char *const vars[] = {
    "CAREBUS_TWILIO_ACCOUNT_SID", "CAREBUS_TWILIO_AUTH_TOKEN",
    "CAREBUS_TWILIO_API_KEY_SID", "CAREBUS_TWILIO_API_KEY_SECRET",
    "CAREBUS_TWILIO_FROM",        "CAREBUS_TWILIO_MESSAGING_SERVICE_SID",
    "CAREBUS_TWILIO_API_BASE",    "CAREBUS_PUBLIC_URL",
    "CAREBUS_INGEST_PORT",
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("CAREBUS_TWILIO_ACCOUNT_SID", SID, 1);
    setenv("CAREBUS_TWILIO_AUTH_TOKEN", TOKEN, 1);
    setenv("CAREBUS_TWILIO_FROM", "+15005550006", 1);
    setenv("CAREBUS_TWILIO_API_BASE", "http://127.0.0.1:9/", 1);
    setenv("CAREBUS_PUBLIC_URL", "https://care.example.vn/", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

struct fixture {
    Carebus__V1__MessageOutbound m;
    Carebus__V1__CustomerRef who;
    Carebus__V1__Attachment a[11];
    Carebus__V1__Attachment *atts[11];
    struct outbound_msg msg;
};

/* A reply to +15558675310 whose last message was a month ago: SMS has no
 * window. */
static void fixture_init(struct fixture *f, const char *text)
{
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    f->m = m;
    f->who = who;
    f->who.phone = "+15558675310";
    f->m.recipient = &f->who;
    f->m.channel = CAREBUS__V1__CHANNEL__CHANNEL_SMS;
    f->m.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    f->m.text = (char *)text;
    for (size_t i = 0; i < 11; i++) {
        f->a[i] = a;
        f->a[i].url = "https://cdn.example/a.png";
        f->atts[i] = &f->a[i];
    }
    f->m.attachments = f->atts;
    f->msg = (struct outbound_msg){&f->m, "0d6c0a0e-58a4-5c2e-9d7e-0c1d2e3f4a5b", NOW_US,
                                   NOW_US - 30 * OUTBOUND_DAY_US};
}

static int build(const struct fixture *f, struct outbound_request *req, struct outbound_result *res)
{
    char err[256] = "";
    void *cfg = twilio_sms_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    assert_string_equal(err, "");
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    int rc = twilio_sms_outbound.build(cfg, NULL, &f->msg, req, res);
    twilio_sms_outbound.destroy(cfg);
    if (rc != 0) {
        assert_int_equal(res->outcome, OUTBOUND_FAILED);
        assert_null(req->url);
    }
    return rc;
}

static void assert_builds(const struct fixture *f, const char *user, const char *password,
                          const char *body)
{
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(f, &req, &res), 0);
    assert_int_equal(req.proto, OUTBOUND_HTTP);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:9/2010-04-01/Accounts/" SID "/Messages.json");
    assert_int_equal(req.nheaders, 1);
    assert_string_equal(req.headers[0], "Content-Type: application/x-www-form-urlencoded");
    assert_string_equal(req.username, user);
    assert_string_equal(req.password, password);
    assert_string_equal(req.body, body);
    assert_int_equal(req.body_len, strlen(body));
    outbound_request_release(&req);
}

/* --- the request -------------------------------------------------------------------- */

static void test_request(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "Đơn #123 & quà: 100% ok");
    assert_builds(&f, SID, TOKEN,
                  "To=%2B15558675310&From=%2B15005550006"
                  "&Body=%C4%90%C6%A1n%20%23123%20%26%20qu%C3%A0%3A%20100%25%20ok"
                  "&StatusCallback=" CALLBACK);
    /* It is the form Twilio reads. */
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    struct form form = {0};
    assert_int_equal(form_parse(req.body, req.body_len, &form), 0);
    assert_string_equal(form_get(&form, "Body"), "Đơn #123 & quà: 100% ok");
    assert_string_equal(form_get(&form, "StatusCallback"),
                        "https://care.example.vn/v1/webhooks/twilio/status");
    form_release(&form);
    outbound_request_release(&req);
}

static void test_media(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "");
    f.m.n_attachments = 2;
    f.a[1].url = "https://cdn.example/b.jpg?s=1&t=2";
    assert_builds(&f, SID, TOKEN,
                  "To=%2B15558675310&From=%2B15005550006"
                  "&MediaUrl=https%3A%2F%2Fcdn.example%2Fa.png"
                  "&MediaUrl=https%3A%2F%2Fcdn.example%2Fb.jpg%3Fs%3D1%26t%3D2"
                  "&StatusCallback=" CALLBACK);
    /* Ten at most, Twilio's own limit. */
    f.m.n_attachments = 10;
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    outbound_request_release(&req);
    f.m.n_attachments = 11;
    assert_int_equal(build(&f, &req, &res), -1);
    assert_string_equal(res.code, "too_many_attachments");
    assert_string_equal(res.reason, "Twilio takes at most 10 attachments a message, not 11");
}

static void test_recipient(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "hi");
    f.who.phone = NULL;
    f.who.handle = "+84901234567"; /* a survey invitation names the phone as its handle */
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "To=%2B84901234567&"));
    outbound_request_release(&req);
    f.who.handle = "";
    assert_int_equal(build(&f, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on sms");
    fixture_init(&f, "");
    assert_int_equal(build(&f, &req, &res), -1);
    assert_string_equal(res.code, "empty_message");
}

static void test_senders_and_keys(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "hi");
    /* A messaging service instead of a number. */
    unsetenv("CAREBUS_TWILIO_FROM");
    setenv("CAREBUS_TWILIO_MESSAGING_SERVICE_SID", SERVICE, 1);
    assert_builds(&f, SID, TOKEN,
                  "To=%2B15558675310&MessagingServiceSid=" SERVICE
                  "&Body=hi&StatusCallback=" CALLBACK);
    /* Both: both are sent (Twilio takes From as the service's sender). */
    setenv("CAREBUS_TWILIO_FROM", "+15005550006", 1);
    assert_builds(&f, SID, TOKEN,
                  "To=%2B15558675310&From=%2B15005550006&MessagingServiceSid=" SERVICE
                  "&Body=hi&StatusCallback=" CALLBACK);
    /* An API key authenticates instead of the auth token; the path keeps
     * the account. */
    unsetenv("CAREBUS_TWILIO_MESSAGING_SERVICE_SID");
    setenv("CAREBUS_TWILIO_API_KEY_SID", KEY, 1);
    setenv("CAREBUS_TWILIO_API_KEY_SECRET", KEY_SECRET, 1);
    assert_builds(&f, KEY, KEY_SECRET,
                  "To=%2B15558675310&From=%2B15005550006&Body=hi&StatusCallback=" CALLBACK);
}

static void test_status_callback_default(void **state)
{
    (void)state;
    /* No public URL: channel-ingest on loopback, at its port. */
    unsetenv("CAREBUS_PUBLIC_URL");
    setenv("CAREBUS_INGEST_PORT", "18080", 1);
    struct fixture f;
    fixture_init(&f, "hi");
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "&StatusCallback=http%3A%2F%2F127.0.0.1%3A18080%2Fv1%2F"
                                     "webhooks%2Ftwilio%2Fstatus"));
    outbound_request_release(&req);
}

/* --- settings ------------------------------------------------------------------------------- */

static void test_settings(void **state)
{
    (void)state;
    char err[256] = "";
    /* The auth token alone is the webhooks': no sender. */
    unsetenv("CAREBUS_TWILIO_ACCOUNT_SID");
    assert_null(twilio_sms_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    static const struct {
        const char *var, *value, *err;
    } bad[] = {
        {"CAREBUS_TWILIO_ACCOUNT_SID", "AC123",
         "CAREBUS_TWILIO_ACCOUNT_SID: expected AC and 32 hex digits, got \"AC123\""},
        {"CAREBUS_TWILIO_ACCOUNT_SID", "SKf0e1d2c3b4a5968778695a4b3c2d1e0f", NULL},
        {"CAREBUS_TWILIO_ACCOUNT_SID", "ACf0e1d2c3b4a5968778695a4b3c2d1e0g", NULL},
        {"CAREBUS_TWILIO_AUTH_TOKEN", NULL,
         "CAREBUS_TWILIO_ACCOUNT_SID is set without CAREBUS_TWILIO_AUTH_TOKEN (or an API key)"},
        {"CAREBUS_TWILIO_API_KEY_SID", KEY,
         "CAREBUS_TWILIO_API_KEY_SID is set without CAREBUS_TWILIO_API_KEY_SECRET"},
        {"CAREBUS_TWILIO_API_KEY_SID", "SK1", NULL},
        {"CAREBUS_TWILIO_FROM", NULL,
         "CAREBUS_TWILIO_ACCOUNT_SID is set without a sender: CAREBUS_TWILIO_FROM or "
         "CAREBUS_TWILIO_MESSAGING_SERVICE_SID"},
        {"CAREBUS_TWILIO_MESSAGING_SERVICE_SID", "MG1", NULL},
        {"CAREBUS_TWILIO_API_BASE", "api.twilio.com", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup(NULL);
        if (bad[i].value)
            setenv(bad[i].var, bad[i].value, 1);
        else
            unsetenv(bad[i].var);
        err[0] = '\0';
        assert_null(twilio_sms_outbound.configure(err, sizeof err));
        if (bad[i].err)
            assert_string_equal(err, bad[i].err);
        else
            assert_non_null(strstr(err, bad[i].var));
        assert_null(strstr(err, TOKEN));
    }
}

/* --- classification -----------------------------------------------------------------------------
 */

static struct outbound_result classify(long status, const char *retry_after, const char *body)
{
    char err[256] = "";
    void *cfg = twilio_sms_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    struct outbound_response resp = {.status = status,
                                     .retry_after = retry_after,
                                     .body = body,
                                     .body_len = body ? strlen(body) : 0};
    struct outbound_result res = {.retry_after_ms = -1};
    twilio_sms_outbound.classify(cfg, &resp, NOW_US, &res);
    twilio_sms_outbound.destroy(cfg);
    assert_null(strstr(res.reason, TOKEN));
    return res;
}

#define TW_ERROR(status, code, message)                                                            \
    "{\"code\":" #code ",\"message\":\"" message "\",\"more_info\":"                               \
    "\"https://www.twilio.com/docs/errors/" #code "\",\"status\":" #status "}"

static void test_classify(void **state)
{
    (void)state;
    struct outbound_result res =
        classify(201, NULL,
                 "{\"account_sid\":\"" SID "\",\"api_version\":\"2010-04-01\",\"body\":\"hi\","
                 "\"sid\":\"SM0123456789abcdef0123456789abcdef\",\"status\":\"queued\"}");
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "SM0123456789abcdef0123456789abcdef");

    res = classify(400, NULL, TW_ERROR(400, 21610, "Attempt to send to unsubscribed recipient"));
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "21610");
    assert_string_equal(res.reason, "Attempt to send to unsubscribed recipient "
                                    "(https://www.twilio.com/docs/errors/21610)");
    res = classify(400, NULL, TW_ERROR(400, 21211, "Invalid 'To' Phone Number: +15005550001"));
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "21211");
    res = classify(401, NULL,
                   "{\"code\":20003,\"detail\":\"Your AccountSid or AuthToken was incorrect.\","
                   "\"message\":\"Authenticate\",\"more_info\":\"https://www.twilio.com/docs/"
                   "errors/20003\",\"status\":401}");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "20003");
    assert_string_equal(res.reason, "Authenticate: Your AccountSid or AuthToken was incorrect. "
                                    "(https://www.twilio.com/docs/errors/20003)");

    /* 429: never processed, again after Retry-After when given. */
    res = classify(429, "3", TW_ERROR(429, 20429, "Too Many Requests"));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "20429");
    assert_int_equal(res.retry_after_ms, 3000);
    res = classify(429, NULL, TW_ERROR(429, 20429, "Too Many Requests"));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_int_equal(res.retry_after_ms, -1);
    /* The sender's queue is full: later. */
    res = classify(400, NULL,
                   TW_ERROR(400, 21611,
                            "This 'From' number has exceeded the maximum "
                            "number of queued messages"));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    res = classify(500, NULL, TW_ERROR(500, 20500, "Internal Server Error"));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "20500");
    res = classify(503, NULL, "");
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "http_503");
    /* Not Twilio's envelope. */
    res = classify(404, NULL, "<html/>");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "http_404");
    assert_string_equal(res.reason, "Twilio answered 404");
    /* A credential echoed back is not kept. */
    res = classify(401, NULL,
                   "{\"code\":20003,\"message\":\"Authenticate " TOKEN "\",\"status\":401}");
    assert_string_equal(res.reason, "Authenticate [redacted]");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senders_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_callback_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("twilio_send", tests, NULL, NULL);
}
