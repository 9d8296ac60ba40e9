/* test_access.c — access.c: the decision, a pure function of a key's grant,
 * the route's scope and what the router knows of the ticket.
 *
 * Each scope is refused what it may not do, with the scope that would allow
 * it; an agent key acts on its agent's and its teams' tickets only (a
 * supervisor's on any) and never in another agent's name; a key limited to
 * channels reads only the tickets and events of its channels, and nothing
 * that names no channel. Run one test by name: test_access <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "access.h"

#define ZALO CAREBUS__V1__CHANNEL__CHANNEL_ZALO
#define EMAIL CAREBUS__V1__CHANNEL__CHANNEL_EMAIL
#define PHONE CAREBUS__V1__CHANNEL__CHANNEL_PHONE

static struct access_grant grant(unsigned scopes, uint32_t channels, const char *agent)
{
    struct access_grant g = {.scopes = scopes, .channels = channels};
    snprintf(g.id, sizeof g.id, "00000000-0000-4000-8000-000000000001");
    snprintf(g.agent_id, sizeof g.agent_id, "%s", agent ? agent : "");
    return g;
}

static uint32_t bit(Carebus__V1__Channel c)
{
    return UINT32_C(1) << c;
}

static void test_each_scope_is_refused_what_it_may_not_do(void **state)
{
    (void)state;
    static const unsigned routes[] = {SCOPE_INGEST, SCOPE_READ, SCOPE_AGENT, SCOPE_SUPERVISOR,
                                      SCOPE_ADMIN};
    struct access_denial d;
    for (unsigned s = 1; s & SCOPE_ALL; s <<= 1) {
        struct access_grant g = grant(s, ACCESS_ALL_CHANNELS, NULL);
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            unsigned need = routes[i];
            bool want = need == s || (need == SCOPE_AGENT && s == SCOPE_SUPERVISOR);
            bool got = access_decide(&g, need, NULL, &d);
            if (got != want)
                fail_msg("a %s key on a %s route: %s", scope_name(s), scope_name(need),
                         got ? "allowed" : "refused");
            if (!got) {
                assert_int_equal(d.why, ACCESS_SCOPE);
                assert_int_equal(d.scope, need);
                char msg[64];
                snprintf(msg, sizeof msg, "this key lacks the \"%s\" scope", scope_name(need));
                assert_string_equal(d.message, msg);
                assert_null(d.field);
            } else {
                assert_int_equal(d.why, ACCESS_OK);
            }
        }
        assert_true(access_decide(&g, SCOPE_PUBLIC, NULL, &d));
    }
    /* A route stating no scope, or two, is open to nobody. */
    struct access_grant all = grant(SCOPE_ALL, ACCESS_ALL_CHANNELS, NULL);
    assert_false(access_decide(&all, 0, NULL, &d));
    assert_false(access_decide(&all, SCOPE_READ | SCOPE_INGEST, NULL, &d));
}

static void test_agent_key_acts_on_its_tickets_only(void **state)
{
    (void)state;
    struct access_denial d;
    const char *teams[] = {"billing", "returns"};
    struct access_grant lan = grant(SCOPE_AGENT | SCOPE_READ, ACCESS_ALL_CHANNELS, "lan");
    struct access_ticket mine = {"lan", "support", teams, 2, true};
    struct access_ticket team = {"", "returns", teams, 2, true};
    struct access_ticket queued = {NULL, "billing", teams, 2, true};
    struct access_ticket other = {"minh", "support", teams, 2, true};
    struct access_ticket nobody = {NULL, NULL, teams, 2, true};
    struct access_facts f = {.ticket = &mine};
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    f.ticket = &team;
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    f.ticket = &queued;
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    f.ticket = &other;
    assert_false(access_decide(&lan, SCOPE_AGENT, &f, &d));
    assert_int_equal(d.why, ACCESS_NOT_ITS_TICKET);
    assert_int_equal(d.scope, SCOPE_SUPERVISOR);
    assert_non_null(strstr(d.message, "\"lan\""));
    f.ticket = &nobody;
    assert_false(access_decide(&lan, SCOPE_AGENT, &f, &d));
    /* Reading is the read scope's, whoever's ticket it is. */
    f.ticket = &other;
    assert_true(access_decide(&lan, SCOPE_READ, &f, &d));

    /* A supervisor bound to an agent: any ticket, as that agent. */
    struct access_grant sup = grant(SCOPE_AGENT | SCOPE_SUPERVISOR, ACCESS_ALL_CHANNELS, "hoa");
    assert_true(access_decide(&sup, SCOPE_AGENT, &f, &d));
    /* A key with no agent (a supervisor's desk, or a key from before
     * scopes): any ticket, in whichever agent's name. */
    struct access_grant desk = grant(SCOPE_SUPERVISOR, ACCESS_ALL_CHANNELS, NULL);
    struct access_facts as_minh = {.ticket = &other, .as_agent = "minh", .as_field = "agent_id"};
    assert_true(access_decide(&desk, SCOPE_AGENT, &as_minh, &d));
    struct access_grant old =
        grant(SCOPE_INGEST | SCOPE_READ | SCOPE_AGENT, ACCESS_ALL_CHANNELS, NULL);
    assert_true(access_decide(&old, SCOPE_AGENT, &as_minh, &d));
    /* An event's actor: the agent, or else the key. */
    assert_string_equal(access_actor(&lan), "lan");
    assert_string_equal(access_actor(&desk), "00000000-0000-4000-8000-000000000001");
}

