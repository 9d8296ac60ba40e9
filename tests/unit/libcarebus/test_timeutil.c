/* test_timeutil.c — timeutil.c: RFC 3339 parsing and formatting, clocks.
 *
 * Expected values were computed independently with Python's datetime
 * (integer microsecond arithmetic). Run one test by name: test_timeutil <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "timeutil.h"

#define US INT64_C(1000000)

struct valid_case {
    const char *in;
    int64_t us;
};

static const struct valid_case valid[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01T00:00:00z", 0},
    {"1970-01-01t00:00:00Z", 0},
    {"1970-01-01T00:00:00+00:00", 0},
    {"1970-01-01T00:00:00-00:00", 0},
    {"1970-01-01T00:00:01Z", US},
    {"2026-11-23T09:00:00+07:00", INT64_C(1795399200000000)},
    {"2026-11-23T02:00:00Z", INT64_C(1795399200000000)},
    {"2026-11-22T21:30:00-04:30", INT64_C(1795399200000000)},
    {"2000-03-01T00:00:00-05:30", INT64_C(951888600000000)},
    {"1970-01-01T00:00:00+14:00", INT64_C(-50400000000)},
    {"1970-01-01T00:00:00+23:59", -(23 * 3600 + 59 * 60) * US},
    {"1970-01-01T00:00:00-23:59", (23 * 3600 + 59 * 60) * US},
    /* fractions: 1 to 9 digits, kept to microseconds, truncated */
    {"2024-02-29T12:34:56.789Z", INT64_C(1709210096789000)},
    {"2024-02-29T12:34:56.789+00:00", INT64_C(1709210096789000)},
    {"1970-01-01T00:00:00.1Z", 100000},
    {"1970-01-01T00:00:00.12Z", 120000},
    {"1970-01-01T00:00:00.123456Z", 123456},
    {"1970-01-01T00:00:00.1234567Z", 123456},
    {"1970-01-01T00:00:00.999999999Z", 999999},
    {"1970-01-01T00:00:00.000001Z", 1},
    {"1970-01-01T00:00:00.000000Z", 0},
    {"1970-01-01T00:00:00.5+01:00", -3600 * US + 500000},
    /* before the epoch */
    {"1969-12-31T23:59:59.5Z", -500000},
    {"1969-12-31T23:59:59Z", -US},
    {"1900-02-28T00:00:00Z", INT64_C(-2203977600000000)},
    {"0001-01-01T00:00:00Z", INT64_C(-62135596800000000)},
    {"0000-01-01T00:00:00Z", INT64_C(-62167219200000000)},
    {"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
    /* leap years: divisible by 4, not by 100 unless by 400 */
    {"2000-02-29T23:59:59Z", INT64_C(951868799000000)},
    {"1600-02-29T00:00:00Z", INT64_C(-11670998400000000)},
    {"2100-03-01T00:00:00Z", INT64_C(4107542400000000)},
    /* leap second clamped to :59 */
    {"2016-12-31T23:59:60Z", INT64_C(1483228799000000)},
    {"2016-12-31T23:59:60.5Z", INT64_C(1483228799500000)},
};

static void test_parse_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        int64_t us = INT64_MIN;
        if (time_parse_rfc3339(valid[i].in, &us) != 0)
            fail_msg("refused \"%s\"", valid[i].in);
        if (us != valid[i].us)
            fail_msg("\"%s\": got %lld, want %lld", valid[i].in, (long long)us,
                     (long long)valid[i].us);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-23",
        "2026-11-23T09:00:00",  /* no offset */
        "2026-11-23 09:00:00Z", /* space separator */
        "2026-11-23_09:00:00Z",
        "2026-11-23T09:00Z",   /* no seconds */
        "2026-11-23T9:00:00Z", /* one-digit hour */
        "26-11-23T09:00:00Z",
        "+2026-11-23T09:00:00Z",
        "2026-1-23T09:00:00Z",
        "2026/11/23T09:00:00Z",
        "2026-11-23T09-00-00Z",
        "2026-00-10T00:00:00Z", /* month 0 */
        "2026-13-10T00:00:00Z", /* month 13 */
        "2026-01-00T00:00:00Z", /* day 0 */
        "2026-01-32T00:00:00Z",
        "2026-04-31T00:00:00Z", /* April has 30 */
        "2026-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* divisible by 100 */
        "2100-02-29T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T23:60:00Z",
        "2026-11-23T23:59:61Z",
        "2026-11-23T09:00:00.Z",           /* empty fraction */
        "2026-11-23T09:00:00.1234567890Z", /* 10 digits */
        "2026-11-23T09:00:00,5Z",
        "2026-11-23T09:00:00+07",
        "2026-11-23T09:00:00+0700",
        "2026-11-23T09:00:00+7:00",
        "2026-11-23T09:00:00+24:00",
        "2026-11-23T09:00:00+07:60",
        "2026-11-23T09:00:00UTC",
        "2026-11-23T09:00:00ZZ",
        "2026-11-23T09:00:00Z ",
        " 2026-11-23T09:00:00Z",
        "2026-11-23T09:00:00+07:00x",
        "2026-11-23T09:00:00.5",
        "2O26-11-23T09:00:00Z",
        "2026-11-23T09:00:00\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 42;
        if (time_parse_rfc3339(bad[i], &us) != -1)
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)us);
    }
    int64_t us;
    assert_int_equal(time_parse_rfc3339(NULL, &us), -1);
}

