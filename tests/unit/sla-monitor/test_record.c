/* test_record.c — a batch's records: runs cut at merges, and each run's
 * tickets with the first customer named; a team's settings as a row; an
 * event of every partition staged once with its partitions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

#define T1 "11111111-1111-4111-8111-111111111111"
#define T2 "22222222-2222-4222-8222-222222222222"
#define CA "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define CB "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static void add(sla_records *r, enum sla_record_kind kind, const char *ticket, const char *customer)
{
    struct sla_record *x = sla_records_add(r);
    assert_non_null(x);
    x->kind = kind;
    snprintf(x->ticket, ID_LEN, "%s", ticket ? ticket : "");
    snprintf(x->customer, ID_LEN, "%s", customer ? customer : "");
    x->stream = "router";
    x->seq = r->n;
    x->event_id = "6f1c9a52-8f0e-4a57-9b7c-0d5e3c2a1b90";
}

static void test_runs_are_cut_at_merges(void **state)
{
    (void)state;
    sla_records r = {0};
    add(&r, SLA_REC_FACT, T1, NULL);
    add(&r, SLA_REC_SEGMENT, NULL, CA);
    add(&r, SLA_REC_MERGE, NULL, CB);
    add(&r, SLA_REC_MERGE, NULL, CA);
    add(&r, SLA_REC_CLAIM, T2, NULL);
    assert_int_equal(sla_records_run_end(&r, 0), 2);
    assert_int_equal(sla_records_run_end(&r, 2), 3); /* a merge alone */
    assert_int_equal(sla_records_run_end(&r, 3), 4);
    assert_int_equal(sla_records_run_end(&r, 4), 5);
    assert_int_equal(sla_records_run_end(&r, 5), 5);
    sla_records_release(&r);
    assert_null(r.v);
}

static void test_a_runs_tickets_take_the_first_customer_named(void **state)
{
    (void)state;
    sla_records r = {0};
    add(&r, SLA_REC_FACT, T1, NULL); /* no customer yet */
    add(&r, SLA_REC_FACT, T2, CB);
    add(&r, SLA_REC_FACT, T1, CA); /* T1's first customer */
    add(&r, SLA_REC_FACT, T1, CB); /* later: not it */
    add(&r, SLA_REC_CLAIM, T2, NULL);
    rowset w;
    rowset_init(&w, &sla_record_tickets, NULL);
    assert_int_equal(sla_records_tickets(&r, 0, r.n, &w), 0);
    assert_int_equal(rowset_count(&w), 2);
    const char *json = rowset_json(&w);
    assert_non_null(json);
    char want[512];
    snprintf(want, sizeof want,
             "[{\"ticket_id\":\"%s\",\"customer_id\":\"%s\"},"
             "{\"ticket_id\":\"%s\",\"customer_id\":\"%s\"}]",
             T1, CA, T2, CB);
    assert_string_equal(json, want);
    /* A ticket no event names a customer for keeps NULL (the table's
     * customer, if any, stays). */
    rowset_clear(&w);
    assert_int_equal(sla_records_tickets(&r, 0, 1, &w), 0);
    snprintf(want, sizeof want, "[{\"ticket_id\":\"%s\",\"customer_id\":null}]", T1);
    assert_string_equal(rowset_json(&w), want);
    rowset_release(&w);
    sla_records_release(&r);
}

/* A team's save is a set member like a fact: it cuts no run; its row says
 * which fields it sets, NULL for a field set to none. */
