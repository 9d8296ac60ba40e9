/* test_ops.c — the operations parsers (tickets.c, agents.c, customers.c,
 * calls.c) and the customer look-up's parameters.
 *
 * Each parser: a full body gives the envelope the router expects (body
 * case, type, ticket or customer id, times); each mistake names its field.
 * field_only: a body of known members only, else the first other named.
 * Run one test by name: test_ops <name>.
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

#include "customers.h"
#include "field.h"
#include "ops.h"
#include "testjson.h"

#define T0 INT64_C(1795399200000000) /* 2026-11-23T09:00:00+07:00 */
#define NOW INT64_C(1800000000000000)
#define TICKET "7c9e6679-7425-40de-944b-e07fc1f90ae7"

typedef int (*id_parse_fn)(const json_t *root, const char *id, int64_t now_us, struct op *o,
                           struct message_error *err);

static json_t *load(const char *text)
{
    return testjson_load(text, JSON_DECODE_ANY);
}

/* Parses text with fn (calls_parse when fn is NULL); fails the test unless
 * the outcome matches: field NULL = accepted. o is left filled. */
static void check(id_parse_fn fn, const char *id, const char *text, const char *field, struct op *o,
                  json_t **keep)
{
    json_t *j = load(text);
    struct message_error err;
    memset(&err, 0, sizeof err);
    int rc = fn ? fn(j, id, NOW, o, &err) : calls_parse(j, NOW, o, &err);
    if (!field && rc != 0)
        fail_msg("refused (%s: %s): %s", err.field, err.message, text);
    if (field && rc == 0)
        fail_msg("accepted, want \"%s\" refused: %s", field, text);
    if (field && strcmp(err.field, field) != 0)
        fail_msg("field \"%s\", want \"%s\" (%s): %s", err.field, field, err.message, text);
    if (field)
        assert_true(err.code && err.message[0]);
    if (keep)
        *keep = j;
    else
        json_decref(j);
}

static void assert_packs(struct op *o)
{
    size_t len;
    uint8_t *buf = event_pack(&o->ev, &len);
    assert_non_null(buf);
    event *back = event_unpack(buf, len);
    assert_non_null(back);
    assert_int_equal(back->body_case, o->ev.body_case);
    event_destroy(&back);
    free(buf);
}

static void test_reply(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    check(tickets_reply_parse, TICKET,
          "{\"agent_id\":\"a1\",\"text\":\"Xin ch\\u00e0o\\nok\",\"channel\":\"zalo\","
          "\"internal_note\":true,\"occurred_at\":\"2026-11-23T09:00:00+07:00\",\"x\":1}",
          NULL, &o, &j);
    assert_int_equal(o.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED);
    assert_string_equal(o.ev.type, "agent.replied");
    assert_string_equal(o.ev.ticket_id, TICKET);
    assert_string_equal(o.ev.agent_replied->agent_id, "a1");
    assert_int_equal(o.ev.agent_replied->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_true(o.ev.agent_replied->internal_note);
    assert_true(event_ts_us(o.ev.occurred_at) == T0);
    assert_packs(&o);
    json_decref(j);

    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\",\"text\":\"t\"}", NULL, &o, &j);
    assert_int_equal(o.ev.agent_replied->channel, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_false(o.ev.agent_replied->internal_note);
    assert_true(event_ts_us(o.ev.occurred_at) == NOW);
    json_decref(j);

    check(tickets_reply_parse, TICKET, "{\"text\":\"t\"}", "agent_id", &o, NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":7,\"text\":\"t\"}", "agent_id", &o, NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a\\u0001\",\"text\":\"t\"}", "agent_id", &o,
          NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\"}", "text", &o, NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\",\"text\":\"  \"}", "text", &o, NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\",\"text\":\"t\",\"channel\":\"fax\"}",
          "channel", &o, NULL);
    check(tickets_reply_parse, TICKET,
          "{\"agent_id\":\"a1\",\"text\":\"t\",\"internal_note\":\"yes\"}", "internal_note", &o,
          NULL);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\",\"text\":\"t\",\"occurred_at\":1}",
          "occurred_at", &o, NULL);
    check(tickets_reply_parse, TICKET, "[]", "", &o, NULL);
}