static void test_parse_every_day_of_two_years(void **state)
{
    (void)state;
    /* 2023 (common) and 2024 (leap): consecutive days are 86400 s apart and
     * 31 Dec is followed by 1 Jan. */
    static const int mdays[2][12] = {{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
                                     {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}};
    int64_t prev;
    assert_int_equal(time_parse_rfc3339("2022-12-31T00:00:00Z", &prev), 0);
    for (int y = 0; y < 2; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= mdays[y][m - 1]; d++) {
                char buf[40];
                snprintf(buf, sizeof buf, "%04d-%02d-%02dT00:00:00Z", 2023 + y, m, d);
                int64_t us;
                assert_int_equal(time_parse_rfc3339(buf, &us), 0);
                assert_true(us - prev == 86400 * US);
                prev = us;
            }
            char bad[40];
            snprintf(bad, sizeof bad, "%04d-%02d-%02dT00:00:00Z", 2023 + y, m, mdays[y][m - 1] + 1);
            int64_t us;
            assert_int_equal(time_parse_rfc3339(bad, &us), -1);
        }
    }
}

static void test_format(void **state)
{
    (void)state;
    char buf[TIME_RFC3339_LEN];
    time_format_rfc3339(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
    time_format_rfc3339(INT64_C(1795399200123456), buf);
    assert_string_equal(buf, "2026-11-23T02:00:00.123456Z");
    time_format_rfc3339(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    time_format_rfc3339(-500000, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.500000Z");
    time_format_rfc3339(INT64_C(951868799000000), buf);
    assert_string_equal(buf, "2000-02-29T23:59:59.000000Z");
    time_format_rfc3339(INT64_C(-62135596800000000), buf);
    assert_string_equal(buf, "0001-01-01T00:00:00.000000Z");
    time_format_rfc3339(INT64_C(253402300799999999), buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999999Z");
}

static void test_format_extremes_fit(void **state)
{
    (void)state;
    /* Not RFC 3339 any more, but the buffer must never overflow. */
    char buf[TIME_RFC3339_LEN];
    time_format_rfc3339(INT64_MAX, buf);
    assert_true(strlen(buf) < TIME_RFC3339_LEN);
    time_format_rfc3339(INT64_MIN, buf);
    assert_true(strlen(buf) < TIME_RFC3339_LEN);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* A spread of instants from year 0 to 9999, odd microseconds included. */
    const int64_t lo = INT64_C(-62167219200000000), hi = INT64_C(253402300799999999);
    const int64_t step = (hi - lo) / 9973;
    for (int64_t us = lo; us <= hi - step; us += step) {
        int64_t v = us + (us & 0xfffff) % US;
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339(v, buf);
        int64_t back;
        if (time_parse_rfc3339(buf, &back) != 0 || back != v)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)v, buf, (long long)back);
    }
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = time_now_us();
    int64_t t = (int64_t)time(NULL);
    assert_true(now / US >= t - 2 && now / US <= t + 2);
    int64_t a = time_mono_ms();
    int64_t b = time_mono_ms();
    assert_true(a >= 0 && b >= a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_every_day_of_two_years),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_extremes_fit),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_clocks),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("timeutil", tests, NULL, NULL);
}
