/* test_kpi.c — kpi.def and the SQL written from it (kpi.c, kpi_sql.c).
 *
 * Every KPI is whole (name, both labels, documentation, a well-formed
 * definition); the API's columns and the dashboard's cards are pinned in
 * order (new KPIs may only follow them); and the generated texts carry every
 * KPI and every measure where they belong. The SQL itself runs against
 * PostgreSQL in the integration tests (test_analytics_*.py). Run one test by
 * name: test_kpi <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kpi.h"

static void test_every_kpi_is_whole(void **state)
{
    (void)state;
    assert_string_equal(kpi_col_names[KPI_KEY], "key");
    for (int c = 1; c < KPI_NCOLS; c++) {
        const struct kpi_def *k = &kpi_defs[c];
        assert_non_null(k->name);
        assert_string_equal(kpi_col_names[c], k->name);
        for (int l = 0; l < 2; l++)
            if (!k->label[l] || !k->label[l][0])
                fail_msg("KPI %s has no %s label (kpi.def)", k->name, l ? "en" : "vi");
        if (!k->doc || strlen(k->doc) < 10)
            fail_msg("KPI %s is not documented (kpi.def)", k->name);
        for (int o = 1; o < c; o++)
            assert_string_not_equal(kpi_defs[o].name, k->name);
        switch (k->how) {
        case KPI_SUM:
        case KPI_LEVEL:
            assert_non_null(k->a);
            assert_int_equal(k->format, KPI_FMT_COUNT);
            assert_true(kpi_is_count(c));
            break;
        case KPI_RATIO:
        case KPI_PER_START:
            assert_non_null(k->a);
            assert_non_null(k->b);
            assert_true(k->scale == 1 || k->scale == 100);
            assert_int_not_equal(k->format, KPI_FMT_COUNT);
            assert_false(kpi_is_count(c));
            break;
        case KPI_P90:
            assert_true(k->metric >= 0 && k->metric < H_COUNT);
            assert_non_null(k->b);
            assert_int_equal(k->format, KPI_FMT_SECONDS);
            break;
        }
        assert_true(kpi_has_group(c, KPI_GROUP_DAY));
        assert_true(kpi_has_group(c, KPI_GROUP_ALL));
    }
    assert_false(kpi_is_count(KPI_KEY));
    assert_false(kpi_has_group(KPI_NCOLS, KPI_GROUP_ALL));
}

/* The API's and bi.kpi_daily's columns as they were published: a new KPI
 * goes after them (a view's columns can only grow at the end). */
static void test_columns_are_pinned(void **state)
{
    (void)state;
    static const char *const published[] = {
        "key",
        "contacts",
        "tickets_created",
        "tickets_solved",
        "fcr_pct",
        "csat_pct",
        "ces_avg",
        "survey_response_pct",
        "first_response_avg_s",
        "first_response_p90_s",
        "resolution_avg_s",
        "resolution_p90_s",
        "sla_compliance_pct",
        "sla_breaches",
        "backlog_open",
        "churn_pct",
        "contacts_per_ticket",
        "first_response_business_avg_s",
        "first_response_business_p90_s",
        "resolution_business_avg_s",
        "resolution_business_p90_s",
        "sla_first_response_pct",
        "sla_next_response_pct",
        "sla_resolution_pct",
        "backlog_pending",
        "backlog_1d",
        "backlog_3d",
        "backlog_7d",
        "backlog_older",
    };
    assert_true(KPI_NCOLS >= (int)(sizeof published / sizeof published[0]));
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
        assert_string_equal(kpi_col_names[i], published[i]);
    /* The dashboard's cards, in order: the first 16 KPIs. */
    int cards = 0;
    for (int c = 1; c < KPI_NCOLS; c++)
        if (kpi_defs[c].tile)
            assert_int_equal(c, ++cards);
    assert_true(cards >= 16);
    /* Churn is a customer KPI: per day, for the whole period and per segment. */
    for (int g = DIM_CHANNEL; g < DIM_COUNT; g++)
        assert_int_equal(kpi_has_group(KPI_CHURN_PCT, g), g == DIM_SEGMENT);
}

static bool has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

static void test_generated_sql_has_every_kpi(void **state)
{
    (void)state;
    const char *query = kpi_sql_query(), *view = kpi_sql_view();
    assert_non_null(query);
    assert_non_null(view);
    assert_ptr_equal(query, kpi_sql_query()); /* built once */
    char needle[160];
    for (int c = 1; c < KPI_NCOLS; c++) {
        /* "... AS name," or, for the last column, "... AS name\n" */
        snprintf(needle, sizeof needle, " AS %s%c", kpi_col_names[c],
                 c + 1 < KPI_NCOLS ? ',' : '\n');
        if (!has(view, needle))
            fail_msg("bi.kpi_daily lacks %s", kpi_col_names[c]);
        snprintf(needle, sizeof needle, "COMMENT ON COLUMN bi.kpi_daily.%s IS '", kpi_col_names[c]);
        assert_true(has(view, needle));
    }
    /* The doc's quotes are doubled inside the literal. */
    assert_true(has(view, "(by the contact''s own channel)"));
    assert_true(has(view, "CREATE OR REPLACE VIEW bi.kpi_daily AS"));
    assert_true(
        has(query, "CASE WHEN $3::smallint IN (-1, 0, 4) THEN analytics.ratio(cust_churned,"));
    assert_true(has(view, "CASE WHEN d.dim IN (0, 4) THEN analytics.ratio(cust_churned,"));
    /* One count and one histogram per P90 KPI after the columns. */
    assert_true(has(query, "coalesce(fr_count, 0)::bigint, coalesce(frb_hist, 0)::text"));
}

static void test_apply_daily_has_every_measure(void **state)
{
    (void)state;
    const char *sql = kpi_sql_apply_daily();
    assert_non_null(sql);
    char needle[96];
    for (int m = 0; m < M_COUNT; m++) {
        snprintf(needle, sizeof needle, "%s = a.%s + excluded.%s", contrib_measure_names[m],
                 contrib_measure_names[m], contrib_measure_names[m]);
        assert_true(has(sql, needle));
        snprintf(needle, sizeof needle, "AND a.%s = 0", contrib_measure_names[m]);
        assert_true(has(sql, needle));
    }
    for (int h = 0; h < H_COUNT; h++) {
        snprintf(needle, sizeof needle, "%s = a.%s + excluded.%s", contrib_hist_names[h],
                 contrib_hist_names[h], contrib_hist_names[h]);
        assert_true(has(sql, needle));
    }
    /* contrib_measures_text: the same columns, in order. */
    const char *text = contrib_measures_text();
    assert_true(strncmp(text, "contacts,tickets_created,", 25) == 0);
    assert_true(has(text, ",cust_churned,fr_hist,frb_hist,res_hist,resb_hist"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kpi_is_whole),
        cmocka_unit_test(test_columns_are_pinned),
        cmocka_unit_test(test_generated_sql_has_every_kpi),
        cmocka_unit_test(test_apply_daily_has_every_measure),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