static void test_agent_key_never_acts_as_another(void **state)
{
    (void)state;
    struct access_denial d;
    struct access_grant lan = grant(SCOPE_AGENT, ACCESS_ALL_CHANNELS, "lan");
    struct access_facts f = {.as_agent = "minh", .as_field = "agent_id"};
    assert_false(access_decide(&lan, SCOPE_AGENT, &f, &d));
    assert_int_equal(d.why, ACCESS_OTHER_AGENT);
    assert_int_equal(d.scope, 0); /* no scope lets this key be another agent */
    assert_string_equal(d.field, "agent_id");
    assert_string_equal(d.message, "this key acts as agent \"lan\" only, not as \"minh\"");
    /* Not even with the supervisor scope. */
    struct access_grant sup = grant(SCOPE_AGENT | SCOPE_SUPERVISOR, ACCESS_ALL_CHANNELS, "lan");
    f.as_field = "actor";
    assert_false(access_decide(&sup, SCOPE_AGENT, &f, &d));
    assert_string_equal(d.field, "actor");
    /* Its own name, or none, is fine. */
    f.as_agent = "lan";
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    f.as_agent = "";
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    f.as_agent = NULL;
    assert_true(access_decide(&lan, SCOPE_AGENT, &f, &d));
    /* "lan" is not a prefix match of "lana". */
    f.as_agent = "lana";
    assert_false(access_decide(&lan, SCOPE_AGENT, &f, &d));
}

static void test_channel_limited_key_reads_its_channels_only(void **state)
{
    (void)state;
    struct access_denial d;
    struct access_grant zalo = grant(SCOPE_INGEST | SCOPE_READ, bit(ZALO), NULL);
    struct access_ticket within = {.within_channels = true};
    struct access_ticket beyond = {.within_channels = false};
    struct access_facts f = {.ticket = &within};
    assert_true(access_decide(&zalo, SCOPE_READ, &f, &d));
    f.ticket = &beyond;
    assert_false(access_decide(&zalo, SCOPE_READ, &f, &d));
    assert_int_equal(d.why, ACCESS_TICKET_CHANNELS);
    assert_int_equal(d.scope, 0);
    /* A key for every channel reads any ticket. */
    struct access_grant all = grant(SCOPE_READ, ACCESS_ALL_CHANNELS, NULL);
    assert_true(access_decide(&all, SCOPE_READ, &f, &d));
    /* The scope comes first: an ingest-only zalo key lacks read. */
    struct access_grant post_only = grant(SCOPE_INGEST, bit(ZALO), NULL);
    assert_false(access_decide(&post_only, SCOPE_READ, &f, &d));
    assert_int_equal(d.why, ACCESS_SCOPE);

    /* Posting: its channels only, and nothing that names none. */
    assert_true(access_channel(&zalo, ZALO, &d));
    assert_false(access_channel(&zalo, EMAIL, &d));
    assert_int_equal(d.why, ACCESS_CHANNEL);
    assert_string_equal(d.field, "channel");
    assert_false(access_channel(&zalo, (Carebus__V1__Channel)40, &d));
    assert_false(access_all_channels(&zalo, &d));
    assert_int_equal(d.why, ACCESS_ALL_CHANNELS_NEEDED);
    assert_true(access_all_channels(&all, &d));

    /* Events: of its channels; one without a channel is not its. */
    assert_true(access_event(&zalo, true, ZALO, &d));
    assert_false(access_event(&zalo, true, PHONE, &d));
    assert_false(access_event(&zalo, false, ZALO, &d));
    assert_true(access_event(&all, false, ZALO, &d));
}

