/* test_subscriptions.c — subscriptions.c's parsers and secrets.
 *
 * A whole body gives the subscription.saved courier applies (new id, no
 * mask); a PATCH body names exactly the fields it gives (the update_mask,
 * "secret" for a rotation); each mistake names its field; a secret is
 * "whsec_" and the base64 of 32 fresh random bytes. Run one test by name:
 * test_subscriptions <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "subscriptions.h"
#include "testjson.h"

#define NOW INT64_C(1800000000000000)
#define SUB_ID "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static json_t *load(const char *text)
{
    return testjson_load(text, JSON_DECODE_ANY);
}

/* Parses text (PATCH when update); field NULL: accepted. */
static void check(bool update, const char *text, const char *field, struct sub_write *s,
                  json_t **keep)
{
    json_t *j = load(text);
    struct message_error err;
    memset(&err, 0, sizeof err);
    int rc = update ? subscriptions_update_parse(j, SUB_ID, NOW, s, &err)
                    : subscriptions_create_parse(j, NOW, s, &err);
    if (!field && rc != 0)
        fail_msg("refused (%s: %s): %s", err.field, err.message, text);
    if (field && rc == 0)
        fail_msg("accepted, want \"%s\" refused: %s", field, text);
    if (field)
        assert_string_equal(err.field, field);
    if (keep)
        *keep = j;
    else
        json_decref(j);
}

static void test_create(void **state)
{
    (void)state;
    struct sub_write s;
    json_t *j;
    check(false,
          "{\"url\":\"https://crm.example/hook?x=1\",\"event_types\":[\"ticket.*\","
          "\"message.outbound\"],\"channels\":[\"chat\"],\"description\":\"CRM\","
          "\"unknown\":1}",
          NULL, &s, &j);
    assert_int_equal(s.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED);
    assert_string_equal(s.ev.type, "subscription.saved");
    assert_int_equal(s.ev.occurred_at->seconds, NOW / 1000000);
    const Carebus__V1__SubscriptionSaved *m = s.ev.subscription_saved;
    assert_ptr_equal(m, &s.saved);
    assert_true(strlen(m->subscription_id) == 36 && strcmp(m->subscription_id, s.id) == 0);
    assert_string_equal(m->url, "https://crm.example/hook?x=1");
    assert_int_equal(m->n_event_types, 2);
    assert_string_equal(m->event_types[1], "message.outbound");
    assert_int_equal(m->n_channels, 1);
    assert_string_equal(m->channels[0], "chat");
    assert_string_equal(m->description, "CRM");
    assert_true(m->active);
    assert_int_equal(m->n_update_mask, 0);
    assert_string_equal(m->secret, "");
    json_decref(j);

    /* Defaults: active, no channels, no description; a new id each time. */
    char first[ID_LEN];
    check(false, "{\"url\":\"http://127.0.0.1:9/\",\"event_types\":[\"*\"]}", NULL, &s, NULL);
    snprintf(first, sizeof first, "%s", s.id);
    assert_true(s.saved.active);
    assert_int_equal(s.saved.n_channels, 0);
    assert_null(s.saved.channels);
    check(false, "{\"url\":\"http://127.0.0.1:9/\",\"event_types\":[\"*\"],\"active\":false}", NULL,
          &s, NULL);
    assert_false(s.saved.active);
    assert_string_not_equal(s.id, first);
}

static void test_create_mistakes(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"[]", ""},
        {"{\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\" \",\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\"ftp://x.example/\",\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\"x.example/hook\",\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\"https://\",\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\"http://x.example/\\u0001\",\"event_types\":[\"*\"]}", "url"},
        {"{\"url\":\"http://x.example/\"}", "event_types"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[]}", "event_types"},
        {"{\"url\":\"http://x.example/\",\"event_types\":{}}", "event_types"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"ticket.nope\"]}", "event_types[0]"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"*\",\"a b\"]}", "event_types[1]"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"*\"],\"channels\":[\"fax\"]}",
         "channels[0]"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"*\"],\"channels\":[\"\"]}",
         "channels[0]"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"*\"],\"active\":\"true\"}", "active"},
        {"{\"url\":\"http://x.example/\",\"event_types\":[\"*\"],\"description\":7}",
         "description"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sub_write s;
        check(false, bad[i].body, bad[i].field, &s, NULL);
    }
}

