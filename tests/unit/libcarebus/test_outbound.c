/* test_outbound.c — channels/outbound.c: what every adapter shares.
 *
 * Retry-After in both of its forms, the transport classification, the
 * request's owned parts, a sent message's id, integrator mode by
 * configuration, the table, and the checks, texts and windows every
 * messaging adapter shares.
 * Run one test by name: test_outbound <name>.
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

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)

static void test_transport_and_5xx_retry(void **state)
{
    (void)state;
    struct outbound_result res = {0};
    struct outbound_response none = {.status = 0, .transport_error = 28};
    assert_true(outbound_classify_transport(&none, NOW_US, &res));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_int_equal(res.retry_after_ms, -1);
    struct outbound_response e503 = {.status = 503};
    assert_true(outbound_classify_transport(&e503, NOW_US, &res));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "http_503");
    struct outbound_response ok = {.status = 200};
    assert_false(outbound_classify_transport(&ok, NOW_US, &res));
    struct outbound_response e400 = {.status = 400};
    assert_false(outbound_classify_transport(&e400, NOW_US, &res));
}

static void test_retry_after(void **state)
{
    (void)state;
    struct outbound_result res = {0};
    struct outbound_response secs = {.status = 429, .retry_after = " 7 "};
    assert_true(outbound_classify_transport(&secs, NOW_US, &res));
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_int_equal(res.retry_after_ms, 7000);
    struct outbound_response date = {.status = 429, .retry_after = "Sun, 06 Dec 2026 04:00:30 GMT"};
    assert_true(outbound_classify_transport(&date, NOW_US, &res));
    assert_int_equal(res.retry_after_ms, 30000);
    struct outbound_response past = {.status = 503, .retry_after = "Sun, 06 Dec 2026 03:00:00 GMT"};
    assert_true(outbound_classify_transport(&past, NOW_US, &res));
    assert_int_equal(res.retry_after_ms, 0);
    static const char *const bad[] = {"soon", "-5", "5x", "", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct outbound_response r = {.status = 429, .retry_after = bad[i]};
        assert_true(outbound_classify_transport(&r, NOW_US, &res));
        assert_int_equal(res.retry_after_ms, -1);
    }
}

static void test_request_parts(void **state)
{
    (void)state;
    struct outbound_request r = {0};
    r.url = strdup("https://example.invalid/send");
    assert_int_equal(outbound_request_header(&r, "Content-Type", "%s", "application/json"), 0);
    assert_string_equal(r.headers[0], "Content-Type: application/json");
    for (size_t i = 1; i < OUTBOUND_MAX_HEADERS; i++)
        assert_int_equal(outbound_request_header(&r, "X-N", "%zu", i), 0);
    assert_int_equal(outbound_request_header(&r, "X-Full", "1"), -1);
    r.rcpt[r.nrcpt++] = strdup("lan@example.vn");
    outbound_request_release(&r);
    assert_null(r.url);
    assert_int_equal(r.nheaders, 0);

    struct outbound_result res = {0};
    assert_int_equal(outbound_fail(&res, "-230", "outside the %d-day window", 7), -1);
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "-230");
    assert_string_equal(res.reason, "outside the 7-day window");
}

/* A stand-in adapter: its answer is SENT without an id on 250, with one
 * on 200, FAILED otherwise. */
static void stub_classify(const void *cfg, const struct outbound_response *resp, int64_t now_us,
                          struct outbound_result *res)
{
    (void)cfg;
    (void)now_us;
    res->outcome = resp->status == 250 || resp->status == 200 ? OUTBOUND_SENT : OUTBOUND_FAILED;
    if (resp->status == 200)
        strcpy(res->provider_message_id, "theirs");
}

static void test_classify_names_a_sent_message(void **state)
{
    (void)state;
    const struct outbound_adapter stub = {.name = "stub", .classify = stub_classify};
    struct outbound_request req = {0};
    req.provider_message_id = strdup("<ours@carebus.example>");
    struct outbound_response resp = {.status = 250};
    struct outbound_result res = {0};
    /* No id in the answer: the request's. */
    outbound_classify(&stub, NULL, &req, &resp, NOW_US, &res);
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "<ours@carebus.example>");
    /* The provider's own id wins. */
    memset(&res, 0, sizeof res);
    resp.status = 200;
    outbound_classify(&stub, NULL, &req, &resp, NOW_US, &res);
    assert_string_equal(res.provider_message_id, "theirs");
    /* Not sent: no id. */
    memset(&res, 0, sizeof res);
    resp.status = 550;
    outbound_classify(&stub, NULL, &req, &resp, NOW_US, &res);
    assert_string_equal(res.provider_message_id, "");
    outbound_request_release(&req);
    assert_null(req.provider_message_id);
    /* A request without one. */
    resp.status = 250;
    outbound_classify(&stub, NULL, &req, &resp, NOW_US, &res);
    assert_string_equal(res.provider_message_id, "");
}

