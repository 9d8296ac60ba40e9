/* test_keyspec.c — keyspec.c: a new API key's request, the rules
 * carebusctl keys create and POST /v1/keys share.
 *
 * Scopes and channels are exact names this build knows (an unknown one is
 * named with its place, "scopes[1]"), at least one when named, the
 * defaults otherwise; carebusctl's comma lists trim blanks and skip empty
 * names; a name and an agent id are 1 to 128 bytes of UTF-8 without
 * control characters; the agent scope and an agent id go together; an
 * expiry is in the future. A key made from a spec has the API's format, a
 * fresh id and secret each time, and the statement's parameters: text[]
 * literals, SQL NULL for every channel, no agent, no expiry.
 * Run one test by name: test_keyspec <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyspec.h"

#define ZALO CAREBUS__V1__CHANNEL__CHANNEL_ZALO
#define EMAIL CAREBUS__V1__CHANNEL__CHANNEL_EMAIL
#define NOW 1800000000000000LL

static uint32_t bit(Carebus__V1__Channel c)
{
    return UINT32_C(1) << c;
}

static void test_defaults(void **state)
{
    (void)state;
    struct keyspec s;
    struct keyspec_error e;
    keyspec_init(&s);
    assert_int_equal(s.scopes, SCOPE_INGEST | SCOPE_READ);
    assert_true(s.channels == ACCESS_ALL_CHANNELS);
    assert_null(s.agent_id);
    assert_int_equal(s.expires_us, 0);
    /* A name is all it needs. */
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "name");
    s.name = "zalo bridge";
    assert_int_equal(keyspec_check(&s, NOW, &e), 0);
}

static void test_scopes_and_channels_are_known_names(void **state)
{
    (void)state;
    struct keyspec s;
    struct keyspec_error e;
    keyspec_init(&s);
    const char *scopes[] = {"read", "ingest", "read"};
    assert_int_equal(keyspec_set_scopes(&s, scopes, 3, &e), 0);
    assert_int_equal(s.scopes, SCOPE_INGEST | SCOPE_READ);
    const char *admin[] = {"admin"};
    assert_int_equal(keyspec_set_scopes(&s, admin, 1, &e), 0);
    assert_int_equal(s.scopes, SCOPE_ADMIN); /* replaced, not added */
    /* Exact names only: case, blanks and lists are refused, by place. */
    const char *bad[][2] = {{"read", "Read"},
                            {"read", " read"},
                            {"read", "ingest,read"},
                            {"read", "teleport"},
                            {"read", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(keyspec_set_scopes(&s, bad[i], 2, &e), -1);
        assert_string_equal(e.field, "scopes[1]");
        assert_non_null(strstr(e.message, "unknown scope"));
        assert_non_null(strstr(e.message, "ingest, read, agent, supervisor, admin"));
    }
    assert_int_equal(keyspec_set_scopes(&s, scopes, 0, &e), -1);
    assert_string_equal(e.field, "scopes");

    const char *channels[] = {"zalo", "email", "zalo"};
    assert_int_equal(keyspec_set_channels(&s, channels, 3, &e), 0);
    assert_true(s.channels == (bit(ZALO) | bit(EMAIL)));
    const char *pigeon[] = {"pigeon"};
    assert_int_equal(keyspec_set_channels(&s, pigeon, 1, &e), -1);
    assert_string_equal(e.field, "channels[0]");
    assert_non_null(strstr(e.message, "\"pigeon\""));
    assert_non_null(strstr(e.message, "zalo"));
    const char *unspecified[] = {"zalo", "unspecified"};
    assert_int_equal(keyspec_set_channels(&s, unspecified, 2, &e), -1);
    assert_string_equal(e.field, "channels[1]");
    assert_int_equal(keyspec_set_channels(&s, channels, 0, &e), -1);
    assert_string_equal(e.field, "channels");
    /* At most KEYSPEC_LIST_MAX names. */
    const char *many[KEYSPEC_LIST_MAX + 1];
    for (size_t i = 0; i <= KEYSPEC_LIST_MAX; i++)
        many[i] = "zalo";
    assert_int_equal(keyspec_set_channels(&s, many, KEYSPEC_LIST_MAX, &e), 0);
    assert_int_equal(keyspec_set_channels(&s, many, KEYSPEC_LIST_MAX + 1, &e), -1);
    assert_string_equal(e.field, "channels");
}

/* carebusctl's --scopes and --channels. */
static void test_comma_lists(void **state)
{
    (void)state;
    struct keyspec s;
    struct keyspec_error e;
    keyspec_init(&s);
    assert_int_equal(keyspec_set_lists(&s, NULL, NULL, &e), 0);
    assert_int_equal(s.scopes, SCOPE_INGEST | SCOPE_READ);
    assert_true(s.channels == ACCESS_ALL_CHANNELS);
    assert_int_equal(keyspec_set_lists(&s, " agent , supervisor,,admin ", "zalo, email", &e), 0);
    assert_int_equal(s.scopes, SCOPE_AGENT | SCOPE_SUPERVISOR | SCOPE_ADMIN);
    assert_true(s.channels == (bit(ZALO) | bit(EMAIL)));
    assert_int_equal(keyspec_set_lists(&s, "read,teleport", NULL, &e), -1);
    assert_string_equal(e.field, "scopes[1]");
    assert_non_null(strstr(e.message, "\"teleport\""));
    assert_int_equal(keyspec_set_lists(&s, NULL, "zalo,pigeon", &e), -1);
    assert_string_equal(e.field, "channels[1]");
    /* Named, but none. */
    assert_int_equal(keyspec_set_lists(&s, " , ", NULL, &e), -1);
    assert_string_equal(e.field, "scopes");
    assert_int_equal(keyspec_set_lists(&s, NULL, "", &e), -1);
    assert_string_equal(e.field, "channels");
    char longlist[2048];
    memset(longlist, 'a', sizeof longlist - 1);
    longlist[sizeof longlist - 1] = '\0';
    assert_int_equal(keyspec_set_lists(&s, longlist, NULL, &e), -1);
    assert_string_equal(e.field, "scopes");
}

static void test_names_and_agents(void **state)
{
    (void)state;
    struct keyspec s;
    struct keyspec_error e;
    keyspec_init(&s);
    char n128[129], n129[130];
    memset(n128, 'x', 128);
    n128[128] = '\0';
    memset(n129, 'x', 129);
    n129[129] = '\0';
    const char *good[] = {"x", n128, "Cầu nối Zalo", "crm: hubspot"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        s.name = good[i];
        if (keyspec_check(&s, NOW, &e) != 0)
            fail_msg("name %zu refused: %s", i, e.message);
    }
    const char *bad[] = {"", "   ", n129, "tab\there", "bell\a", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.name = bad[i];
        assert_int_equal(keyspec_check(&s, NOW, &e), -1);
        assert_string_equal(e.field, "name");
    }
    s.name = "desk";
    /* The agent scope and an agent id go together. */
    s.scopes = SCOPE_AGENT | SCOPE_READ;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "agent_id");
    s.agent_id = "lan";
    assert_int_equal(keyspec_check(&s, NOW, &e), 0);
    s.scopes = SCOPE_SUPERVISOR | SCOPE_READ;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "agent_id");
    s.scopes = SCOPE_AGENT;
    s.agent_id = n129;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "agent_id");
    s.agent_id = "";
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "agent_id");
    s.agent_id = n128;
    assert_int_equal(keyspec_check(&s, NOW, &e), 0);
    s.scopes = 0;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "scopes");
}

