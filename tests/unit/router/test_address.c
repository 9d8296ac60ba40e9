/* test_address.c — services/router/address.c: the recipient on every
 * channel (and none), read back the way identity.h reads a contact; the
 * default channel; email threading headers and subjects. Run one test by
 * name: test_address <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

#define T0 INT64_C(1795399200000000)

static const Carebus__V1__Channel all_channels[] = {
    CAREBUS__V1__CHANNEL__CHANNEL_PHONE,      CAREBUS__V1__CHANNEL__CHANNEL_EMAIL,
    CAREBUS__V1__CHANNEL__CHANNEL_CHAT,       CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK,
    CAREBUS__V1__CHANNEL__CHANNEL_ZALO,       CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM,
    CAREBUS__V1__CHANNEL__CHANNEL_TIKTOK,     CAREBUS__V1__CHANNEL__CHANNEL_TWITTER,
    CAREBUS__V1__CHANNEL__CHANNEL_SMS,        CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP,
    CAREBUS__V1__CHANNEL__CHANNEL_HELPCENTER, CAREBUS__V1__CHANNEL__CHANNEL_STORE,
};
#define NCHANNELS (sizeof all_channels / sizeof all_channels[0])

/* The handle a contact on the channel would carry. */
static const char *sample_handle(Carebus__V1__Channel ch)
{
    switch (ch) {
    case CAREBUS__V1__CHANNEL__CHANNEL_PHONE:
    case CAREBUS__V1__CHANNEL__CHANNEL_SMS:
        return "0901 234 567";
    case CAREBUS__V1__CHANNEL__CHANNEL_EMAIL:
        return " Lan@Example.VN";
    case CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP:
        return "84901234567";
    default:
        return "uid-42";
    }
}

/* Every channel: the identity a contact's handle becomes is the one a
 * message on that channel goes to, and the recipient's handle reads back
 * as the same identity. */
static void test_every_channel_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHANNELS; i++) {
        Carebus__V1__Channel ch = all_channels[i];
        struct identity id;
        assert_int_equal(identity_handle(ch, sample_handle(ch), NULL, &id), 0);
        m_identity row = {.kind = id.kind, .value = id.value, .created = T0};
        /* Some noise of other kinds around it. */
        m_identity other = {.kind = "telegram", .value = "x", .created = T0 + 5};
        const m_identity *ids[] = {&other, &row};
        address_rcpt r;
        assert_int_equal(address_recipient(ch, ids, 2, &r), 0);
        struct identity back;
        assert_int_equal(identity_handle(ch, r.handle, NULL, &back), 0);
        assert_string_equal(back.kind, id.kind);
        assert_string_equal(back.value, id.value);
    }
}

static void test_recipient_fields(void **state)
{
    (void)state;
    m_identity phone = {.kind = "phone", .value = "+84901234567", .created = T0};
    m_identity email = {.kind = "email", .value = "lan@example.vn", .created = T0};
    m_identity zalo = {.kind = "zalo", .value = "4120978365", .created = T0};
    const m_identity *ids[] = {&phone, &email, &zalo};
    address_rcpt r;
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_SMS, ids, 3, &r), 0);
    assert_string_equal(r.handle, "+84901234567");
    assert_string_equal(r.phone, "+84901234567");
    assert_string_equal(r.email, "");
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, ids, 3, &r), 0);
    assert_string_equal(r.handle, "lan@example.vn");
    assert_string_equal(r.email, "lan@example.vn");
    assert_string_equal(r.phone, "");
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, ids, 3, &r), 0);
    assert_string_equal(r.handle, "4120978365");
    assert_string_equal(r.phone, "");
    /* WhatsApp: no WhatsApp id of its own, the phone's digits. */
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, ids, 3, &r), 0);
    assert_string_equal(r.handle, "84901234567");
    assert_string_equal(r.phone, "+84901234567");
    /* ... but its own id when it has one. */
    m_identity wa = {.kind = "whatsapp", .value = "wa-business-scoped", .created = T0 - 1};
    const m_identity *ids2[] = {&phone, &wa};
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, ids2, 2, &r), 0);
    assert_string_equal(r.handle, "wa-business-scoped");
}

/* A customer with no handle on the channel: no recipient, all empty. */
static void test_missing_identity(void **state)
{
    (void)state;
    m_identity zalo = {.kind = "zalo", .value = "4120978365", .created = T0};
    const m_identity *ids[] = {&zalo};
    address_rcpt r;
    memset(&r, 'x', sizeof r);
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, ids, 1, &r), -1);
    assert_string_equal(r.handle, "");
    assert_string_equal(r.phone, "");
    assert_string_equal(r.email, "");
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_SMS, ids, 1, &r), -1);
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, ids, 1, &r), -1);
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED, ids, 1, &r), -1);
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_ZALO, NULL, 0, &r), -1);
}

/* Several of a kind (merged customers): the newest, then the greatest. */
static void test_newest_wins(void **state)
{
    (void)state;
    m_identity a = {.kind = "facebook", .value = "psid-b", .created = T0};
    m_identity b = {.kind = "facebook", .value = "psid-a", .created = T0 + 1};
    m_identity c = {.kind = "facebook", .value = "psid-c", .created = T0 + 1};
    const m_identity *ids[] = {&c, &a, &b};
    address_rcpt r;
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, ids, 3, &r), 0);
    assert_string_equal(r.handle, "psid-c");
    const m_identity *ids2[] = {&b, &a};
    assert_int_equal(address_recipient(CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, ids2, 2, &r), 0);
    assert_string_equal(r.handle, "psid-a");
}