static void test_integrator_mode(void **state)
{
    (void)state;
    /* No adapter: the integrator's. */
    assert_null(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_CHAT));
    assert_null(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED));
    setenv("CAREBUS_CHANNEL_ZALO_MODE", "integrator", 1);
    assert_null(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_ZALO));
    unsetenv("CAREBUS_CHANNEL_ZALO_MODE");
}

/* Stored settings: their row names, and read in place of the environment. */
static void test_stored_settings(void **state)
{
    (void)state;
    const struct outbound_adapter *tw = outbound_adapter_named("sms");
    assert_non_null(tw);
    assert_ptr_equal(tw, outbound_adapter_named("twilio"));
    assert_null(outbound_adapter_named("chat"));
    const struct outbound_adapter *za = outbound_adapter_named("zalo");
    char row[64];
    assert_int_equal(outbound_setting_row(tw, "CAREBUS_twilio_auth_token", row, sizeof row), 0);
    assert_string_equal(row, "TWILIO_AUTH_TOKEN");
    assert_true(outbound_setting_is_setting(row));
    assert_int_equal(outbound_setting_row(tw, "access_token", row, sizeof row), 0);
    assert_string_equal(row, "ACCESS_TOKEN"); /* twilio rotates nothing */
    assert_int_equal(outbound_setting_row(za, "ZALO_REFRESH_TOKEN", row, sizeof row), 0);
    assert_string_equal(row, "refresh_token");
    assert_false(outbound_setting_is_setting(row));
    assert_int_equal(outbound_setting_row(za, "access_token", row, sizeof row), 0);
    assert_string_equal(row, "access_token");
    assert_int_equal(outbound_setting_row(za, "ZALO_API_BASE", row, sizeof row), 0);
    assert_string_equal(row, "ZALO_API_BASE");
    assert_int_equal(outbound_setting_row(tw, "", row, sizeof row), -1);
    assert_int_equal(outbound_setting_row(tw, "1X", row, sizeof row), -1);
    assert_int_equal(outbound_setting_row(tw, "TWILIO FROM", row, sizeof row), -1);
    assert_int_equal(outbound_setting_row(tw, "TWILIO_AUTH_TOKEN", row, 8), -1);

    /* The environment says one thing, the stored setting another. */
    const struct outbound_adapter *wa = outbound_adapter_named("whatsapp");
    setenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID", "111", 1);
    char err[256] = "";
    assert_null(outbound_configure_with(wa, NULL, 0, err, sizeof err)); /* no token */
    assert_string_equal(err, "");
    struct config_setting v[] = {{"WHATSAPP_TOKEN", "tok", false}, {"WHATSAPP_NOPE", "x", false}};
    void *cfg = outbound_configure_with(wa, v, 2, err, sizeof err);
    assert_non_null(cfg);
    assert_true(v[0].used);
    assert_false(v[1].used);
    wa->destroy(cfg);
    assert_null(config_str("WHATSAPP_TOKEN", NULL)); /* the overlay is gone */
    unsetenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID");
}

static void test_table(void **state)
{
    (void)state;
    const struct outbound_adapter *fb =
        outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK);
    const struct outbound_adapter *ig =
        outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM);
    const struct outbound_adapter *wa =
        outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP);
    const struct outbound_adapter *sms = outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_SMS);
    assert_non_null(fb);
    assert_non_null(ig);
    assert_non_null(wa);
    assert_non_null(sms);
    assert_string_equal(fb->name, "facebook");
    assert_string_equal(ig->name, "instagram");
    assert_string_equal(wa->name, "whatsapp");
    assert_string_equal(sms->name, "twilio");
    /* Integrator mode takes precedence over an adapter. */
    setenv("CAREBUS_CHANNEL_SMS_MODE", "integrator", 1);
    assert_null(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_SMS));
    unsetenv("CAREBUS_CHANNEL_SMS_MODE");
}

static void test_last_inbound(void **state)
{
    (void)state;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    struct outbound_msg msg = {.m = &m, .now_us = NOW_US};
    assert_int_equal(outbound_last_inbound_us(&msg), 0);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = 1796529000;
    m.last_inbound_at = &ts;
    assert_int_equal(outbound_last_inbound_us(&msg), INT64_C(1796529000000000));
    /* What courier saw wins over what the producer knew. */
    msg.last_inbound_us = INT64_C(1796529500000000);
    assert_int_equal(outbound_last_inbound_us(&msg), INT64_C(1796529500000000));
}