static void test_expiry_in_the_future(void **state)
{
    (void)state;
    struct keyspec s;
    struct keyspec_error e;
    keyspec_init(&s);
    s.name = "temp";
    s.expires_us = NOW + 1;
    assert_int_equal(keyspec_check(&s, NOW, &e), 0);
    s.expires_us = NOW;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
    assert_string_equal(e.field, "expires_at");
    s.expires_us = 1;
    assert_int_equal(keyspec_check(&s, NOW, &e), -1);
}

static void test_mint(void **state)
{
    (void)state;
    struct keyspec s;
    keyspec_init(&s);
    s.name = "zalo bridge";
    struct keyspec_new a, b;
    assert_int_equal(keyspec_mint(&s, &a), 0);
    assert_int_equal(keyspec_mint(&s, &b), 0);
    assert_int_equal(strlen(a.key), APIKEY_LEN - 1);
    assert_memory_equal(a.key, "cb_", 3);
    assert_string_not_equal(a.key, b.key);
    assert_string_not_equal(a.id, b.id);
    assert_true(id_valid(a.id));
    /* The parameters: id, name, the key's SHA-256 in hex, channels,
     * scopes, agent, expiry. */
    unsigned char h[APIKEY_HASH_LEN];
    assert_int_equal(apikey_hash(a.key, strlen(a.key), h), 0);
    char hex[2 * APIKEY_HASH_LEN + 1];
    for (size_t i = 0; i < APIKEY_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    assert_string_equal(a.params[0], a.id);
    assert_string_equal(a.params[1], "zalo bridge");
    assert_string_equal(a.params[2], hex);
    assert_null(a.params[3]); /* every channel */
    assert_string_equal(a.params[4], "{ingest,read}");
    assert_null(a.params[5]);
    assert_null(a.params[6]);
    keyspec_wipe(&a);
    assert_int_equal(a.key[0], 0);

    const char *ch[] = {"zalo", "email"};
    const char *sc[] = {"read", "agent", "supervisor"};
    struct keyspec_error e;
    assert_int_equal(keyspec_set_channels(&s, ch, 2, &e), 0);
    assert_int_equal(keyspec_set_scopes(&s, sc, 3, &e), 0);
    s.agent_id = "lan";
    s.expires_us = NOW;
    assert_int_equal(keyspec_mint(&s, &b), 0);
    assert_string_equal(b.params[3], "{email,zalo}"); /* the schema's order */
    assert_string_equal(b.params[4], "{read,agent,supervisor}");
    assert_string_equal(b.params[5], "lan");
    assert_string_equal(b.params[6], "1800000000000000");
    /* Its grant is what the key table will give it. */
    struct access_grant g;
    keyspec_grant(&s, b.id, &g);
    assert_string_equal(g.id, b.id);
    assert_int_equal(g.scopes, SCOPE_READ | SCOPE_AGENT | SCOPE_SUPERVISOR);
    assert_true(g.channels == (bit(ZALO) | bit(EMAIL)));
    assert_string_equal(g.agent_id, "lan");
    keyspec_wipe(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_scopes_and_channels_are_known_names),
        cmocka_unit_test(test_comma_lists),
        cmocka_unit_test(test_names_and_agents),
        cmocka_unit_test(test_expiry_in_the_future),
        cmocka_unit_test(test_mint),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("keyspec", tests, NULL, NULL);
}
