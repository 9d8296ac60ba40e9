/* test_messages.c — services/channel-ingest/messages.c: POST /v1/messages
 * bodies, JSON and protobuf, to contact.received envelopes.
 *
 * Both formats must give the same envelope for the same contact and refuse
 * the same mistakes with the same field named. Run one test by name:
 * test_messages <name>.
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

#include "messages.h"
#include "testjson.h"

/* 2026-11-23T09:00:00+07:00 */
#define T0 INT64_C(1795399200000000)
#define NOW INT64_C(1800000000000000)

static json_t *load(const char *text)
{
    return testjson_load(text, JSON_REJECT_DUPLICATES);
}

/* Parses text; asserts failure with this field (and code, when given). */
static void assert_refused(const char *text, const char *field, const char *code)
{
    json_t *j = load(text);
    struct contact m;
    struct message_error err;
    memset(&err, 0, sizeof err);
    if (messages_parse(j, NOW, &m, &err) == 0)
        fail_msg("accepted: %s", text);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: field \"%s\", want \"%s\" (%s)", text, err.field, field, err.message);
    if (code && strcmp(err.code, code) != 0)
        fail_msg("%s: code \"%s\", want \"%s\"", text, err.code, code);
    assert_true(err.message[0] != '\0');
    json_decref(j);
}

