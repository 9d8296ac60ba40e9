/* test_civil.c — civil.c: day numbers, weekdays, "YYYY-MM-DD".
 *
 * Run one test by name: test_civil <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "civil.h"

static void test_civil_helpers(void **state)
{
    (void)state;
    assert_int_equal(civil_to_days(1970, 1, 1), 0);
    assert_int_equal(civil_iso_weekday(0), 4); /* Thursday */
    int64_t d = civil_to_days(2026, 2, 17);
    assert_int_equal(civil_iso_weekday(d), 2); /* Tết Bính Ngọ is a Tuesday */
    int64_t y;
    int m, dd;
    civil_from_days(d, &y, &m, &dd);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 2);
    assert_int_equal(dd, 17);
    assert_int_equal(civil_iso_weekday(civil_to_days(1969, 12, 28)), 7);
    assert_int_equal(civil_floor_div(-1, 86400), -1);
    assert_int_equal(civil_floor_div(86400, 86400), 1);
}

/* Every day from 1600 to 2400 goes round to itself, one day after another. */
static void test_civil_round_trip(void **state)
{
    (void)state;
    int64_t prev = civil_to_days(1599, 12, 31);
    for (int64_t y = 1600; y < 2400; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= civil_days_in_month(y, m); d++) {
                int64_t days = civil_to_days(y, m, d), y2;
                int m2, d2;
                assert_int_equal(days, prev + 1);
                civil_from_days(days, &y2, &m2, &d2);
                if (y2 != y || m2 != m || d2 != d)
                    fail_msg("%lld-%d-%d came back as %lld-%d-%d", (long long)y, m, d,
                             (long long)y2, m2, d2);
                assert_int_equal(civil_iso_weekday(days), civil_iso_weekday(prev) % 7 + 1);
                prev = days;
            }
    assert_true(civil_is_leap(2000));
    assert_false(civil_is_leap(2100));
    assert_int_equal(civil_days_in_month(2024, 2), 29);
    assert_int_equal(civil_days_in_month(2026, 2), 28);
}

static void test_civil_dates_as_text(void **state)
{
    (void)state;
    int32_t d = -7;
    assert_int_equal(civil_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(civil_date_parse("2026-02-17", &d), 0);
    assert_int_equal(d, civil_to_days(2026, 2, 17));
    char out[CIVIL_DATE_LEN];
    civil_date_format(d, out);
    assert_string_equal(out, "2026-02-17");
    civil_date_format(civil_to_days(2026, 12, 31), out);
    assert_string_equal(out, "2026-12-31");
    civil_date_format(-1, out);
    assert_string_equal(out, "1969-12-31");
    assert_int_equal(civil_date_parse("2024-02-29", &d), 0);
    static const char *const bad[] = {"2026-02-29",  "2026-02-30", "2026-13-01", "2026-00-10",
                                      "2026-01-00",  "2026-1-01",  "2026-01-1",  "2026-01-01x",
                                      "2026/01/01",  "1899-12-31", "+026-01-01", "2026-+1-01",
                                      " 2026-01-01", "",           "2026"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (civil_date_parse(bad[i], &d) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(civil_date_parse(NULL, &d), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_helpers),
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_civil_dates_as_text),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("civil", tests, NULL, NULL);
}
