/* test_imports.c — customers from a CRM (imports.h) and the merge
 * requests (merges.h): the parsers' envelopes and errors, the content key
 * that makes a repeated import land nothing (the same for a record however
 * it is spelt and in either format, another for any change), and the bulk
 * readers (NDJSON lines, CSV records with quotes and line breaks), whose
 * bad records name their line. Run one test by name: test_imports <name>.
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

#include "imports.h"
#include "merges.h"
#include "testjson.h"

#define NOW INT64_C(1800000000000000)
#define TICKET "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define OTHER "0f8fad5b-d9cb-469f-a165-70867728950e"

static json_t *load(const char *text)
{
    return testjson_load(text, JSON_DECODE_ANY);
}

/* Parses text as a customer; field NULL: accepted (c filled, *keep the
 * document when asked). */
static void customer(const char *text, const char *field, struct customer_import *c, json_t **keep)
{
    json_t *j = load(text);
    struct message_error err;
    memset(&err, 0, sizeof err);
    int rc = imports_customer_parse(j, NOW, c, &err);
    if (!field && rc != 0)
        fail_msg("refused (%s: %s): %s", err.field, err.message, text);
    if (field && rc == 0)
        fail_msg("accepted, want \"%s\" refused: %s", field, text);
    if (field && strcmp(err.field, field) != 0)
        fail_msg("field \"%s\", want \"%s\" (%s): %s", err.field, field, err.message, text);
    if (keep)
        *keep = j;
    else
        json_decref(j);
}

static void assert_packs(const event *ev)
{
    size_t len;
    uint8_t *bytes = event_pack(ev, &len);
    assert_non_null(bytes);
    event *back = event_unpack(bytes, len);
    assert_non_null(back);
    assert_int_equal(back->body_case, ev->body_case);
    event_destroy(&back);
    free(bytes);
}

