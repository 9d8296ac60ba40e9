/* test_webhook_signature.c — webhooks/signature.c (HMAC itself and form
 * decoding are libcarebus's: test_hmac, test_form).
 *
 * Vectors come from outside this code: Twilio's documented example
 * (twilio.com/docs/usage/webhooks/webhooks-security: auth token "12345",
 * https://mycompany.com/myapp.php?foo=1&bar=2 and five parameters →
 * "0/KCTR6DLpKmkAf8muzZqo1nDgQ="); the Meta and Zalo vectors were computed
 * with Python's hmac/hashlib, an independent implementation:
 *
 *   hmac.new(b"fb-app-secret", META_BODY, hashlib.sha256).hexdigest()
 *   hashlib.sha256(b"360846" + ZALO_BODY + b"1795399200000" + b"oa-secret").hexdigest()
 *
 * Pure: no database. Run one test by name: test_webhook_signature <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"
#include "webhooks/signature.h"

#define META_BODY "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"time\":1,\"messaging\":[]}]}"
#define META_SIG "sha256=ad822a3d6b8a3bffff7648d8c6b79390d4fd08939b7a37ba9f7b6d479ff8aa76"
#define ZALO_BODY                                                                                  \
    "{\"app_id\":\"360846\",\"event_name\":\"user_send_text\",\"timestamp\":\"1795399200000\"}"
#define ZALO_SIG "mac=541b07a0769cecb92bc648cec50a6314d07f48b82f2aaa319aeb8d53f6acbe05"
#define TWILIO_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
/* The documented parameters, deliberately not in sorted order. */
#define TWILIO_FORM                                                                                \
    "To=%2B18005551212&From=%2B12349013030&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%"         \
    "2B12349013030"
#define TWILIO_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

static void test_meta(void **state)
{
    (void)state;
    const char *body = META_BODY;
    size_t len = strlen(body);
    assert_true(signature_meta_ok(META_SIG, "fb-app-secret", body, len));
    /* Prefix case and surrounding blanks are tolerated, hex case too. */
    char upper[128];
    snprintf(upper, sizeof upper, " SHA256=%s ", META_SIG + 7);
    for (char *p = upper + 8; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(signature_meta_ok(upper, "fb-app-secret", body, len));
    assert_false(signature_meta_ok(META_SIG, "other-secret", body, len));
    assert_false(signature_meta_ok(META_SIG, "fb-app-secret", body, len - 1));
    assert_false(signature_meta_ok(META_SIG + 7, "fb-app-secret", body, len)); /* no prefix */
    assert_false(signature_meta_ok("sha1=ad822a3d", "fb-app-secret", body, len));
    assert_false(signature_meta_ok(NULL, "fb-app-secret", body, len));
    assert_false(signature_meta_ok("sha256=", "fb-app-secret", body, len));
}

static void test_zalo(void **state)
{
    (void)state;
    const char *body = ZALO_BODY;
    size_t len = strlen(body);
    assert_true(signature_zalo_ok(ZALO_SIG, "360846", body, len, "1795399200000", "oa-secret"));
    assert_false(signature_zalo_ok(ZALO_SIG, "360847", body, len, "1795399200000", "oa-secret"));
    assert_false(signature_zalo_ok(ZALO_SIG, "360846", body, len, "1795399200001", "oa-secret"));
    assert_false(signature_zalo_ok(ZALO_SIG, "360846", body, len, "1795399200000", "oa-secreT"));
    assert_false(signature_zalo_ok(ZALO_SIG, "360846", body, len, NULL, "oa-secret"));
    assert_false(
        signature_zalo_ok(ZALO_SIG + 4, "360846", body, len, "1795399200000", "oa-secret"));
    assert_false(signature_zalo_ok(NULL, "360846", body, len, "1795399200000", "oa-secret"));
}

static void test_twilio_documented_example(void **state)
{
    (void)state;
    struct form f = {0};
    assert_int_equal(form_parse(TWILIO_FORM, strlen(TWILIO_FORM), &f), 0);
    assert_int_equal(f.n, 5);
    char sig[SIGNATURE_TWILIO_LEN];
    assert_int_equal(signature_twilio("12345", TWILIO_URL, &f, sig), 0);
    assert_string_equal(sig, TWILIO_SIG);
    assert_true(signature_twilio_ok(TWILIO_SIG, "12345", TWILIO_URL, &f));
    assert_false(signature_twilio_ok(TWILIO_SIG, "12346", TWILIO_URL, &f));
    assert_false(signature_twilio_ok(TWILIO_SIG, "12345", "https://mycompany.com/myapp.php", &f));
    assert_false(signature_twilio_ok("0/KCTR6DLpKmkAf8muzZqo1nDgQ", "12345", TWILIO_URL, &f));
    assert_false(signature_twilio_ok(NULL, "12345", TWILIO_URL, &f));
    form_release(&f);
    /* One parameter changed: another signature. */
    const char *other = "To=%2B18005551212&From=%2B12349013030&Digits=1235&CallSid="
                        "CA1234567890ABCDE&Caller=%2B12349013030";
    assert_int_equal(form_parse(other, strlen(other), &f), 0);
    assert_false(signature_twilio_ok(TWILIO_SIG, "12345", TWILIO_URL, &f));
    form_release(&f);
}

static void test_token_equal(void **state)
{
    (void)state;
    assert_true(signature_token_equal("meatyhamhock", "meatyhamhock"));
    assert_false(signature_token_equal("meatyhamhock", "meatyhamhocK"));
    assert_false(signature_token_equal("meatyhamhock", "meatyhamhoc"));
    assert_false(signature_token_equal(NULL, "x"));
    assert_false(signature_token_equal("x", NULL));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_zalo),
        cmocka_unit_test(test_twilio_documented_example),
        cmocka_unit_test(test_token_equal),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook_signature", tests, NULL, NULL);
}
