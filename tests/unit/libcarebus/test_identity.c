/* test_identity.c — services/router/identity.c: handles normalised for
 * matching.
 *
 * Every spelling of one Vietnamese number must give the same E.164 string,
 * or one customer becomes two. Run one test by name: test_identity <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "identity.h"

#define VN "+84901234567"

static void assert_phone(const char *raw, const char *want)
{
    char out[IDENTITY_PHONE_LEN];
    if (identity_phone(raw, NULL, out) != 0)
        fail_msg("\"%s\" was rejected, want \"%s\"", raw, want);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" gave \"%s\", want \"%s\"", raw, out, want);
}

static void assert_phone_rejected(const char *raw)
{
    char out[IDENTITY_PHONE_LEN];
    if (identity_phone(raw, NULL, out) == 0)
        fail_msg("\"%s\" was accepted as \"%s\"", raw, out);
}

static void test_phone_vn_spellings(void **state)
{
    (void)state;
    static const char *const spellings[] = {
        "0901234567",
        "0901 234 567",
        "090 123 4567",
        "0901-234-567",
        "0901.234.567",
        "(090) 1234-567",
        "(090)1234567",
        "+84901234567",
        "+84 901 234 567",
        "+84 90 123 4567",
        "+84-901-234-567",
        "(+84) 901 234 567",
        "+84 (0) 901 234 567",
        "+840901234567",
        "84901234567",
        "84 901 234 567",
        "0084901234567",
        "0084 901 234 567",
        "00 84 90 123 45 67",
        "901234567",
        "  0901234567\t",
        "\xc2\xa0"
        "0901\xc2\xa0"
        "234\xc2\xa0"
        "567\xc2\xa0", /* no-break spaces */
    };
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
        assert_phone(spellings[i], VN);
}

static void test_phone_vn_landline_and_legacy(void **state)
{
    (void)state;
    /* Hà Nội landline: a 10-digit national significant number. */
    assert_phone("024 3826 1234", "+842438261234");
    assert_phone("+84 24 3826 1234", "+842438261234");
    assert_phone("842438261234", "+842438261234");
    /* A pre-2018 11-digit mobile is kept as written, not converted. */
    assert_phone("0168 123 4567", "+841681234567");
    /* A mobile whose prefix is 084 (VinaPhone) is not the country code. */
    assert_phone("0842 345 678", "+84842345678");
    assert_phone("842345678", "+84842345678");
    assert_phone("84842345678", "+84842345678");
}

static void test_phone_foreign(void **state)
{
    (void)state;
    assert_phone("+1 (415) 555-0123", "+14155550123");
    assert_phone("+14155550123", "+14155550123");
    assert_phone("+44 20 7946 0958", "+442079460958");
    assert_phone("+44 (0)20 7946 0958", "+442079460958");
    assert_phone("0044 20 7946 0958", "+442079460958");
    assert_phone("+33 1 23 45 67 89", "+33123456789");
    assert_phone("+86 138 0013 8000", "+8613800138000");
    assert_phone("+65 6123 4567", "+6561234567");
    /* Italy keeps its leading 0 after the country code. */
    assert_phone("+39 06 1234 5678", "+390612345678");
    /* 15 digits: the E.164 maximum. */
    assert_phone("+123456789012345", "+123456789012345");
    assert_phone("+6831234", "+6831234");
}

static void test_phone_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",
        "   ",
        "+",
        "abc",
        "0901234567 ext 12",
        "0901234567x",
        "call me",
        "09012345",           /* national: 8 digits after the trunk 0 */
        "090123456789",       /* national: 11 digits after the trunk 0 */
        "12345",              /* too short for anything */
        "+84 90 123 456",     /* Vietnamese, 8 digits */
        "+84 901 234 567 89", /* Vietnamese, 11 digits */
        "+1234567890123456",  /* 16 digits */
        "+123456",            /* 6 digits */
        "+0901234567",        /* no country code starts with 0 */
        "00",
        "0",
        "++84901234567",
        "84+901234567",
        "0901234567+",
        "+84 901 234 567; +84 902 345 678",
        "0901\n234\x01"
        "567",
        "０９０１２３４５６７", /* full-width digits */
        "0901234567 0901234567 0901234567 0901234567 0901234567 0901234567 0", /* > 64 */
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_phone_rejected(garbage[i]);
    char out[IDENTITY_PHONE_LEN];
    assert_int_equal(identity_phone(NULL, NULL, out), -1);
}

