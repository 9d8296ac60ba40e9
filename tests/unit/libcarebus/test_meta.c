/* test_meta.c — channels/meta.c: X-Hub-Signature-256 and the subscription
 * handshake, as Messenger's and WhatsApp's adapters use them.
 *
 * The signature vector (from test_webhook_signature.c) was computed with
 * Python's hmac, an independent implementation:
 *
 *   hmac.new(b"fb-app-secret", META_BODY, hashlib.sha256).hexdigest()
 *
 * Pure: no database. Run one test by name: test_meta <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channels/messenger.h"
#include "channels/meta.h"
#include "channels/whatsapp.h"

#define META_BODY "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"time\":1,\"messaging\":[]}]}"
#define META_SIG "sha256=ad822a3d6b8a3bffff7648d8c6b79390d4fd08939b7a37ba9f7b6d479ff8aa76"

static void test_meta(void **state)
{
    (void)state;
    const char *body = META_BODY;
    size_t len = strlen(body);
    assert_true(meta_signature_ok(META_SIG, "fb-app-secret", body, len));
    /* Prefix case and surrounding blanks are tolerated, hex case too. */
    char upper[128];
    snprintf(upper, sizeof upper, " SHA256=%s ", META_SIG + 7);
    for (char *p = upper + 8; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(meta_signature_ok(upper, "fb-app-secret", body, len));
    assert_false(meta_signature_ok(META_SIG, "other-secret", body, len));
    assert_false(meta_signature_ok(META_SIG, "fb-app-secret", body, len - 1));
    assert_false(meta_signature_ok(META_SIG + 7, "fb-app-secret", body, len)); /* no prefix */
    assert_false(meta_signature_ok("sha1=ad822a3d", "fb-app-secret", body, len));
    assert_false(meta_signature_ok(NULL, "fb-app-secret", body, len));
    assert_false(meta_signature_ok("sha256=", "fb-app-secret", body, len));
}

/* A request's headers and query as name=value pairs. */
static const char *const *g_pairs;
static const char *lookup(void *ctx, const char *name)
{
    (void)ctx;
    for (size_t i = 0; g_pairs && g_pairs[i]; i += 2)
        if (strcmp(g_pairs[i], name) == 0)
            return g_pairs[i + 1];
    return NULL;
}

static void test_verify(void **state)
{
    (void)state;
    const char *settings[] = {"fb-app-secret"};
    struct inbound_req req = {
        .body = META_BODY, .len = strlen(META_BODY), .header = lookup, .query = lookup};
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    const struct inbound_adapter *adapters[] = {&messenger_inbound, &whatsapp_inbound};
    for (size_t i = 0; i < 2; i++) {
        const struct inbound_adapter *a = adapters[i];
        assert_int_equal(a->auth, INBOUND_SIGNED);
        assert_string_equal(a->signature_header, "X-Hub-Signature-256");
        static const char *const good[] = {"X-Hub-Signature-256", META_SIG, NULL};
        g_pairs = good;
        req.len = strlen(META_BODY);
        assert_int_equal(a->verify(settings, &req, &b, &err), 0);
        assert_false(inbound_loaded(&b)); /* checked on the raw bytes, before any parse */
        req.len--;                        /* tampered */
        assert_int_equal(a->verify(settings, &req, &b, &err), -1);
        assert_int_equal(err.status, 401);
        static const char *const none[] = {NULL};
        g_pairs = none;
        req.len++;
        assert_int_equal(a->verify(settings, &req, &b, &err), -1);
        assert_int_equal(err.status, 401);
        const char *other[] = {"not-the-secret"};
        g_pairs = good;
        assert_int_equal(a->verify(other, &req, &b, &err), -1);
        assert_int_equal(err.status, 401);
    }
    assert_string_equal(messenger_inbound.settings[0], "FACEBOOK_APP_SECRET");
    assert_string_equal(whatsapp_inbound.settings[0], "WHATSAPP_APP_SECRET");
    inbound_batch_release(&b);
}

static void test_handshake(void **state)
{
    (void)state;
    struct inbound_req req = {.header = lookup, .query = lookup};
    static const char *const ok[] = {
        "hub.mode",   "subscribe", "hub.verify_token", "meatyhamhock", "hub.challenge",
        "1158201444", NULL};
    g_pairs = ok;
    assert_string_equal(meta_handshake("meatyhamhock", &req), "1158201444");
    assert_string_equal(messenger_inbound.handshake_setting, "FACEBOOK_VERIFY_TOKEN");
    assert_string_equal(whatsapp_inbound.handshake_setting, "WHATSAPP_VERIFY_TOKEN");
    assert_ptr_equal(messenger_inbound.handshake, meta_handshake);
    assert_null(meta_handshake("meatyhamhocK", &req));
    static const char *const unsub[] = {
        "hub.mode", "unsubscribe", "hub.verify_token", "meatyhamhock", "hub.challenge", "1", NULL};
    g_pairs = unsub;
    assert_null(meta_handshake("meatyhamhock", &req));
    static const char *const no_token[] = {"hub.mode", "subscribe", "hub.challenge", "1", NULL};
    g_pairs = no_token;
    assert_null(meta_handshake("meatyhamhock", &req));
    static const char *const no_challenge[] = {"hub.mode", "subscribe", "hub.verify_token",
                                               "meatyhamhock", NULL};
    g_pairs = no_challenge;
    assert_null(meta_handshake("meatyhamhock", &req));
    char longer[300];
    memset(longer, '7', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    const char *too_long[] = {
        "hub.mode", "subscribe", "hub.verify_token", "meatyhamhock", "hub.challenge", longer, NULL};
    g_pairs = too_long;
    assert_null(meta_handshake("meatyhamhock", &req));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_handshake),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