/* Files a reply sends, by URL: http(s) with a host, a media type, a size
 * within bounds, at most OP_MAX_ATTACHMENTS of them. */
static void test_reply_attachments(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    check(tickets_reply_parse, TICKET,
          "{\"agent_id\":\"a1\",\"text\":\"t\",\"attachments\":["
          "{\"url\":\"https://cdn.example.vn/a.jpg\",\"name\":\"\u1ea2nh.jpg\","
          "\"content_type\":\"image/jpeg\",\"size\":48213},"
          "{\"url\":\"HTTP://files.example.vn:8080/b?x=1\"}]}",
          NULL, &o, &j);
    const Carebus__V1__AgentReplied *r = o.ev.agent_replied;
    assert_int_equal(r->n_attachments, 2);
    assert_string_equal(r->attachments[0]->url, "https://cdn.example.vn/a.jpg");
    assert_string_equal(r->attachments[0]->name, "\xe1\xba\xa2nh.jpg");
    assert_string_equal(r->attachments[0]->content_type, "image/jpeg");
    assert_int_equal(r->attachments[0]->size, 48213);
    assert_string_equal(r->attachments[1]->url, "HTTP://files.example.vn:8080/b?x=1");
    assert_int_equal(r->attachments[1]->size, 0);
    assert_packs(&o);
    json_decref(j);
    check(tickets_reply_parse, TICKET, "{\"agent_id\":\"a1\",\"text\":\"t\",\"attachments\":[]}",
          NULL, &o, &j);
    assert_int_equal(o.ev.agent_replied->n_attachments, 0);
    json_decref(j);

    static const struct {
        const char *attachments, *field;
    } bad[] = {
        {"{}", "attachments"},
        {"[1]", "attachments[0]"},
        {"[{\"name\":\"a\"}]", "attachments[0].url"},
        {"[{\"url\":\"ftp://x/a\"}]", "attachments[0].url"},
        {"[{\"url\":\"/relative/a.jpg\"}]", "attachments[0].url"},
        {"[{\"url\":\"https:///a.jpg\"}]", "attachments[0].url"},
        {"[{\"url\":\"https://x/a b.jpg\"}]", "attachments[0].url"},
        {"[{\"url\":\"https://x/a\",\"content_type\":\"jpeg\"}]", "attachments[0].content_type"},
        {"[{\"url\":\"https://x/a\",\"size\":-1}]", "attachments[0].size"},
        {"[{\"url\":\"https://x/a\",\"size\":104857601}]", "attachments[0].size"},
        {"[{\"url\":\"https://x/a\",\"name\":7}]", "attachments[0].name"},
        {"[{\"url\":\"https://x/a\"},{\"url\":\"https://x/b\"},{\"url\":\"https://x/c\"},"
         "{\"url\":\"https://x/d\"},{\"url\":\"https://x/e\"},{\"url\":\"https://x/f\"},"
         "{\"url\":\"https://x/g\"},{\"url\":\"https://x/h\"},{\"url\":\"https://x/i\"},"
         "{\"url\":\"https://x/j\"},{\"url\":\"https://x/k\"}]",
         "attachments"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "{\"agent_id\":\"a1\",\"text\":\"t\",\"attachments\":%s}",
                 bad[i].attachments);
        check(tickets_reply_parse, TICKET, text, bad[i].field, &o, NULL);
    }
}