static void test_check(void **state)
{
    (void)state;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.channel = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP;
    m.text = "xin chào";
    struct outbound_msg msg = {.m = &m, .now_us = NOW_US};
    struct outbound_result res = {0};
    assert_int_equal(outbound_check(&msg, "84901234567", 0, &res), 0);
    assert_int_equal(outbound_check(&msg, NULL, 0, &res), -1);
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on whatsapp");
    assert_int_equal(outbound_check(&msg, "", 0, &res), -1);
    assert_string_equal(res.code, "no_recipient");

    m.text = "";
    assert_int_equal(outbound_check(&msg, "84901234567", 0, &res), -1);
    assert_string_equal(res.code, "empty_message");
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    Carebus__V1__Attachment *atts[] = {&a};
    a.name = "hoa-don.pdf";
    a.media_id = "1234";
    m.attachments = atts;
    m.n_attachments = 1;
    assert_int_equal(outbound_check(&msg, "84901234567", 0, &res), -1);
    assert_string_equal(res.code, "attachment_without_url");
    assert_string_equal(res.reason, "attachment \"hoa-don.pdf\" has no URL");
    /* Where the provider takes its own media ids (Zalo), one will do. */
    assert_int_equal(outbound_check(&msg, "84901234567", OUTBOUND_MEDIA_IDS, &res), 0);
    a.media_id = "";
    assert_int_equal(outbound_check(&msg, "84901234567", OUTBOUND_MEDIA_IDS, &res), -1);
    assert_string_equal(res.code, "attachment_without_url");
    a.url = "https://cdn.example/hoa-don.pdf";
    assert_int_equal(outbound_check(&msg, "84901234567", 0, &res), 0);
}

static void test_text_with_links(void **state)
{
    (void)state;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT, b = CAREBUS__V1__ATTACHMENT__INIT;
    Carebus__V1__Attachment *atts[] = {&a, &b};
    a.name = "a.png";
    a.url = "https://cdn.example/a.png";
    b.url = "https://cdn.example/b";
    m.attachments = atts;
    m.n_attachments = 2;
    m.text = "Xem ảnh";
    char *s = outbound_text_with_links(&m, 0);
    assert_string_equal(s, "Xem ảnh\na.png: https://cdn.example/a.png\nhttps://cdn.example/b");
    free(s);
    s = outbound_text_with_links(&m, 1);
    assert_string_equal(s, "Xem ảnh\nhttps://cdn.example/b");
    free(s);
    m.text = "";
    s = outbound_text_with_links(&m, 0);
    assert_string_equal(s, "a.png: https://cdn.example/a.png\nhttps://cdn.example/b");
    free(s);
    m.n_attachments = 0;
    s = outbound_text_with_links(&m, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_set_reason(void **state)
{
    (void)state;
    struct outbound_result res = {0};
    outbound_set_reason(&res, "bad token EAAtok (EAAtok)", "EAAtok");
    assert_string_equal(res.reason, "bad token [redacted] ([redacted])");
    outbound_set_reason(&res, "nothing secret", NULL);
    assert_string_equal(res.reason, "nothing secret");
    outbound_set_reason(&res, NULL, "x");
    assert_string_equal(res.reason, "");
    /* A secret straddling the cut is redacted before the cut: no prefix of
     * it survives. */
    char text[sizeof res.reason + 64];
    memset(text, 'a', sizeof res.reason - 4);
    snprintf(text + sizeof res.reason - 4, 64, "SECRET-TOKEN tail");
    outbound_set_reason(&res, text, "SECRET-TOKEN");
    assert_null(strstr(res.reason, "SEC"));
    assert_int_equal(strlen(res.reason), sizeof res.reason - 1);
    /* Cut at a character's boundary: "ả" is 3 bytes. */
    char vi[sizeof res.reason + 8];
    memset(vi, 'a', sizeof res.reason - 2);
    snprintf(vi + sizeof res.reason - 2, 8, "ả");
    outbound_set_reason(&res, vi, NULL);
    assert_int_equal(strlen(res.reason), sizeof res.reason - 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_and_5xx_retry),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_request_parts),
        cmocka_unit_test(test_classify_names_a_sent_message),
        cmocka_unit_test(test_integrator_mode),
        cmocka_unit_test(test_stored_settings),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_last_inbound),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_text_with_links),
        cmocka_unit_test(test_set_reason),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("outbound", tests, NULL, NULL);
}
