/* test_tickets_list.c — tickets_list.c and customers_search.c: a list's
 * query parameters and the statement they make.
 *
 * Parameters: defaults, canonical values (each once, in the schema's
 * order), "me" and "unassigned", every mistake refused naming its
 * parameter (unknown, repeated, empty, out of the vocabulary, a bad time,
 * limit, sort, cursor). Statements: every parameter is used and none is
 * missing (PostgreSQL refuses both), values never appear in the text (they
 * are parameters), the key's channels are $1, one value is an equality, a
 * cursor continues after its keys. The customers' search: a phone's start
 * is normalised, other text is a name's and an address's start. Run one
 * test by name: test_tickets_list <name>.
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

#include "customers_search.h"
#include "tickets_list.h"

#define CUSTOMER "7c9e6679-7425-40de-944b-e07fc1f90ae7"

/* "a=1&b=2" into args (pointers into a static copy). */
static size_t args_of(const char *query, struct list_arg *args)
{
    static char copy[4096];
    snprintf(copy, sizeof copy, "%s", query);
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(copy, "&", &save); p && n <= LIST_MAX_ARGS;
         p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        args[n++] = (struct list_arg){p, eq ? eq + 1 : NULL};
    }
    return n;
}

static int parse(const char *query, struct tickets_query *q, struct message_error *err)
{
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n = args_of(query, args);
    struct tickets_query_opts o = {.default_sort = TICKETS_SORT_QUEUE, .agent_id = "lan"};
    memset(err, 0, sizeof *err);
    return tickets_query_parse(args, n, &o, q, err);
}

static void refused(const char *query, const char *field)
{
    struct tickets_query q;
    struct message_error err;
    if (parse(query, &q, &err) == 0)
        fail_msg("accepted \"%s\"", query);
    if (strcmp(err.field, field) != 0)
        fail_msg("\"%s\": field \"%s\", want \"%s\" (%s)", query, err.field, field, err.message);
    assert_true(err.code && err.message[0]);
}

static void accepted(const char *query, struct tickets_query *q)
{
    struct message_error err;
    if (parse(query, q, &err) != 0)
        fail_msg("refused \"%s\": %s: %s", query, err.field, err.message);
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    struct tickets_query q;
    accepted("", &q);
    assert_int_equal(q.sort, TICKETS_SORT_QUEUE);
    assert_int_equal(q.limit, LIST_LIMIT_DEFAULT);
    assert_false(q.has_cursor);
    assert_null(q.q);
    accepted("status=pending,open,open&channel=zalo,email&priority=urgent,low&segment=vip"
             "&category=complaint&sla=within,breached&limit=100&sort=due",
             &q);
    assert_string_equal(q.status, "open,pending");
    assert_string_equal(q.channel, "email,zalo");
    assert_int_equal(q.channels, (1u << 2) | (1u << 5));
    assert_string_equal(q.priority, "-1,-4");
    assert_string_equal(q.segment, "vip");
    assert_string_equal(q.category, "complaint");
    assert_string_equal(q.sla, "breached,within");
    assert_int_equal(q.limit, 100);
    assert_int_equal(q.sort, TICKETS_SORT_DUE);
    accepted("assignee=me&team=support,returns-warranty&tag=refund,VIP-followup, Late  Delivery",
             &q);
    assert_string_equal(q.assignee, "lan");
    assert_string_equal(q.team, "support,returns-warranty");
    assert_string_equal(q.tag, "refund,vip-followup,late_delivery");
    accepted("assignee=unassigned", &q);
    assert_true(q.unassigned);
    assert_string_equal(q.assignee, "");
    accepted("customer_id=" CUSTOMER "&created_from=2026-11-01T00:00:00Z"
             "&updated_to=2026-11-02T00:00:00 07:00",
             &q);
    assert_string_equal(q.customer_id, CUSTOMER);
    assert_true(q.has_time[0] && !q.has_time[1] && q.has_time[3]);
    assert_true(q.time_us[0] == INT64_C(1793491200000000));
    /* An unencoded "+" arrives as a blank. */
    assert_true(q.time_us[3] == INT64_C(1793552400000000));
    /* A search is sorted by relevance. */
    accepted("q=khieu nai&status=open", &q);
    assert_int_equal(q.sort, TICKETS_SORT_RELEVANCE);
    assert_string_equal(q.q, "khieu nai");
    accepted("q=refund&sort=relevance", &q);
}