static void test_status_and_transfer(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    check(tickets_status_parse, TICKET,
          "{\"status\":\"solved\",\"reason\":\"fixed\",\"actor\":\"a1\"}", NULL, &o, &j);
    assert_string_equal(o.ev.type, "ticket.status_changed");
    assert_int_equal(o.ev.ticket_status_changed->status,
                     CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
    assert_string_equal(o.ev.ticket_status_changed->reason, "fixed");
    assert_string_equal(o.ev.ticket_id, TICKET);
    assert_packs(&o);
    json_decref(j);
    static const char *const statuses[] = {"open", "pending", "solved", "closed"};
    for (size_t i = 0; i < 4; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", statuses[i]);
        check(tickets_status_parse, TICKET, body, NULL, &o, NULL);
        assert_int_equal(o.body.status.status, (int)i + 1);
    }
    check(tickets_status_parse, TICKET, "{}", "status", &o, NULL);
    check(tickets_status_parse, TICKET, "{\"status\":\"reopened\"}", "status", &o, NULL);
    check(tickets_status_parse, TICKET, "{\"status\":\"open\",\"reason\":[]}", "reason", &o, NULL);

    check(tickets_transfer_parse, TICKET, "{\"team\":\"complaints\",\"reason\":\"angry\"}", NULL,
          &o, &j);
    assert_string_equal(o.ev.type, "ticket.transfer_requested");
    assert_string_equal(o.ev.ticket_transfer_requested->to_team, "complaints");
    assert_packs(&o);
    json_decref(j);
    check(tickets_transfer_parse, TICKET, "{\"reason\":\"x\"}", "team", &o, NULL);
    check(tickets_transfer_parse, TICKET, "{\"team\":\"\"}", "team", &o, NULL);
    check(tickets_transfer_parse, TICKET, "{\"team\":true}", "team", &o, NULL);
}

static void test_presence(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":5,\"teams\":[\"support\",\"sales\"],"
          "\"name\":\"Mai\",\"leads\":[\"support\"]}",
          NULL, &o, &j);
    Carebus__V1__AgentPresence *p = o.ev.agent_presence;
    assert_string_equal(o.ev.type, "agent.presence");
    assert_string_equal(p->agent_id, "agent-7");
    assert_int_equal(p->presence, CAREBUS__V1__PRESENCE__PRESENCE_ONLINE);
    assert_int_equal(p->capacity, 5);
    assert_int_equal(p->n_teams, 2);
    assert_string_equal(p->teams[1], "sales");
    assert_int_equal(p->n_leads, 1);
    assert_string_equal(p->name, "Mai");
    assert_packs(&o);
    json_decref(j);

    check(agents_presence_parse, "agent-7", "{\"presence\":\"away\",\"capacity\":0,\"teams\":[]}",
          NULL, &o, NULL);
    assert_int_equal(o.body.presence.n_teams, 0);
    const char *ok_rest = ",\"capacity\":1,\"teams\":[\"s\"]}";
    char body[256];
    snprintf(body, sizeof body, "{\"presence\":\"busy\"%s", ok_rest);
    check(agents_presence_parse, "agent-7", body, "presence", &o, NULL);
    check(agents_presence_parse, "agent-7", "{\"presence\":\"online\",\"teams\":[]}", "capacity",
          &o, NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":-1,\"teams\":[]}", "capacity", &o, NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":1.5,\"teams\":[]}", "capacity", &o, NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":100000,\"teams\":[]}", "capacity", &o, NULL);
    check(agents_presence_parse, "agent-7", "{\"presence\":\"online\",\"capacity\":1}", "teams", &o,
          NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":1,\"teams\":\"support\"}", "teams", &o, NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":1,\"teams\":[\"a\",2]}", "teams[1]", &o, NULL);
    check(agents_presence_parse, "agent-7",
          "{\"presence\":\"online\",\"capacity\":1,\"teams\":[],\"leads\":[\"\"]}", "leads[0]", &o,
          NULL);
    snprintf(body, sizeof body, "{\"presence\":\"online\"%s", ok_rest);
    check(agents_presence_parse, "bad\tid", body, "id", &o, NULL);
}

