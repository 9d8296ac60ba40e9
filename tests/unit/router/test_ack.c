/* test_ack.c — services/router/ack.c: the acknowledgements' configuration
 * (the shipped file, what is refused and why), the texts with their
 * placeholders per channel and language, and business hours on the
 * department's calendar (deploy/config's vn-business) inside and outside
 * them. Run one test by name: test_ack <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ack.h"
#include "calendar_config.h"

/* Monday 2026-11-23 09:00 in Ho Chi Minh City (+07:00). */
#define MON_0900 INT64_C(1795399200000000)
#define HOUR INT64_C(3600000000)

#define ZALO CAREBUS__V1__CHANNEL__CHANNEL_ZALO
#define EMAIL CAREBUS__V1__CHANNEL__CHANNEL_EMAIL
#define SMS CAREBUS__V1__CHANNEL__CHANNEL_SMS
#define FACEBOOK CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK

static const char doc[] =
    "{\"enabled\": [\"zalo\", \"email\"],"
    " \"templates\": {"
    "  \"default\": {"
    "   \"vi\": {\"business_hours\": \"Chào {customer_name}, đã nhận yêu cầu {ticket_number}.\","
    "          \"after_hours\": \"Chào {customer_name}, ngoài giờ; yêu cầu {ticket_number}.\","
    "          \"subject\": \"Yêu cầu {ticket_number}\", \"customer_name\": \"anh/chị\"},"
    "   \"en\": {\"business_hours\": \"Hello {customer_name}, got {ticket_number}.\","
    "          \"after_hours\": \"Hello {customer_name}, after hours: {ticket_number} {x\"}},"
    "  \"zalo\": {\"vi\": {\"business_hours\": \"Zalo: {ticket_number} {customer_name}\"}}}}";

static ack *parse(const char *json, char *err, size_t errlen)
{
    return ack_parse(json, strlen(json), "test", err, errlen);
}

static char *render(const ack *a, Carebus__V1__Channel ch, language_id l, ack_text which,
                    const char *name, int64_t number)
{
    buf b = BUF_INIT;
    ack_render(a, ch, l, which, name, number, &b);
    char *s = strdup(buf_str(&b));
    buf_release(&b);
    return s;
}

