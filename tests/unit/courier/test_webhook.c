/* test_webhook.c — services/courier/webhook.c: Standard Webhooks signatures
 * (the specification's own example), the keys of both secret forms, the
 * headers of a request, the legacy signature and body, and what an
 * integrator's answers mean. Run one test by name: test_webhook <name>.
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

#include "webhook.h"

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)

static void test_standard_webhooks_example(void **state)
{
    (void)state;
    /* standard-webhooks/standard-webhooks spec, verified in providers.md 7.2 */
    unsigned char key[WEBHOOK_KEY_MAX];
    size_t len = 0;
    assert_int_equal(webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len), 0);
    assert_int_equal(len, 24);
    const char *body = "{\"test\": 2432232314}";
    char sig[WEBHOOK_SIG_LEN];
    webhook_signature(key, len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
                      sig);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void test_keys(void **state)
{
    (void)state;
    unsigned char key[WEBHOOK_KEY_MAX];
    size_t len = 0;
    /* Not whsec_: the secret's own bytes. */
    assert_int_equal(webhook_key("test-webhook-secret", key, &len), 0);
    assert_int_equal(len, strlen("test-webhook-secret"));
    assert_memory_equal(key, "test-webhook-secret", len);
    /* Padding is not part of the key. */
    assert_int_equal(webhook_key("whsec_YWJjZA==", key, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(key, "abcd", 4);
    assert_int_equal(webhook_key("whsec_YWJjZGU=", key, &len), 0);
    assert_int_equal(len, 5);
    assert_int_equal(webhook_key("", key, &len), -1);
    assert_int_equal(webhook_key(NULL, key, &len), -1);
    assert_int_equal(webhook_key("whsec_abc", key, &len), -1);  /* not whole groups */
    assert_int_equal(webhook_key("whsec_a!c=", key, &len), -1); /* not base64 */
    char big[WEBHOOK_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(webhook_key(big, key, &len), -1);
}

static void test_legacy_signature(void **state)
{
    (void)state;
    /* RFC 4231, test case 2 (the survey service's test, moved with the code). */
    char sig[WEBHOOK_LEGACY_SIG_LEN];
    const char *data = "what do ya want for nothing?";
    webhook_legacy_signature("Jefe", data, strlen(data), sig);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static const char *header(const struct outbound_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return NULL;
}

static void test_request(void **state)
{
    (void)state;
    unsigned char key[WEBHOOK_KEY_MAX];
    size_t len = 0;
    assert_int_equal(webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len), 0);
    const char *body = "{\"test\": 2432232314}";
    struct webhook_target t = {"http://127.0.0.1:9/hook", key, len, NULL};
    struct outbound_request r;
    assert_int_equal(
        webhook_request(&t, "msg_p5jXN8AQM9LWM0D4loKWxJek", "ticket.opened", body, 1614265330, &r),
        0);
    assert_int_equal(r.proto, OUTBOUND_HTTP);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.url, "http://127.0.0.1:9/hook");
    assert_int_equal(r.body_len, strlen(body));
    assert_memory_equal(r.body, body, r.body_len);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    assert_string_equal(header(&r, "webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
    assert_string_equal(header(&r, "webhook-timestamp"), "1614265330");
    assert_string_equal(header(&r, "webhook-signature"),
                        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_null(header(&r, "X-Carebus-Signature"));
    assert_null(header(&r, "X-Carebus-Delivery"));
    outbound_request_release(&r);

    /* A static subscription: both schemes, and the old delivery headers. */
    const char *secret = "Jefe";
    assert_int_equal(webhook_key(secret, key, &len), 0);
    struct webhook_target legacy = {"https://h.example/x", key, len, secret};
    assert_int_equal(webhook_request(&legacy, "d-1", "survey.requested", body, 5, &r), 0);
    assert_non_null(header(&r, "webhook-signature"));
    char want[WEBHOOK_LEGACY_SIG_LEN];
    webhook_legacy_signature(secret, body, strlen(body), want);
    assert_string_equal(header(&r, "X-Carebus-Signature"), want);
    assert_string_equal(header(&r, "X-Carebus-Delivery"), "d-1");
    assert_string_equal(header(&r, "X-Carebus-Event"), "survey.requested");
    outbound_request_release(&r);

    /* No secret: unsigned, the delivery headers only. */
    struct webhook_target bare = {"https://h.example/x", NULL, 0, NULL};
    assert_int_equal(webhook_request(&bare, "d-2", "survey.requested", body, 5, &r), 0);
    assert_null(header(&r, "webhook-signature"));
    assert_null(header(&r, "X-Carebus-Signature"));
    assert_string_equal(header(&r, "webhook-id"), "d-2");
    assert_string_equal(header(&r, "X-Carebus-Delivery"), "d-2");
    outbound_request_release(&r);
}

static struct outbound_result classify(bool message, long status, const char *body,
                                       const char *retry_after)
{
    struct outbound_response resp = {.status = status,
                                     .retry_after = retry_after,
                                     .body = body,
                                     .body_len = body ? strlen(body) : 0};
    struct outbound_result res;
    webhook_classify(message, &resp, NOW_US, &res);
    return res;
}

static void test_classify_notifications(void **state)
{
    (void)state;
    struct outbound_result r = classify(false, 204, NULL, NULL);
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "");
    /* Anything else is retried: the receiver may come back. */
    static const long retried[] = {301, 400, 401, 404, 410, 422, 500, 503};
    for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++) {
        r = classify(false, retried[i], "{\"code\":\"x\"}", NULL);
        assert_int_equal(r.outcome, OUTBOUND_RETRY);
    }
    r = classify(false, 404, NULL, NULL);
    assert_string_equal(r.code, "http_404");
    r = classify(false, 429, NULL, "7");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_int_equal(r.retry_after_ms, 7000);
    struct outbound_response refused = {.status = 0, .transport_error = 7};
    webhook_classify(false, &refused, NOW_US, &r);
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
}

static void test_classify_messages(void **state)
{
    (void)state;
    struct outbound_result r = classify(true, 200, "{\"provider_message_id\":\"m-42\"}", NULL);
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "m-42");
    r = classify(true, 202, "{\"id\":\"abc\"}", NULL);
    assert_string_equal(r.provider_message_id, "abc");
    r = classify(true, 200, "not json", NULL);
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "");

    /* A refusal in the integrator's words. */
    r = classify(true, 422,
                 "{\"code\":\"recipient_blocked\",\"message\":\"the customer blocked us\"}", NULL);
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "recipient_blocked");
    assert_string_equal(r.reason, "the customer blocked us");
    r = classify(true, 400, "{\"error\":{\"code\":131047,\"message\":\"Re-engagement message\"}}",
                 NULL);
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "131047");
    assert_string_equal(r.reason, "Re-engagement message");
    r = classify(true, 404, "no such user\nmore", NULL);
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "http_404");
    assert_string_equal(r.reason, "no such user");
    r = classify(true, 403, NULL, NULL);
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "http_403");

    /* Transient whatever the kind. */
    static const long retried[] = {408, 425, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++)
        assert_int_equal(classify(true, retried[i], "{\"code\":\"busy\"}", NULL).outcome,
                         OUTBOUND_RETRY);
    r = classify(true, 503, NULL, "Sun, 06 Dec 2026 04:00:30 GMT");
    assert_int_equal(r.retry_after_ms, 30000);
}