static void test_refused(void **state)
{
    (void)state;
    refused("stauts=open", "stauts");
    refused("status=open&status=closed", "status");
    refused("status=", "status");
    refused("status", "status");
    refused("status=opened", "status");
    refused("status=open,,closed", "status");
    refused("channel=telegram", "channel");
    refused("priority=high,critical", "priority");
    refused("segment=gold", "segment");
    refused("category=spam", "category");
    refused("sla=late", "sla");
    refused("team=a,,b", "team");
    refused("tag=\x01", "tag");
    refused("limit=0", "limit");
    refused("limit=101", "limit");
    refused("limit=025", "limit");
    refused("limit=ten", "limit");
    refused("sort=priority", "sort");
    refused("sort=relevance", "sort");
    refused("q=refund&sort=queue", "sort");
    refused("q=   ", "q");
    refused("customer_id=42", "customer_id");
    refused("created_from=yesterday", "created_from");
    refused("due_to=2026-13-01T00:00:00Z", "due_to");
    refused("cursor=abc", "cursor");
    char many[1024] = "";
    for (int i = 0; i <= LIST_MAX_ARGS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sx%d=1", i ? "&" : "", i);
    refused(many, "");

    /* "me" needs a key bound to an agent. */
    struct list_arg args[2];
    size_t n = args_of("assignee=me", args);
    struct tickets_query_opts o = {.default_sort = TICKETS_SORT_QUEUE};
    struct tickets_query q;
    struct message_error err;
    assert_int_equal(tickets_query_parse(args, n, &o, &q, &err), -1);
    assert_string_equal(err.field, "assignee");
    /* A customer's tickets take their customer from the path. */
    o.customer_id = CUSTOMER;
    n = args_of("customer_id=" CUSTOMER, args);
    assert_int_equal(tickets_query_parse(args, n, &o, &q, &err), -1);
    assert_string_equal(err.field, "customer_id");
    n = args_of("status=open", args);
    assert_int_equal(tickets_query_parse(args, n, &o, &q, &err), 0);
    assert_string_equal(q.customer_id, CUSTOMER);
}

/* Every parameter $1..$n is used, none beyond, and no value is spelled in
 * the statement. */
static void check_sql(const struct list_sql *s, const char *const *values)
{
    const char *sql = buf_str(&s->sql);
    for (int i = 1; i <= s->n; i++) {
        char ref[16];
        snprintf(ref, sizeof ref, "$%d", i);
        const char *p = sql;
        bool found = false;
        while ((p = strstr(p, ref))) {
            p += strlen(ref);
            if (*p < '0' || *p > '9')
                found = true;
        }
        if (!found)
            fail_msg("$%d is not used: %s", i, sql);
    }
    char beyond[16];
    snprintf(beyond, sizeof beyond, "$%d", s->n + 1);
    if (strstr(sql, beyond))
        fail_msg("%s used, %d parameters: %s", beyond, s->n, sql);
    for (size_t i = 0; values && values[i]; i++)
        if (strstr(sql, values[i]))
            fail_msg("\"%s\" is spelled in the statement: %s", values[i], sql);
}

static void sql_of(const char *query, const char *channels, struct list_sql *s)
{
    struct tickets_query q;
    accepted(query, &q);
    assert_int_equal(tickets_query_sql(&q, channels, s), 0);
}

static void test_statements(void **state)
{
    (void)state;
    static const char *const values[] = {"support", "agent-9", "refund", "vip", "khieu", NULL};
    const char *queries[] = {
        "",
        "status=open",
        "status=open,pending&team=support&assignee=agent-9&tag=refund&segment=vip",
        "assignee=unassigned&channel=zalo&priority=urgent&category=complaint",
        "customer_id=" CUSTOMER
        "&created_from=2026-01-01T00:00:00Z&created_to=2026-02-01T00:00:00Z",
        "updated_from=2026-01-01T00:00:00Z&sort=queue",
        "updated_from=2026-01-01T00:00:00Z&sort=updated",
        "due_from=2026-01-01T00:00:00Z&sla=breached,warning",
        "sort=due&team=support",
        "sort=created&status=closed",
        "sla=within",
        "q=khieu nai",
        "q=khieu nai&status=open&team=support",
        "q=khieu nai&assignee=agent-9&sla=breached&due_to=2027-01-01T00:00:00Z",
        "q=khieu nai&updated_from=2026-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        for (int limited = 0; limited < 2; limited++) {
            struct list_sql s;
            sql_of(queries[i], limited ? "{zalo}" : NULL, &s);
            check_sql(&s, values);
            /* The key's channels are $1, always. */
            assert_true(s.n >= 1);
            if (limited)
                assert_string_equal(s.params[0], "{zalo}");
            else
                assert_null(s.params[0]);
            list_sql_release(&s);
        }
    }
    /* One value is an equality, several a list. */
    struct list_sql s;
    sql_of("status=open&team=support", NULL, &s);
    assert_non_null(strstr(buf_str(&s.sql), "t.status = $"));
    assert_non_null(strstr(buf_str(&s.sql), "t.team = $"));
    list_sql_release(&s);
    sql_of("status=open,pending", NULL, &s);
    assert_non_null(strstr(buf_str(&s.sql), "t.status = ANY (string_to_array($"));
    list_sql_release(&s);
}

