/* test_auth.c — API keys: the bearer header, the stored hash, the in-memory
 * table (auth.c) and key generation (apikey.c).
 *
 * The table must find every loaded key (by key and by id) and no other,
 * give each its scopes, channels and agent, keep each key's bucket across
 * reloads, forget revoked keys on the next reload, and keep the bootstrap
 * key (every scope) whatever PostgreSQL holds. Run one test by name:
 * test_auth <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apikey.h"
#include "auth.h"
#include "hex.h"

static void test_bearer(void **state)
{
    (void)state;
    size_t len = 0;
    const char *k = auth_bearer("Bearer abc", &len);
    assert_non_null(k);
    assert_int_equal(len, 3);
    assert_memory_equal(k, "abc", 3);
    k = auth_bearer("bearer   key-1  \t", &len);
    assert_non_null(k);
    assert_int_equal(len, 5);
    assert_memory_equal(k, "key-1", 5);
    assert_null(auth_bearer(NULL, &len));
    assert_null(auth_bearer("", &len));
    assert_null(auth_bearer("Bearer ", &len));
    assert_null(auth_bearer("Bearer    ", &len));
    assert_null(auth_bearer("Basic dGVzdDp0ZXN0", &len));
    assert_null(auth_bearer("abc", &len));
    assert_null(auth_bearer("Bearerabc", &len));
}

/* Basic credentials as Postmark sends those of its webhook URL
 * (https://user:key@host/...): the password is the key, the user free.
 * Encodings computed with Python's base64. */
static void test_basic_password(void **state)
{
    (void)state;
    char buf[AUTH_BASIC_MAX];
    size_t len = 0;
    const char *k = auth_basic_password("Basic cG9zdG1hcms6a2V5LTEyMw==", buf, sizeof buf, &len);
    assert_non_null(k); /* postmark:key-123 */
    assert_int_equal(len, 7);
    assert_memory_equal(k, "key-123", 7);
    k = auth_basic_password("basic  dXNlcjpwYTpzcw== ", buf, sizeof buf, &len);
    assert_non_null(k); /* user:pa:ss — the password may hold ":" */
    assert_string_equal(k, "pa:ss");
    k = auth_basic_password("Basic Oms=", buf, sizeof buf, &len);
    assert_non_null(k); /* ":k" — no user */
    assert_string_equal(k, "k");
    k = auth_basic_password("Basic eDp5eg==", buf, sizeof buf, &len);
    assert_string_equal(k, "yz");
    assert_null(auth_basic_password("Basic bm9jb2xvbg==", buf, sizeof buf, &len)); /* no ":" */
    assert_null(auth_basic_password("Basic dTo=", buf, sizeof buf, &len));         /* "u:" */
    assert_null(auth_basic_password("Basic !!!!", buf, sizeof buf, &len));
    assert_null(auth_basic_password("Basic abc", buf, sizeof buf, &len)); /* not padded */
    assert_null(auth_basic_password("Basic ", buf, sizeof buf, &len));
    assert_null(auth_basic_password("Bearer abc", buf, sizeof buf, &len));
    assert_null(auth_basic_password(NULL, buf, sizeof buf, &len));
    assert_null(auth_basic_password("Basic cG9zdG1hcms6a2V5LTEyMw==", buf, 8, &len)); /* room */
}

static void test_hash_is_sha256(void **state)
{
    (void)state;
    unsigned char h[AUTH_HASH_LEN];
    char hex[2 * AUTH_HASH_LEN + 1];
    assert_int_equal(auth_hash("abc", 3, h), 0);
    hex_encode(h, sizeof h, hex);
    /* FIPS 180-2's example. */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unsigned char back[AUTH_HASH_LEN];
    assert_int_equal(hex_decode(hex, strlen(hex), back, sizeof back), 0);
    assert_memory_equal(back, h, sizeof h);
    assert_int_equal(hex_decode("zz", 2, back, 1), -1);
    assert_int_equal(hex_decode("abcd", 4, back, 1), -1); /* too long */
    assert_int_equal(hex_decode("a", 1, back, 1), -1);    /* too short */
}

