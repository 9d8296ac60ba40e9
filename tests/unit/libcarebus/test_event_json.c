/* test_event_json.c — event_json.c: events as integrators read them.
 *
 * Every body of the schema is encoded (walking the descriptor, so a new
 * body is covered without an edit here); the well-known types, maps,
 * enums and the fields that must never leave carebus are checked by value.
 * Run one test by name: test_event_json <name>.
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

#include "event_json.h"

static const char *str_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_contact_received(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef cust = CAREBUS__V1__CUSTOMER_REF__INIT;
    cust.name = "Lan";
    cust.phone = "+84901234567";
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    a.name = "hoa-don.jpg";
    a.content_type = "image/jpeg";
    a.size = 123456;
    a.url = "https://cdn.example/hoa-don.jpg";
    Carebus__V1__Attachment *atts[] = {&a};
    char *refs[] = {"<a@x>", "<b@x>"};
    Carebus__V1__ContactReceived c = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    c.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    c.external_id = "m-1";
    c.customer = &cust;
    c.text = "Tôi cần hỗ trợ";
    c.n_attachments = 1;
    c.attachments = atts;
    c.n_references = 2;
    c.references = refs;
    Google__Protobuf__Timestamp occ = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&occ, INT64_C(1795399200123456));
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = "0a4f5d2e-1111-4222-8333-944455556666";
    ev.stream = "ingest";
    ev.seq = 42;
    ev.occurred_at = &occ;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &c;

    json_t *j = event_json(&ev);
    assert_non_null(j);
    assert_string_equal(str_at(j, "type"), "contact.received");
    assert_string_equal(str_at(j, "stream"), "ingest");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
    assert_string_equal(str_at(j, "occurred_at"), "2026-11-23T02:00:00.123456Z");
    assert_true(json_is_null(json_object_get(j, "recorded_at")));
    assert_string_equal(str_at(j, "customer_id"), "");
    const json_t *b = json_object_get(j, "body");
    assert_true(json_is_object(b));
    assert_string_equal(str_at(b, "channel"), "zalo");
    assert_string_equal(str_at(b, "text"), "Tôi cần hỗ trợ");
    assert_string_equal(str_at(json_object_get(b, "customer"), "phone"), "+84901234567");
    const json_t *ja = json_object_get(b, "attachments");
    assert_int_equal(json_array_size(ja), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ja, 0), "size")), 123456);
    assert_string_equal(str_at(json_array_get(ja, 0), "media_id"), "");
    assert_int_equal(json_array_size(json_object_get(b, "references")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "references"), 1)),
                        "<b@x>");
    /* Only the body, not the oneof members, at the top. */
    assert_null(json_object_get(j, "contact_received"));
    json_decref(j);
}

static void test_wrappers_and_maps(void **state)
{
    (void)state;
    Google__Protobuf__Int32Value csat = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
    csat.value = 0; /* present and zero: not null */
    Carebus__V1__SurveyAnswered s = CAREBUS__V1__SURVEY_ANSWERED__INIT;
    s.survey_id = "s-1";
    s.csat = &csat;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED;
    ev.survey_answered = &s;
    json_t *j = event_json(&ev);
    const json_t *b = json_object_get(j, "body");
    assert_true(json_is_integer(json_object_get(b, "csat")));
    assert_int_equal(json_integer_value(json_object_get(b, "csat")), 0);
    assert_true(json_is_null(json_object_get(b, "ces")));
    /* No type set on the envelope: derived from the body. */
    assert_string_equal(str_at(j, "type"), "survey.answered");
    json_decref(j);

    Carebus__V1__CustomerProfileUpdated__AttributesEntry e1 =
        CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__ATTRIBUTES_ENTRY__INIT;
    e1.key = "crm_id";
    e1.value = "C-77";
    Carebus__V1__CustomerProfileUpdated__AttributesEntry *entries[] = {&e1};
    Carebus__V1__CustomerProfileUpdated p = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
    p.segment = CAREBUS__V1__SEGMENT__SEGMENT_VIP;
    p.n_attributes = 1;
    p.attributes = entries;
    json_t *m = event_json_message(&p.base);
    assert_string_equal(str_at(m, "segment"), "vip");
    assert_string_equal(str_at(m, "status"), "");
    assert_string_equal(str_at(json_object_get(m, "attributes"), "crm_id"), "C-77");
    json_decref(m);
}

static void test_secrets_never_written(void **state)
{
    (void)state;
    Carebus__V1__SubscriptionSaved s = CAREBUS__V1__SUBSCRIPTION_SAVED__INIT;
    s.subscription_id = "sub-1";
    s.url = "https://crm.example/hook";
    s.secret = "whsec_do-not-leak";
    json_t *j = event_json_message(&s.base);
    assert_string_equal(str_at(j, "url"), "https://crm.example/hook");
    assert_null(json_object_get(j, "secret"));
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "do-not-leak"));
    free(text);
    json_decref(j);

    Carebus__V1__AgentSaved a = CAREBUS__V1__AGENT_SAVED__INIT;
    a.agent_id = "agent-7";
    a.password_hash = "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA";
    a.role = CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_SUPERVISOR;
    j = event_json_message(&a.base);
    assert_null(json_object_get(j, "password_hash"));
    assert_string_equal(str_at(j, "role"), "supervisor");
    json_decref(j);
}

static void test_large_unsigned(void **state)
{
    (void)state;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.seq = UINT64_MAX;
    json_t *j = event_json(&ev);
    assert_string_equal(str_at(j, "seq"), "18446744073709551615");
    assert_true(json_is_null(json_object_get(j, "body")));
    json_decref(j);
}

/* Every body, empty, encodes to an object with the type's name. */
static void test_every_body(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &carebus__v1__envelope__descriptor;
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        const ProtobufCMessageDescriptor *bd = f->descriptor;
        ProtobufCMessage *body = calloc(1, bd->sizeof_message);
        assert_non_null(body);
        bd->message_init(body);
        event ev = CAREBUS__V1__ENVELOPE__INIT;
        ev.body_case = (Carebus__V1__Envelope__BodyCase)f->id;
        *(ProtobufCMessage **)((char *)&ev + f->offset) = body;
        json_t *j = event_json(&ev);
        assert_non_null(j);
        assert_true(json_is_object(json_object_get(j, "body")));
        assert_string_equal(str_at(j, "type"), event_type_name(ev.body_case));
        json_decref(j);
        free(body);
        n++;
    }
    assert_int_equal(n, vocab_event_type_count());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_received),
        cmocka_unit_test(test_wrappers_and_maps),
        cmocka_unit_test(test_secrets_never_written),
        cmocka_unit_test(test_large_unsigned),
        cmocka_unit_test(test_every_body),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("event_json", tests, NULL, NULL);
}
