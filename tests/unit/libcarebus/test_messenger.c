/* test_messenger.c — channels/messenger.c: Messenger and Instagram messages and receipts (and
 * inbound.c's batch).
 *
 * Payloads in the documented Messenger shape (messenger-platform/webhook-
 * reference). Every message produced is packed and unpacked again, so the
 * envelope is also valid protobuf. Pure: no database. Run one test by name:
 * test_messenger <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channels/messenger.h"
#include "event.h"

#define NOW INT64_C(1795399200000000) /* 2026-11-23T02:00:00Z */

static struct inbound_batch g_b;

static int teardown(void **state)
{
    (void)state;
    inbound_batch_release(&g_b);
    return 0;
}

static int parse(const char *body, struct inbound_error *err)
{
    inbound_batch_release(&g_b);
    return messenger_parse(body, strlen(body), NOW, &g_b, err);
}

/* The message packs, unpacks, and is a contact.received. */
static void assert_packs(const struct contact *m)
{
    size_t len = 0;
    uint8_t *buf = event_pack(&m->ev, &len);
    assert_non_null(buf);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_int_equal(ev->body_case, CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
    assert_string_equal(ev->type, "contact.received");
    assert_string_equal(ev->contact_received->external_id, m->contact.external_id);
    event_destroy(&ev);
}

static void test_text_message(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"object\":\"page\",\"entry\":[{\"id\":\"PAGE\",\"time\":1795399200123,"
              "\"messaging\":[{\"sender\":{\"id\":\"2519000001\"},\"recipient\":{\"id\":"
              "\"PAGE\"},\"timestamp\":1795399200123,\"message\":{\"mid\":\"m_AAA\","
              "\"text\":\"Tôi cần hỗ trợ\"}}]}]}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK);
    assert_string_equal(m->customer.handle, "2519000001");
    assert_string_equal(m->customer.phone, "");
    assert_string_equal(m->contact.external_id, "m_AAA");
    assert_string_equal(m->contact.text, "Tôi cần hỗ trợ");
    assert_string_equal(m->idem_scope, "msg:facebook");
    assert_int_equal(event_ts_us(m->ev.occurred_at), INT64_C(1795399200123000));
    assert_ptr_equal(m->contact.customer, &m->customer);
    assert_packs(m);
}

static void test_batched_entries_in_order(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"object\":\"page\",\"entry\":["
              "{\"id\":\"P\",\"messaging\":["
              "{\"sender\":{\"id\":\"u1\"},\"timestamp\":1795399200000,\"message\":{\"mid\":\"m1\","
              "\"text\":\"a\"}},"
              "{\"sender\":{\"id\":\"u2\"},\"timestamp\":1795399201000,\"message\":{\"mid\":\"m2\","
              "\"text\":\"b\"}}]},"
              "{\"id\":\"P\",\"messaging\":["
              "{\"sender\":{\"id\":\"u1\"},\"timestamp\":1795399202000,\"message\":{\"mid\":\"m3\","
              "\"text\":\"c\"}}]}]}",
              &err),
        0);
    assert_int_equal(g_b.n, 3);
    assert_string_equal(g_b.msg[0]->contact.external_id, "m1");
    assert_string_equal(g_b.msg[1]->contact.external_id, "m2");
    assert_string_equal(g_b.msg[1]->customer.handle, "u2");
    assert_string_equal(g_b.msg[2]->contact.external_id, "m3");
    for (size_t i = 0; i < g_b.n; i++)
        assert_packs(g_b.msg[i]);
}