static void test_generate(void **state)
{
    (void)state;
    char a[APIKEY_LEN], b[APIKEY_LEN];
    assert_int_equal(apikey_generate(a), 0);
    assert_int_equal(apikey_generate(b), 0);
    assert_int_equal(strlen(a), APIKEY_LEN - 1);
    assert_memory_equal(a, APIKEY_PREFIX, 3);
    assert_string_not_equal(a, b);
    for (const char *p = a + 3; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            fail_msg("\"%s\" holds '%c', not base64url", a, *p);
}

struct keyset {
    char keys[40][16];
    unsigned char hashes[40][AUTH_HASH_LEN];
    char ids[40][ID_LEN];
    struct auth_row rows[40];
};

static void keyset_fill(struct keyset *s, size_t n, const char *channels_of_first)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(s->keys[i], sizeof s->keys[i], "key-%u", (unsigned)(i % 100));
        auth_hash(s->keys[i], strlen(s->keys[i]), s->hashes[i]);
        snprintf(s->ids[i], sizeof s->ids[i], "00000000-0000-4000-8000-%012u", (unsigned)(i % 100));
        s->rows[i] = (struct auth_row){
            s->ids[i], s->hashes[i], i == 0 ? channels_of_first : NULL, "ingest,read", NULL, 0};
    }
}

static void test_table(void **state)
{
    (void)state;
    struct ratelimit_conf rl = {0, 1};
    auth *a = auth_new("boot", &rl, "carebus_test");
    assert_non_null(a);
    assert_false(auth_loaded(a)); /* only auth_start_refresh loads */
    assert_int_equal(auth_count(a), 1);
    assert_non_null(auth_lookup(a, "boot", 4));
    const struct auth_key *boot = auth_lookup(a, "boot", 4);
    assert_string_equal(boot->grant.id, "bootstrap");
    assert_true(boot->unlimited);
    assert_int_equal(boot->grant.scopes, SCOPE_ALL);
    assert_true(boot->grant.channels == ACCESS_ALL_CHANNELS);
    assert_string_equal(boot->grant.agent_id, "");
    assert_ptr_equal(auth_lookup_id(a, "bootstrap"), boot);
    assert_null(auth_lookup(a, "boo", 3));
    assert_null(auth_lookup(a, NULL, 0));

    static struct keyset s;
    keyset_fill(&s, 40, "zalo,email,pigeon");
    assert_int_equal(auth_replace(a, s.rows, 40), 0);
    assert_int_equal(auth_count(a), 41);
    for (size_t i = 0; i < 40; i++) {
        const struct auth_key *k = auth_lookup(a, s.keys[i], strlen(s.keys[i]));
        if (!k)
            fail_msg("key %zu not found among 40", i);
        assert_string_equal(k->grant.id, s.ids[i]);
        assert_false(k->unlimited);
        assert_int_equal(k->grant.scopes, SCOPE_INGEST | SCOPE_READ);
        assert_ptr_equal(auth_lookup_id(a, s.ids[i]), k);
    }
    assert_null(auth_lookup_id(a, "00000000-0000-4000-8000-000000000040"));
    assert_null(auth_lookup_id(a, NULL));
    assert_non_null(auth_lookup(a, "boot", 4));
    assert_null(auth_lookup(a, "key-40", 6));

    /* Channels: the first key is limited (an unknown name is ignored). */
    struct access_denial d;
    const struct auth_key *k0 = auth_lookup(a, "key-0", 5);
    assert_true(access_channel(&k0->grant, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &d));
    assert_true(access_channel(&k0->grant, CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, &d));
    assert_false(access_channel(&k0->grant, CAREBUS__V1__CHANNEL__CHANNEL_PHONE, &d));
    assert_true(k0->grant.channels != ACCESS_ALL_CHANNELS);
    const struct auth_key *k1 = auth_lookup(a, "key-1", 5);
    assert_true(k1->grant.channels == ACCESS_ALL_CHANNELS);
    assert_true(access_channel(&k1->grant, CAREBUS__V1__CHANNEL__CHANNEL_PHONE, &d));

    /* A reload without key 1 (revoked) forgets it; the others stay. */
    s.rows[1] = s.rows[39];
    assert_int_equal(auth_replace(a, s.rows, 39), 0);
    assert_null(auth_lookup(a, "key-1", 5));
    assert_non_null(auth_lookup(a, "key-2", 5));
    assert_non_null(auth_lookup(a, "key-39", 6));
    assert_non_null(auth_lookup(a, "boot", 4));
    /* An empty table keeps the bootstrap key. */
    assert_int_equal(auth_replace(a, NULL, 0), 0);
    assert_int_equal(auth_count(a), 1);
    assert_non_null(auth_lookup(a, "boot", 4));
    auth_destroy(&a);
    assert_null(a);
}