static void test_profile(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    const char *cust = "11111111-2222-4333-8444-555555555555";
    check(customers_profile_parse, cust,
          "{\"name\":\"Lan\",\"segment\":\"vip\",\"status\":\"churned\","
          "\"attributes\":{\"tier\":\"gold\",\"city\":\"HCMC\"}}",
          NULL, &o, &j);
    Carebus__V1__CustomerProfileUpdated *p = o.ev.customer_profile_updated;
    assert_string_equal(o.ev.type, "customer.profile_updated");
    assert_string_equal(o.ev.customer_id, cust);
    assert_int_equal(p->segment, CAREBUS__V1__SEGMENT__SEGMENT_VIP);
    assert_int_equal(p->status, CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED);
    assert_int_equal(p->n_attributes, 2);
    assert_packs(&o);
    json_decref(j);

    check(customers_profile_parse, cust, "{\"segment\":\"wholesale\"}", NULL, &o, NULL);
    assert_int_equal(o.body.profile.segment, CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE);
    check(customers_profile_parse, cust, "{\"status\":\"active\"}", NULL, &o, NULL);
    check(customers_profile_parse, cust, "{}", "", &o, NULL);
    check(customers_profile_parse, cust, "{\"name\":\"\"}", "", &o, NULL);
    check(customers_profile_parse, cust, "{\"segment\":\"gold\"}", "segment", &o, NULL);
    check(customers_profile_parse, cust, "{\"segment\":\"VIP\"}", "segment", &o, NULL);
    check(customers_profile_parse, cust, "{\"status\":\"gone\"}", "status", &o, NULL);
    check(customers_profile_parse, cust, "{\"attributes\":[]}", "attributes", &o, NULL);
    check(customers_profile_parse, cust, "{\"attributes\":{\"tier\":1}}", "attributes.tier", &o,
          NULL);
    check(customers_profile_parse, cust, "{\"name\":5}", "name", &o, NULL);
}

static const char *const CALL_OK =
    "{\"caller\":\"0901 234 567\",\"agent_id\":\"a1\","
    "\"started_at\":\"2026-11-23T09:00:00+07:00\",\"answered_at\":\"2026-11-23T09:00:10+07:00\","
    "\"ended_at\":\"2026-11-23T09:05:00+07:00\",\"outcome\":\"answered\","
    "\"recording_url\":\"https://rec/1.mp3\",\"external_id\":\"call-1\"}";