static void test_update(void **state)
{
    (void)state;
    struct sub_write s;
    json_t *j;
    check(true, "{\"active\":true,\"url\":\"https://new.example/\"}", NULL, &s, &j);
    const Carebus__V1__SubscriptionSaved *m = &s.saved;
    assert_string_equal(m->subscription_id, SUB_ID);
    assert_int_equal(m->n_update_mask, 2);
    assert_string_equal(m->update_mask[0], "url");
    assert_string_equal(m->update_mask[1], "active");
    assert_true(m->active);
    assert_false(s.rotate);
    json_decref(j);

    check(true, "{\"rotate_secret\":true}", NULL, &s, NULL);
    assert_true(s.rotate);
    assert_int_equal(s.saved.n_update_mask, 1);
    assert_string_equal(s.saved.update_mask[0], "secret");

    check(true,
          "{\"event_types\":[\"sla.*\"],\"channels\":[],\"description\":\"\",\"active\":false,"
          "\"rotate_secret\":true}",
          NULL, &s, NULL);
    assert_int_equal(s.saved.n_update_mask, 5);
    assert_false(s.saved.active);
    assert_int_equal(s.saved.n_channels, 0);

    /* A null member is an absent one. */
    check(true, "{\"url\":null,\"event_types\":null,\"description\":\"x\"}", NULL, &s, NULL);
    assert_int_equal(s.saved.n_update_mask, 1);
    assert_string_equal(s.saved.update_mask[0], "description");
}

static void test_update_mistakes(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{}", ""},
        {"{\"rotate_secret\":false}", ""},
        {"{\"url\":\"\"}", "url"},
        {"{\"url\":\"mailto:a@b.example\"}", "url"},
        {"{\"event_types\":[]}", "event_types"},
        {"{\"event_types\":[\"nope\"]}", "event_types[0]"},
        {"{\"channels\":[\"fax\"]}", "channels[0]"},
        {"{\"active\":1}", "active"},
        {"{\"rotate_secret\":\"yes\"}", "rotate_secret"},
        {"\"x\"", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sub_write s;
        check(true, bad[i].body, bad[i].field, &s, NULL);
    }
}

static void test_delete(void **state)
{
    (void)state;
    struct sub_write s;
    subscriptions_delete_init(SUB_ID, NOW, &s);
    assert_int_equal(s.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_DELETED);
    assert_string_equal(s.ev.type, "subscription.deleted");
    assert_string_equal(s.ev.subscription_deleted->subscription_id, SUB_ID);
}

static void test_secret(void **state)
{
    (void)state;
    char a[SUB_SECRET_LEN], b[SUB_SECRET_LEN];
    assert_int_equal(subscriptions_secret_new(a), 0);
    assert_int_equal(subscriptions_secret_new(b), 0);
    assert_int_equal(strlen(a), SUB_SECRET_LEN - 1);
    assert_memory_equal(a, SUB_SECRET_PREFIX, 6);
    assert_string_not_equal(a, b);
    unsigned char key[48];
    /* 44 characters decode to 33 bytes, the last one padding. */
    assert_int_equal(EVP_DecodeBlock(key, (const unsigned char *)a + 6, 44), 33);
    assert_int_equal(a[SUB_SECRET_LEN - 2], '=');
    assert_int_not_equal(a[SUB_SECRET_LEN - 3], '=');
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create), cmocka_unit_test(test_create_mistakes),
        cmocka_unit_test(test_update), cmocka_unit_test(test_update_mistakes),
        cmocka_unit_test(test_delete), cmocka_unit_test(test_secret),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("subscriptions", tests, NULL, NULL);
}