static void test_legacy_body(void **state)
{
    (void)state;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:s, s:s, s:s, s:s}}", "event_id",
                           "e-1", "type", "survey.requested", "stream", "survey", "seq", 7,
                           "ticket_id", "t-1", "body", "survey_id", "s-1", "link",
                           "https://s.example/s/x", "channel", "zalo", "type", "shadowed");
    assert_non_null(ev);
    char *s = webhook_legacy_body(ev, "d-1");
    assert_non_null(s);
    json_t *got = json_loads(s, 0, NULL);
    assert_non_null(got);
    /* Flat: the body's fields beside the envelope's, the envelope's first. */
    assert_string_equal(json_string_value(json_object_get(got, "delivery_id")), "d-1");
    assert_string_equal(json_string_value(json_object_get(got, "event_id")), "e-1");
    assert_string_equal(json_string_value(json_object_get(got, "type")), "survey.requested");
    assert_string_equal(json_string_value(json_object_get(got, "ticket_id")), "t-1");
    assert_string_equal(json_string_value(json_object_get(got, "survey_id")), "s-1");
    assert_string_equal(json_string_value(json_object_get(got, "link")), "https://s.example/s/x");
    assert_string_equal(json_string_value(json_object_get(got, "channel")), "zalo");
    assert_int_equal(json_integer_value(json_object_get(got, "seq")), 7);
    assert_null(json_object_get(got, "body"));
    json_decref(got);
    free(s);
    json_decref(ev);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_webhooks_example), cmocka_unit_test(test_keys),
        cmocka_unit_test(test_legacy_signature),          cmocka_unit_test(test_request),
        cmocka_unit_test(test_classify_notifications),    cmocka_unit_test(test_classify_messages),
        cmocka_unit_test(test_legacy_body),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}
