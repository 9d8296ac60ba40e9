/* test_manual.c — the pure rules of the work API's events in the router:
 * a person's priority and category overrides (manual.h), what agent.saved
 * and team.saved set (agents.h, teams.h: the fields the update mask names,
 * or all), a team's saved lead, and when an offline agent's grace is over
 * (offline.h). The events' effects on tickets, queues and the log are
 * driven through the API by tests/integration/test_work_api.py. Run one
 * test by name: test_manual <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agents.h"
#include "manual.h"
#include "offline.h"
#include "teams.h"

#define SEC INT64_C(1000000)

static void test_priority_override(void **state)
{
    (void)state;
    struct rules_priority p = {.rank = 2, .nreasons = 2};
    strcpy(p.reasons[0], "segment:vip +1");
    strcpy(p.reasons[1], "category:complaint +1");
    manual_priority(0, &p); /* none: the rules' */
    assert_int_equal(p.rank, 2);
    assert_int_equal(p.nreasons, 2);
    manual_priority(5, &p); /* no such rank */
    assert_int_equal(p.rank, 2);
    manual_priority(1, &p);
    assert_int_equal(p.rank, 1);
    assert_int_equal(p.nreasons, 1);
    assert_string_equal(p.reasons[0], "manual:low");
    manual_priority(4, &p);
    assert_string_equal(p.reasons[0], "manual:urgent");
}

static void test_rules_category(void **state)
{
    (void)state;
    m_ticket t = {.category = CAREBUS__V1__CATEGORY__CATEGORY_BILLING};
    assert_int_equal(manual_rules_category(&t), CAREBUS__V1__CATEGORY__CATEGORY_BILLING);
    t.cat_override = CAREBUS__V1__CATEGORY__CATEGORY_COMPLAINT;
    t.category = t.cat_override;
    t.cat_rules = CAREBUS__V1__CATEGORY__CATEGORY_OTHER;
    assert_int_equal(manual_rules_category(&t), CAREBUS__V1__CATEGORY__CATEGORY_OTHER);
}

static void test_offline_due(void **state)
{
    (void)state;
    int64_t since = 1000 * SEC, grace = 300 * SEC;
    assert_false(offline_due(MODEL_NONE, since + grace * 10, grace));
    assert_false(offline_due(since, since, grace));
    assert_false(offline_due(since, since + grace - 1, grace));
    assert_true(offline_due(since, since + grace, grace));
    assert_true(offline_due(since, since + grace + 1, 0));
    assert_true(offline_due(since, since, 0));
    /* A clock behind the log's time is never due. */
    assert_false(offline_due(since, since - SEC, 0));
}