static void test_phone_country(void **state)
{
    (void)state;
    char out[IDENTITY_PHONE_LEN];
    assert_true(identity_country_known(NULL));
    assert_true(identity_country_known("VN"));
    assert_false(identity_country_known("XX"));
    assert_false(identity_country_known(""));
    assert_int_equal(identity_phone("0901234567", "VN", out), 0);
    assert_string_equal(out, VN);
    assert_int_equal(identity_phone("0901234567", "XX", out), -1);
    /* A foreign number needs no country rules, but the country must be
     * known: the setting is wrong, not the number. */
    assert_int_equal(identity_phone("+14155550123", "XX", out), -1);
}

static void assert_email(const char *raw, const char *want)
{
    char out[IDENTITY_VALUE_LEN];
    if (identity_email(raw, out) != 0)
        fail_msg("\"%s\" was rejected, want \"%s\"", raw, want);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" gave \"%s\", want \"%s\"", raw, out, want);
}

static void assert_email_rejected(const char *raw)
{
    char out[IDENTITY_VALUE_LEN];
    if (identity_email(raw, out) == 0)
        fail_msg("\"%s\" was accepted as \"%s\"", raw, out);
}

/* The start of a number typed in part reads as the start of its E.164
 * form: every spelling of a whole number gives a prefix of it. */
static void test_phone_prefix(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"0901 23", "+8490123"},
        {"090", "+8490"},
        {"+84 9", "+849"},
        {"0084 90", "+8490"},
        {"84 90", "+8490"},
        {"901", "+84901"},
        {"+84 (0) 90", "+8490"},
        {"+840901", "+84901"},
        {"(090) 1234-5", "+849012345"},
        {"0", "+84"},
        {"+1 415", "+1415"},
        {"0084", "+84"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[IDENTITY_PHONE_LEN];
        if (identity_phone_prefix(cases[i][0], NULL, out) != 0)
            fail_msg("refused \"%s\"", cases[i][0]);
        if (strcmp(out, cases[i][1]) != 0)
            fail_msg("\"%s\" -> \"%s\", want \"%s\"", cases[i][0], out, cases[i][1]);
    }
    static const char *const whole[] = {"0901 234 567", "+84 901 234 567", "0084901234567",
                                        "84901234567",  "901234567",       "+84 (0) 901 234 567"};
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        char full[IDENTITY_PHONE_LEN], pre[IDENTITY_PHONE_LEN];
        assert_int_equal(identity_phone(whole[i], NULL, full), 0);
        assert_int_equal(identity_phone_prefix(whole[i], NULL, pre), 0);
        assert_string_equal(pre, full);
    }
    static const char *const garbage[] = {"",  "  ",  "abc", "09a1",
                                          "+", "1+2", "+0",  "1234567890123456789"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        char out[IDENTITY_PHONE_LEN];
        if (identity_phone_prefix(garbage[i], NULL, out) == 0)
            fail_msg("accepted \"%s\" as \"%s\"", garbage[i], out);
    }
    char out[IDENTITY_PHONE_LEN];
    assert_int_equal(identity_phone_prefix("090", "XX", out), -1);
    assert_int_equal(identity_phone_prefix(NULL, NULL, out), -1);
}

static void test_email(void **state)
{
    (void)state;
    assert_email("lan.nguyen@example.vn", "lan.nguyen@example.vn");
    assert_email("  Lan.Nguyen@Example.VN \n", "lan.nguyen@example.vn");
    assert_email("LAN+care@EXAMPLE.COM", "lan+care@example.com");
    assert_email("a@b", "a@b");
    assert_email("\xc2\xa0x@y.vn\xc2\xa0", "x@y.vn");
    /* UTF-8 is kept byte for byte; only ASCII is lower-cased. */
    assert_email("Lan@Thư.VN", "lan@thư.vn");
}

static void test_email_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",
        "   ",
        "lan",
        "lan@",
        "@example.vn",
        "@",
        "lan@@example.vn",
        "lan@x@example.vn",
        "lan nguyen@example.vn",
        "Lan <lan@example.vn>",
        "lan@example.vn, hoa@example.vn",
        "lan@example.vn;",
        "lan@exa\tmple.vn",
        "lan@exa\x01mple.vn",
        "lan@\xc2\xa0"
        "example.vn",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_email_rejected(garbage[i]);
    /* RFC 5321 caps a path at 254 bytes. */
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[10] = '@';
    big[255] = '\0';
    assert_email_rejected(big); /* 255 bytes */
    big[254] = '\0';
    char out[IDENTITY_VALUE_LEN];
    assert_int_equal(identity_email(big, out), 0); /* 254 bytes */
    assert_int_equal(identity_email(NULL, out), -1);
}

static void assert_handle(Carebus__V1__Channel ch, const char *raw, const char *kind,
                          const char *value)
{
    struct identity id;
    if (identity_handle(ch, raw, NULL, &id) != 0)
        fail_msg("%s handle \"%s\" was rejected", event_channel_name(ch), raw);
    assert_string_equal(id.kind, kind);
    assert_string_equal(id.value, value);
}