static void test_non_messages_ignored(void **state)
{
    (void)state;
    struct inbound_error err;
    /* An echo of the page's own message, a delivery, a read, a postback.
     * The delivery and the read are status reports now (test_receipts):
     * the delivery names a mid, the read's watermark (1 ms after 1970) is
     * no time, so it says nothing and is skipped. */
    assert_int_equal(
        parse("{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":["
              "{\"sender\":{\"id\":\"P\"},\"recipient\":{\"id\":\"u1\"},\"timestamp\":1,"
              "\"message\":{\"mid\":\"m_echo\",\"is_echo\":true,\"text\":\"hello\"}},"
              "{\"sender\":{\"id\":\"u1\"},\"delivery\":{\"mids\":[\"m_x\"],\"watermark\":1}},"
              "{\"sender\":{\"id\":\"u1\"},\"read\":{\"watermark\":1}},"
              "{\"sender\":{\"id\":\"u1\"},\"postback\":{\"title\":\"Start\",\"payload\":\"GO\"}},"
              "7]}]}",
              &err),
        0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.ignored, 3);
    assert_int_equal(g_b.nstatus, 1);
    assert_int_equal(g_b.skipped, 1);
    assert_string_equal(g_b.status[0]->idem_key, "delivered:m_x");
    /* Another product's notification. */
    assert_int_equal(parse("{\"object\":\"user\",\"entry\":[{\"changes\":[]}]}", &err), 0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.ignored, 1);
}

static void test_attachments_reply_and_location(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"object\":\"page\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"u1\"},"
              "\"timestamp\":1795399200000,\"message\":{\"mid\":\"m1\",\"reply_to\":{\"mid\":"
              "\"m0\"},\"attachments\":[{\"type\":\"image\",\"payload\":{\"url\":"
              "\"https://cdn.example/a.jpg\"}},{\"type\":\"file\",\"payload\":{\"url\":"
              "\"https://cdn.example/b.pdf\",\"title\":\"b.pdf\"}},{\"type\":\"location\","
              "\"payload\":{\"coordinates\":{\"lat\":10.762622,\"long\":106.660172}}},"
              "\"junk\"]}}]}]}",
              &err),
        0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
    assert_string_equal(m->contact.in_reply_to, "m0");
    assert_int_equal(m->contact.n_attachments, 2);
    assert_string_equal(m->contact.attachments[0]->content_type, "image");
    assert_string_equal(m->contact.attachments[0]->url, "https://cdn.example/a.jpg");
    assert_string_equal(m->contact.attachments[1]->name, "b.pdf");
    assert_string_equal(m->contact.text, "[location] 10.762622, 106.660172");
    assert_packs(m);
}

static void test_many_attachments_capped(void **state)
{
    (void)state;
    char body[8192];
    size_t n = (size_t)snprintf(body, sizeof body,
                                "{\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"u\"},"
                                "\"message\":{\"mid\":\"m\",\"attachments\":[");
    for (int i = 0; i < CONTACT_MAX_ATTACHMENTS + 5; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"type\":\"image\",\"payload\":{\"url\":\"u%d\"}}", i ? "," : "",
                              i);
    snprintf(body + n, sizeof body - n, "]}}]}]}");
    struct inbound_error err;
    assert_int_equal(parse(body, &err), 0);
    assert_int_equal(g_b.n, 1);
    assert_int_equal(g_b.msg[0]->contact.n_attachments, CONTACT_MAX_ATTACHMENTS);
    /* No "timestamp": now. */
    assert_int_equal(event_ts_us(g_b.msg[0]->ev.occurred_at), NOW);
}

static void test_instagram_and_unusable(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse(
            "{\"object\":\"instagram\",\"entry\":[{\"messaging\":["
            "{\"sender\":{\"id\":\"ig1\"},\"timestamp\":1795399200000,\"message\":{\"mid\":\"i1\","
            "\"text\":\"hi\"}},"
            "{\"sender\":{},\"message\":{\"mid\":\"i2\",\"text\":\"no sender\"}},"
            "{\"sender\":{\"id\":\"ig1\"},\"message\":{\"text\":\"no mid\"}},"
            "{\"sender\":{\"id\":\"ig1\"},\"timestamp\":-5,\"message\":{\"mid\":\"i3\"}}]}]}",
            &err),
        0);
    assert_int_equal(g_b.n, 2);
    assert_int_equal(g_b.skipped, 2);
    assert_int_equal(g_b.msg[0]->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM);
    assert_string_equal(g_b.msg[0]->idem_scope, "msg:instagram");
    assert_string_equal(g_b.msg[1]->contact.external_id, "i3");
    assert_int_equal(event_ts_us(g_b.msg[1]->ev.occurred_at), NOW); /* bad time: now */
}

static void test_refusals(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(parse("{\"object\":\"page\",\"entry\":", &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.message, "could not parse"));
    assert_int_equal(parse("[1,2]", &err), -1);
    assert_int_equal(parse("{\"object\":\"page\"}", &err), -1);
    assert_string_equal(err.message, "\"entry\" must be an array");
    assert_int_equal(parse("{\"object\":\"page\",\"entry\":{}}", &err), -1);
    assert_int_equal(parse("{\"a\":\"\\u0000\"}", &err), -1); /* NUL in a string */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"entry\":");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(parse(deep, &err), -1);
    assert_non_null(strstr(err.message, "deeper"));
}

static void test_too_many_messages(void **state)
{
    (void)state;
    /* INBOUND_MAX_EVENTS + 1 messages: refused, nothing kept half-way. */
    size_t cap = (INBOUND_MAX_EVENTS + 1) * 80 + 64;
    char *body = malloc(cap);
    assert_non_null(body);
    size_t n = (size_t)snprintf(body, cap, "{\"entry\":[{\"messaging\":[");
    for (int i = 0; i <= INBOUND_MAX_EVENTS; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"sender\":{\"id\":\"u\"},\"message\":{\"mid\":\"m%d\"}}",
                              i ? "," : "", i);
    n += (size_t)snprintf(body + n, cap - n, "]}]}");
    struct inbound_error err;
    inbound_batch_release(&g_b);
    assert_int_equal(messenger_parse(body, n, NOW, &g_b, &err), -1);
    assert_int_equal(err.status, 400);
    free(body);
}