static m_message msg(const char *id, const char *channel, const char *dir, const char *ext,
                     int64_t at, uint64_t seq)
{
    return (m_message){.event_id = id,
                       .channel = channel,
                       .direction = dir,
                       .external_id = ext,
                       .at = at,
                       .stream = "ingest",
                       .seq = seq};
}

static void test_last_inbound(void **state)
{
    (void)state;
    m_message a = msg("e1", "zalo", "in", NULL, T0, 1);
    m_message b = msg("e2", "email", "in", "<b@x>", T0 + 10, 2);
    m_message c = msg("e3", "zalo", "out", NULL, T0 + 20, 3);
    m_message d = msg("e4", "facebook", "in", NULL, T0 + 10, 4); /* same time, later in the log */
    const m_message *all[] = {&c, &b, &a, &d};
    assert_ptr_equal(address_last_inbound(all, 4, NULL), &d);
    assert_ptr_equal(address_last_inbound(all, 4, "zalo"), &a);
    assert_ptr_equal(address_last_inbound(all, 4, "email"), &b);
    assert_null(address_last_inbound(all, 4, "sms"));
    assert_null(address_last_inbound(all, 0, NULL));
}

/* In-Reply-To: the customer's latest email; References: every email of
 * the thread, in and out, oldest first, once; notes and other channels
 * never. */
static void test_email_thread(void **state)
{
    (void)state;
    m_message m1 = msg("e1", "email", "in", "<m1@mail.vn>", T0, 1);
    m_message r1 = msg("e2", "email", "out", "<e2@carebus.local>", T0 + 10, 2);
    m_message z = msg("e3", "zalo", "in", "z-1", T0 + 15, 3);
    m_message m2 = msg("e4", "email", "in", "<m2@mail.vn>", T0 + 20, 4);
    m_message dup = msg("e5", "email", "in", "<m1@mail.vn>", T0 + 25, 5);
    m_message note = msg("e6", "email", "note", "<note@x>", T0 + 26, 6);
    m_message noid = msg("e7", "email", "in", NULL, T0 + 30, 7);
    const m_message *all[] = {&noid, &m2, &note, &z, &r1, &dup, &m1};
    assert_string_equal(address_in_reply_to(all, 7), "<m1@mail.vn>"); /* dup is the latest */
    const m_message *no_dup[] = {&noid, &m2, &note, &z, &r1, &m1};
    assert_string_equal(address_in_reply_to(no_dup, 6), "<m2@mail.vn>");
    const char *refs[8];
    size_t n = address_references(all, 7, refs, 8);
    assert_int_equal(n, 3);
    assert_string_equal(refs[0], "<m1@mail.vn>");
    assert_string_equal(refs[1], "<e2@carebus.local>");
    assert_string_equal(refs[2], "<m2@mail.vn>");
    const m_message *none[] = {&z, &noid};
    assert_null(address_in_reply_to(none, 2));
    assert_int_equal(address_references(none, 2, refs, 8), 0);
}

/* A long thread keeps its first Message-ID and the latest ones. */
static void test_references_capped(void **state)
{
    (void)state;
    m_message m[30];
    const m_message *all[30];
    char ids[30][32], eid[30][16];
    for (int i = 0; i < 30; i++) {
        snprintf(ids[i], sizeof ids[i], "<m%d@mail.vn>", i);
        snprintf(eid[i], sizeof eid[i], "e%d", i);
        m[i] = msg(eid[i], "email", i % 2 ? "out" : "in", ids[i], T0 + i, (uint64_t)i + 1);
        all[29 - i] = &m[i];
    }
    const char *refs[5];
    assert_int_equal(address_references(all, 30, refs, 5), 5);
    assert_string_equal(refs[0], "<m0@mail.vn>");
    assert_string_equal(refs[1], "<m26@mail.vn>");
    assert_string_equal(refs[4], "<m29@mail.vn>");
}

static void test_message_id_and_subject(void **state)
{
    (void)state;
    char out[128];
    address_message_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "carebus.local", out, sizeof out);
    assert_string_equal(out, "<1b4e28ba-2fa1-11d2-883f-0016d3cca427@carebus.local>");
    address_subject("Đơn hàng 123", out, sizeof out);
    assert_string_equal(out, "Re: Đơn hàng 123");
    address_subject("RE: Đơn hàng 123", out, sizeof out);
    assert_string_equal(out, "RE: Đơn hàng 123");
    address_subject("  re:x", out, sizeof out);
    assert_string_equal(out, "re:x");
    address_subject(NULL, out, sizeof out);
    assert_string_equal(out, "");
    address_subject("  ", out, sizeof out);
    assert_string_equal(out, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_channel_round_trip),
        cmocka_unit_test(test_recipient_fields),
        cmocka_unit_test(test_missing_identity),
        cmocka_unit_test(test_newest_wins),
        cmocka_unit_test(test_last_inbound),
        cmocka_unit_test(test_email_thread),
        cmocka_unit_test(test_references_capped),
        cmocka_unit_test(test_message_id_and_subject),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