static void assert_handle_rejected(Carebus__V1__Channel ch, const char *raw)
{
    struct identity id;
    if (identity_handle(ch, raw, NULL, &id) == 0)
        fail_msg("%s handle \"%s\" was accepted as (%s, %s)", event_channel_name(ch), raw, id.kind,
                 id.value);
}

static void test_handle_channels(void **state)
{
    (void)state;
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, " 4120978365 ", "zalo", "4120978365");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, "2519837465012345", "facebook",
                  "2519837465012345");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM, "1784", "instagram", "1784");
    /* Case is kept: some ids (TikTok open_id) are case-sensitive. */
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_TIKTOK, "_000AbC-dEf", "tiktok", "_000AbC-dEf");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_TWITTER, "1234567890", "twitter", "1234567890");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_CHAT, "visitor-42", "chat", "visitor-42");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_HELPCENTER, "user 7", "helpcenter", "user 7");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_STORE, "card-0091", "store", "card-0091");
    /* A number on a chat channel is just that channel's id. */
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, "0901234567", "zalo", "0901234567");
}

static void test_handle_phone_channels(void **state)
{
    (void)state;
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_PHONE, "+84 90 123 4567", "phone", VN);
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_SMS, "0901234567", "phone", VN);
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_PHONE, "anonymous");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_SMS, "BRANDNAME");
    /* WhatsApp ids are international digits without "+". */
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "84901234567", "phone", VN);
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "14155550123", "phone", "+14155550123");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "+84 901 234 567", "phone", VN);
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "0901234567", "phone", VN);
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "wa-business-7", "whatsapp",
                  "wa-business-7");
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, "12", "whatsapp", "12");
}

static void test_handle_email_and_garbage(void **state)
{
    (void)state;
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, " Lan@Example.VN", "email",
                  "lan@example.vn");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, "not an address");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, "");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, " \t ");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, "uid\n1");
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, NULL);
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED, "uid-1");
    assert_handle_rejected((Carebus__V1__Channel)99, "uid-1"); /* a newer producer's */
    char big[IDENTITY_VALUE_LEN + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_handle_rejected(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, big); /* 256 bytes */
    big[IDENTITY_VALUE_LEN - 1] = '\0';
    assert_handle(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, big, "zalo", big); /* 255 bytes */
}

static void test_set_from_ref(void **state)
{
    (void)state;
    struct identity_set s;
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.name = "Lan";
    ref.phone = "0901 234 567";
    ref.email = " Lan@Example.VN ";
    ref.handle = "zalo-uid-1";
    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &ref, NULL);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.rejected, 0);
    assert_string_equal(s.items[0].kind, "phone");
    assert_string_equal(s.items[0].value, VN);
    assert_string_equal(s.items[1].kind, "email");
    assert_string_equal(s.items[1].value, "lan@example.vn");
    assert_string_equal(s.items[2].kind, "zalo");
    assert_string_equal(s.items[2].value, "zalo-uid-1");
}

static void test_set_dedup_and_rejects(void **state)
{
    (void)state;
    struct identity_set s;
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    /* The WhatsApp id is the same number as the phone field: one identity. */
    ref.phone = "+84 901 234 567";
    ref.handle = "84901234567";
    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, &ref, NULL);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rejected, 0);
    assert_string_equal(s.items[0].value, VN);

    ref.phone = "call me";
    ref.email = "lan@";
    ref.handle = "  ";
    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &ref, NULL);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.rejected, IDENTITY_BAD_PHONE | IDENTITY_BAD_EMAIL);

    ref.phone = "";
    ref.email = "";
    ref.handle = "uid-9";
    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED, &ref, NULL);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.rejected, IDENTITY_BAD_HANDLE);

    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, NULL, NULL);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.rejected, 0);

    /* Absent strings as protobuf-c leaves them (its shared empty string). */
    Carebus__V1__CustomerRef empty = CAREBUS__V1__CUSTOMER_REF__INIT;
    identity_set_from_ref(&s, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &empty, NULL);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.rejected, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_vn_spellings),
        cmocka_unit_test(test_phone_vn_landline_and_legacy),
        cmocka_unit_test(test_phone_foreign),
        cmocka_unit_test(test_phone_garbage),
        cmocka_unit_test(test_phone_country),
        cmocka_unit_test(test_phone_prefix),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_email_garbage),
        cmocka_unit_test(test_handle_channels),
        cmocka_unit_test(test_handle_phone_channels),
        cmocka_unit_test(test_handle_email_and_garbage),
        cmocka_unit_test(test_set_from_ref),
        cmocka_unit_test(test_set_dedup_and_rejects),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