/* Receipts as Meta documents them (message-deliveries, message-reads)
 * and Instagram's read by mid. */
static void test_receipts(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(
        parse("{\"object\":\"page\",\"entry\":[{\"id\":\"PAGE\",\"time\":1795399200451,"
              "\"messaging\":[{\"sender\":{\"id\":\"PSID1\"},\"recipient\":{\"id\":\"PAGE\"},"
              "\"delivery\":{\"mids\":[\"m_A\",\"m_B\"],\"watermark\":1795399200253}},"
              "{\"sender\":{\"id\":\"PSID1\"},\"recipient\":{\"id\":\"PAGE\"},"
              "\"timestamp\":1795399200463,\"read\":{\"watermark\":1795399200253}},"
              "{\"sender\":{\"id\":\"PSID2\"},\"recipient\":{\"id\":\"PAGE\"},"
              "\"delivery\":{\"watermark\":1795399200300}}]}]}",
              &err),
        0);
    assert_int_equal(g_b.n, 0);
    assert_int_equal(g_b.nstatus, 3);
    const struct status *s = g_b.status[0];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED);
    const Carebus__V1__MessageDelivered *d = s->ev.message_delivered;
    assert_int_equal(d->channel, CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK);
    assert_int_equal(d->n_provider_message_ids, 2);
    assert_string_equal(d->provider_message_ids[1], "m_B");
    assert_string_equal(d->recipient, "PSID1");
    assert_non_null(d->watermark);
    assert_int_equal(event_ts_us(d->watermark), INT64_C(1795399200253000));
    /* A delivery has no time of its own: the entry's. */
    assert_int_equal(event_ts_us(s->ev.occurred_at), INT64_C(1795399200451000));
    assert_string_equal(s->idem_scope, "status:facebook");
    assert_string_equal(s->idem_key, "delivered:PSID1@1795399200253");

    s = g_b.status[1];
    assert_int_equal(s->ev.body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ);
    assert_int_equal(s->ev.message_read->n_provider_message_ids, 0);
    assert_string_equal(s->ev.message_read->recipient, "PSID1");
    assert_int_equal(event_ts_us(s->ev.message_read->watermark), INT64_C(1795399200253000));
    assert_int_equal(event_ts_us(s->ev.occurred_at), INT64_C(1795399200463000));
    assert_string_equal(s->idem_key, "read:PSID1@1795399200253");
    assert_string_equal(g_b.status[2]->idem_key, "delivered:PSID2@1795399200300");
    for (size_t i = 0; i < g_b.nstatus; i++) {
        size_t len;
        uint8_t *buf = event_pack(&g_b.status[i]->ev, &len);
        event *ev = event_unpack(buf, len);
        free(buf);
        assert_non_null(ev);
        assert_int_equal(ev->body_case, g_b.status[i]->ev.body_case);
        event_destroy(&ev);
    }

    /* Instagram: a read names the message. */
    assert_int_equal(
        parse("{\"object\":\"instagram\",\"entry\":[{\"id\":\"IG\",\"time\":1569262486134,"
              "\"messaging\":[{\"sender\":{\"id\":\"IGSID\"},\"recipient\":{\"id\":\"IG\"},"
              "\"timestamp\":1795399200000,\"read\":{\"mid\":\"aWdfZAG1\"}}]}]}",
              &err),
        0);
    s = g_b.status[0];
    assert_int_equal(s->ev.message_read->channel, CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM);
    assert_string_equal(s->ev.message_read->provider_message_ids[0], "aWdfZAG1");
    assert_string_equal(s->ev.message_read->recipient, "IGSID");
    assert_null(s->ev.message_read->watermark);
    assert_string_equal(s->idem_scope, "status:instagram");
    assert_string_equal(s->idem_key, "read:aWdfZAG1");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_text_message, teardown),
        cmocka_unit_test_teardown(test_batched_entries_in_order, teardown),
        cmocka_unit_test_teardown(test_non_messages_ignored, teardown),
        cmocka_unit_test_teardown(test_receipts, teardown),
        cmocka_unit_test_teardown(test_attachments_reply_and_location, teardown),
        cmocka_unit_test_teardown(test_many_attachments_capped, teardown),
        cmocka_unit_test_teardown(test_instagram_and_unusable, teardown),
        cmocka_unit_test_teardown(test_refusals, teardown),
        cmocka_unit_test_teardown(test_too_many_messages, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("messenger", tests, NULL, NULL);
}
