/* test_fold.c — services/sla-monitor/fold.c: the clock rules, no database.
 *
 * Most tests use a 24/7 calendar so that business time is plain time and
 * the expected instants are easy to read: T0 + minutes. The policy (normal
 * priority): first response 1h, next response 2h, resolution 10h, warning
 * at 80%. Run one test by name: test_fold <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "fold.h"
#include "policy.h"
#include "timeutil.h"

#define US INT64_C(1000000)
#define MIN (60 * US)
#define HOUR (60 * MIN)
/* 2026-11-23T09:00:00+07:00, a Monday */
#define T0 INT64_C(1795399200000000)

#define FR CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE
#define NR CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE
#define RES CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION

static calendar *g_always, *g_office;
static struct sla_policy g_pol;
static struct sla_rows g_rows;

static int setup(void **state)
{
    (void)state;
    const char *err = NULL;
    g_always = calendar_new("24x7", "Asia/Ho_Chi_Minh", true, &err);
    g_office = calendar_new("vn-business", "Asia/Ho_Chi_Minh", false, &err);
    if (!g_always || !g_office)
        return -1;
    for (int wd = 1; wd <= 5; wd++) {
        calendar_add_span(g_office, wd, 8 * 3600, 12 * 3600);
        calendar_add_span(g_office, wd, 13 * 3600, 17 * 3600 + 1800);
    }
    calendar_add_span(g_office, 6, 8 * 3600, 12 * 3600);
    for (int d = 14; d <= 22; d++)
        calendar_add_holiday(g_office, 2026, 2, d);
    if (calendar_finish(g_always, &err) != 0 || calendar_finish(g_office, &err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    calendar_destroy(&g_always);
    calendar_destroy(&g_office);
    sla_rows_release(&g_rows);
    return 0;
}

static void policy(const calendar *cal, int pct)
{
    memset(&g_pol, 0, sizeof g_pol);
    snprintf(g_pol.id, sizeof g_pol.id, "test");
    g_pol.segment = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    g_pol.cal = cal;
    g_pol.warning_pct = pct;
    for (int p = 1; p <= 4; p++) {
        int k = p == CAREBUS__V1__PRIORITY__PRIORITY_URGENT ? 4 : 1;
        g_pol.secs[p][FR] = 3600 / k;
        g_pol.secs[p][NR] = 7200 / k;
        g_pol.secs[p][RES] = 36000 / k;
    }
}

struct emitted {
    Carebus__V1__SlaTarget t;
    uint32_t cycle;
    bool breach;
};

static bool emitted_fn(void *arg, Carebus__V1__SlaTarget t, uint32_t cycle, bool breach)
{
    for (const struct emitted *e = arg; e->t; e++)
        if (e->t == t && e->cycle == cycle && e->breach == breach)
            return true;
    return false;
}

static void fold_with(const struct sla_fact *facts, size_t n, Carebus__V1__Priority prio,
                      const struct emitted *em)
{
    struct sla_fold_in in = {
        .facts = facts,
        .nfacts = n,
        .policy = &g_pol,
        .priority = prio,
        .emitted = em ? emitted_fn : NULL,
        .arg = (void *)em,
    };
    assert_int_equal(sla_fold(&in, &g_rows), 0);
}

#define FOLD(...)                                                                                  \
    do {                                                                                           \
        const struct sla_fact f_[] = {__VA_ARGS__};                                                \
        fold_with(f_, sizeof f_ / sizeof f_[0], CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, NULL);     \
    } while (0)

static const struct sla_row *find(Carebus__V1__SlaTarget t, uint32_t cycle)
{
    for (size_t i = 0; i < g_rows.n; i++)
        if (g_rows.v[i].target == t && g_rows.v[i].cycle == cycle)
            return &g_rows.v[i];
    fail_msg("no row for target %d cycle %u", (int)t, cycle);
    return NULL;
}

static size_t count(Carebus__V1__SlaTarget t)
{
    size_t n = 0;
    for (size_t i = 0; i < g_rows.n; i++)
        n += g_rows.v[i].target == t;
    return n;
}

#define F(kind, at)                                                                                \
    {                                                                                              \
        (at), SLA_FACT_##kind                                                                      \
    }

static void test_no_opened_no_targets(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(CUSTOMER, T0), F(REPLY, T0 + MIN));
    assert_int_equal(g_rows.n, 0);
}

static void test_first_response_stops_at_first_reply(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(CUSTOMER, T0), F(REPLY, T0 + 30 * MIN), F(REPLY, T0 + 50 * MIN));
    const struct sla_row *fr = find(FR, 0);
    assert_int_equal(fr->status, SLA_ACHIEVED);
    assert_int_equal(fr->achieved_at, T0 + 30 * MIN);
    assert_int_equal(fr->due_at, T0 + HOUR);
    assert_int_equal(fr->remaining_us, 30 * MIN);
    assert_false(fr->breached);
    assert_int_equal(fr->next_fire_at, 0);
    const struct sla_row *res = find(RES, 0);
    assert_int_equal(res->status, SLA_RUNNING);
    assert_int_equal(res->due_at, T0 + 10 * HOUR);
    assert_int_equal(res->warn_at, T0 + 8 * HOUR);
    assert_int_equal(res->next_fire_at, T0 + 8 * HOUR);
    assert_int_equal(count(NR), 0); /* the customer has not written again */
}