static void test_cursor(void **state)
{
    (void)state;
    struct list_cursor c;
    list_cursor_init(&c, "queue", "iiu");
    assert_int_equal(list_cursor_set(&c, 0, "-3"), 0);
    assert_int_equal(list_cursor_set(&c, 1, "1795399200123456"), 0);
    assert_int_equal(list_cursor_set(&c, 2, CUSTOMER), 0);
    char enc[LIST_CURSOR_MAX], query[LIST_CURSOR_MAX + 64];
    list_cursor_encode(&c, enc);
    snprintf(query, sizeof query, "status=closed&cursor=%s", enc);
    struct tickets_query q;
    accepted(query, &q);
    assert_true(q.has_cursor);
    struct list_sql s;
    assert_int_equal(tickets_query_sql(&q, NULL, &s), 0);
    check_sql(&s, NULL);
    /* A status's indexes are keyed by the queue order alone (0015): the
     * comparison is on that key, where their scans start. */
    assert_non_null(strstr(buf_str(&s.sql), " AND ((-t.priority_rank), t.created_at, t.id) > ("));
    assert_null(strstr(buf_str(&s.sql), "(t.status, "));
    bool seen = false;
    for (int i = 0; i < s.n; i++)
        seen = seen || (s.params[i] && strcmp(s.params[i], "1795399200123456") == 0);
    assert_true(seen);
    list_sql_release(&s);
    /* Another order's cursor, and a queue key out of smallint's range. */
    snprintf(query, sizeof query, "sort=updated&cursor=%s", enc);
    refused(query, "cursor");
    assert_int_equal(list_cursor_set(&c, 0, "-40000"), 0);
    list_cursor_encode(&c, enc);
    snprintf(query, sizeof query, "cursor=%s", enc);
    refused(query, "cursor");
}

static int search_parse(const char *query, struct customers_search *s, struct message_error *err)
{
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n = args_of(query, args);
    memset(err, 0, sizeof *err);
    return customers_search_parse(args, n, s, err);
}

static void test_customers_search(void **state)
{
    (void)state;
    struct customers_search s;
    struct message_error err;
    assert_int_equal(search_parse("q=0901 23", &s, &err), 0);
    assert_string_equal(s.phone, "+8490123");
    assert_string_equal(s.email, "");
    assert_int_equal(search_parse("q=+84 (0) 90", &s, &err), 0);
    assert_string_equal(s.phone, "+8490");
    assert_int_equal(search_parse("q=Nguyễn Văn", &s, &err), 0);
    assert_string_equal(s.phone, "");
    assert_string_equal(s.email, ""); /* a blank inside: no address */
    assert_int_equal(search_parse("q= Lan.Nguyen@Example ", &s, &err), 0);
    assert_string_equal(s.email, "lan.nguyen@example");
    assert_string_equal(s.text, " Lan.Nguyen@Example ");
    assert_int_equal(search_parse("q=12", &s, &err), 0); /* two digits: a name's start */
    assert_string_equal(s.phone, "");
    assert_int_equal(search_parse("q=lan&limit=5", &s, &err), 0);
    assert_int_equal(s.limit, 5);
    for (int phone = 0; phone < 2; phone++) {
        struct list_sql sql;
        assert_int_equal(search_parse(phone ? "q=0901" : "q=lan", &s, &err), 0);
        assert_int_equal(customers_search_sql(&s, &sql), 0);
        check_sql(&sql, (const char *const[]){"lan", "0901", "+84901", NULL});
        list_sql_release(&sql);
    }
    const char *bad[][2] = {{"", "q"},
                            {"q=", "q"},
                            {"q=lan&q=an", "q"},
                            {"q=lan&phone=1", "phone"},
                            {"q=lan&limit=0", "limit"},
                            {"q=lan&cursor=x", "cursor"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (search_parse(bad[i][0], &s, &err) == 0)
            fail_msg("accepted \"%s\"", bad[i][0]);
        assert_string_equal(err.field, bad[i][1]);
    }
    /* A phone's cursor is not a name's. */
    struct list_cursor c;
    list_cursor_init(&c, "customers", "itu");
    assert_int_equal(list_cursor_set(&c, 0, "0"), 0);
    assert_int_equal(list_cursor_set(&c, 1, "+84901"), 0);
    assert_int_equal(list_cursor_set(&c, 2, CUSTOMER), 0);
    char enc[LIST_CURSOR_MAX], query[LIST_CURSOR_MAX + 32];
    list_cursor_encode(&c, enc);
    snprintf(query, sizeof query, "q=0901&cursor=%s", enc);
    assert_int_equal(search_parse(query, &s, &err), 0);
    snprintf(query, sizeof query, "q=lan&cursor=%s", enc);
    assert_int_equal(search_parse(query, &s, &err), -1);
    assert_string_equal(err.field, "cursor");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_statements),          cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_customers_search),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("tickets_list", tests, NULL, NULL);
}