static void test_team_settings_rows(void **state)
{
    (void)state;
    sla_records r = {0};
    add(&r, SLA_REC_FACT, T1, CA);
    r.v[0].fact = SLA_FACT_TEAM;
    r.v[0].team = "support";
    add(&r, SLA_REC_TEAM, NULL, NULL);
    struct sla_record *x = &r.v[1];
    x->team = "support";
    x->at = INT64_C(1795399200000000);
    x->sets_calendar = true;
    x->calendar = "24x7";
    x->sets_policy = true; /* to none */
    add(&r, SLA_REC_FACT, T2, CB);
    assert_int_equal(sla_records_run_end(&r, 0), 3);
    rowset w;
    rowset_init(&w, &sla_record_teams, NULL);
    rowset_add(&w, x);
    assert_string_equal(rowset_json(&w),
                        "[{\"stream\":\"router\",\"seq\":2,\"team_id\":\"support\","
                        "\"at\":\"2026-11-23T02:00:00.000000Z\",\"sets_calendar\":true,"
                        "\"calendar\":\"24x7\",\"sets_policy\":true,\"sla_policy\":null}]");
    rowset_release(&w);
    rowset_init(&w, &sla_record_facts, NULL);
    rowset_only(&w, "kind,team");
    rowset_add(&w, &r.v[0]);
    rowset_add(&w, &r.v[2]);
    assert_string_equal(rowset_json(&w), "[{\"kind\":\"team\",\"team\":\"support\"},"
                                         "{\"kind\":\"opened\",\"team\":null}]");
    rowset_release(&w);
    sla_records_release(&r);
}

/* A round applies an event of every partition by each partition in turn:
 * one record, staged by the first, lists them all; the partitions a range
 * acts on are each listed once, ascending. */
static void test_an_event_of_every_partition_is_one_record_with_its_partitions(void **state)
{
    (void)state;
    sla_records r = {0};
    add(&r, SLA_REC_FACT, T1, CA); /* seq 1: a ticket's, no partitions */
    assert_null(sla_records_again(&r, "router", 2));
    add(&r, SLA_REC_MERGE, NULL, CB); /* seq 2 */
    struct sla_record *x = &r.v[1];
    assert_int_equal(sla_records_part(&r, x, 3), 0);
    for (int p = 0; p < 3; p++) {
        x = sla_records_again(&r, "router", 2);
        assert_ptr_equal(x, &r.v[1]);
        assert_int_equal(sla_records_part(&r, x, p), 0);
    }
    assert_int_equal(sla_records_part(&r, x, 2), 0); /* again by 2: once */
    assert_null(sla_records_again(&r, "ingest", 2));
    assert_null(sla_records_again(&r, "router", 1)); /* not the last */
    add(&r, SLA_REC_SEGMENT, NULL, CA);              /* seq 3 */
    assert_int_equal(sla_records_part(&r, &r.v[2], 1), 0);
    assert_int_equal(sla_records_part(&r, &r.v[2], 5), 0);
    assert_int_equal(r.v[1].nparts, 4);
    buf b = BUF_INIT;
    sla_records_parts_sql(&r, 1, 2, &b);
    assert_string_equal(buf_str(&b), "{0,1,2,3}");
    buf_release(&b);
    sla_records_parts_sql(&r, 0, 3, &b);
    assert_string_equal(buf_str(&b), "{0,1,2,3,5}");
    buf_release(&b);
    sla_records_parts_sql(&r, 0, 1, &b);
    assert_string_equal(buf_str(&b), "{}");
    buf_release(&b);
    /* Cleared, a small batch's memory stays and the partitions start again. */
    sla_records_clear(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.nparts, 0);
    add(&r, SLA_REC_UNMERGE, NULL, CA);
    assert_int_equal(sla_records_part(&r, &r.v[0], 7), 0);
    assert_int_equal(r.v[0].parts_at, 0);
    sla_records_parts_sql(&r, 0, 1, &b);
    assert_string_equal(buf_str(&b), "{7}");
    buf_release(&b);
    /* A catch-up's large batch gives its memory back. */
    for (int i = 0; i <= SLA_RECORDS_KEEP; i++)
        add(&r, SLA_REC_FACT, T1, CA);
    sla_records_clear(&r);
    assert_null(r.v);
    assert_null(r.parts);
    assert_int_equal(r.n + r.cap + r.nparts + r.parts_cap, 0);
    sla_records_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_are_cut_at_merges),
        cmocka_unit_test(test_team_settings_rows),
        cmocka_unit_test(test_a_runs_tickets_take_the_first_customer_named),
        cmocka_unit_test(test_an_event_of_every_partition_is_one_record_with_its_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