static void test_first_response_late_is_breached(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(REPLY, T0 + 2 * HOUR));
    const struct sla_row *fr = find(FR, 0);
    assert_int_equal(fr->status, SLA_ACHIEVED);
    assert_true(fr->breached);
    assert_int_equal(fr->remaining_us, -HOUR);
    /* Running, not yet replied: the timers are the warning, then the breach. */
    FOLD(F(OPENED, T0), F(CUSTOMER, T0 + MIN));
    fr = find(FR, 0);
    assert_int_equal(fr->status, SLA_RUNNING);
    assert_int_equal(fr->warn_at, T0 + 48 * MIN);
    assert_int_equal(fr->next_fire_at, T0 + 48 * MIN);
    const struct emitted warned[] = {{FR, 0, false}, {0, 0, false}};
    const struct sla_fact f[] = {F(OPENED, T0)};
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, warned);
    assert_true(find(FR, 0)->warned);
    assert_int_equal(find(FR, 0)->next_fire_at, T0 + HOUR);
    const struct emitted both[] = {{FR, 0, false}, {FR, 0, true}, {0, 0, false}};
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, both);
    assert_true(find(FR, 0)->breached);
    assert_int_equal(find(FR, 0)->next_fire_at, 0);
    /* A breach published before the warning: no warning any more. */
    const struct emitted breach_only[] = {{FR, 0, true}, {0, 0, false}};
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, breach_only);
    assert_false(find(FR, 0)->warned);
    assert_int_equal(find(FR, 0)->next_fire_at, 0);
}

static void test_next_response_cycles(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(CUSTOMER, T0), F(REPLY, T0 + 10 * MIN),
         F(CUSTOMER, T0 + HOUR),            /* opens cycle 0 */
         F(CUSTOMER, T0 + HOUR + 10 * MIN), /* still cycle 0 */
         F(REPLY, T0 + 2 * HOUR),           /* meets cycle 0 */
         F(CUSTOMER, T0 + 3 * HOUR));       /* opens cycle 1 */
    assert_int_equal(count(NR), 2);
    const struct sla_row *n0 = find(NR, 0), *n1 = find(NR, 1);
    assert_int_equal(n0->started_at, T0 + HOUR);
    assert_int_equal(n0->status, SLA_ACHIEVED);
    assert_int_equal(n0->achieved_at, T0 + 2 * HOUR);
    assert_int_equal(n0->remaining_us, HOUR);
    assert_int_equal(n1->status, SLA_RUNNING);
    assert_int_equal(n1->started_at, T0 + 3 * HOUR);
    assert_int_equal(n1->due_at, T0 + 5 * HOUR);
    assert_int_equal(n1->warn_at, T0 + 3 * HOUR + 96 * MIN);
    /* First response was met by the first reply, once. */
    assert_int_equal(count(FR), 1);
    assert_int_equal(find(FR, 0)->achieved_at, T0 + 10 * MIN);
}

static void test_resolution_pauses_while_pending(void **state)
{
    (void)state;
    policy(g_always, 80);
    /* 2h used, pending for 3h, resumed by the customer's reply: 8h left. */
    FOLD(F(OPENED, T0), F(REPLY, T0 + HOUR), F(PENDING, T0 + 2 * HOUR), F(CUSTOMER, T0 + 5 * HOUR));
    const struct sla_row *res = find(RES, 0);
    assert_int_equal(res->status, SLA_RUNNING);
    assert_int_equal(res->started_at, T0);
    assert_int_equal(res->due_at, T0 + 13 * HOUR);
    /* 80% of 10h = 8h used: 2h before the pause, 6h after it. */
    assert_int_equal(res->warn_at, T0 + 11 * HOUR);
    /* The customer's message after the reply also opened a next response. */
    assert_int_equal(find(NR, 0)->started_at, T0 + 5 * HOUR);

    /* While pending: paused, no deadline, no timer, the budget left shown. */
    FOLD(F(OPENED, T0), F(REPLY, T0 + HOUR), F(PENDING, T0 + 2 * HOUR));
    res = find(RES, 0);
    assert_int_equal(res->status, SLA_PAUSED);
    assert_int_equal(res->remaining_us, 8 * HOUR);
    assert_int_equal(res->next_fire_at, 0);
    assert_false(res->breached);

    /* A status back to open resumes too; a second pending pauses again. */
    FOLD(F(OPENED, T0), F(PENDING, T0 + 2 * HOUR), F(OPEN, T0 + 3 * HOUR),
         F(PENDING, T0 + 4 * HOUR), F(OPEN, T0 + 6 * HOUR));
    res = find(RES, 0);
    assert_int_equal(res->status, SLA_RUNNING);
    /* used: 2h + 1h; 7h left from T0+6h */
    assert_int_equal(res->due_at, T0 + 13 * HOUR);
    /* First response does not pause. */
    assert_int_equal(find(FR, 0)->due_at, T0 + HOUR);
}