static void test_customer(void **state)
{
    (void)state;
    struct customer_import c;
    json_t *j;
    customer("{\"name\":\"Ch\\u1ecb Hoa\",\"phone\":\"0903 333 333\",\"email\":\"Hoa@Example.VN\","
             "\"channel\":\"zalo\",\"handle\":\"z-hoa\",\"crm_id\":\"CRM-1\",\"segment\":\"vip\","
             "\"status\":\"active\",\"attributes\":{\"tier\":\"gold\",\"city\":\"Hu\\u1ebf\"},"
             "\"unknown\":1}",
             NULL, &c, &j);
    const Carebus__V1__CustomerImported *b = c.ev.customer_imported;
    assert_int_equal(c.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED);
    assert_string_equal(c.ev.type, "customer.imported");
    assert_true(event_ts_us(c.ev.occurred_at) == NOW);
    assert_string_equal(b->customer->name, "Ch\xe1\xbb\x8b Hoa");
    assert_string_equal(b->customer->phone, "0903 333 333"); /* the router normalises */
    assert_string_equal(b->customer->handle, "z-hoa");
    assert_int_equal(b->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_string_equal(b->crm_id, "CRM-1");
    assert_int_equal(b->segment, CAREBUS__V1__SEGMENT__SEGMENT_VIP);
    assert_int_equal(b->status, CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE);
    assert_int_equal(b->n_attributes, 2);
    assert_int_equal(strlen(c.key), 64);
    assert_packs(&c.ev);
    json_decref(j);

    customer("{\"email\":\"a@b.vn\"}", NULL, &c, NULL);
    assert_int_equal(c.body.segment, CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED);

    customer("{\"name\":\"x\"}", "phone", &c, NULL);
    customer("{}", "phone", &c, NULL);
    customer("{\"phone\":\"abc\"}", "phone", &c, NULL);
    customer("{\"email\":\"no-at\"}", "email", &c, NULL);
    customer("{\"handle\":\"h\"}", "channel", &c, NULL);
    customer("{\"channel\":\"zalo\"}", "handle", &c, NULL);
    customer("{\"channel\":\"fax\",\"handle\":\"h\"}", "channel", &c, NULL);
    customer("{\"channel\":\"sms\",\"handle\":\"not a number\"}", "handle", &c, NULL);
    customer("{\"phone\":\"0901234567\",\"segment\":\"gold\"}", "segment", &c, NULL);
    customer("{\"phone\":\"0901234567\",\"status\":\"gone\"}", "status", &c, NULL);
    customer("{\"phone\":\"0901234567\",\"attributes\":[]}", "attributes", &c, NULL);
    customer("{\"phone\":\"0901234567\",\"attributes\":{\"a\":1}}", "attributes.a", &c, NULL);
    customer("{\"phone\":\"0901234567\",\"crm_id\":7}", "crm_id", &c, NULL);
    customer("[1]", "", &c, NULL);
}

/* The same record however its handles are spelt has one key; any change
 * of content gives another. */
static void test_content_key(void **state)
{
    (void)state;
    struct customer_import a, b;
    customer("{\"phone\":\"0903333333\",\"email\":\"hoa@example.vn\",\"segment\":\"vip\","
             "\"attributes\":{\"x\":\"1\",\"y\":\"2\"}}",
             NULL, &a, NULL);
    customer("{\"attributes\":{\"y\":\"2\",\"x\":\"1\"},\"segment\":\"vip\","
             "\"email\":\" HOA@example.VN\",\"phone\":\"+84 903 333 333\"}",
             NULL, &b, NULL);
    assert_string_equal(a.key, b.key);
    const char *others[] = {
        "{\"phone\":\"0903333333\",\"email\":\"hoa@example.vn\",\"segment\":\"wholesale\","
        "\"attributes\":{\"x\":\"1\",\"y\":\"2\"}}",
        "{\"phone\":\"0903333333\",\"email\":\"hoa@example.vn\",\"segment\":\"vip\","
        "\"attributes\":{\"x\":\"1\"}}",
        "{\"phone\":\"0903333333\",\"email\":\"hoa@example.vn\",\"segment\":\"vip\","
        "\"name\":\"Hoa\",\"attributes\":{\"x\":\"1\",\"y\":\"2\"}}",
        "{\"phone\":\"0903333334\",\"email\":\"hoa@example.vn\",\"segment\":\"vip\","
        "\"attributes\":{\"x\":\"1\",\"y\":\"2\"}}",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        customer(others[i], NULL, &b, NULL);
        assert_string_not_equal(a.key, b.key);
    }
}

/* Reads every record of body; "line:ok" or "line:field" each, joined. */
static void read_all(imports_format fmt, const char *body, const char *want)
{
    struct message_error err;
    imports_reader *r = imports_reader_new(fmt, body, strlen(body), 8, &err);
    if (!r)
        fail_msg("refused (%s: %s)", err.field, err.message);
    char got[1024] = "";
    for (int guard = 0; guard < 100; guard++) {
        json_t *o;
        unsigned line;
        int rc = imports_reader_next(r, &o, &line, &err);
        if (rc == 0)
            break;
        char one[160];
        if (rc > 0) {
            struct customer_import c;
            memset(&err, 0, sizeof err);
            bool ok = imports_customer_parse(o, NOW, &c, &err) == 0;
            snprintf(one, sizeof one, "%s%u:%s", got[0] ? " " : "", line, ok ? c.key : err.field);
            if (ok)
                one[strlen(one) - 60] = '\0'; /* 4 digits of the key are enough */
            json_decref(o);
        } else {
            snprintf(one, sizeof one, "%s%u:!%s", got[0] ? " " : "", line, err.code);
        }
        strncat(got, one, sizeof got - strlen(got) - 1);
    }
    imports_reader_destroy(&r);
    assert_null(r);
    assert_string_equal(got, want);
}

/* The key of a record, 4 digits, for read_all's answers. */
static const char *key4(const char *text)
{
    static char out[8][8];
    static int n;
    struct customer_import c;
    customer(text, NULL, &c, NULL);
    char *o = out[n++ % 8];
    memcpy(o, c.key, 4);
    o[4] = '\0';
    return o;
}

static void test_ndjson(void **state)
{
    (void)state;
    char want[256];
    snprintf(want, sizeof want, "1:%s 3:%s 4:!invalid_json 5:phone 6:!invalid_json 7:!too_deep",
             key4("{\"phone\":\"0901111111\"}"), key4("{\"email\":\"a@b.vn\",\"name\":\"A\"}"));
    read_all(IMPORTS_NDJSON,
             "{\"phone\":\"0901111111\"}\n"
             "   \r\n"
             "{\"email\":\"a@b.vn\",\"name\":\"A\"}\r\n"
             "{\"phone\":\n"
             "{\"phone\":\"x\"}\n"
             "[1,2]\n"
             "{\"a\":[[[[[[[[[1]]]]]]]]]}",
             want);
    read_all(IMPORTS_NDJSON, "", "");
}

static void test_csv(void **state)
{
    (void)state;
    char want[256];
    /* The third record spans lines 3 and 4 (a quoted line break). */
    snprintf(want, sizeof want, "2:%s 3:%s 5:!invalid_csv 6:phone 7:!invalid_csv 9:%s",
             key4("{\"name\":\"Lan\",\"phone\":\"0901111111\",\"segment\":\"vip\"}"),
             key4("{\"name\":\"Ng\\u00f4, \\\"Bi\\\"\\nHai\",\"email\":\"b@c.vn\","
                  "\"attributes\":{\"tier\":\"gold\"}}"),
             key4("{\"phone\":\"0902222222\"}"));
    read_all(IMPORTS_CSV,
             "\xEF\xBB\xBFname,phone,email,segment,attributes.tier\r\n"
             "Lan,0901111111,,vip,\r\n"
             "\"Ng\xc3\xb4, \"\"Bi\"\"\nHai\",,b@c.vn,,gold\n"
             "too,few\n"
             "Bad,not a phone,,,\n"
             "\"open,x\"y,,,,\n"
             "\n"
             ",0902222222,,,",
             want);
    struct message_error err;
    assert_null(imports_reader_new(IMPORTS_CSV, "name,fax\n", 9, 8, &err));
    assert_string_equal(err.field, "fax");
    assert_null(imports_reader_new(IMPORTS_CSV, "phone,phone\n", 12, 8, &err));
    assert_string_equal(err.field, "phone");
    assert_null(imports_reader_new(IMPORTS_CSV, "", 0, 8, &err));
    assert_string_equal(err.code, "invalid_csv");
    /* An unterminated quote takes the rest of the body with it. */
    read_all(IMPORTS_CSV, "phone\n\"0901111111\n0902222222\n", "2:!invalid_csv");
}

/* The same record as NDJSON and as CSV: one key. */
static void test_formats_agree(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "1:%s",
             key4("{\"name\":\"Hoa\",\"phone\":\"0903333333\",\"attributes\":{\"t\":\"g\"}}"));
    read_all(IMPORTS_NDJSON,
             "{\"attributes\":{\"t\":\"g\"},\"phone\":\"+84903333333\",\"name\":\"Hoa\"}", want);
    snprintf(want, sizeof want, "2:%s",
             key4("{\"name\":\"Hoa\",\"phone\":\"0903333333\",\"attributes\":{\"t\":\"g\"}}"));
    read_all(IMPORTS_CSV, "attributes.t,name,phone\ng,Hoa,0903 333 333\n", want);
}

