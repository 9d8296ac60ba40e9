/* test_event.c — event.c: type names, packing, timestamps, enum spellings.
 *
 * The body-name test walks the generated descriptor rather than a list kept
 * here: every body of events.proto must have its derived name (vocab.c).
 * Run one test by name: test_event <name>.
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

#include "event.h"

static void test_type_names_cover_every_body(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &carebus__v1__envelope__descriptor;
    const char *seen[64];
    size_t nseen = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        /* The oneof case value is the field number. */
        const char *name = event_type_name((Carebus__V1__Envelope__BodyCase)f->id);
        if (name == NULL || name[0] == '\0')
            fail_msg("body %s (%u) has no type name", f->name, f->id);
        /* "contact.received" for field contact_received: the dot replaces the
         * first underscore. */
        char expect[64];
        snprintf(expect, sizeof expect, "%s", f->name);
        char *us = strchr(expect, '_');
        assert_non_null(us);
        *us = '.';
        assert_string_equal(name, expect);
        for (size_t j = 0; j < nseen; j++)
            assert_string_not_equal(name, seen[j]);
        assert_true(nseen < sizeof seen / sizeof seen[0]);
        seen[nseen++] = name;
    }
    assert_int_equal(nseen, 50);
}

static void test_type_name_unknown(void **state)
{
    (void)state;
    assert_null(event_type_name(CAREBUS__V1__ENVELOPE__BODY__NOT_SET));
    assert_null(event_type_name((Carebus__V1__Envelope__BodyCase)1));
    assert_null(event_type_name((Carebus__V1__Envelope__BodyCase)19));
    assert_null(event_type_name((Carebus__V1__Envelope__BodyCase)70));
    assert_null(event_type_name((Carebus__V1__Envelope__BodyCase)-1));
    assert_null(event_type_name((Carebus__V1__Envelope__BodyCase)100000));
    assert_string_equal(event_type_name(CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED),
                        "contact.received");
    assert_string_equal(event_type_name(CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED),
                        "survey.answered");
}