static void test_paused_after_deadline_is_breached(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(REPLY, T0 + 10 * MIN), F(PENDING, T0 + 11 * HOUR));
    const struct sla_row *res = find(RES, 0);
    assert_int_equal(res->status, SLA_PAUSED);
    assert_true(res->breached);
    assert_int_equal(res->remaining_us, -HOUR);
    /* Resumed, still breached, nothing left to fire. */
    FOLD(F(OPENED, T0), F(REPLY, T0 + 10 * MIN), F(PENDING, T0 + 11 * HOUR),
         F(CUSTOMER, T0 + 12 * HOUR));
    res = find(RES, 0);
    assert_int_equal(res->status, SLA_RUNNING);
    assert_true(res->breached);
    assert_int_equal(res->next_fire_at, 0);
}

static void test_solve_and_reopen_restarts_resolution(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(REPLY, T0 + 10 * MIN), F(SOLVED, T0 + 3 * HOUR),
         F(REOPENED, T0 + 20 * HOUR), F(CUSTOMER, T0 + 20 * HOUR));
    assert_int_equal(count(RES), 2);
    const struct sla_row *r0 = find(RES, 0), *r1 = find(RES, 1);
    assert_int_equal(r0->status, SLA_ACHIEVED);
    assert_int_equal(r0->achieved_at, T0 + 3 * HOUR);
    assert_int_equal(r0->remaining_us, 7 * HOUR);
    assert_false(r0->breached);
    assert_int_equal(r1->status, SLA_RUNNING);
    assert_int_equal(r1->started_at, T0 + 20 * HOUR);
    assert_int_equal(r1->due_at, T0 + 30 * HOUR); /* the full target again */
    /* The reopening message waits for an answer. */
    assert_int_equal(find(NR, 0)->started_at, T0 + 20 * HOUR);

    /* The same reopen seen twice (router's ticket.reopened and a status
     * back to open) is one cycle; a status "open" after a solve reopens. */
    FOLD(F(OPENED, T0), F(SOLVED, T0 + HOUR), F(OPEN, T0 + 2 * HOUR), F(REOPENED, T0 + 2 * HOUR));
    assert_int_equal(count(RES), 2);
    assert_int_equal(find(RES, 1)->started_at, T0 + 2 * HOUR);
    /* Solved twice (ingest's request and the router's event): one stop. */
    FOLD(F(OPENED, T0), F(SOLVED, T0 + HOUR), F(SOLVED, T0 + HOUR + MIN));
    assert_int_equal(find(RES, 0)->achieved_at, T0 + HOUR);
}

static void test_solve_cancels_responses_close_is_final(void **state)
{
    (void)state;
    policy(g_always, 80);
    FOLD(F(OPENED, T0), F(SOLVED, T0 + 30 * MIN));
    assert_int_equal(find(FR, 0)->status, SLA_CANCELLED);
    assert_int_equal(find(FR, 0)->cancelled_at, T0 + 30 * MIN);
    assert_int_equal(find(FR, 0)->next_fire_at, 0);
    assert_int_equal(find(RES, 0)->status, SLA_ACHIEVED);

    FOLD(F(OPENED, T0), F(REPLY, T0 + MIN), F(CLOSED, T0 + HOUR), F(CUSTOMER, T0 + 2 * HOUR),
         F(REOPENED, T0 + 2 * HOUR), F(REPLY, T0 + 3 * HOUR));
    assert_int_equal(g_rows.n, 2); /* FR and RES 0: nothing after the close */
    assert_int_equal(find(RES, 0)->status, SLA_ACHIEVED);
    assert_int_equal(find(RES, 0)->achieved_at, T0 + HOUR);
}

static void test_facts_before_opening_count_at_opening(void **state)
{
    (void)state;
    policy(g_always, 80);
    /* The agents' tool stamped the reply a few seconds before the
     * customer's channel stamped the contact. */
    FOLD(F(REPLY, T0 - 5 * US), F(OPENED, T0));
    assert_int_equal(find(FR, 0)->status, SLA_ACHIEVED);
    assert_int_equal(find(FR, 0)->achieved_at, T0);
    assert_false(find(FR, 0)->breached);
}