static void test_agent_saved_whole_and_masked(void **state)
{
    (void)state;
    model m;
    model_init(&m, NULL, NULL, 0);
    int a = agents_get_or_add(&m, "lan");
    assert_int_equal(agents_get_or_add(&m, "lan"), a);
    m_agent *ag = &m.agent[a];
    assert_true(ag->active);
    assert_int_equal(ag->saved, MODEL_NONE);
    assert_int_equal(ag->presence, CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE);

    char *teams[] = {"support", "", "complaints", "support"};
    char *langs[] = {"vi", "en"};
    Carebus__V1__AgentSaved s = CAREBUS__V1__AGENT_SAVED__INIT;
    s.agent_id = "lan";
    s.name = "Nguyễn Lan";
    s.email = "lan@example.vn";
    s.teams = teams;
    s.n_teams = 4;
    s.languages = langs;
    s.n_languages = 2;
    s.capacity = 5;
    s.role = CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_LEAD;
    s.active = true;
    s.password_hash = "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA";
    agents_apply(&m, ag, &s, 10 * SEC);
    assert_string_equal(ag->name, "Nguyễn Lan");
    assert_string_equal(ag->email, "lan@example.vn");
    assert_int_equal(ag->nteams, 2); /* blank and repeated names left out */
    assert_string_equal(ag->teams[0], "support");
    assert_string_equal(ag->teams[1], "complaints");
    assert_int_equal(ag->nlanguages, 2);
    assert_int_equal(ag->capacity, 5);
    assert_int_equal(ag->role, CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_LEAD);
    assert_string_equal(ag->password_hash, s.password_hash);
    assert_int_equal(ag->saved, 10 * SEC);
    assert_true(ag->dirty);

    /* A whole save without a password keeps the one set. */
    s.password_hash = "";
    s.capacity = 1000000;
    agents_apply(&m, ag, &s, 11 * SEC);
    assert_non_null(ag->password_hash);
    assert_int_equal(ag->capacity, AGENTS_CAPACITY_MAX);

    /* A masked save changes what it names only; an unknown role keeps
     * the one set. */
    char *mask[] = {"active", "role", "password_hash"};
    Carebus__V1__AgentSaved p = CAREBUS__V1__AGENT_SAVED__INIT;
    p.agent_id = "lan";
    p.update_mask = mask;
    p.n_update_mask = 3;
    p.active = false;
    p.role = (Carebus__V1__AgentRole)9;
    p.password_hash = "";
    agents_apply(&m, ag, &p, 12 * SEC);
    assert_false(ag->active);
    assert_null(ag->password_hash); /* named and empty: cleared */
    assert_int_equal(ag->role, CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_LEAD);
    assert_string_equal(ag->name, "Nguyễn Lan");
    assert_int_equal(ag->nteams, 2);
    assert_int_equal(ag->saved, 12 * SEC);
    model_release(&m);
}

static void test_team_saved_and_lead(void **state)
{
    (void)state;
    model m;
    model_init(&m, NULL, NULL, 0);
    m_team n = {.id = "vip-care",
                .active = true,
                .saved = MODEL_NONE,
                .created = MODEL_NONE,
                .updated = MODEL_NONE};
    int k = model_add_team(&m, &n);
    assert_int_equal(teams_lead(&m, "vip-care"), -1);

    Carebus__V1__TeamSaved s = CAREBUS__V1__TEAM_SAVED__INIT;
    s.team_id = "vip-care";
    s.name = "VIP care";
    s.lead_agent_id = "minh";
    s.calendar = "24x7";
    s.sla_policy = "vip";
    s.active = true;
    teams_apply(&m, &m.team[k], &s, 5 * SEC);
    assert_string_equal(m.team[k].name, "VIP care");
    assert_int_equal(m.team[k].created, 5 * SEC);
    /* The lead must be a known, active agent. */
    assert_int_equal(teams_lead(&m, "vip-care"), -1);
    int a = agents_get_or_add(&m, "minh");
    assert_int_equal(teams_lead(&m, "vip-care"), a);
    m.agent[a].active = false;
    assert_int_equal(teams_lead(&m, "vip-care"), -1);
    m.agent[a].active = true;

    char *mask[] = {"sla_policy", "active"};
    Carebus__V1__TeamSaved p = CAREBUS__V1__TEAM_SAVED__INIT;
    p.team_id = "vip-care";
    p.update_mask = mask;
    p.n_update_mask = 2;
    p.sla_policy = "";
    p.active = false;
    teams_apply(&m, &m.team[k], &p, 6 * SEC);
    assert_null(m.team[k].sla_policy);
    assert_false(m.team[k].active);
    assert_string_equal(m.team[k].calendar, "24x7");
    assert_string_equal(m.team[k].lead, "minh");
    assert_int_equal(m.team[k].created, 5 * SEC);
    assert_int_equal(m.team[k].updated, 6 * SEC);
    model_release(&m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_override),
        cmocka_unit_test(test_rules_category),
        cmocka_unit_test(test_offline_due),
        cmocka_unit_test(test_agent_saved_whole_and_masked),
        cmocka_unit_test(test_team_saved_and_lead),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("manual", tests, NULL, NULL);
}