#define ASSERT_RENDERS(a, ch, l, which, name, number, want)                                        \
    do {                                                                                           \
        char *got_ = render(a, ch, l, which, name, number);                                        \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_shipped_file_is_off(void **state)
{
    (void)state;
    char err[512] = "";
    ack *a = ack_load("deploy/config/acknowledgements.json", err, sizeof err);
    if (!a)
        fail_msg("%s", err);
    assert_false(ack_any(a));
    assert_false(ack_enabled(a, ZALO));
    /* Its texts are whole: both languages, both times of day. */
    ASSERT_RENDERS(a, SMS, LANGUAGE_EN, ACK_BUSINESS_HOURS, "Lan", 4812,
                   "We received your request 4812 and will answer shortly.");
    char *vi = render(a, ZALO, LANGUAGE_VI, ACK_AFTER_HOURS, NULL, 7);
    assert_non_null(strstr(vi, "Chào anh/chị"));
    assert_non_null(strstr(vi, "mã số 7"));
    assert_non_null(strstr(vi, "ngoài giờ làm việc"));
    free(vi);
    ack_destroy(&a);
    assert_null(a);
}

static void test_texts(void **state)
{
    (void)state;
    char err[512] = "";
    ack *a = parse(doc, err, sizeof err);
    if (!a)
        fail_msg("%s", err);
    assert_true(ack_any(a));
    assert_true(ack_enabled(a, ZALO));
    assert_true(ack_enabled(a, EMAIL));
    assert_false(ack_enabled(a, SMS));
    assert_false(ack_enabled(a, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED));
    /* The channel's own text, the default's for what it does not name. */
    ASSERT_RENDERS(a, ZALO, LANGUAGE_VI, ACK_BUSINESS_HOURS, "Lan", 12, "Zalo: 12 Lan");
    ASSERT_RENDERS(a, ZALO, LANGUAGE_VI, ACK_AFTER_HOURS, "Lan", 12,
                   "Chào Lan, ngoài giờ; yêu cầu 12.");
    ASSERT_RENDERS(a, EMAIL, LANGUAGE_VI, ACK_BUSINESS_HOURS, "Lan", 12,
                   "Chào Lan, đã nhận yêu cầu 12.");
    ASSERT_RENDERS(a, EMAIL, LANGUAGE_VI, ACK_SUBJECT, "Lan", 12, "Yêu cầu 12");
    /* No name: the language's word for the customer (none given in en). */
    ASSERT_RENDERS(a, EMAIL, LANGUAGE_VI, ACK_BUSINESS_HOURS, "  ", 3,
                   "Chào anh/chị, đã nhận yêu cầu 3.");
    ASSERT_RENDERS(a, EMAIL, LANGUAGE_EN, ACK_BUSINESS_HOURS, NULL, 3, "Hello , got 3.");
    /* A brace that is no placeholder stays as written. */
    ASSERT_RENDERS(a, ZALO, LANGUAGE_EN, ACK_AFTER_HOURS, "Lan", 5, "Hello Lan, after hours: 5 {x");
    /* A zalo template given in vi only: en falls back to the default. */
    ASSERT_RENDERS(a, ZALO, LANGUAGE_EN, ACK_BUSINESS_HOURS, "Lan", 5, "Hello Lan, got 5.");
    ack_destroy(&a);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"not json", "line 1"},
        {"[]", "JSON object"},
        {"{\"enabled\": [\"zalo\"]}", "\"templates\" must be an object"},
        {"{\"enabled\": [\"pigeon\"], \"templates\": {}}", "enabled[0]: not a channel"},
        {"{\"enabled\": \"zalo\", \"templates\": {}}", "\"enabled\" must be an array"},
        {"{\"templates\": {\"default\": {\"vi\": {\"business_hours\": \"a\","
         " \"after_hours\": \"b\"}}}}",
         "templates.default.en.business_hours is required"},
        {"{\"templates\": {\"default\": {\"fr\": {}}}}", "unknown language \"fr\""},
        {"{\"templates\": {\"pigeon\": {}}}", "neither \"default\" nor a channel"},
        {"{\"templates\": {\"default\": {\"vi\": {\"business_hour\": \"a\"}}}}",
         "templates.default.vi.business_hour: unknown text"},
        {"{\"templates\": {\"zalo\": {\"vi\": {\"after_hours\": \"{ticket_nmuber}\"}}}}",
         "templates.zalo.vi.after_hours: unknown placeholder {ticket_nmuber}"},
        {"{\"templates\": {\"zalo\": {\"vi\": {\"after_hours\": 3}}}}", "must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        ack *a = parse(bad[i].json, err, sizeof err);
        if (a || !strstr(err, bad[i].why))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err, bad[i].why);
    }
    char err[512] = "";
    assert_null(ack_load("/nonexistent/acks.json", err, sizeof err));
    assert_non_null(strstr(err, "could not open"));
}

/* Business hours on vn-business (weekdays 08:00-12:00 and 13:00-17:30,
 * Saturday mornings, Vietnamese holidays closed), at the contact's time. */
static void test_business_hours(void **state)
{
    (void)state;
    char err[512] = "";
    ack *a = parse(doc, err, sizeof err);
    assert_non_null(a);
    /* No calendar: always business hours. */
    assert_true(ack_business_hours(a, MON_0900 + 12 * HOUR));
    bool is_explicit;
    char *dir = calendar_config_dir(&is_explicit);
    assert_non_null(dir);
    calendar_config *cc = calendar_config_load(dir, err, sizeof err);
    if (!cc)
        fail_msg("%s", err);
    calendar *cal = calendar_config_take(cc, ACK_CALENDAR_DEFAULT);
    assert_non_null(cal);
    ack_set_calendar(a, &cal);
    assert_null(cal);
    assert_true(ack_business_hours(a, MON_0900));
    assert_false(ack_business_hours(a, MON_0900 + 3 * HOUR + HOUR / 2));      /* 12:30 lunch */
    assert_true(ack_business_hours(a, MON_0900 + 8 * HOUR));                  /* 17:00 */
    assert_false(ack_business_hours(a, MON_0900 + 11 * HOUR));                /* 20:00 */
    assert_false(ack_business_hours(a, MON_0900 - 2 * HOUR));                 /* 07:00 */
    assert_false(ack_business_hours(a, MON_0900 + 6 * 24 * HOUR));            /* Sunday */
    assert_true(ack_business_hours(a, MON_0900 + 5 * 24 * HOUR));             /* Saturday 09:00 */
    assert_false(ack_business_hours(a, MON_0900 + 5 * 24 * HOUR + 5 * HOUR)); /* Sat 14:00 */
    calendar_config_destroy(&cc);
    free(dir);
    ack_destroy(&a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file_is_off),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_business_hours),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("ack", tests, NULL, NULL);
}