static void test_event_channel(void **state)
{
    (void)state;
    Carebus__V1__Envelope ev = CAREBUS__V1__ENVELOPE__INIT;
    Carebus__V1__ContactReceived cr = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    Carebus__V1__AgentReplied ar = CAREBUS__V1__AGENT_REPLIED__INIT;
    Carebus__V1__CallEnded call = CAREBUS__V1__CALL_ENDED__INIT;
    Carebus__V1__TicketStatusChanged st = CAREBUS__V1__TICKET_STATUS_CHANGED__INIT;
    Carebus__V1__Channel c;
    cr.channel = ZALO;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &cr;
    assert_true(access_event_channel(&ev, &c));
    assert_int_equal(c, ZALO);
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED;
    ev.call_ended = &call;
    assert_true(access_event_channel(&ev, &c));
    assert_int_equal(c, PHONE);
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &ar;
    assert_false(access_event_channel(&ev, &c)); /* a reply on no channel */
    ar.channel = EMAIL;
    assert_true(access_event_channel(&ev, &c));
    assert_int_equal(c, EMAIL);
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED;
    ev.ticket_status_changed = &st;
    assert_false(access_event_channel(&ev, &c));
}

static void test_channels_mask_and_param(void **state)
{
    (void)state;
    int unknown = -1;
    assert_true(access_channels_mask(NULL, &unknown) == ACCESS_ALL_CHANNELS);
    assert_int_equal(unknown, 0);
    uint32_t m = access_channels_mask("zalo,email,pigeon", &unknown);
    assert_int_equal(m, bit(ZALO) | bit(EMAIL));
    assert_int_equal(unknown, 1);
    /* Nothing known: nothing allowed (never every channel). */
    assert_int_equal(access_channels_mask("pigeon", NULL), 0);

    char out[ACCESS_CHANNELS_PARAM_LEN];
    struct access_grant g = grant(SCOPE_READ, m, NULL);
    assert_string_equal(access_channels_param(&g, out, sizeof out), "{email,zalo}");
    g.channels = 0;
    assert_string_equal(access_channels_param(&g, out, sizeof out), "{}");
    g.channels = ACCESS_ALL_CHANNELS;
    assert_null(access_channels_param(&g, out, sizeof out));
    g.channels = m;
    assert_null(access_channels_param(&g, out, 6)); /* too small */
}

/* A key manages only keys within its own grant (POST, GET, DELETE
 * /v1/keys): no scope, channel or agent it lacks itself. */
