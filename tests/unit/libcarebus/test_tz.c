/* test_tz.c — tz.c: TZif reading, offsets, local times and local days.
 *
 * Zones come from the system's tz database (/usr/share/zoneinfo, Debian's
 * tzdata). Expected offsets were computed independently with Python's
 * zoneinfo and zdump. Run one test by name: test_tz <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "civil.h"
#include "timeutil.h"
#include "tz.h"

#define US INT64_C(1000000)

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (time_parse_rfc3339(rfc3339, &us) != 0)
        fail_msg("bad time in test: %s", rfc3339);
    return us;
}

static int32_t hm(int h, int m)
{
    return h * 3600 + m * 60;
}

static void test_tz_offsets(void **state)
{
    (void)state;
    const char *err = NULL;
    tz *b = tz_load("Europe/Berlin", &err);
    tz *v = tz_load("Asia/Ho_Chi_Minh", &err);
    assert_non_null(b);
    assert_non_null(v);
    assert_string_equal(tz_name(b), "Europe/Berlin");
    /* 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
    assert_int_equal(tz_offset(b, 1774745999), 3600);
    assert_int_equal(tz_offset(b, 1774746000), 7200);
    assert_int_equal(tz_offset(b, 1792889999), 7200);
    assert_int_equal(tz_offset(b, 1792890000), 3600);
    /* 2090 comes from the footer rule, not from explicit transitions. */
    assert_int_equal(tz_offset(b, 3794173199), 3600);
    assert_int_equal(tz_offset(b, 3794173200), 7200);
    assert_int_equal(tz_offset(b, 3812921999), 7200);
    assert_int_equal(tz_offset(b, 3812922000), 3600);
    assert_int_equal(tz_offset(b, 171849600), 3600);
    assert_int_equal(tz_offset(v, 1774746000), 25200);
    assert_int_equal(tz_offset(v, 3794173200), 25200);
    tz_destroy(&b);
    tz_destroy(&v);
    assert_null(b);
}

static void test_tz_local_to_utc_gap_and_overlap(void **state)
{
    (void)state;
    const char *err = NULL;
    tz *b = tz_load("Europe/Berlin", &err);
    assert_non_null(b);
    int64_t day = civil_to_days(2026, 3, 29) * 86400;
    /* Before and after the gap: plain. */
    assert_int_equal(tz_local_to_utc(b, day + hm(1, 30)), at("2026-03-29T00:30:00Z") / US);
    assert_int_equal(tz_local_to_utc(b, day + hm(3, 0)), at("2026-03-29T01:00:00Z") / US);
    /* 02:30 does not exist: the offset from before (+01:00) applies, as in
     * PostgreSQL's '2026-03-29 02:30' AT TIME ZONE 'Europe/Berlin'. */
    assert_int_equal(tz_local_to_utc(b, day + hm(2, 30)), at("2026-03-29T01:30:00Z") / US);
    assert_int_equal(tz_local_to_utc(b, day + hm(2, 0)), at("2026-03-29T01:00:00Z") / US);
    /* 02:30 on 25 October exists twice: the offset from after (+01:00). */
    int64_t oct = civil_to_days(2026, 10, 25) * 86400;
    assert_int_equal(tz_local_to_utc(b, oct + hm(2, 30)), at("2026-10-25T01:30:00Z") / US);
    assert_int_equal(tz_local_to_utc(b, oct + hm(1, 59)), at("2026-10-24T23:59:00Z") / US);
    assert_int_equal(tz_local_to_utc(b, oct + hm(3, 0)), at("2026-10-25T02:00:00Z") / US);
    tz_destroy(&b);
}

static void test_tz_rejects_bad_names_and_files(void **state)
{
    (void)state;
    const char *err = NULL;
    assert_null(tz_load("../../etc/passwd", &err));
    assert_non_null(err);
    assert_null(tz_load("/etc/localtime", &err));
    assert_null(tz_load("Mars/Olympus_Mons", &err));
    assert_non_null(strstr(err, "no such zone"));
    assert_null(tz_load("", &err));
    static const uint8_t junk[] = "TZif2 but not really a zone file at all, too short";
    assert_null(tz_parse("x", junk, sizeof junk, &err));
    assert_null(tz_parse("x", (const uint8_t *)"", 0, &err));
}

/* Local days: a day's first instant, and the day of every instant, across
 * the changes of Atlantic/Azores, whose midnight is skipped in March
 * (00:00 -01 -> 01:00 +00) and happens twice in October (01:00 +00 ->
 * 00:00 -01). */
static void test_tz_local_days(void **state)
{
    (void)state;
    const char *err = NULL;
    tz *v = tz_load("Asia/Ho_Chi_Minh", &err);
    tz *a = tz_load("Atlantic/Azores", &err);
    assert_non_null(v);
    assert_non_null(a);
    /* 16:59:59Z is 23:59:59 in Ho Chi Minh City; 17:00Z the next day. */
    int64_t d = civil_to_days(2026, 3, 2);
    assert_int_equal(tz_local_day(v, at("2026-03-02T16:59:59.999999Z")), d);
    assert_int_equal(tz_local_day(v, at("2026-03-02T17:00:00Z")), d + 1);
    assert_int_equal(tz_day_start_us(v, d), at("2026-03-01T17:00:00Z"));
    /* Before the epoch, days still floor. */
    assert_int_equal(tz_local_day(v, at("1969-12-31T12:00:00Z")), -1);
    /* Azores, 29 March 2026: midnight does not exist, the day starts at
     * 01:00 +00. */
    int64_t mar = civil_to_days(2026, 3, 29);
    assert_int_equal(tz_day_start_us(a, mar), at("2026-03-29T01:00:00Z"));
    assert_int_equal(tz_local_day(a, at("2026-03-29T00:59:59Z")), mar - 1);
    assert_int_equal(tz_local_day(a, at("2026-03-29T01:00:00Z")), mar);
    /* 25 October 2026: 00:00-01:00 happens twice; the day starts at the
     * first midnight (00:00 +00 = 00:00Z). */
    int64_t oct = civil_to_days(2026, 10, 25);
    assert_int_equal(tz_day_start_us(a, oct), at("2026-10-25T00:00:00Z"));
    assert_int_equal(tz_local_day(a, at("2026-10-24T23:59:59Z")), oct - 1);
    assert_int_equal(tz_local_day(a, at("2026-10-25T00:30:00Z")), oct);
    assert_int_equal(tz_local_day(a, at("2026-10-25T01:30:00Z")), oct);
    assert_int_equal(tz_day_start_us(a, oct + 1), at("2026-10-26T01:00:00Z"));
    /* Every day of 2026: the start is in the day, the instant before not. */
    for (int64_t day = civil_to_days(2026, 1, 1); day < civil_to_days(2027, 1, 1); day++) {
        assert_int_equal(tz_local_day(a, tz_day_start_us(a, day)), day);
        assert_int_equal(tz_local_day(a, tz_day_start_us(a, day) - 1), day - 1);
    }
    tz_destroy(&v);
    tz_destroy(&a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_offsets),
        cmocka_unit_test(test_tz_local_to_utc_gap_and_overlap),
        cmocka_unit_test(test_tz_rejects_bad_names_and_files),
        cmocka_unit_test(test_tz_local_days),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
