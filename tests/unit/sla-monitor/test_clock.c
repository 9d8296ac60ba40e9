/* test_clock.c — services/sla-monitor/clock.c: the real clock's timerfd and
 * the file clock's inotify watch, driven by a real loop.
 *
 * Every loop run is bounded by a guard timer that fails the test. Run one
 * test by name: test_clock <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "loop.h"
#include "timeutil.h"

static char g_path[128];
static int g_calls;
static loop *g_loop;

static void write_clock(const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", g_path);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, g_path), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/test_clock_%ld", (long)getpid());
    g_calls = 0;
    g_loop = loop_new();
    return g_loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    loop_destroy(&g_loop);
    unlink(g_path);
    return 0;
}

static void on_clock(void *arg)
{
    (void)arg;
    g_calls++;
    loop_stop(g_loop);
}

static int guard(loop *l, void *arg)
{
    (void)l;
    (void)arg;
    fail_msg("the clock did not call back in time");
    return -1;
}

static void test_specs(void **state)
{
    (void)state;
    const char *err = NULL;
    sla_clock *c = sla_clock_new(NULL, &err);
    assert_non_null(c);
    assert_true(sla_clock_is_real(c));
    int64_t now = time_now_us();
    assert_true(llabs(sla_clock_now(c) - now) < 5000000);
    assert_int_equal(sla_clock_reload(c), 0);
    sla_clock_destroy(&c);
    assert_null(c);
    c = sla_clock_new("real", &err);
    assert_non_null(c);
    sla_clock_destroy(&c);
    assert_null(sla_clock_new("fake", &err));
    assert_non_null(err);
    assert_null(sla_clock_new("file:", &err));
    assert_null(sla_clock_new("file:/nonexistent/dir/clock", &err));
    write_clock("not a time");
    char spec[160];
    snprintf(spec, sizeof spec, "file:%s", g_path);
    assert_null(sla_clock_new(spec, &err));
    write_clock("  2026-02-13T16:30:00+07:00\n");
    c = sla_clock_new(spec, &err);
    assert_non_null(c);
    assert_false(sla_clock_is_real(c));
    int64_t want;
    assert_int_equal(time_parse_rfc3339("2026-02-13T16:30:00+07:00", &want), 0);
    assert_int_equal(sla_clock_now(c), want);
    write_clock("1771000000000000");
    assert_int_equal(sla_clock_reload(c), 1);
    assert_int_equal(sla_clock_now(c), INT64_C(1771000000000000));
    assert_int_equal(sla_clock_reload(c), 0);
    write_clock("garbage");
    assert_int_equal(sla_clock_reload(c), -1);
    assert_int_equal(sla_clock_now(c), INT64_C(1771000000000000)); /* kept */
    sla_clock_destroy(&c);
}

static void test_real_clock_wakes_at_the_instant(void **state)
{
    (void)state;
    const char *err = NULL;
    sla_clock *c = sla_clock_new("real", &err);
    assert_non_null(c);
    assert_int_equal(sla_clock_attach(c, g_loop, on_clock, NULL), 0);
    int64_t due = time_now_us() + 150000;
    sla_clock_arm(c, due, -1);
    int id = loop_add_timer(g_loop, 5000, guard, NULL);
    assert_int_equal(loop_run(g_loop), 0);
    loop_remove_timer(g_loop, id);
    assert_int_equal(g_calls, 1);
    assert_true(time_now_us() >= due); /* never early for the real clock */
    sla_clock_destroy(&c);
}

/* loop_run returns for good once stopped: one wake-up per test. */
static void test_real_clock_retry_without_instant(void **state)
{
    (void)state;
    const char *err = NULL;
    sla_clock *c = sla_clock_new("real", &err);
    assert_non_null(c);
    assert_int_equal(sla_clock_attach(c, g_loop, on_clock, NULL), 0);
    int64_t start = time_now_us();
    sla_clock_arm(c, INT64_MAX, 30);
    int id = loop_add_timer(g_loop, 5000, guard, NULL);
    assert_int_equal(loop_run(g_loop), 0);
    loop_remove_timer(g_loop, id);
    assert_int_equal(g_calls, 1);
    assert_true(time_now_us() - start >= 30000);
    sla_clock_destroy(&c);
}

static void test_real_clock_past_instant_fires_at_once(void **state)
{
    (void)state;
    const char *err = NULL;
    sla_clock *c = sla_clock_new("real", &err);
    assert_non_null(c);
    assert_int_equal(sla_clock_attach(c, g_loop, on_clock, NULL), 0);
    sla_clock_arm(c, time_now_us() - 1000000, 60000);
    int id = loop_add_timer(g_loop, 5000, guard, NULL);
    assert_int_equal(loop_run(g_loop), 0);
    loop_remove_timer(g_loop, id);
    assert_int_equal(g_calls, 1);
    sla_clock_destroy(&c);
}

static int move_clock(loop *l, void *arg)
{
    (void)l;
    (void)arg;
    write_clock("2026-02-13T17:00:00+07:00\n");
    return 0;
}

static void test_file_clock_wakes_when_the_file_moves(void **state)
{
    (void)state;
    write_clock("2026-02-13T16:30:00+07:00\n");
    char spec[160];
    snprintf(spec, sizeof spec, "file:%s", g_path);
    const char *err = NULL;
    sla_clock *c = sla_clock_new(spec, &err);
    assert_non_null(c);
    assert_int_equal(sla_clock_attach(c, g_loop, on_clock, NULL), 0);
    /* Armed for the future of a clock that stands still: nothing until the
     * file moves (written by a loop timer, atomically by rename). */
    int64_t t1700;
    assert_int_equal(time_parse_rfc3339("2026-02-13T17:00:00+07:00", &t1700), 0);
    sla_clock_arm(c, t1700, -1);
    int w = loop_add_timer(g_loop, 100, move_clock, NULL);
    int id = loop_add_timer(g_loop, 5000, guard, NULL);
    assert_int_equal(loop_run(g_loop), 0);
    loop_remove_timer(g_loop, w);
    loop_remove_timer(g_loop, id);
    assert_int_equal(g_calls, 1);
    assert_int_equal(sla_clock_now(c), t1700);
    sla_clock_destroy(&c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_specs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_clock_wakes_at_the_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_clock_retry_without_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_clock_past_instant_fires_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_clock_wakes_when_the_file_moves, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