static void test_within_its_own_grant(void **state)
{
    (void)state;
    struct access_denial d;
    struct access_grant boot = grant(SCOPE_ALL, ACCESS_ALL_CHANNELS, NULL);
    struct access_grant zalo_rw = grant(SCOPE_INGEST | SCOPE_READ, bit(ZALO), NULL);
    struct access_grant all_rw = grant(SCOPE_INGEST | SCOPE_READ, ACCESS_ALL_CHANNELS, NULL);
    struct access_grant lan = grant(SCOPE_AGENT | SCOPE_READ, ACCESS_ALL_CHANNELS, "lan");
    struct access_grant minh = grant(SCOPE_AGENT | SCOPE_READ, ACCESS_ALL_CHANNELS, "minh");
    /* The bootstrap key: anything. */
    assert_true(access_within(&boot, &zalo_rw, &d));
    assert_true(access_within(&boot, &lan, &d));
    assert_true(access_within(&boot, &boot, &d));
    /* An admin key for Zalo: Zalo keys of its scopes, never one for every
     * channel, nor one for another channel. */
    struct access_grant zadmin = grant(SCOPE_ADMIN | SCOPE_INGEST | SCOPE_READ, bit(ZALO), NULL);
    assert_true(access_within(&zadmin, &zalo_rw, &d));
    assert_int_equal(d.why, ACCESS_OK);
    assert_false(access_within(&zadmin, &all_rw, &d));
    assert_int_equal(d.why, ACCESS_CHANNEL);
    assert_int_equal(d.scope, 0);
    assert_string_equal(d.field, "channels");
    assert_non_null(strstr(d.message, "every channel"));
    struct access_grant both = grant(SCOPE_READ, bit(ZALO) | bit(EMAIL), NULL);
    assert_false(access_within(&zadmin, &both, &d));
    assert_string_equal(d.field, "channels");
    /* A key gives no scope it lacks: the first missing one is named. */
    struct access_grant admin = grant(SCOPE_ADMIN, ACCESS_ALL_CHANNELS, NULL);
    assert_false(access_within(&admin, &all_rw, &d));
    assert_int_equal(d.why, ACCESS_SCOPE);
    assert_int_equal(d.scope, SCOPE_INGEST);
    assert_string_equal(d.field, "scopes");
    assert_non_null(strstr(d.message, "lacks the \"ingest\" scope"));
    assert_false(access_within(&zadmin, &lan, &d));
    assert_int_equal(d.scope, SCOPE_AGENT);
    /* A key bound to an agent: keys bound to that agent only (an unbound
     * key could name any agent where a route takes one). */
    struct access_grant lan_admin =
        grant(SCOPE_ADMIN | SCOPE_AGENT | SCOPE_READ | SCOPE_INGEST, ACCESS_ALL_CHANNELS, "lan");
    assert_true(access_within(&lan_admin, &lan, &d));
    assert_false(access_within(&lan_admin, &all_rw, &d));
    assert_int_equal(d.why, ACCESS_OTHER_AGENT);
    assert_non_null(strstr(d.message, "any agent"));
    assert_false(access_within(&lan_admin, &minh, &d));
    assert_int_equal(d.why, ACCESS_OTHER_AGENT);
    assert_string_equal(d.field, "agent_id");
    assert_non_null(strstr(d.message, "\"minh\""));
    /* A key that expires: keys expiring no later, never one that does
     * not expire (the grant would outlive it). */
    struct access_grant day = admin, week = all_rw, forever = all_rw;
    day.scopes |= SCOPE_INGEST | SCOPE_READ;
    day.expires_us = 86400LL * 1000000;
    week.expires_us = 7 * 86400LL * 1000000;
    struct access_grant hour = all_rw;
    hour.expires_us = 3600LL * 1000000;
    assert_true(access_within(&day, &hour, &d));
    assert_false(access_within(&day, &week, &d));
    assert_int_equal(d.why, ACCESS_OUTLIVES);
    assert_string_equal(d.field, "expires_at");
    assert_non_null(strstr(d.message, "later"));
    assert_false(access_within(&day, &forever, &d));
    assert_non_null(strstr(d.message, "never"));
    assert_true(access_within(&boot, &week, &d));
}

/* A signed-in agent's key (POST /v1/sessions): read and agent, and
 * supervisor for a supervisor only. */
static void test_agent_scopes_by_role(void **state)
{
    (void)state;
    assert_int_equal(access_agent_scopes("agent"), SCOPE_READ | SCOPE_AGENT);
    assert_int_equal(access_agent_scopes("lead"), SCOPE_READ | SCOPE_AGENT);
    assert_int_equal(access_agent_scopes(NULL), SCOPE_READ | SCOPE_AGENT);
    assert_int_equal(access_agent_scopes("supervisor"),
                     SCOPE_READ | SCOPE_AGENT | SCOPE_SUPERVISOR);
    assert_int_equal(access_agent_scopes("Supervisor"), SCOPE_READ | SCOPE_AGENT);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_scope_is_refused_what_it_may_not_do),
        cmocka_unit_test(test_agent_key_acts_on_its_tickets_only),
        cmocka_unit_test(test_agent_key_never_acts_as_another),
        cmocka_unit_test(test_channel_limited_key_reads_its_channels_only),
        cmocka_unit_test(test_event_channel),
        cmocka_unit_test(test_channels_mask_and_param),
        cmocka_unit_test(test_agent_scopes_by_role),
        cmocka_unit_test(test_within_its_own_grant),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("access", tests, NULL, NULL);
}