static void test_round_trip_contact_received(void **state)
{
    (void)state;
    /* Built on the stack, as STYLE.md asks of outgoing messages. */
    Carebus__V1__CustomerRef cust = CAREBUS__V1__CUSTOMER_REF__INIT;
    cust.name = "Nguyễn Văn A";
    cust.phone = "+84901234567";
    cust.handle = "zalo:12345";
    Carebus__V1__Attachment a1 = CAREBUS__V1__ATTACHMENT__INIT;
    a1.name = "invoice.pdf";
    a1.content_type = "application/pdf";
    a1.size = 123456;
    a1.url = "https://files.example/1";
    Carebus__V1__Attachment a2 = CAREBUS__V1__ATTACHMENT__INIT;
    a2.name = "photo.jpg";
    a2.content_type = "image/jpeg";
    a2.size = UINT64_C(5000000000);
    Carebus__V1__Attachment *atts[] = {&a1, &a2};
    char *refs[] = {"<a@x>", "<b@x>"};
    Carebus__V1__ContactReceived cr = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    cr.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    cr.external_id = "msg-1";
    cr.customer = &cust;
    cr.text = "máy không lên nguồn";
    cr.subject = "help";
    cr.n_attachments = 2;
    cr.attachments = atts;
    cr.in_reply_to = "msg-0";
    cr.n_references = 2;
    cr.references = refs;
    Google__Protobuf__Timestamp occ = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&occ, INT64_C(1795399200123456));
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = "7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f";
    ev.type = (char *)event_type_name(CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
    ev.stream = "ingest";
    ev.seq = 42;
    ev.occurred_at = &occ;
    ev.idempotency_key = "zalo:msg-1";
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &cr;

    size_t len = 0;
    uint8_t *buf = event_pack(&ev, &len);
    assert_non_null(buf);
    assert_true(len > 0);
    event *back = event_unpack(buf, len);
    free(buf);
    assert_non_null(back);

    assert_string_equal(back->event_id, ev.event_id);
    assert_string_equal(back->type, "contact.received");
    assert_string_equal(back->stream, "ingest");
    assert_int_equal(back->seq, 42);
    assert_string_equal(back->idempotency_key, "zalo:msg-1");
    assert_string_equal(back->ticket_id, "");
    assert_non_null(back->occurred_at);
    assert_true(event_ts_us(back->occurred_at) == INT64_C(1795399200123456));
    assert_null(back->recorded_at);
    assert_int_equal(back->body_case, CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
    const Carebus__V1__ContactReceived *r = back->contact_received;
    assert_int_equal(r->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_string_equal(r->external_id, "msg-1");
    assert_string_equal(r->customer->name, "Nguyễn Văn A");
    assert_string_equal(r->customer->phone, "+84901234567");
    assert_string_equal(r->customer->email, "");
    assert_string_equal(r->text, "máy không lên nguồn");
    assert_int_equal(r->n_attachments, 2);
    assert_string_equal(r->attachments[0]->name, "invoice.pdf");
    assert_string_equal(r->attachments[0]->content_type, "application/pdf");
    assert_int_equal(r->attachments[0]->size, 123456);
    assert_string_equal(r->attachments[0]->url, "https://files.example/1");
    assert_string_equal(r->attachments[1]->name, "photo.jpg");
    assert_true(r->attachments[1]->size == UINT64_C(5000000000));
    assert_string_equal(r->attachments[1]->url, "");
    assert_string_equal(r->in_reply_to, "msg-0");
    assert_int_equal(r->n_references, 2);
    assert_string_equal(r->references[1], "<b@x>");

    event_destroy(&back);
    assert_null(back);
    event_destroy(&back); /* a second free is a no-op */
    event_destroy(NULL);
}

static void test_round_trip_empty(void **state)
{
    (void)state;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    size_t len = 99;
    uint8_t *buf = event_pack(&ev, &len);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    event *back = event_unpack(buf, len);
    free(buf);
    assert_non_null(back);
    assert_int_equal(back->body_case, CAREBUS__V1__ENVELOPE__BODY__NOT_SET);
    event_destroy(&back);
}

static void test_unpack_oversize(void **state)
{
    (void)state;
    /* A valid envelope just over the limit: only the size check refuses it. */
    size_t n = EVENT_MAX_SIZE;
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, 'x', n);
    text[n] = '\0';
    Carebus__V1__TicketSolved ts = CAREBUS__V1__TICKET_SOLVED__INIT;
    ts.reason = text;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED;
    ev.ticket_solved = &ts;
    size_t len;
    uint8_t *buf = event_pack(&ev, &len);
    assert_non_null(buf);
    assert_true(len > EVENT_MAX_SIZE);
    assert_null(event_unpack(buf, len));
    free(buf);
    free(text);

    /* At the limit: accepted. */
    n = EVENT_MAX_SIZE - 16;
    text = malloc(n + 1);
    assert_non_null(text);
    memset(text, 'y', n);
    text[n] = '\0';
    ts.reason = text;
    buf = event_pack(&ev, &len);
    assert_non_null(buf);
    assert_true(len <= EVENT_MAX_SIZE);
    event *back = event_unpack(buf, len);
    assert_non_null(back);
    assert_int_equal(strlen(back->ticket_solved->reason), n);
    event_destroy(&back);
    free(buf);
    free(text);
}

static void test_unpack_garbage(void **state)
{
    (void)state;
    /* Wire type 7 does not exist. */
    static const uint8_t g1[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_null(event_unpack(g1, sizeof g1));
    /* Field 1 (event_id) claims 100 bytes, 3 follow. */
    static const uint8_t g2[] = {0x0a, 0x64, 'a', 'b', 'c'};
    assert_null(event_unpack(g2, sizeof g2));
    /* An unterminated varint (seq). */
    static const uint8_t g3[] = {0x20, 0x80, 0x80};
    assert_null(event_unpack(g3, sizeof g3));
    /* A string field with invalid UTF-8 (protobuf-c checks proto3 strings). */
    static const uint8_t g4[] = {0x0a, 0x02, 0xc3, 0x28};
    event *e = event_unpack(g4, sizeof g4);
    event_destroy(&e); /* whichever protobuf-c decides, no leak and no crash */
    /* Truncated real envelope. */
    Carebus__V1__TicketQueued q = CAREBUS__V1__TICKET_QUEUED__INIT;
    q.team = "billing";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = "7f53af92-5d9b-5e25-bfa0-10ed6fa8c43f";
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED;
    ev.ticket_queued = &q;
    size_t len;
    uint8_t *buf = event_pack(&ev, &len);
    assert_non_null(buf);
    /* Every cut lands inside a length-delimited field except the one
     * between event_id and the body, which leaves a valid shorter message. */
    int accepted = 0;
    for (size_t cut = 1; cut < len; cut++) {
        event *t = event_unpack(buf, len - cut);
        if (t != NULL) {
            accepted++;
            assert_int_equal(t->body_case, CAREBUS__V1__ENVELOPE__BODY__NOT_SET);
        }
        event_destroy(&t);
    }
    assert_int_equal(accepted, 1);
    event *whole = event_unpack(buf, len);
    assert_non_null(whole);
    assert_string_equal(whole->ticket_queued->team, "billing");
    event_destroy(&whole);
    free(buf);
}

static void test_timestamps(void **state)
{
    (void)state;
    static const struct {
        int64_t us;
        int64_t s;
        int32_t ns;
    } cases[] = {
        {0, 0, 0},
        {1, 0, 1000},
        {999999, 0, 999999000},
        {1000000, 1, 0},
        {-1, -1, 999999000},
        {-1000000, -1, 0},
        {-1000001, -2, 999999000},
        {-500000, -1, 500000000},
        {INT64_C(1795399200123456), INT64_C(1795399200), 123456000},
        {INT64_C(-62135596800000000), INT64_C(-62135596800), 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        event_ts_set(&ts, cases[i].us);
        if (ts.seconds != cases[i].s || ts.nanos != cases[i].ns)
            fail_msg("%lld us: got %lld s %d ns", (long long)cases[i].us, (long long)ts.seconds,
                     ts.nanos);
        assert_true(event_ts_us(&ts) == cases[i].us);
    }
    assert_true(event_ts_us(NULL) == 0);
    /* Sub-microsecond nanos are truncated toward the past. */
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = 10;
    ts.nanos = 1999;
    assert_true(event_ts_us(&ts) == 10000001);
    /* Non-normalised nanos from a foreign producer. */
    ts.seconds = 10;
    ts.nanos = -1;
    assert_true(event_ts_us(&ts) == 9999999);
    ts.seconds = 10;
    ts.nanos = 1500000000;
    assert_true(event_ts_us(&ts) == 11500000);
    /* Out of range saturates instead of overflowing. */
    ts.seconds = INT64_MAX;
    ts.nanos = 0;
    assert_true(event_ts_us(&ts) == INT64_MAX);
    ts.seconds = INT64_MIN;
    assert_true(event_ts_us(&ts) == INT64_MIN);
    ts.seconds = INT64_MAX / 1000000 - 3;
    assert_true(event_ts_us(&ts) == INT64_MAX);
    /* Just inside the range, the worst nanos do not overflow (UBSan checks). */
    ts.seconds = INT64_MAX / 1000000 - 4;
    ts.nanos = INT32_MAX;
    assert_true(event_ts_us(&ts) > 0);
    ts.seconds = INT64_MIN / 1000000 + 4;
    ts.nanos = INT32_MIN;
    assert_true(event_ts_us(&ts) < 0);
}

/* One enum's API: name(v) -> parse -> v for every value, "" for 0. */
#define ENUM_ROUND_TRIP(name_f, parse_f, type, count, ...)                                         \
    do {                                                                                           \
        static const char *const expect[] = {__VA_ARGS__};                                         \
        assert_int_equal(sizeof expect / sizeof expect[0], count);                                 \
        assert_string_equal(name_f((type)0), "");                                                  \
        type v_ = (type)99;                                                                        \
        assert_int_equal(parse_f("", &v_), -1);                                                    \
        assert_int_equal(parse_f(NULL, &v_), -1);                                                  \
        assert_int_equal(parse_f("nope", &v_), -1);                                                \
        assert_int_equal(v_, 99);                                                                  \
        assert_string_equal(name_f((type)(count + 1)), "");                                        \
        assert_string_equal(name_f((type)-1), "");                                                 \
        for (int k_ = 1; k_ <= (count); k_++) {                                                    \
            const char *n_ = name_f((type)k_);                                                     \
            assert_string_equal(n_, expect[k_ - 1]);                                               \
            assert_int_equal(parse_f(n_, &v_), 0);                                                 \
            assert_int_equal(v_, k_);                                                              \
        }                                                                                          \
    } while (0)

static void test_enum_names(void **state)
{
    (void)state;
    ENUM_ROUND_TRIP(event_channel_name, event_channel_parse, Carebus__V1__Channel, 12, "phone",
                    "email", "chat", "facebook", "zalo", "instagram", "tiktok", "twitter", "sms",
                    "whatsapp", "helpcenter", "store");
    ENUM_ROUND_TRIP(event_segment_name, event_segment_parse, Carebus__V1__Segment, 3, "regular",
                    "vip", "wholesale");
    ENUM_ROUND_TRIP(event_ticket_status_name, event_ticket_status_parse, Carebus__V1__TicketStatus,
                    4, "open", "pending", "solved", "closed");
    ENUM_ROUND_TRIP(event_category_name, event_category_parse, Carebus__V1__Category, 8,
                    "technical_support", "complaint", "product_info", "returns_warranty", "billing",
                    "sales", "account", "other");
    ENUM_ROUND_TRIP(event_priority_name, event_priority_parse, Carebus__V1__Priority, 4, "low",
                    "normal", "high", "urgent");
    ENUM_ROUND_TRIP(event_presence_name, event_presence_parse, Carebus__V1__Presence, 3, "online",
                    "away", "offline");
}

/* Every value the schema defines has a name: a value added to the proto
 * without a spelling in event.c fails. */
#define ENUM_COVERS_DESCRIPTOR(desc, name_f, type)                                                 \
    do {                                                                                           \
        for (unsigned k_ = 0; k_ < (desc).n_values; k_++) {                                        \
            int v_ = (desc).values[k_].value;                                                      \
            if (v_ != 0 && name_f((type)v_)[0] == '\0')                                            \
                fail_msg("%s value %d has no name", (desc).name, v_);                              \
        }                                                                                          \
    } while (0)

static void test_enum_tables_match_descriptors(void **state)
{
    (void)state;
    ENUM_COVERS_DESCRIPTOR(carebus__v1__channel__descriptor, event_channel_name,
                           Carebus__V1__Channel);
    ENUM_COVERS_DESCRIPTOR(carebus__v1__segment__descriptor, event_segment_name,
                           Carebus__V1__Segment);
    ENUM_COVERS_DESCRIPTOR(carebus__v1__ticket_status__descriptor, event_ticket_status_name,
                           Carebus__V1__TicketStatus);
    ENUM_COVERS_DESCRIPTOR(carebus__v1__category__descriptor, event_category_name,
                           Carebus__V1__Category);
    ENUM_COVERS_DESCRIPTOR(carebus__v1__priority__descriptor, event_priority_name,
                           Carebus__V1__Priority);
    ENUM_COVERS_DESCRIPTOR(carebus__v1__presence__descriptor, event_presence_name,
                           Carebus__V1__Presence);
}

static void test_enum_parse_is_exact(void **state)
{
    (void)state;
    Carebus__V1__Channel c;
    assert_int_equal(event_channel_parse("Zalo", &c), -1);
    assert_int_equal(event_channel_parse("zalo ", &c), -1);
    assert_int_equal(event_channel_parse("CHANNEL_ZALO", &c), -1);
    Carebus__V1__Category cat;
    assert_int_equal(event_category_parse("technical", &cat), -1);
    assert_int_equal(event_category_parse("technical_support", &cat), 0);
    assert_int_equal(cat, CAREBUS__V1__CATEGORY__CATEGORY_TECHNICAL_SUPPORT);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names_cover_every_body),
        cmocka_unit_test(test_type_name_unknown),
        cmocka_unit_test(test_round_trip_contact_received),
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_unpack_oversize),
        cmocka_unit_test(test_unpack_garbage),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_enum_tables_match_descriptors),
        cmocka_unit_test(test_enum_parse_is_exact),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
