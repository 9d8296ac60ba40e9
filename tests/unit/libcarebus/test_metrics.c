/* test_metrics.c — metrics.c: add/set/get, the exposition format, threads
 * and a full table.
 *
 * The registry is one per process and never forgets a series, so each test
 * uses its own metric names, and the capacity test runs last (after it the
 * table is full). Run one test by name: test_metrics <name>.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* Occurrences of needle in haystack. */
static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *render(void)
{
    size_t len = 0;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_add_set_get(void **state)
{
    (void)state;
    assert_true(metrics_get("t_asg_total") == 0); /* unknown: 0, not created */
    metrics_add("t_asg_total", 1);
    metrics_add("t_asg_total", 2.5);
    assert_true(metrics_get("t_asg_total") == 3.5);
    metrics_set("t_asg_gauge", 7);
    metrics_set("t_asg_gauge", -2);
    assert_true(metrics_get("t_asg_gauge") == -2);
    metrics_add("t_asg_total{code=\"200\"}", 1);
    metrics_add("t_asg_total{code=\"500\"}", 4);
    assert_true(metrics_get("t_asg_total{code=\"200\"}") == 1);
    assert_true(metrics_get("t_asg_total{code=\"500\"}") == 4);
    assert_true(metrics_get("t_asg_total") == 3.5); /* labels make another series */
}

static void test_render_groups_families(void **state)
{
    (void)state;
    metrics_describe("t_req_total", "counter", "Requests answered");
    metrics_add("t_req_total{route=\"/a\",code=\"200\"}", 3);
    metrics_set("t_other", 1);
    /* Same family again after another one: still grouped under one header. */
    metrics_add("t_req_total{route=\"/b\",code=\"404\"}", 1);
    char *text = render();
    assert_int_equal(count(text, "# HELP t_req_total Requests answered\n"), 1);
    assert_int_equal(count(text, "# TYPE t_req_total counter\n"), 1);
    const char *help = strstr(text, "# HELP t_req_total ");
    const char *type = strstr(text, "# TYPE t_req_total ");
    const char *a = strstr(text, "\nt_req_total{route=\"/a\",code=\"200\"} 3\n");
    const char *b = strstr(text, "\nt_req_total{route=\"/b\",code=\"404\"} 1\n");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(help < type && type < a && a < b);
    /* No other family's line between the two series of t_req_total. */
    assert_null(memchr(a + 1, '#', (size_t)(b - a)));
    const char *other = strstr(text, "\nt_other 1\n");
    assert_non_null(other);
    assert_true(other < a || other > b);
    /* Undescribed: the series without HELP or TYPE. */
    assert_null(strstr(text, "# TYPE t_other "));
    free(text);
}

static void test_render_values(void **state)
{
    (void)state;
    metrics_set("t_val_int", 42);
    metrics_set("t_val_neg", -3);
    metrics_set("t_val_frac", 0.25);
    metrics_set("t_val_big", 1e300);
    char *text = render();
    assert_non_null(strstr(text, "\nt_val_int 42\n"));
    assert_non_null(strstr(text, "\nt_val_neg -3\n"));
    assert_non_null(strstr(text, "\nt_val_frac 0.25\n"));
    assert_non_null(strstr(text, "\nt_val_big 1.0000000000000001e+300\n"));
    free(text);
}

static void test_summary_family(void **state)
{
    (void)state;
    metrics_add("t_lat_seconds_sum{route=\"/x\"}", 0.5);
    metrics_add("t_lat_seconds_count{route=\"/x\"}", 1);
    metrics_describe("t_lat_seconds", "summary", "Latency");
    char *text = render();
    /* _sum and _count belong to the summary's family, announced once. */
    assert_int_equal(count(text, "# TYPE t_lat_seconds summary\n"), 1);
    assert_int_equal(count(text, "# TYPE t_lat_seconds_"), 0);
    const char *type = strstr(text, "# TYPE t_lat_seconds summary\n");
    const char *sum = strstr(text, "\nt_lat_seconds_sum{route=\"/x\"} 0.5\n");
    const char *cnt = strstr(text, "\nt_lat_seconds_count{route=\"/x\"} 1\n");
    assert_non_null(sum);
    assert_non_null(cnt);
    assert_true(type < sum && type < cnt);
    free(text);
}

static void test_help_escaped(void **state)
{
    (void)state;
    metrics_describe("t_esc", "gauge", "a\\b\nc");
    metrics_set("t_esc", 1);
    char *text = render();
    assert_non_null(strstr(text, "# HELP t_esc a\\\\b\\nc\n# TYPE t_esc gauge\nt_esc 1\n"));
    free(text);
}

#define THREADS 4
#define ADDS 20000

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS; i++)
        metrics_add("t_threads_total", 1);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_true(metrics_get("t_threads_total") == THREADS * ADDS);
}

static void test_bad_names_dropped(void **state)
{
    (void)state;
    double before = metrics_get("carebus_metrics_dropped_total");
    char longname[400];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    metrics_add(longname, 1);
    metrics_add("t_bad\nname", 1);
    metrics_add("", 1);
    assert_true(metrics_get("carebus_metrics_dropped_total") == before + 3);
    assert_true(metrics_get(longname) == 0);
}

/* Must run last: fills the table for good. */
static void test_capacity(void **state)
{
    (void)state;
    metrics_add("t_cap_existing", 1);
    double before = metrics_get("carebus_metrics_dropped_total");
    char name[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "t_cap_total{i=\"%d\"}", i);
        metrics_add(name, 1);
    }
    double dropped = metrics_get("carebus_metrics_dropped_total") - before;
    assert_true(dropped > 1000 && dropped < 2000);
    /* Existing series still count; a new one is still dropped. */
    metrics_add("t_cap_existing", 1);
    assert_true(metrics_get("t_cap_existing") == 2);
    metrics_set("t_cap_new", 5);
    assert_true(metrics_get("t_cap_new") == 0);
    assert_true(metrics_get("carebus_metrics_dropped_total") == before + dropped + 1);
    char *text = render();
    assert_non_null(strstr(text, "# TYPE carebus_metrics_dropped_total counter\n"));
    assert_non_null(strstr(text, "t_cap_total{i=\"0\"} 1\n"));
    assert_null(strstr(text, "t_cap_total{i=\"1999\"}"));
    free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_set_get),       cmocka_unit_test(test_render_groups_families),
        cmocka_unit_test(test_render_values),     cmocka_unit_test(test_summary_family),
        cmocka_unit_test(test_help_escaped),      cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bad_names_dropped), cmocka_unit_test(test_capacity),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