/* --- merges ------------------------------------------------------------------ */

typedef int (*merge_parse_fn)(const json_t *root, const char *id, int64_t now_us, struct op *o,
                              struct message_error *err);

static void merge(merge_parse_fn fn, const char *id, const char *text, const char *field,
                  struct op *o, json_t **keep)
{
    json_t *j = load(text);
    struct message_error err;
    memset(&err, 0, sizeof err);
    int rc = fn(j, id, NOW, o, &err);
    if (!field && rc != 0)
        fail_msg("refused (%s: %s): %s", err.field, err.message, text);
    if (field && (rc == 0 || strcmp(err.field, field) != 0))
        fail_msg("want \"%s\" refused, got rc %d field \"%s\": %s", field, rc, err.field, text);
    if (keep)
        *keep = j;
    else
        json_decref(j);
}

static void test_merges(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    merge(merges_ticket_parse, TICKET, "{\"into_ticket_id\":\"" OTHER "\",\"reason\":\"twice\"}",
          NULL, &o, &j);
    assert_int_equal(o.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED);
    assert_string_equal(o.ev.type, "ticket.merge_requested");
    assert_string_equal(o.ev.ticket_id, TICKET);
    assert_string_equal(o.ev.ticket_merge_requested->into_ticket_id, OTHER);
    assert_string_equal(o.ev.ticket_merge_requested->reason, "twice");
    assert_packs(&o.ev);
    json_decref(j);
    merge(merges_ticket_parse, TICKET, "{}", "into_ticket_id", &o, NULL);
    merge(merges_ticket_parse, TICKET, "{\"into_ticket_id\":\"t-2\"}", "into_ticket_id", &o, NULL);
    merge(merges_ticket_parse, TICKET, "{\"into_ticket_id\":\"" TICKET "\"}", "into_ticket_id", &o,
          NULL);

    merge(merges_customer_parse, TICKET, "{\"merged_id\":\"" OTHER "\"}", NULL, &o, &j);
    assert_int_equal(o.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED);
    assert_string_equal(o.ev.customer_merge_requested->survivor_id, TICKET);
    assert_string_equal(o.ev.customer_merge_requested->merged_id, OTHER);
    assert_packs(&o.ev);
    json_decref(j);
    merge(merges_customer_parse, TICKET, "{\"merged_id\":\"" TICKET "\"}", "merged_id", &o, NULL);
    merge(merges_customer_parse, TICKET, "{\"merged_id\":null}", "merged_id", &o, NULL);

    merge(merges_unmerge_parse, OTHER, "{\"reason\":\"a family sharing one phone\"}", NULL, &o, &j);
    assert_int_equal(o.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED);
    assert_string_equal(o.ev.customer_unmerge_requested->merged_id, OTHER);
    assert_string_equal(o.ev.customer_id, OTHER);
    assert_packs(&o.ev);
    json_decref(j);
    merge(merges_unmerge_parse, OTHER, "{}", NULL, &o, NULL);
    merge(merges_unmerge_parse, OTHER, "{\"reason\":7}", "reason", &o, NULL);
    merge(merges_unmerge_parse, OTHER, "[]", "", &o, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_customer),      cmocka_unit_test(test_content_key),
        cmocka_unit_test(test_ndjson),        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_formats_agree), cmocka_unit_test(test_merges),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("imports", tests, NULL, NULL);
}