static void test_call(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    check(NULL, NULL, CALL_OK, NULL, &o, &j);
    Carebus__V1__CallEnded *c = o.ev.call_ended;
    assert_string_equal(o.ev.type, "call.ended");
    assert_string_equal(c->caller, "0901 234 567");
    assert_int_equal(c->outcome, CAREBUS__V1__CALL_OUTCOME__CALL_OUTCOME_ANSWERED);
    assert_true(event_ts_us(c->started_at) == T0);
    assert_true(event_ts_us(c->answered_at) == T0 + 10000000);
    /* A call happened when it ended. */
    assert_true(event_ts_us(o.ev.occurred_at) == T0 + 300000000);
    assert_string_equal(c->external_id, "call-1");
    assert_packs(&o);
    json_decref(j);

    check(NULL, NULL,
          "{\"caller\":\"+84901234567\",\"started_at\":\"2026-11-23T09:00:00Z\","
          "\"ended_at\":\"2026-11-23T09:00:30Z\",\"outcome\":\"missed\"}",
          NULL, &o, NULL);
    assert_null(o.body.call.answered_at);

    static const struct {
        const char *key, *value, *field;
    } bad[] = {
        {"caller", "\"not a number\"", "caller"},
        {"caller", "84", "caller"},
        {"started_at", "\"yesterday\"", "started_at"},
        {"ended_at", "\"2026-11-23T08:00:00+07:00\"", "ended_at"},
        {"answered_at", "\"2026-11-23T10:00:00+07:00\"", "answered_at"},
        {"outcome", "\"hung up\"", "outcome"},
        {"recording_url", "3", "recording_url"},
        {"agent_id", "[]", "agent_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = load(CALL_OK);
        json_object_set_new(body, bad[i].key, load(bad[i].value));
        char *text = json_dumps(body, JSON_COMPACT);
        check(NULL, NULL, text, bad[i].field, &o, NULL);
        free(text);
        json_object_del(body, bad[i].key);
        if (strcmp(bad[i].key, "caller") == 0 || strcmp(bad[i].key, "started_at") == 0) {
            text = json_dumps(body, JSON_COMPACT);
            check(NULL, NULL, text, bad[i].field, &o, NULL); /* required */
            free(text);
        }
        json_decref(body);
    }
}

static void assert_lookup(const char *phone, const char *email, const char *channel,
                          const char *handle, const char *kind, const char *value)
{
    struct identity id;
    struct message_error err;
    if (customers_lookup_parse(phone, email, channel, handle, &id, &err) != 0)
        fail_msg("refused (%s: %s)", err.field, err.message);
    assert_string_equal(id.kind, kind);
    assert_string_equal(id.value, value);
}

static void assert_lookup_refused(const char *phone, const char *email, const char *channel,
                                  const char *handle, const char *field)
{
    struct identity id;
    struct message_error err;
    if (customers_lookup_parse(phone, email, channel, handle, &id, &err) == 0)
        fail_msg("accepted as (%s, %s)", id.kind, id.value);
    assert_string_equal(err.field, field);
}

static void test_only_known_members(void **state)
{
    (void)state;
    static const char *const known[] = {"name", "expires_at"};
    struct message_error err;
    json_t *ok = json_loads("{\"name\": \"x\", \"expires_at\": null}", 0, NULL);
    json_t *empty = json_object();
    json_t *typo = json_loads("{\"name\": \"x\", \"expires\": \"2099\"}", 0, NULL);
    assert_int_equal(field_only(ok, known, 2, &err), 0);
    assert_int_equal(field_only(empty, known, 2, &err), 0);
    assert_int_equal(field_only(typo, known, 2, &err), -1);
    assert_string_equal(err.code, "unknown_field");
    assert_string_equal(err.field, "expires");
    json_decref(ok);
    json_decref(empty);
    json_decref(typo);
}

static void test_lookup(void **state)
{
    (void)state;
    /* The router's spellings: one customer, whichever way it is written. */
    assert_lookup("0901 234 567", NULL, NULL, NULL, "phone", "+84901234567");
    assert_lookup("+84901234567", NULL, NULL, NULL, "phone", "+84901234567");
    assert_lookup(NULL, " Lan.Nguyen@Example.VN ", NULL, NULL, "email", "lan.nguyen@example.vn");
    assert_lookup(NULL, NULL, "zalo", "4120978365", "zalo", "4120978365");
    assert_lookup(NULL, NULL, "whatsapp", "84901234567", "phone", "+84901234567");
    assert_lookup(NULL, NULL, "sms", "0901234567", "phone", "+84901234567");
    assert_lookup("", NULL, "facebook", "psid-1", "facebook", "psid-1");

    assert_lookup_refused(NULL, NULL, NULL, NULL, "phone");
    assert_lookup_refused("0901234567", "a@b.c", NULL, NULL, "phone");
    assert_lookup_refused("abc", NULL, NULL, NULL, "phone");
    assert_lookup_refused(NULL, "nope", NULL, NULL, "email");
    assert_lookup_refused(NULL, NULL, "zalo", NULL, "handle");
    assert_lookup_refused(NULL, NULL, NULL, "u1", "channel");
    assert_lookup_refused(NULL, NULL, "pigeon", "u1", "channel");
    assert_lookup_refused(NULL, NULL, "phone", "not-a-number", "handle");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_reply_attachments),
        cmocka_unit_test(test_status_and_transfer),
        cmocka_unit_test(test_presence),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_only_known_members),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
