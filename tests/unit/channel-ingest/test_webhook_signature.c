/* test_webhook_signature.c — webhooks/signature.c and webhooks/form.c.
 *
 * Vectors come from outside this code: RFC 4231 (HMAC-SHA256) and RFC 2202
 * (HMAC-SHA1) test case 2; Twilio's documented example
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

#include "webhooks/form.h"
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

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_hmac_rfc_vectors(void **state)
{
    (void)state;
    unsigned char mac[SIGNATURE_MAX_MAC];
    size_t n = 0;
    char h[2 * SIGNATURE_MAX_MAC + 1];
    struct sig_part part = {"what do ya want for nothing?", 28};
    assert_int_equal(signature_hmac("SHA256", "Jefe", 4, &part, 1, mac, &n), 0);
    assert_int_equal(n, 32);
    hex(mac, n, h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(signature_hmac("SHA1", "Jefe", 4, &part, 1, mac, &n), 0);
    assert_int_equal(n, 20);
    hex(mac, n, h);
    assert_string_equal(h, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    /* The same message split in parts gives the same MAC. */
    struct sig_part parts[] = {{"what do ya ", 11}, {"", 0}, {"want for nothing?", 17}};
    unsigned char mac2[SIGNATURE_MAX_MAC];
    assert_int_equal(signature_hmac("SHA1", "Jefe", 4, parts, 3, mac2, &n), 0);
    assert_memory_equal(mac, mac2, 20);
    /* An unknown digest fails instead of answering something. */
    assert_int_equal(signature_hmac("NOPE", "k", 1, &part, 1, mac, &n), -1);
}

static void test_hex_equal(void **state)
{
    (void)state;
    const unsigned char mac[] = {0xab, 0x01, 0xff};
    assert_true(signature_hex_equal("ab01ff", 6, mac, 3));
    assert_true(signature_hex_equal("AB01FF", 6, mac, 3));
    assert_false(signature_hex_equal("ab01fe", 6, mac, 3));
    assert_false(signature_hex_equal("ab01f", 5, mac, 3));
    assert_false(signature_hex_equal("ab01ff00", 8, mac, 3));
    assert_false(signature_hex_equal("ab01fg", 6, mac, 3));
    assert_false(signature_hex_equal("", 0, mac, 3));
}

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

static void test_form_decoding(void **state)
{
    (void)state;
    struct form f = {0};
    const char *body = "a=1&b=x+y%20z&&c&=v&d=%41%4a%zz%4&e=%C3%A1";
    assert_int_equal(form_parse(body, strlen(body), &f), 0);
    assert_int_equal(f.n, 6);
    assert_string_equal(form_get(&f, "a"), "1");
    assert_string_equal(form_get(&f, "b"), "x y z");
    assert_string_equal(form_get(&f, "c"), "");
    assert_string_equal(form_get(&f, ""), "v");
    assert_string_equal(form_get(&f, "d"), "AJ%zz%4"); /* bad escapes stay as they are */
    assert_string_equal(form_get(&f, "e"), "\xc3\xa1");
    assert_null(form_get(&f, "zz"));
    form_release(&f);
    /* Not NUL-terminated input: only len bytes are read. */
    char raw[] = {'k', '=', 'v', 'X'};
    assert_int_equal(form_parse(raw, 3, &f), 0);
    assert_string_equal(form_get(&f, "k"), "v");
    form_release(&f);
    assert_int_equal(form_parse("", 0, &f), 0);
    assert_int_equal(f.n, 0);
    form_release(&f);
}

static void test_form_refusals(void **state)
{
    (void)state;
    struct form f = {0};
    assert_int_equal(form_parse("a=%00", 5, &f), -1); /* decoded NUL */
    assert_null(f.pairs);
    assert_int_equal(form_parse("a=%C3", 5, &f), -1);        /* truncated UTF-8 */
    assert_int_equal(form_parse("a=%C0%AF", 8, &f), -1);     /* overlong */
    assert_int_equal(form_parse("a=%ED%A0%80", 11, &f), -1); /* surrogate */
    assert_int_equal(form_parse("%FF=1", 5, &f), -1);        /* name too */
    /* FORM_MAX_PAIRS pairs pass, one more is refused. */
    char big[FORM_MAX_PAIRS * 4 + 8] = "";
    size_t n = 0;
    for (int i = 0; i < FORM_MAX_PAIRS; i++)
        n += (size_t)sprintf(big + n, "%sa=1", i ? "&" : "");
    assert_int_equal(form_parse(big, n, &f), 0);
    assert_int_equal(f.n, FORM_MAX_PAIRS);
    form_release(&f);
    n += (size_t)sprintf(big + n, "&b");
    assert_int_equal(form_parse(big, n, &f), -1);
    assert_true(form_utf8_valid("Tôi cần hỗ trợ", strlen("Tôi cần hỗ trợ")));
    assert_false(form_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc_vectors),
        cmocka_unit_test(test_hex_equal),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_zalo),
        cmocka_unit_test(test_twilio_documented_example),
        cmocka_unit_test(test_token_equal),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_form_refusals),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("webhook_signature", tests, NULL, NULL);
}