static void test_json_full(void **state)
{
    (void)state;
    json_t *j = load("{\"channel\":\"zalo\",\"external_id\":\"m-1\",\"unknown\":{\"x\":[1]},"
                     "\"customer\":{\"name\":\"Lan\",\"phone\":\"0901 234 567\","
                     "\"handle\":\"zalo-uid-1\",\"extra\":true},"
                     "\"text\":\"T\\u00f4i c\\u1ea7n h\\u1ed7 tr\\u1ee3\",\"subject\":\"S\","
                     "\"occurred_at\":\"2026-11-23T09:00:00+07:00\",\"in_reply_to\":\"m-0\","
                     "\"references\":[\"a\",\"b\"],"
                     "\"attachments\":[{\"name\":\"a.png\",\"type\":\"image/png\",\"size\":12,"
                     "\"url\":\"https://x/a.png\"},{\"media_id\":\"wa-1190348572\"}]}");
    struct contact m;
    struct message_error err;
    assert_int_equal(messages_parse(j, NOW, &m, &err), 0);
    assert_int_equal(m.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
    assert_string_equal(m.ev.type, "contact.received");
    assert_ptr_equal(m.ev.contact_received, &m.contact);
    assert_int_equal(m.contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_string_equal(m.contact.external_id, "m-1");
    assert_string_equal(m.customer.name, "Lan");
    assert_string_equal(m.customer.phone, "0901 234 567");
    assert_string_equal(m.customer.handle, "zalo-uid-1");
    assert_string_equal(m.contact.subject, "S");
    assert_string_equal(m.contact.in_reply_to, "m-0");
    assert_int_equal(m.contact.n_references, 2);
    assert_string_equal(m.contact.references[1], "b");
    assert_int_equal(m.contact.n_attachments, 2);
    assert_string_equal(m.contact.attachments[0]->content_type, "image/png");
    assert_int_equal(m.contact.attachments[0]->size, 12);
    assert_string_equal(m.contact.attachments[0]->media_id, "");
    /* A file known only by the provider's id of it. */
    assert_string_equal(m.contact.attachments[1]->media_id, "wa-1190348572");
    assert_string_equal(m.contact.attachments[1]->url, "");
    assert_true(event_ts_us(m.ev.occurred_at) == T0);
    assert_string_equal(m.idem_scope, "msg:zalo");
    assert_null(m.idem_key);
    /* It packs: every pointer is set. */
    size_t len;
    uint8_t *buf = event_pack(&m.ev, &len);
    assert_non_null(buf);
    free(buf);
    json_decref(j);
}

static void test_json_defaults(void **state)
{
    (void)state;
    json_t *j = load("{\"channel\":\"email\",\"customer\":{\"email\":\"Lan@Example.vn\"},"
                     "\"text\":null,\"attachments\":null}");
    struct contact m;
    struct message_error err;
    assert_int_equal(messages_parse(j, NOW, &m, &err), 0);
    assert_true(event_ts_us(m.ev.occurred_at) == NOW);
    assert_int_equal(m.contact.n_attachments, 0);
    assert_string_equal(m.contact.external_id, "");
    json_decref(j);
}

static void test_json_refusals(void **state)
{
    (void)state;
    const char *c = "\"customer\":{\"phone\":\"0901234567\"}";
    char buf[512];
    assert_refused("[1]", "", "invalid_json");
    assert_refused("{\"customer\":{\"phone\":\"0901234567\"}}", "channel", "missing_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"pigeon\",%s}", c);
    assert_refused(buf, "channel", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":5,%s}", c);
    assert_refused(buf, "channel", "invalid_field");
    assert_refused("{\"channel\":\"zalo\"}", "customer", "missing_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":\"Lan\"}", "customer", "invalid_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":{\"name\":\"Lan\"}}", "customer",
                   "missing_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":{\"phone\":5}}", "customer.phone",
                   "invalid_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":{\"phone\":\"abc\"}}", "customer.phone",
                   "invalid_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":{\"email\":\"not-an-email\"}}",
                   "customer.email", "invalid_field");
    assert_refused("{\"channel\":\"phone\",\"customer\":{\"handle\":\"not-a-number\"}}",
                   "customer.handle", "invalid_field");
    assert_refused("{\"channel\":\"zalo\",\"customer\":{\"handle\":\"a\\tb\"}}", "customer.handle",
                   "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"text\":5}", c);
    assert_refused(buf, "text", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"occurred_at\":\"h\\u00f4m qua\"}", c);
    assert_refused(buf, "occurred_at", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"occurred_at\":\"2026-13-45T25:61:00Z\"}",
             c);
    assert_refused(buf, "occurred_at", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"attachments\":{}}", c);
    assert_refused(buf, "attachments", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"attachments\":[{\"size\":-1}]}", c);
    assert_refused(buf, "attachments[0].size", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"attachments\":[{},{\"url\":1}]}", c);
    assert_refused(buf, "attachments[1].url", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"attachments\":[{\"media_id\":7}]}", c);
    assert_refused(buf, "attachments[0].media_id", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"references\":[1]}", c);
    assert_refused(buf, "references", "invalid_field");
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"external_id\":\"a\\nb\"}", c);
    assert_refused(buf, "external_id", "invalid_field");

    /* Too long: an external_id of 257 bytes, 33 attachments. */
    char id[300];
    memset(id, 'x', 257);
    id[257] = '\0';
    snprintf(buf, sizeof buf, "{\"channel\":\"zalo\",%s,\"external_id\":\"%s\"}", c, id);
    assert_refused(buf, "external_id", "invalid_field");
    char many[1024];
    size_t n = (size_t)snprintf(many, sizeof many, "{\"channel\":\"zalo\",%s,\"attachments\":[", c);
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s{}", i ? "," : "");
    snprintf(many + n, sizeof many - n, "]}");
    assert_refused(many, "attachments", "invalid_field");
}

/* --- protobuf ------------------------------------------------------------ */

/* A packed envelope around a contact; returns the malloc'd bytes. */
static uint8_t *pack_contact(Carebus__V1__ContactReceived *c, const char *idem, int64_t occurred,
                             size_t *len)
{
    Carebus__V1__Envelope ev = CAREBUS__V1__ENVELOPE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = c;
    /* Fields a client may send and we must not keep. */
    ev.event_id = "00000000-0000-4000-8000-000000000001";
    ev.stream = "evil";
    ev.seq = 77;
    ev.ticket_id = "00000000-0000-4000-8000-000000000002";
    if (idem)
        ev.idempotency_key = (char *)idem;
    if (occurred) {
        event_ts_set(&ts, occurred);
        ev.occurred_at = &ts;
    }
    return event_pack(&ev, len);
}

static void test_pb_full(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef cr = CAREBUS__V1__CUSTOMER_REF__INIT;
    cr.name = "Lan";
    cr.phone = "+84901234567";
    Carebus__V1__Attachment at = CAREBUS__V1__ATTACHMENT__INIT;
    at.name = "a.png";
    at.size = 3;
    at.media_id = "zalo-att-77";
    Carebus__V1__Attachment *ats[] = {&at};
    char *refs[] = {"r1"};
    Carebus__V1__ContactReceived c = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    c.channel = CAREBUS__V1__CHANNEL__CHANNEL_SMS;
    c.customer = &cr;
    c.text = "hello";
    c.n_attachments = 1;
    c.attachments = ats;
    c.n_references = 1;
    c.references = refs;
    size_t len;
    uint8_t *buf = pack_contact(&c, "key-1", T0, &len);
    struct contact m;
    struct message_error err;
    event *owned = NULL;
    assert_int_equal(messages_parse_pb(buf, len, NOW, &m, &owned, &err), 0);
    assert_non_null(owned);
    assert_int_equal(m.contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_SMS);
    assert_string_equal(m.customer.phone, "+84901234567");
    assert_string_equal(m.contact.text, "hello");
    assert_string_equal(m.contact.attachments[0]->name, "a.png");
    assert_string_equal(m.contact.attachments[0]->media_id, "zalo-att-77");
    assert_string_equal(m.contact.references[0], "r1");
    assert_string_equal(m.idem_key, "key-1");
    assert_true(event_ts_us(m.ev.occurred_at) == T0);
    assert_string_equal(m.idem_scope, "msg:sms");
    /* The client's ids, stream and seq are not ours to keep. */
    assert_true(m.ev.event_id == NULL || m.ev.event_id[0] == '\0');
    assert_true(m.ev.ticket_id == NULL || m.ev.ticket_id[0] == '\0');
    assert_int_equal(m.ev.seq, 0);
    event_destroy(&owned);
    free(buf);

    /* Without occurred_at: now. */
    buf = pack_contact(&c, NULL, 0, &len);
    assert_int_equal(messages_parse_pb(buf, len, NOW, &m, &owned, &err), 0);
    assert_true(event_ts_us(m.ev.occurred_at) == NOW);
    assert_null(m.idem_key);
    event_destroy(&owned);
    free(buf);
}

static void assert_pb_refused(const uint8_t *buf, size_t len, const char *field)
{
    struct contact m;
    struct message_error err;
    event *owned = (event *)1;
    if (messages_parse_pb(buf, len, NOW, &m, &owned, &err) == 0)
        fail_msg("accepted a protobuf body that should name \"%s\"", field);
    assert_null(owned);
    if (strcmp(err.field, field) != 0)
        fail_msg("field \"%s\", want \"%s\" (%s)", err.field, field, err.message);
}

static void test_pb_refusals(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01};
    assert_pb_refused(garbage, sizeof garbage, "");

    /* Another body. */
    Carebus__V1__Envelope ev = CAREBUS__V1__ENVELOPE__INIT;
    Carebus__V1__AgentReplied ar = CAREBUS__V1__AGENT_REPLIED__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &ar;
    size_t len;
    uint8_t *buf = event_pack(&ev, &len);
    assert_pb_refused(buf, len, "contact_received");
    free(buf);
    /* No body at all (an empty envelope is 0 bytes). */
    assert_pb_refused((const uint8_t *)"", 0, "contact_received");

    Carebus__V1__CustomerRef cr = CAREBUS__V1__CUSTOMER_REF__INIT;
    Carebus__V1__ContactReceived c = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    c.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    buf = pack_contact(&c, NULL, 0, &len);
    assert_pb_refused(buf, len, "customer");
    free(buf);

    c.customer = &cr;
    cr.handle = "u1";
    c.channel = (Carebus__V1__Channel)99;
    buf = pack_contact(&c, NULL, 0, &len);
    assert_pb_refused(buf, len, "channel");
    free(buf);

    c.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    c.text = "bad \xff\xfe utf-8";
    buf = pack_contact(&c, NULL, 0, &len);
    assert_pb_refused(buf, len, "text");
    free(buf);

    c.text = "";
    cr.phone = "garbage";
    buf = pack_contact(&c, NULL, 0, &len);
    assert_pb_refused(buf, len, "customer.phone");
    free(buf);

    cr.phone = "";
    buf = pack_contact(&c, "key\twith tab", 0, &len);
    assert_pb_refused(buf, len, "idempotency_key");
    free(buf);

    Carebus__V1__Attachment at = CAREBUS__V1__ATTACHMENT__INIT, *ats[] = {&at};
    at.media_id = "bad \xff id";
    c.n_attachments = 1;
    c.attachments = ats;
    buf = pack_contact(&c, NULL, 0, &len);
    assert_pb_refused(buf, len, "attachments[0].media_id");
    free(buf);
}

static void test_pb_unknown_fields_dropped(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef cr = CAREBUS__V1__CUSTOMER_REF__INIT;
    cr.handle = "u1";
    Carebus__V1__ContactReceived c = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    c.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    c.customer = &cr;
    size_t len;
    uint8_t *buf = pack_contact(&c, NULL, 0, &len);
    /* Append field 1000 (varint) to the envelope: unknown to this schema. */
    uint8_t *more = realloc(buf, len + 4);
    assert_non_null(more);
    more[len] = 0xc0; /* tag (1000 << 3 | 0) as varint: c0 3e */
    more[len + 1] = 0x3e;
    more[len + 2] = 0x05;
    struct contact m;
    struct message_error err;
    event *owned = NULL;
    assert_int_equal(messages_parse_pb(more, len + 3, NOW, &m, &owned, &err), 0);
    assert_int_equal(owned->base.n_unknown_fields, 1);
    /* What we store is rebuilt from known fields only. */
    size_t out_len;
    uint8_t *out = event_pack(&m.ev, &out_len);
    event *back = event_unpack(out, out_len);
    assert_non_null(back);
    assert_int_equal(back->base.n_unknown_fields, 0);
    assert_string_equal(back->contact_received->customer->handle, "u1");
    event_destroy(&back);
    free(out);
    event_destroy(&owned);
    free(more);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_full),     cmocka_unit_test(test_json_defaults),
        cmocka_unit_test(test_json_refusals), cmocka_unit_test(test_pb_full),
        cmocka_unit_test(test_pb_refusals),   cmocka_unit_test(test_pb_unknown_fields_dropped),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("messages", tests, NULL, NULL);
}