static void test_buckets_survive_reload(void **state)
{
    (void)state;
    struct ratelimit_conf rl = {1, 2};
    auth *a = auth_new(NULL, &rl, "carebus_test");
    assert_non_null(a);
    assert_int_equal(auth_count(a), 0);
    static struct keyset s;
    keyset_fill(&s, 3, NULL);
    assert_int_equal(auth_replace(a, s.rows, 3), 0);
    struct auth_key *k = auth_lookup(a, "key-2", 5);
    int64_t t = INT64_C(5000000000);
    assert_int_equal(ratelimit_take(&k->bucket, &rl, t), 0);
    assert_int_equal(ratelimit_take(&k->bucket, &rl, t), 0);
    assert_true(ratelimit_take(&k->bucket, &rl, t) > 0);
    /* A reload must not refill the bucket. */
    assert_int_equal(auth_replace(a, s.rows, 3), 0);
    k = auth_lookup(a, "key-2", 5);
    assert_true(ratelimit_take(&k->bucket, &rl, t) > 0);
    /* Another key's bucket is its own. */
    assert_int_equal(ratelimit_take(&auth_lookup(a, "key-1", 5)->bucket, &rl, t), 0);
    auth_destroy(&a);
}

/* A key's channels are bits of a 32-bit mask (auth.h): every channel of the
 * schema must fit, or a new channel would be refused to every limited key. */
static void test_every_channel_fits_the_mask(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *d = &carebus__v1__channel__descriptor;
    struct access_grant g = {.channels = ACCESS_ALL_CHANNELS};
    struct access_denial why;
    for (size_t i = 0; i < vocab_count(d); i++) {
        int v = vocab_value(d, i);
        if (v >= 32)
            fail_msg("channel \"%s\" (%d) does not fit access_grant.channels", vocab_name(d, v), v);
        assert_true(access_channel(&g, (Carebus__V1__Channel)v, &why));
    }
}

/* Scopes and agents as the table's rows give them; a key bound to an agent
 * id longer than the API allows is refused, not cut to another agent's. */
static void test_scopes_and_agents(void **state)
{
    (void)state;
    struct ratelimit_conf rl = {0, 1};
    auth *a = auth_new(NULL, &rl, "carebus_test");
    assert_non_null(a);
    static struct keyset s;
    keyset_fill(&s, 4, "zalo");
    char long_agent[ACCESS_AGENT_MAX + 2];
    memset(long_agent, 'a', sizeof long_agent - 1);
    long_agent[sizeof long_agent - 1] = '\0';
    s.rows[0].scopes = "ingest,read";
    s.rows[1].scopes = "agent,read,teleport"; /* a scope of a newer build: ignored */
    s.rows[1].agent_id = "lan";
    s.rows[2].scopes = "supervisor, admin";
    s.rows[3].scopes = "agent";
    s.rows[3].agent_id = long_agent;
    assert_int_equal(auth_replace(a, s.rows, 4), 0);
    assert_int_equal(auth_count(a), 3);
    const struct auth_key *k = auth_lookup(a, "key-1", 5);
    assert_int_equal(k->grant.scopes, SCOPE_AGENT | SCOPE_READ);
    assert_string_equal(k->grant.agent_id, "lan");
    k = auth_lookup(a, "key-2", 5);
    assert_int_equal(k->grant.scopes, SCOPE_SUPERVISOR | SCOPE_ADMIN);
    assert_string_equal(k->grant.agent_id, "");
    assert_null(auth_lookup(a, "key-3", 5));
    auth_destroy(&a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_basic_password),
        cmocka_unit_test(test_hash_is_sha256),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_buckets_survive_reload),
        cmocka_unit_test(test_every_channel_fits_the_mask),
        cmocka_unit_test(test_scopes_and_agents),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