static void test_priority_and_untracked_targets(void **state)
{
    (void)state;
    policy(g_always, 80);
    const struct sla_fact f[] = {F(OPENED, T0)};
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_URGENT, NULL);
    assert_int_equal(find(FR, 0)->due_at, T0 + 15 * MIN);
    assert_int_equal(find(RES, 0)->due_at, T0 + (10 * HOUR) / 4);
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_UNSPECIFIED, NULL);
    assert_int_equal(find(FR, 0)->due_at, T0 + HOUR); /* normal */
    g_pol.secs[CAREBUS__V1__PRIORITY__PRIORITY_NORMAL][FR] = 0;
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, NULL);
    assert_int_equal(count(FR), 0);
    assert_int_equal(count(RES), 1);
    /* Without warnings the first timer is the deadline. */
    policy(g_always, 0);
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, NULL);
    assert_int_equal(find(FR, 0)->warn_at, 0);
    assert_int_equal(find(FR, 0)->next_fire_at, T0 + HOUR);
}

static void test_business_hours_and_tet(void **state)
{
    (void)state;
    policy(g_office, 80);
    int64_t fri;
    assert_int_equal(time_parse_rfc3339("2026-02-13T16:30:00+07:00", &fri), 0);
    int64_t want_fr, want_warn;
    /* A 4h first response (urgent would be 15 min: use normal with 4h). */
    g_pol.secs[CAREBUS__V1__PRIORITY__PRIORITY_NORMAL][FR] = 4 * 3600;
    const struct sla_fact f[] = {F(OPENED, fri)};
    fold_with(f, 1, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, NULL);
    assert_int_equal(time_parse_rfc3339("2026-02-23T11:00:00+07:00", &want_fr), 0);
    assert_int_equal(find(FR, 0)->due_at, want_fr);
    /* 80% of 4h = 3h12m: 1h on Friday, 2h12m from Monday 08:00. */
    assert_int_equal(time_parse_rfc3339("2026-02-23T10:12:00+07:00", &want_warn), 0);
    assert_int_equal(find(FR, 0)->warn_at, want_warn);
    /* Paused over the weekend costs nothing either way. */
    int64_t sat, mon;
    assert_int_equal(time_parse_rfc3339("2026-11-28T11:00:00+07:00", &sat), 0);
    assert_int_equal(time_parse_rfc3339("2026-11-30T08:00:00+07:00", &mon), 0);
    const struct sla_fact g[] = {F(OPENED, sat - HOUR), F(PENDING, sat), F(CUSTOMER, mon)};
    fold_with(g, 3, CAREBUS__V1__PRIORITY__PRIORITY_NORMAL, NULL);
    /* 1h used on Saturday; 9h left from Monday 08:00: 08-12, 13-17:30 (8.5h),
     * then 0.5h on Tuesday. */
    int64_t want;
    assert_int_equal(time_parse_rfc3339("2026-12-01T08:30:00+07:00", &want), 0);
    assert_int_equal(find(RES, 0)->due_at, want);
}

static void test_names(void **state)
{
    (void)state;
    enum sla_fact_kind k;
    for (int i = 0; i < SLA_FACT_NKINDS; i++) {
        assert_int_equal(sla_fact_kind_parse(sla_fact_kind_name((enum sla_fact_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_int_equal(sla_fact_kind_parse("transferred", &k), -1);
    assert_null(sla_fact_kind_name(SLA_FACT_NKINDS));
    Carebus__V1__SlaTarget t;
    assert_int_equal(sla_target_parse("next_response", &t), 0);
    assert_int_equal(t, NR);
    assert_int_equal(sla_target_parse("nope", &t), -1);
    assert_null(sla_target_name(CAREBUS__V1__SLA_TARGET__SLA_TARGET_UNSPECIFIED));
    assert_string_equal(sla_status_name(SLA_PAUSED), "paused");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_opened_no_targets),
        cmocka_unit_test(test_first_response_stops_at_first_reply),
        cmocka_unit_test(test_first_response_late_is_breached),
        cmocka_unit_test(test_next_response_cycles),
        cmocka_unit_test(test_resolution_pauses_while_pending),
        cmocka_unit_test(test_paused_after_deadline_is_breached),
        cmocka_unit_test(test_solve_and_reopen_restarts_resolution),
        cmocka_unit_test(test_solve_cancels_responses_close_is_final),
        cmocka_unit_test(test_facts_before_opening_count_at_opening),
        cmocka_unit_test(test_priority_and_untracked_targets),
        cmocka_unit_test(test_business_hours_and_tet),
        cmocka_unit_test(test_names),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("fold", tests, setup, teardown);
}
