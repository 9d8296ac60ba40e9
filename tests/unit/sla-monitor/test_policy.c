/* test_policy.c — services/sla-monitor/policy.c: which policy and calendar
 * hold a ticket (sla_config_select), no database.
 *
 * The configuration here: "regular" on vn-business, "vip" (segment vip) on
 * 24x7, "night" (segment wholesale) on 24x7; calendars 24x7, vn-business
 * and late (every day 18:00-24:00). The rule: a segment's own policy
 * (not regular) wins; otherwise the team's policy, else regular, on the
 * team's calendar, else that policy's; unknown names are ignored. Run one
 * test by name: test_policy <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define REG CAREBUS__V1__SEGMENT__SEGMENT_REGULAR
#define VIP CAREBUS__V1__SEGMENT__SEGMENT_VIP
#define WHOLESALE CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE
#define FR CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE
#define NORMAL CAREBUS__V1__PRIORITY__PRIORITY_NORMAL

static const char calendars[] =
    "{\"calendars\": ["
    " {\"id\": \"24x7\", \"always_open\": true},"
    " {\"id\": \"vn-business\", \"hours\": {\"mon\": [\"08:00-12:00\", \"13:00-17:30\"]}},"
    " {\"id\": \"late\", \"hours\": {\"mon\": [\"18:00-24:00\"], \"tue\": [\"18:00-24:00\"]}}]}";
static const char holidays[] = "{\"sets\": {}}";

static sla_config g_cfg;

static void add_policy(const char *id, Carebus__V1__Segment seg, const char *cal, int fr_secs)
{
    struct sla_policy *p = &g_cfg.pols[g_cfg.npols++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->segment = seg;
    p->cal = sla_config_calendar(&g_cfg, cal);
    p->warning_pct = 80;
    p->secs[NORMAL][FR] = fr_secs;
}

/* with_wholesale: whether segment wholesale has a policy of its own. */
static int setup_with(bool with_wholesale)
{
    char err[256];
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.cals = calendar_config_parse(calendars, holidays, err, sizeof err);
    g_cfg.pols = calloc(3, sizeof *g_cfg.pols);
    if (!g_cfg.cals || !g_cfg.pols)
        return -1;
    add_policy("regular", REG, "vn-business", 4 * 3600);
    add_policy("vip", VIP, "24x7", 3600);
    if (with_wholesale)
        add_policy("night", WHOLESALE, "24x7", 2 * 3600);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_with(true);
}

static int setup_no_wholesale(void **state)
{
    (void)state;
    return setup_with(false);
}

static int teardown(void **state)
{
    (void)state;
    calendar_config_destroy(&g_cfg.cals);
    free(g_cfg.pols);
    return 0;
}

/* Selects and checks the policy's id, calendar and first-response target. */
static void expect(Carebus__V1__Segment seg, const char *team_policy, const char *team_calendar,
                   const char *policy, const char *cal, int fr_secs)
{
    struct sla_policy out;
    memset(&out, 0xab, sizeof out);
    sla_config_select(&g_cfg, seg, team_policy, team_calendar, &out);
    assert_string_equal(out.id, policy);
    assert_non_null(out.cal);
    assert_string_equal(out.cal->id, cal);
    assert_int_equal(out.secs[NORMAL][FR], fr_secs);
    assert_int_equal(out.warning_pct, 80);
}

static void test_without_team_settings_the_segment_decides(void **state)
{
    (void)state;
    expect(REG, NULL, NULL, "regular", "vn-business", 4 * 3600);
    expect(VIP, NULL, NULL, "vip", "24x7", 3600);
    expect(WHOLESALE, NULL, NULL, "night", "24x7", 2 * 3600);
    expect(CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED, NULL, NULL, "regular", "vn-business",
           4 * 3600);
}

static void test_team_calendar_replaces_the_regular_policys(void **state)
{
    (void)state;
    expect(REG, NULL, "late", "regular", "late", 4 * 3600);
    expect(REG, NULL, "24x7", "regular", "24x7", 4 * 3600);
    /* The calendar is the team's; the configuration's stays as it was. */
    assert_string_equal(sla_config_policy(&g_cfg, REG)->cal->id, "vn-business");
}

static void test_team_policy_with_its_calendar_or_the_teams(void **state)
{
    (void)state;
    expect(REG, "vip", NULL, "vip", "24x7", 3600);
    expect(REG, "vip", "late", "vip", "late", 3600);
    expect(REG, "regular", "late", "regular", "late", 4 * 3600);
}

static void test_a_segments_own_policy_outranks_the_team(void **state)
{
    (void)state;
    expect(VIP, "regular", "late", "vip", "24x7", 3600);
    expect(WHOLESALE, "vip", "vn-business", "night", "24x7", 2 * 3600);
}

static void test_a_segment_without_a_policy_takes_the_teams(void **state)
{
    (void)state;
    expect(WHOLESALE, NULL, NULL, "regular", "vn-business", 4 * 3600);
    expect(WHOLESALE, "vip", "late", "vip", "late", 3600);
}

static void test_unknown_names_are_ignored(void **state)
{
    (void)state;
    expect(REG, "platinum", "moon", "regular", "vn-business", 4 * 3600);
    expect(REG, "vip", "moon", "vip", "24x7", 3600);
    expect(REG, "platinum", "late", "regular", "late", 4 * 3600);
    assert_null(sla_config_policy_id(&g_cfg, "platinum"));
    assert_null(sla_config_policy_id(&g_cfg, NULL));
    assert_string_equal(sla_config_policy_id(&g_cfg, "vip")->id, "vip");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_without_team_settings_the_segment_decides, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_team_calendar_replaces_the_regular_policys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_team_policy_with_its_calendar_or_the_teams, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_segments_own_policy_outranks_the_team, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_segment_without_a_policy_takes_the_teams,
                                        setup_no_wholesale, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names_are_ignored, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
